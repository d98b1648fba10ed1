"""Run leases: a pipeline run holds a lease on each output before it writes, so two
runs never write the same output at once.

The lease is one small JSON object next to the output, ``<output URL>.zarrflow/lease.json``
(holder, host, pid, expiry). It is taken with an atomic create and renewed by a
background thread every ``ttl / 3`` seconds:

- on S3 (s3fs): ``PutObject`` with ``If-None-Match: *`` to take it, ``If-Match: <ETag>``
  to renew or to take over a stale one, so of two runs racing only one wins;
- on local (and NFS) paths: ``O_CREAT | O_EXCL`` to take it; renewal rewrites it
  atomically (temp file + rename); a takeover first takes ``lease.json.takeover``
  exclusively, re-reads the lease and replaces it only if it is still stale;
- elsewhere (other fsspec filesystems) the lease is refused with a clear error.

A lease is stale when its expiry has passed, or (same host) when its holder process
is gone: a run killed with SIGKILL on this machine does not block the next one until
its lease expires.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import fsspec

from zarrflow.errors import LeaseHeldError

__all__ = ["Lease", "lease_url"]

log = logging.getLogger("zarrflow.pipeline")


def lease_url(output_url: str) -> str:
    """Where the lease of an output lives."""
    return output_url.rstrip("/") + ".zarrflow/lease.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_s3(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("s3", "s3a")


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


class Lease:
    """The lease on one output. ``acquire()`` raises :class:`LeaseHeldError` when another
    live run holds it; use as a context manager to hold it for a block."""

    def __init__(self, output_url: str, storage_options: dict | None = None, ttl: float = 600.0,
                 run_id: str | None = None):
        self.url = lease_url(output_url)
        self.fs, self.path = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        if not (_is_s3(self.fs) or _is_local(self.fs)):
            raise LeaseHeldError(f"cannot take a lease on {output_url!r}: leases need S3 or a local/NFS path, "
                                 f"not {self.fs.protocol!r}")
        self.ttl = float(ttl)
        self.run_id = run_id or uuid.uuid4().hex
        self.etag: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False
        self.took_over: dict | None = None

    # --- the record --------------------------------------------------------------------

    def _document(self) -> bytes:
        return json.dumps({"holder": self.run_id, "host": socket.gethostname(), "pid": os.getpid(),
                           "expires": time.time() + self.ttl, "ttl": self.ttl}).encode()

    def read(self) -> tuple[dict | None, str | None]:
        """The current lease document and its ETag (S3) or None when there is none."""
        if _is_s3(self.fs):
            bucket, key = self.path.split("/", 1)
            try:
                r = self.fs.call_s3("get_object", Bucket=bucket, Key=key)
            except FileNotFoundError:
                return None, None
            body = _sync_read(self.fs, r["Body"])
            return json.loads(body), r["ETag"]
        try:
            with open(self.path, "rb") as f:
                return json.loads(f.read() or b"{}"), None
        except FileNotFoundError:
            return None, None
        except ValueError:
            return {"expires": 0}, None  # a torn lease file (a crash while writing it) is stale

    @staticmethod
    def is_stale(doc: dict) -> bool:
        """Expired, or held by a process of this host that is gone."""
        if doc.get("expires", 0) < time.time():
            return True
        return doc.get("host") == socket.gethostname() and not _pid_alive(int(doc.get("pid", -1)))

    # --- taking, renewing, releasing ---------------------------------------------------

    def acquire(self) -> Lease:
        """Take the lease, or take over a stale one; else raise LeaseHeldError."""
        if self._create():
            self._start_renewal()
            return self
        doc, etag = self.read()
        if doc is None and self._create():  # released in between
            self._start_renewal()
            return self
        if doc is not None and self.is_stale(doc) and self._take_over(doc, etag):
            self.took_over = doc
            log.warning("took over the stale lease %s of run %s (host %s, pid %s)", self.url, doc.get("holder"),
                        doc.get("host"), doc.get("pid"))
            self._start_renewal()
            return self
        doc = doc or {}
        raise LeaseHeldError(
            f"{self.url} is held by run {doc.get('holder')} on host {doc.get('host')} (pid {doc.get('pid')}) until "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(doc.get('expires', 0)))} UTC")

    def _create(self) -> bool:
        body = self._document()
        if _is_s3(self.fs):
            bucket, key = self.path.split("/", 1)
            try:
                r = self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
            except FileExistsError:
                return False
            except OSError as exc:
                if "pre-condition" in str(exc) or "PreconditionFailed" in str(exc):
                    return False
                raise
            self.etag = r["ETag"]
            return True
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        return True

    def _replace(self, etag: str | None) -> bool:
        """Rewrite the lease (renew or take over); on S3 only if it still has ``etag``."""
        body = self._document()
        if _is_s3(self.fs):
            bucket, key = self.path.split("/", 1)
            try:
                r = self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body, IfMatch=etag)
            except OSError as exc:
                if "pre-condition" in str(exc) or "PreconditionFailed" in str(exc) or isinstance(exc,
                                                                                                 FileExistsError):
                    return False
                raise
            self.etag = r["ETag"]
            return True
        tmp = f"{self.path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        return True

    def _take_over(self, doc: dict, etag: str | None) -> bool:
        if _is_s3(self.fs):
            return self._replace(etag)
        guard = self.path + ".takeover"
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            os.close(fd)
            current, _ = self.read()
            if current is not None and (current.get("holder") != doc.get("holder") or not self.is_stale(current)):
                return False
            return self._replace(None)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(guard)

    def _renew_once(self) -> bool:
        if _is_s3(self.fs):
            return self._replace(self.etag)
        doc, _ = self.read()
        if doc is None or doc.get("holder") != self.run_id:
            return False
        return self._replace(None)

    def _start_renewal(self) -> None:
        def renew() -> None:
            while not self._stop.wait(max(0.05, self.ttl / 3)):
                try:
                    ok = self._renew_once()
                except Exception as exc:  # noqa: BLE001 - a failed renewal is retried next time
                    log.warning("renewing the lease %s failed: %s", self.url, exc)
                    continue
                if not ok:
                    self.lost = True
                    log.error("lost the lease %s: another run took it over", self.url)
                    return

        self._thread = threading.Thread(target=renew, name="zarrflow-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop renewing and delete the lease (only if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        doc, etag = self.read()
        if doc is None or doc.get("holder") != self.run_id:
            return
        if _is_s3(self.fs):
            bucket, key = self.path.split("/", 1)
            self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _sync_read(fs: Any, body: Any) -> bytes:
    """Read an aiobotocore streaming body on s3fs's event loop."""
    from fsspec.asyn import sync  # noqa: PLC0415 - s3 only

    async def read() -> bytes:
        async with body as stream:
            return await stream.read()

    return sync(fs.loop, read)

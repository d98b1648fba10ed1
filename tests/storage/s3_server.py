"""A local S3 endpoint for tests and benchmarks: moto's server mode on 127.0.0.1.

``S3Server`` runs ``python -m moto.server`` as a child process on a free port of
127.0.0.1 (its own process, so its request handling does not share the GIL of the
code under test), waits until it answers, and stops only the process it started.
Nothing here talks to the network beyond 127.0.0.1, and no real credentials are
used: every store built here passes dummy ``key``/``secret`` explicitly, and the
``s3_server`` fixture sets dummy ``AWS_*`` variables only for its own scope.

Store cases (``cases_fsspec.py``) cannot request fixtures, so they use
:func:`shared_server`: one server per test process, started on first use and
stopped at exit (or by the session fixture, whichever comes first).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["S3Server", "fresh_bucket", "moto_available", "s3_server", "shared_server", "storage_options"]

#: Dummy credentials; moto accepts any.
DUMMY_KEY = "zarrflow-test-key"
DUMMY_SECRET = "zarrflow-test-secret"
REGION = "us-east-1"


def moto_available() -> bool:
    """True when moto's server mode and s3fs are importable."""
    return all(importlib.util.find_spec(m) is not None for m in ("moto", "flask", "s3fs"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """moto's S3 server in a child process on 127.0.0.1."""

    def __init__(self, port: int | None = None, start_timeout: float = 30.0, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self.port is None:
            raise RuntimeError("the S3 server is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the child process started here is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> S3Server:
        """Start the server (no-op when running) and wait until it answers HTTP."""
        with self._lock:
            if self.running:
                return self
            for _attempt in range(3):  # a free port can be taken between probe and bind
                port = self.port or free_port()
                env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
                env.update(self.env)
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
                self.port = port
                if self._wait_ready():
                    return self
                self._terminate()
                self.port = None
            raise RuntimeError("moto S3 server did not start on 127.0.0.1")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with opener.open(f"{self.endpoint_url}/moto-api/data.json", timeout=1):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a wedged server
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Stop the child process started here (idempotent)."""
        with self._lock:
            self._terminate()

    def reset(self) -> None:
        """Drop every bucket (moto's reset API)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with opener.open(req, timeout=10):
            pass

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """s3fs options for this endpoint with dummy credentials."""
        return storage_options(self.endpoint_url, **extra)

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def storage_options(endpoint_url: str, **extra: Any) -> dict[str, Any]:
    """s3fs options for ``endpoint_url`` with dummy credentials (and no retries to wait on)."""
    opts: dict[str, Any] = {
        "key": DUMMY_KEY,
        "secret": DUMMY_SECRET,
        "client_kwargs": {"endpoint_url": endpoint_url},
    }
    opts.update(extra)
    return opts


def fresh_bucket(server: S3Server) -> str:
    """Create a new, empty bucket with a unique name; returns its name."""
    import s3fs  # optional backend: imported by name, only here

    name = f"zf-{uuid.uuid4().hex[:16]}"
    fs = s3fs.S3FileSystem(**server.storage_options())
    fs.mkdir(name)
    fs.invalidate_cache()
    return name


_SHARED: S3Server | None = None
_SHARED_LOCK = threading.Lock()


def shared_server() -> S3Server:
    """The one server of this process: started on first use, stopped at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = S3Server()
            atexit.register(_SHARED.stop)
        return _SHARED.start()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """The session's S3 server, with dummy AWS credentials in the environment for the
    fixture's scope only (restored afterwards); skips without moto/s3fs."""
    if not moto_available():
        pytest.skip("needs moto[server] and s3fs")
    server = shared_server()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        yield server
    server.stop()

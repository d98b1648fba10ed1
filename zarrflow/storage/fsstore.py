"""FSStore: any fsspec filesystem (S3, GCS, Azure, HTTP, memory, local, chains) as a store.

The store maps keys to files under one root path of an fsspec filesystem. It is the
store for remote data, so it batches: ``supports_concurrent_getitems`` makes the
Array fetch every chunk of a read in one ``getitems`` call, which becomes one
concurrent ``fs.cat([...])`` (a single round of requests on async filesystems such as
s3fs), and write whole chunks with one ``setitems`` -> ``fs.pipe({...})``.

Errors are translated at this edge (design habit #8): a missing key is a
``KeyError``; anything else the backend raises - permission or credential
failures, a bucket that does not exist, an endpoint that cannot be reached - is a
:class:`~zarrflow.errors.StoreError` naming the store's URL and the key, with the
backend's exception kept as ``__cause__``. Writes to a store opened with
``mode='r'`` raise :class:`~zarrflow.errors.ReadOnlyError` before any request.

fsspec is a dependency; the filesystem implementations (s3fs, gcsfs, adlfs, ...) are
not, and are imported by fsspec, by protocol name, when a URL needs one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import fsspec
import fsspec.asyn
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from zarrflow.errors import KeyBlockedError, StoreError, StoreNotSupportedError
from zarrflow.format.keys import is_metadata_key
from zarrflow.storage.base import Store, check_dimension_separator, ensure_bytes
from zarrflow.storage.local_files import TEMP_SUFFIX, prune_empty_dirs, write_atomically, write_many_durably
from zarrflow.storage.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    RetryStats,
    describe,
    is_transient,
    quiet_backend,
    quiet_backend_options,
)

__all__ = ["FSStore"]

#: zarr 2's default for ``exceptions``: in zarr 2 every one of these read as "missing",
#: which hid permission and connection failures; here the default means "only
#: not-found errors are missing" (see :class:`FSStore`).
_ZARR2_EXCEPTIONS = (KeyError, PermissionError, IOError)
#: Backend errors that mean "no such key" (fsspec's FSMap default).
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)
#: Characters fsspec treats as glob patterns in paths given to ``cat``/``rm``.
_MAGIC = frozenset("*?[")
#: Suffix of temporary files of in-flight local writes (never listed).


def _bucket_missing(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception in its chain) says the bucket does not exist."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        response = getattr(e, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") == "NoSuchBucket":
            return True
        if "NoSuchBucket" in type(e).__name__ or "bucket does not exist" in str(e).lower():
            return True
        e = e.__cause__ or e.__context__
    return False


def _rebuild(url: str, mode: str, storage_options: dict[str, Any], extras: dict[str, Any] | None) -> FSStore:
    """Unpickle an FSStore from its parameters (see ``FSStore.__reduce__``)."""
    store = FSStore.__new__(FSStore)
    extras = dict(extras or {})
    store._set_retries(extras.pop("retries", DEFAULT_POLICY))
    store.durable = bool(extras.pop("durable", False))
    params: dict[str, Any] = {
        "normalize_keys": False,
        "dimension_separator": None,
        "exceptions": _ZARR2_EXCEPTIONS,
        "missing_exceptions": None,
        "fs": None,
    }
    params.update(extras)
    store._setup(url=url, mode=mode, storage_options=storage_options, **params)
    return store


class FSStore(Store):
    """A store over an fsspec filesystem, rooted at ``url``.

    Parameters follow zarr 2's FSStore:

    - ``url``: ``'s3://bucket/root'``, ``'memory://x'``, ``'file:///tmp/x'``, a chained
      ``'simplecache::s3://bucket/root'``, or - when ``fs`` is given - a path on ``fs``.
    - ``normalize_keys``: lower-case every key (case-insensitive backends).
    - ``key_separator`` / ``dimension_separator``: the chunk-key separator of arrays
      created on this store (``key_separator`` wins when both are given). Keys are
      stored exactly as the Array names them, never rewritten.
    - ``mode``: ``'r'`` is read-only; any other mode writes.
    - ``exceptions``: zarr 2 treated these backend errors as missing keys. With the
      default, zarrflow treats only not-found errors (``missing_exceptions``) as
      missing and raises StoreError for the rest; a non-default tuple restores zarr
      2's behaviour for the errors it lists.
    - ``fs``: an existing fsspec filesystem (then ``storage_options`` must be empty).
    - ``check``: verify at open that the root exists and is writeable (touch + remove).
    - ``create``: create the root directory/bucket at open.
    - ``missing_exceptions``: backend errors that mean "no such key" (default
      FileNotFoundError, IsADirectoryError, NotADirectoryError).
    - ``retries``: the :class:`~zarrflow.storage.retry.RetryPolicy` of every request
      (default: 8 tries, backoff 0.1 s doubling to 5 s with jitter, 60 s in all):
      transient faults (HTTP 500/502/503/504, SlowDown, connection resets, timeouts)
      are retried per request - per key in ``getitems`` - and permanent ones (403,
      404, bad credentials, a refused connection) raise at once. On S3 the backends'
      own retries are turned off then (unless ``config_kwargs['retries']`` is given),
      so one policy bounds the time. ``None`` leaves retrying to the backend alone.
      Counters: ``store.retry_stats``; log: the ``zarrflow.storage.retry`` logger.
    - ``durable``: on a local filesystem, fsync each value and its directory before a
      write returns (metadata documents are written so always); see
      ``storage.local_files``. Object stores are durable when a PUT returns.
    - ``storage_options``: passed to the filesystem (``anon``, ``key``, ``secret``,
      ``client_kwargs={'endpoint_url': ...}``, ...); for chained URLs they are keyed
      by protocol (``s3={...}``), as in fsspec.

    Pickling carries the URL and options (fsspec filesystems are rebuilt, not
    copied), so a store travels to Dask workers and reaches the same data.
    """

    is_persistent = True
    supports_concurrent_getitems = True

    @property
    def supports_multiprocess_writes(self) -> bool:  # type: ignore[override]
        """True unless the filesystem lives in this process's memory (``memory://``)."""
        protocol = getattr(self.fs, "protocol", ())
        protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
        return not any(p in ("memory", "memfs") for p in protocols)
    supports_rename = False

    def __init__(
        self,
        url: str,
        normalize_keys: bool = False,
        key_separator: str | None = None,
        mode: str = "w",
        exceptions: tuple[type[BaseException], ...] = _ZARR2_EXCEPTIONS,
        dimension_separator: str | None = None,
        fs: Any = None,
        check: bool = False,
        create: bool = False,
        missing_exceptions: tuple[type[BaseException], ...] | None = None,
        retries: RetryPolicy | None = DEFAULT_POLICY,
        durable: bool = False,
        **storage_options: Any,
    ) -> None:
        self._set_retries(retries)
        self.durable = bool(durable)
        if fs is not None and storage_options:
            raise ValueError(f"FSStore({url!r}): give either fs= or storage_options, not both")
        if not isinstance(url, (str, os.PathLike)):
            raise TypeError(f"FSStore url must be a str, got {type(url).__name__} {url!r}")
        url = os.fspath(url)
        if key_separator is not None:
            dimension_separator = key_separator
        self._setup(
            url=url,
            mode=mode,
            normalize_keys=bool(normalize_keys),
            dimension_separator=check_dimension_separator(dimension_separator),
            exceptions=tuple(exceptions),
            missing_exceptions=tuple(missing_exceptions) if missing_exceptions is not None else None,
            storage_options=dict(storage_options),
            fs=fs,
        )
        if not self.read_only and (create or check):
            try:
                if create:
                    self.fs.makedirs(self.path, exist_ok=True)
                if check:
                    if not self.fs.exists(self.path):
                        raise FileNotFoundError(self.path)
                    probe = self._fs_path(".zarrflow-check")
                    self.fs.touch(probe)
                    self.fs.rm(probe)
            except Exception as exc:
                raise StoreError(f"{self!r}: cannot {'create' if create else 'check'} the store root: {exc}") from exc

    def _setup(
        self,
        *,
        url: str,
        mode: str,
        normalize_keys: bool,
        dimension_separator: str | None,
        exceptions: tuple[type[BaseException], ...],
        missing_exceptions: tuple[type[BaseException], ...] | None,
        storage_options: dict[str, Any],
        fs: Any,
    ) -> None:
        """Set every attribute from the constructor's (checked) parameters."""
        self.url = url
        self.mode = mode
        self._read_only = mode == "r"
        self.normalize_keys = normalize_keys
        self.dimension_separator = dimension_separator
        self.exceptions = exceptions
        self.missing_exceptions = missing_exceptions
        self.storage_options = storage_options
        self._given_fs = fs
        if fs is None:
            protocol = fsspec.core.split_protocol(url)[0]
            options = dict(storage_options)
            if protocol in (None, "file", "local") and "::" not in url:
                options.setdefault("auto_mkdir", True)
            if self.retries is not None and "::" not in url:
                options = quiet_backend_options(protocol, options)
            try:
                self.fs, path = url_to_fs(url, **options)
                if self.retries is not None and "::" not in url:
                    quiet_backend(self.fs, storage_options)
            except ImportError:
                raise
            except Exception as exc:
                raise StoreError(f"cannot open FSStore {url!r}: {type(exc).__name__}: {exc}") from exc
        else:
            self.fs = fs
            path = fs._strip_protocol(url)
        self.path = path.rstrip("/") if path not in ("/", "") else path
        self._local = isinstance(self.fs, LocalFileSystem)
        missing = _MISSING if missing_exceptions is None else missing_exceptions
        extra = () if exceptions == _ZARR2_EXCEPTIONS else tuple(exceptions)
        self._missing: tuple[type[BaseException], ...] = (KeyError, *missing, *extra)

    # --- identity and pickling -------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuild from parameters; defaults are left out to keep the pickle small."""
        extras: dict[str, Any] = {}
        if self.normalize_keys:
            extras["normalize_keys"] = True
        if self.dimension_separator is not None:
            extras["dimension_separator"] = self.dimension_separator
        if self.exceptions != _ZARR2_EXCEPTIONS:
            extras["exceptions"] = self.exceptions
        if self.missing_exceptions is not None:
            extras["missing_exceptions"] = self.missing_exceptions
        if self._given_fs is not None:
            extras["fs"] = self._given_fs
        if self.retries != DEFAULT_POLICY:
            extras["retries"] = self.retries
        if self.durable:
            extras["durable"] = True
        return (_rebuild, (self.url, self.mode, self.storage_options, extras or None))

    @property
    def map(self) -> Any:
        """zarr 2's ``FSStore.map``: an fsspec mapper over the store root (the one this
        store was made from, when it was given one)."""
        given = getattr(self, "_map", None)
        if given is not None:
            return given
        return fsspec.mapping.FSMap(self.path, self.fs, check=False, create=False)

    @property
    def key_separator(self) -> str:
        """zarr 2's name for the chunk-key separator; never None ('.' by default)."""
        return self.dimension_separator or "."

    def __eq__(self, other: object) -> bool:
        """Equal to an FSStore on an equal filesystem, at the same root, in the same mode."""
        if not isinstance(other, Store):
            return NotImplemented
        if type(other) is not type(self):
            return False
        return (
            self.fs == other.fs  # type: ignore[attr-defined]
            and self.path == other.path  # type: ignore[attr-defined]
            and self.mode == other.mode  # type: ignore[attr-defined]
            and self.normalize_keys == other.normalize_keys  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        """Hash of the root path and mode (consistent with ``__eq__``)."""
        return hash((type(self).__name__, self.path, self.mode))

    def __repr__(self) -> str:
        """``FSStore('s3://bucket/root', mode='w')`` - never the storage options (secrets)."""
        return f"{type(self).__name__}({self.url!r}, mode={self.mode!r})"

    # --- keys and paths ----------------------------------------------------------------


    def _fs_path(self, key: str) -> str:
        """The filesystem path of a (normalised) key or hierarchy path."""
        if not key:
            return self.path
        return f"{self.path.rstrip('/')}/{key}" if self.path else key

    def _key_of(self, fs_path: str) -> str | None:
        """The key of a filesystem path under the root, else None."""
        fs_path = fs_path.rstrip("/")
        root = self.path.rstrip("/")
        if root and not fs_path.startswith(root + "/"):
            return None
        key = fs_path[len(root) + 1 :] if root else fs_path.lstrip("/")
        if not key or (self._local and key.endswith(TEMP_SUFFIX)):
            return None
        return key

    # --- errors ------------------------------------------------------------------------

    def _is_missing(self, exc: BaseException) -> bool:
        """True when ``exc`` means the key does not exist (a missing bucket does not count)."""
        return isinstance(exc, self._missing) and not _bucket_missing(exc)

    def _error(self, action: str, keys: str | Sequence[str], exc: BaseException) -> StoreError:
        """A StoreError naming this store, the action and the key(s), caused by ``exc``."""
        if isinstance(keys, str):
            what = f"key {keys!r}"
        else:
            keys = list(keys)
            shown = ", ".join(repr(k) for k in keys[:3])
            what = f"key {shown}" if len(keys) == 1 else f"keys {shown}{', ...' if len(keys) > 3 else ''} ({len(keys)} keys)"
        why = f"{type(exc).__name__}: {exc}{describe(exc)}"
        if _bucket_missing(exc):
            why = f"the bucket does not exist ({why})"
        elif isinstance(exc, PermissionError):
            why = f"permission denied - check the credentials ({why})"
        if isinstance(exc, NotImplementedError):
            return StoreNotSupportedError(f"{self!r}: cannot {action} {what}: the filesystem does not support it ({why})")
        return StoreError(f"{self!r}: cannot {action} {what}: {why}")

    # --- retries ------------------------------------------------------------------------

    def _set_retries(self, retries: RetryPolicy | None) -> None:
        if retries is not None and not isinstance(retries, RetryPolicy):
            raise TypeError(f"FSStore retries must be a RetryPolicy or None, got {type(retries).__name__} {retries!r}")
        self.retries = retries
        #: Counters of this store's retried requests (see zarrflow.storage.retry).
        self.retry_stats = RetryStats()

    def _retry(self, action: str, what: str, fn: Any) -> Any:
        """``fn()`` under this store's retry policy (transient faults retried)."""
        if self.retries is None or self._local:
            return fn()
        return self.retries.call(fn, action=action, what=f"{what} of {self!r}", stats=self.retry_stats)

    # --- mapping ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key``; KeyError naming the key when it does not exist."""
        nkey = self._normalize_key(key)
        try:
            path = self._fs_path(nkey)
            value = self._retry("read", repr(nkey), lambda: self.fs.cat_file(path))
        except Exception as exc:
            if self._is_missing(exc):
                raise KeyError(key) from exc
            raise self._error("read", nkey, exc) from exc
        return bytes(value) if type(value) is not bytes else value

    def __setitem__(self, key: str, value: Any) -> None:
        """Store ``value`` (bytes-like) at ``key``."""
        nkey = self._normalize_key(key)
        data = ensure_bytes(value)
        self._check_writeable(nkey)
        self._write({nkey: data})

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; a "directory" of keys is removed with everything under it (as
        zarr 2's FSStore does); KeyError when nothing is there."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        path = self._fs_path(nkey)
        try:
            if not self.fs.isfile(path):
                if not self._find(nkey):
                    raise KeyError(key)
                self._retry("delete", repr(nkey), lambda: self.fs.rm(path, recursive=True))
                self.fs.invalidate_cache(path)
            else:
                self._retry("delete", repr(nkey), lambda: self.fs.rm_file(path))
        except KeyError:
            raise
        except Exception as exc:
            if self._is_missing(exc):
                raise KeyError(key) from exc
            raise self._error("delete", nkey, exc) from exc
        self._prune(path)

    def _contains(self, nkey: str) -> bool:
        """True when ``key`` holds a value (one metadata request, no data transfer)."""
        try:
            # info(), not isfile(): isfile() answers False for any error (denied, unreachable)
            path = self._fs_path(nkey)
            return self._retry("look up", repr(nkey), lambda: self.fs.info(path)).get("type") == "file"
        except Exception as exc:
            if self._is_missing(exc):
                return False
            raise self._error("look up", nkey, exc) from exc

    def _find(self, path: str) -> list[str]:
        """Every key under hierarchy path ``path`` (normalised), sorted."""
        fs_path = self._fs_path(path)
        try:
            self.fs.invalidate_cache(fs_path)
            found = self._retry("list", repr(path), lambda: self.fs.find(fs_path, withdirs=False))
        except Exception as exc:
            if self._is_missing(exc):
                return []
            raise self._error("list", path or "<root>", exc) from exc
        keys = (self._key_of(p) for p in found)
        return sorted(k for k in keys if k is not None and (not path or k.startswith(path + "/")))

    def __iter__(self) -> Iterator[str]:
        """Every key, in sorted order (one recursive listing)."""
        return iter(self._find(""))

    def __len__(self) -> int:
        """Number of keys."""
        return len(self._find(""))

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, sorted, from one listing of that prefix only."""
        return self._find(self._normalize_path(path))

    def clear(self) -> None:
        """Remove every key."""
        self.rmdir("")

    # --- batches ------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values of ``keys`` (missing ones left out) in one concurrent ``fs.cat``.

        Any error other than a missing key raises StoreError naming the key.
        """
        paths: dict[str, list[str]] = {}
        for key in keys:
            paths.setdefault(self._fs_path(self._normalize_key(key)), []).append(key)
        if not paths:
            return {}
        if any(_MAGIC.intersection(p) for p in paths):  # fsspec would glob these: go one by one
            out: dict[str, bytes] = {}
            for originals in paths.values():
                try:
                    value = self[originals[0]]
                except KeyError:
                    continue
                for k in originals:
                    out[k] = value
            return out
        try:
            results = self._cat_retrying(paths)
        except Exception as exc:
            if self._is_missing(exc):
                return {}
            failed = getattr(exc, "_zarrflow_path", None)
            raise self._error("read", [self._key_of(p) or p for p in ([failed] if failed else paths)], exc) from exc
        out = {}
        # fs.cat may answer under the filesystem's own spelling of a path (memory://
        # roots them at '/'): match those too, so no value or error is dropped
        stripped = {self.fs._strip_protocol(p): ks for p, ks in paths.items()}
        for path, value in results.items():
            originals = paths.get(path) or stripped.get(path) or stripped.get(self.fs._strip_protocol(path))
            if originals is None:  # pragma: no cover - a path we did not ask for
                continue
            if isinstance(value, BaseException):
                if self._is_missing(value):
                    continue
                raise self._error("read", self._normalize_key(originals[0]), value) from value
            data = value if type(value) is bytes else bytes(value)
            for k in originals:
                out[k] = data
        return out

    def _cat_retrying(self, paths: Mapping[str, Any]) -> dict[str, Any]:
        """``fs.cat`` of ``paths`` (path -> value or exception); paths that failed with a
        transient fault are fetched again, on their own, under the retry policy."""
        done: dict[str, Any] = {}

        def fetch() -> dict[str, Any]:
            todo = [p for p in paths if p not in done]
            results = self.fs.cat(todo, on_error="return")
            if not isinstance(results, dict):  # pragma: no cover - fs.cat of a list is a dict
                results = {todo[0]: results}
            first: BaseException | None = None
            for path, value in results.items():
                asked = path if path in paths else self.fs._strip_protocol(path)
                if isinstance(value, BaseException) and is_transient(value) and self.retries is not None:
                    if first is None:
                        first = value
                        value._zarrflow_path = asked  # type: ignore[attr-defined] - named in the error
                    continue
                done[asked] = value
            if first is not None:
                raise first
            return done

        if self.retries is None:
            return fetch()
        return self._retry("read", f"{len(paths)} keys", fetch)

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values with one concurrent ``fs.pipe``; keys and values are all
        checked first, and a read-only store refuses before any request."""
        checked = {self._normalize_key(k): ensure_bytes(v) for k, v in items.items()}
        self._check_writeable(next(iter(checked), "<no keys>"))  # refused even when empty, as in zarr 2
        if checked:
            self._write(checked)

    def _write(self, items: dict[str, bytes]) -> None:
        """Write checked items: atomically (temp file + rename) on local disks, else ``fs.pipe``."""
        if self._local and self.durable and len(items) > 1:
            self._write_local_durably(items)
            return
        if self._local:
            for key, data in items.items():
                try:
                    self._write_local(self._fs_path(key), data)
                except KeyBlockedError:
                    raise  # names both keys already
                except Exception as exc:  # named by the key that failed (a full disk, ...)
                    raise self._error("write", key, exc) from exc
            return
        try:
            if len(items) == 1:  # whole-object PUTs: a retried write stores the same bytes
                key, data = next(iter(items.items()))
                path = self._fs_path(key)
                self._retry("write", repr(key), lambda: self.fs.pipe_file(path, data))
            elif self.retries is None or not getattr(self.fs, "async_impl", False):
                batch = {self._fs_path(k): v for k, v in items.items()}
                self._retry("write", f"{len(batch)} keys", lambda: self.fs.pipe(batch))
            else:
                self._pipe_retrying({self._fs_path(k): v for k, v in items.items()})
        except KeyBlockedError:
            raise
        except Exception as exc:
            raise self._error("write", list(items), exc) from exc

    def _write_local_durably(self, items: dict[str, bytes]) -> None:
        """Durable local writes of many items, their fsyncs overlapping (see local_files)."""
        writes = []
        for key, data in items.items():
            path = self._fs_path(key)
            if self.fs.isdir(path):  # a key replacing a "directory" of keys
                self.fs.rm(path, recursive=True)
            parent, name = os.path.split(path)
            writes.append((parent, name, data))
        errors = write_many_durably(writes)
        for (parent, _, _), exc in zip(writes, errors):
            if exc is not None:
                prune_empty_dirs(parent, self.path)
        for key, exc in zip(items, errors):
            if exc is not None:
                raise self._error("write", key, exc) from exc

    def _write_local(self, path: str, data: bytes) -> None:
        """Write ``data`` to local ``path`` via a temporary file in the same directory."""
        parent, name = os.path.split(path)
        if self.fs.isdir(path):  # a key replacing a "directory" of keys
            self.fs.rm(path, recursive=True)
        try:
            write_atomically(parent, name, data, durable=self.durable or is_metadata_key(name))
        except (FileExistsError, NotADirectoryError) as exc:
            key = self._key_of(path) or path
            parts = key.split("/")
            blocker = next(("/".join(parts[:i]) for i in range(1, len(parts))
                            if os.path.isfile(self._fs_path("/".join(parts[:i])))), None)
            if blocker is None:
                prune_empty_dirs(parent, self.path)
                raise
            raise KeyBlockedError(f"{self!r}: cannot write {key!r}: the key {blocker!r} on its path holds "
                                  "a value") from exc
        except OSError:  # e.g. a full disk: no directory made for the value is left either
            prune_empty_dirs(parent, self.path)
            raise

    def _pipe_retrying(self, batch: dict[str, bytes]) -> None:
        """Concurrent PUTs of ``batch`` on an async filesystem; those that failed with a
        transient fault are sent again, on their own, under the retry policy."""
        done: set[str] = set()

        async def put_each(todo: list[str]) -> list[Any]:
            return await asyncio.gather(*(self.fs._pipe_file(p, batch[p]) for p in todo), return_exceptions=True)

        def put() -> None:
            todo = [p for p in batch if p not in done]
            results = fsspec.asyn.sync(self.fs.loop, put_each, todo)
            first: BaseException | None = None
            for path, result in zip(todo, results):
                if not isinstance(result, BaseException):
                    done.add(path)
                elif first is None or (is_transient(first) and not is_transient(result)):
                    first = result  # a permanent fault wins: it is raised at once
            if first is not None:
                raise first

        self._retry("write", f"{len(batch)} keys", put)

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys with one ``fs.rm``; missing ones are ignored."""
        nkeys = list(dict.fromkeys(self._normalize_key(k) for k in keys))
        if not nkeys:
            return
        self._check_writeable(nkeys[0])
        paths = [self._fs_path(k) for k in nkeys]
        try:
            if self._local or any(_MAGIC.intersection(p) for p in paths):
                for key in nkeys:
                    try:
                        del self[key]
                    except KeyError:
                        pass
                return
            self._retry("delete", f"{len(paths)} keys", lambda: self.fs.rm(paths))
        except Exception as exc:
            if not self._is_missing(exc):
                raise self._error("delete", nkeys, exc) from exc
            for key in nkeys:  # some were missing (filesystems that refuse those): one by one
                try:
                    del self[key]
                except KeyError:
                    pass
        for path in paths:
            self._prune(path)

    # --- hierarchy ----------------------------------------------------------------------

    def _prune(self, fs_path: str) -> None:
        """Remove directories left empty above ``fs_path`` (local disks only), up to the root."""
        if not self._local:
            return
        prune_empty_dirs(os.path.dirname(fs_path), self.path)

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path`` (one ``fs.ls``)."""
        npath = self._normalize_path(path)
        fs_path = self._fs_path(npath)
        try:
            self.fs.invalidate_cache(fs_path)
            entries = self._retry("list", repr(npath), lambda: self.fs.ls(fs_path, detail=True))
        except Exception as exc:
            if self._is_missing(exc):
                return []
            raise self._error("list", npath or "<root>", exc) from exc
        here = fs_path.rstrip("/")
        names = set()
        for entry in entries:
            name = entry["name"].rstrip("/")
            if name == here or name == self.fs._strip_protocol(here):
                continue  # ls of a key lists the key itself: a key has no children
            base = name.rsplit("/", 1)[-1]
            if self._local and base.endswith(TEMP_SUFFIX):
                continue
            names.add(base)
        return sorted(names)

    def rmdir(self, path: str = "") -> None:
        """Remove every key under ``path``; ``''`` clears the store (the root stays usable)."""
        npath = self._normalize_path(path)
        self._check_writeable(npath or "<root>")
        keys = self._find(npath)
        if not keys:
            return
        try:
            if self._local:
                for key in keys:
                    try:
                        os.remove(self._fs_path(key))
                    except FileNotFoundError:
                        pass
                    self._prune(self._fs_path(key))
            else:
                targets = [self._fs_path(k) for k in keys]
                self._retry("remove", repr(npath), lambda: self.fs.rm(targets))
        except Exception as exc:
            if not self._is_missing(exc):
                raise self._error("remove", npath or "<root>", exc) from exc
        self.fs.invalidate_cache(self._fs_path(npath))

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes of the value at key ``path``, else of the values directly under it
        (every value under it when ``recursive``), else 0 (zarr 2's count)."""
        npath = self._normalize_path(path)
        fs_path = self._fs_path(npath)
        try:
            self.fs.invalidate_cache(fs_path)
            sizes = self._retry("size", repr(npath),
                                lambda: self.fs.du(fs_path, total=False, maxdepth=None if recursive else 1))
        except Exception as exc:
            if self._is_missing(exc):
                return 0
            raise self._error("size", npath or "<root>", exc) from exc
        total = 0
        for p, size in sizes.items():
            if not (self._local and p.endswith(TEMP_SUFFIX)):
                total += int(size or 0)
        return total

    def close(self) -> None:
        """Drop cached listings; the store stays usable (filesystems are shared)."""
        self.fs.invalidate_cache()

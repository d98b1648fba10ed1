"""LMDBStore: keys and values in an LMDB environment (zarr 2's ``LMDBStore``).

Needs the optional ``lmdb`` package, imported when a store is created, so
zarrflow imports without it. Keys are stored UTF-8 encoded; LMDB keeps them in
byte order, which is also the order of the strings, so listing walks a cursor
from the prefix instead of scanning every key.

``getitems`` reads in one read transaction; ``setitems``, ``delitems``, ``rmdir``
and ``rename`` each run in one write transaction, so they apply entirely or not
at all and readers never see half of them. LMDB forbids opening one environment
twice in a process, so handles on the same directory in one process (a pickled
copy, a read-only view) share one environment, closed with the last handle.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from zarrflow.errors import InvalidKeyError, StoreError
from zarrflow.storage.base import (
    Store,
    byte_view,
    check_dimension_separator,
    ensure_parent_dir,
)
from zarrflow.storage.paths import prefix_for

__all__ = ["LMDBStore"]

#: Longest key LMDB accepts by default (bytes).
MAX_KEY_BYTES = 511

# (pid, real path) -> [environment, number of open handles, opened read-only]
_ENVS: dict[tuple[int, str], list[Any]] = {}
_ENVS_LOCK = threading.Lock()


def _import_lmdb() -> Any:
    try:
        import lmdb  # noqa: PLC0415 - optional backend, imported by name (design habit 9)
    except ImportError as exc:
        raise ImportError("LMDBStore needs the 'lmdb' package: pip install lmdb") from exc
    return lmdb


def _default_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """zarr 2's defaults for ``lmdb.open``: a large sparse map, no sync per commit."""
    out = dict(kwargs)
    out.setdefault("map_size", 2**40 if sys.maxsize >= 2**32 else 2**28)
    out.setdefault("meminit", False)
    out.setdefault("writemap", sys.platform.startswith("linux") and not out.get("readonly", False))
    out.setdefault("metasync", False)
    out.setdefault("sync", False)
    out.setdefault("map_async", False)
    out.setdefault("max_spare_txns", multiprocessing.cpu_count())
    return out


class LMDBStore(Store):
    """Keys as entries of the LMDB environment at ``path`` (a directory by default).

    ``buffers=True`` reads values through zero-copy buffers (each is still copied
    once into the ``bytes`` returned). Keyword arguments go to ``lmdb.open`` with
    zarr 2's defaults (``map_size`` 1 TiB on 64-bit systems, sparse on disk;
    ``sync=False``: call :meth:`flush` or :meth:`close` to make writes durable).
    ``readonly=True`` makes writes raise ReadOnlyError.
    """

    is_persistent = True
    supports_multiprocess_writes = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        buffers: bool = True,
        dimension_separator: str | None = None,
        **kwargs: Any,
    ) -> None:
        lmdb = _import_lmdb()
        self._lmdb = lmdb
        self.path = os.path.abspath(os.fsdecode(path))
        self.buffers = bool(buffers)
        self.dimension_separator = check_dimension_separator(dimension_separator)
        self._user_kwargs = dict(kwargs)
        self.kwargs = _default_kwargs(kwargs)
        self._read_only = bool(self.kwargs.get("readonly", False))
        self._closed = False
        self._env_key = (os.getpid(), os.path.realpath(self.path))
        self.db = self._acquire()

    # --- the shared environment --------------------------------------------------------------

    def _acquire(self) -> Any:
        with _ENVS_LOCK:
            entry = _ENVS.get(self._env_key)
            if entry is not None:
                if entry[2] and not self._read_only:
                    raise StoreError(
                        f"cannot open {self.path!r} for writing: it is already open read-only in this "
                        "process (LMDB allows one environment per process); close that store first"
                    )
                entry[1] += 1
                return entry[0]
            try:
                if not self.kwargs.get("readonly", False):
                    ensure_parent_dir(self.path)
                env = self._lmdb.open(self.path, **self.kwargs)
            except self._lmdb.Error as exc:
                raise StoreError(f"cannot open {self.path!r} as an LMDBStore: {exc}") from exc
            _ENVS[self._env_key] = [env, 1, self._read_only]
            return env

    def _release(self) -> None:
        with _ENVS_LOCK:
            entry = _ENVS.get(self._env_key)
            if entry is None or entry[0] is not self.db:  # pragma: no cover - defensive
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _ENVS[self._env_key]
                entry[0].close()

    # --- identity and pickling -----------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Flush, then pickle the parameters (the caller's keyword arguments only)."""
        try:
            self.flush()
        except StoreError:  # pragma: no cover - a closed or read-only env
            pass
        return (_rebuild, (type(self), (self.path, self.buffers, self.dimension_separator), self._user_kwargs))

    def _identity(self) -> tuple[Any, ...]:
        """The database directory."""
        return (self.path,)

    def __repr__(self) -> str:
        """``LMDBStore('/abs/path')``."""
        return f"{type(self).__name__}({self.path!r})"

    # --- helpers ----------------------------------------------------------------------------------

    def _bkey(self, nkey: str, key: object) -> bytes:
        bkey = nkey.encode("utf-8")
        if len(bkey) > MAX_KEY_BYTES:
            raise InvalidKeyError(f"key {key!r} is {len(bkey)} bytes; LMDB keys are at most {MAX_KEY_BYTES} bytes")
        return bkey

    def _begin(self, action: str, key: str, write: bool = False) -> Any:
        self._check_open(action, key)
        return self.db.begin(write=write, buffers=self.buffers)

    def _walk(self, txn: Any, prefix: bytes) -> Iterator[tuple[bytes, Any]]:
        """(key, value) pairs whose key starts with ``prefix``, in key order."""
        with txn.cursor() as cursor:
            if not cursor.set_range(prefix):
                return
            for k, v in cursor.iternext(keys=True, values=True):
                k = bytes(k)
                if not k.startswith(prefix):
                    return
                yield k, v

    # --- mapping ----------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key``; KeyError when missing."""
        bkey = self._bkey(self._normalize_key(key), key)
        try:
            with self._begin("read", key) as txn:
                value = txn.get(bkey)
                if value is None:
                    raise KeyError(key)
                return bytes(value)
        except self._lmdb.Error as exc:
            raise self._error("read", key, exc) from exc

    def __setitem__(self, key: str, value: Any) -> None:
        """Store ``value`` (any bytes-like object) at ``key``."""
        self.setitems({key: value})

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; KeyError when missing."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        bkey = self._bkey(nkey, key)
        try:
            with self._begin("delete", key, write=True) as txn:
                if not txn.delete(bkey):
                    raise KeyError(key)
        except self._lmdb.Error as exc:
            raise self._error("delete", key, exc) from exc

    def _contains(self, nkey: str) -> bool:
        """True when ``nkey`` holds a value (keys longer than LMDB allows hold none)."""
        try:
            bkey = self._bkey(nkey, nkey)
        except InvalidKeyError:
            return False
        try:
            with self._begin("look up", nkey) as txn:
                return txn.get(bkey) is not None
        except self._lmdb.Error as exc:
            raise self._error("look up", nkey, exc) from exc

    def _all_keys(self, prefix: str = "") -> list[str]:
        try:
            with self._begin("list", prefix) as txn:
                return [k.decode("utf-8") for k, _ in self._walk(txn, prefix.encode("utf-8"))]
        except self._lmdb.Error as exc:
            raise self._error("list", prefix, exc) from exc

    def __iter__(self) -> Iterator[str]:
        """Keys in sorted order (a snapshot)."""
        return iter(self._all_keys())

    def __len__(self) -> int:
        """Number of keys."""
        self._check_open("list", "")
        return int(self.db.stat()["entries"])

    def clear(self) -> None:
        """Remove every key, in one transaction."""
        self.rmdir("")

    # --- batches ------------------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` (keyed as given), missing ones left out, in one read transaction."""
        bkeys = [(k, self._bkey(self._normalize_key(k), k)) for k in keys]
        out: dict[str, bytes] = {}
        if not bkeys:
            return out
        try:
            with self._begin("read", bkeys[0][0]) as txn:
                for key, bkey in bkeys:
                    value = txn.get(bkey)
                    if value is not None:
                        out[key] = bytes(value)
        except self._lmdb.Error as exc:
            raise self._error("read", bkeys[0][0], exc) from exc
        return out

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values in one write transaction: all of them or none."""
        checked = []
        for k, v in items.items():
            nkey = self._normalize_key(k)
            checked.append((nkey, self._bkey(nkey, k), byte_view(v)))
        if not checked:
            return
        self._check_writeable(checked[0][0])
        current = checked[0][0]
        try:
            with self._begin("write", current, write=True) as txn:
                for current, bkey, data in checked:  # noqa: B007 - names the failing key below
                    txn.put(bkey, data)
        except self._lmdb.Error as exc:
            raise self._error("write", current, exc) from exc

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys in one write transaction; missing ones are ignored."""
        bkeys = [(k, self._bkey(self._normalize_key(k), k)) for k in keys]
        if not bkeys:
            return
        self._check_writeable(bkeys[0][0])
        try:
            with self._begin("delete", bkeys[0][0], write=True) as txn:
                for _, bkey in bkeys:
                    txn.delete(bkey)
        except self._lmdb.Error as exc:
            raise self._error("delete", bkeys[0][0], exc) from exc

    # --- hierarchy ------------------------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, recursively, sorted."""
        return self._all_keys(prefix_for(self._normalize_path(path)))

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path``; each subtree is skipped
        with one cursor seek rather than walked."""
        prefix = prefix_for(self._normalize_path(path)).encode("utf-8")
        n = len(prefix)
        names: list[str] = []
        try:
            with self._begin("list", path or "") as txn, txn.cursor() as cursor:
                found = cursor.set_range(prefix)
                while found:
                    k = bytes(cursor.key())
                    if not k.startswith(prefix):
                        break
                    slash = k.find(b"/", n)
                    if slash < 0:
                        names.append(k[n:].decode("utf-8"))
                        found = cursor.next()
                    else:
                        name = k[n:slash]
                        if not names or names[-1] != name.decode("utf-8"):
                            names.append(name.decode("utf-8"))
                        found = cursor.set_range(k[: slash] + b"0")  # '0' sorts right after '/'
        except self._lmdb.Error as exc:
            raise self._error("list", path or "", exc) from exc
        return sorted(set(names))

    def rmdir(self, path: str = "") -> None:
        """Remove every key under ``path`` in one write transaction; ``''`` clears."""
        npath = self._normalize_path(path)
        self._check_writeable(npath)
        prefix = prefix_for(npath).encode("utf-8")
        try:
            with self._begin("remove", npath, write=True) as txn:
                if not prefix:
                    txn.drop(self.db.open_db(txn=txn), delete=False)
                    return
                with txn.cursor() as cursor:
                    found = cursor.set_range(prefix)
                    while found and bytes(cursor.key()).startswith(prefix):
                        found = cursor.delete()  # moves to the next key
        except self._lmdb.Error as exc:
            raise self._error("remove", npath, exc) from exc

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes at key ``path``, else of the values directly under it (every value
        under it when ``recursive``), else 0 (zarr 2's count)."""
        npath = self._normalize_path(path)
        try:
            with self._begin("size", npath) as txn:
                if npath:
                    value = txn.get(npath.encode("utf-8"))
                    if value is not None:
                        return len(value)
                bprefix = prefix_for(npath).encode("utf-8")
                return sum(len(v) for k, v in self._walk(txn, bprefix) if recursive or b"/" not in k[len(bprefix):])
        except self._lmdb.Error as exc:
            raise self._error("size", npath, exc) from exc

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move key ``src_path`` and everything under it to ``dst_path``, in one write
        transaction (existing destination values are overwritten)."""
        src, dst = self._rename_paths(src_path, dst_path)
        bsrc, bdst = src.encode("utf-8"), dst.encode("utf-8")
        try:
            with self._begin("rename", src, write=True) as txn:
                moves = [(k, bytes(v)) for k, v in self._walk(txn, bsrc + b"/")]
                value = txn.get(bsrc)
                if value is not None:
                    moves.append((bsrc, bytes(value)))
                if not moves:
                    raise KeyError(src_path)
                for k, v in moves:
                    new = bdst + k[len(bsrc) :]
                    self._bkey(new.decode("utf-8"), new.decode("utf-8"))
                    txn.put(new, v)
                for k, _ in moves:
                    txn.delete(k)
        except self._lmdb.Error as exc:
            raise self._error("rename", f"{src} -> {dst}", exc) from exc

    # --- lifecycle ------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Force written data to disk (no-op when closed or read-only)."""
        if self._closed or self._read_only:
            return
        try:
            self.db.sync(True)
        except self._lmdb.Error as exc:
            raise self._error("flush", "", exc) from exc

    def close(self) -> None:
        """Flush and release the environment; later use raises StoreError."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._release()


def _rebuild(cls: type[LMDBStore], args: tuple[Any, ...], kwargs: dict[str, Any]) -> LMDBStore:
    """Unpickle an LMDBStore from its parameters."""
    return cls(*args, **kwargs)

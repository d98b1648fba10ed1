"""DBMStore: keys and values in a DBM-style database (zarr 2's ``DBMStore``).

Any ``dbm``-like ``open(path, flag, mode, **kwargs)`` works: the standard
library's ``dbm.open`` by default (which picks ``dbm.gnu``, ``dbm.ndbm`` or
``dbm.dumb``; their files are not interchangeable, so pass e.g. ``dbm.dumb.open``
to be sure), or ``bsddb3.btopen``. Keys are stored UTF-8 encoded, values as bytes.

One lock serialises access (``write_lock=False`` leaves locking to the backend).
Call :meth:`DBMStore.close` (or :meth:`DBMStore.flush`) after writing: some
backends keep their index in memory until then. Pickling flushes and pickles
the parameters (the ``open`` function included, so it must be importable); the
copy reopens with flag 'c' where the original had 'n', never clobbering data.
"""

from __future__ import annotations

import contextlib
import dbm
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from zarrflow.errors import StoreError
from zarrflow.storage.base import (
    Store,
    check_dimension_separator,
    ensure_bytes,
    ensure_parent_dir,
)

__all__ = ["DBMStore"]

#: Exceptions of the standard dbm modules (their ``error`` classes and OSError).
_DBM_ERRORS: tuple[type[BaseException], ...] = tuple(dbm.error) + (OSError,)


class DBMStore(Store):
    """Keys as entries of the DBM database at ``path``.

    ``flag`` is the DBM open flag: 'r' (read-only: writes raise ReadOnlyError),
    'w' (read-write, existing), 'c' (create if missing; the default) or 'n'
    (always start empty), optionally followed by backend letters ('f', 's', 'u'
    for ``dbm.gnu``). ``mode`` is the permission of a new file; ``open`` the
    function that opens the database (default ``dbm.open``); further keyword
    arguments go to it.
    """

    is_persistent = True
    #: A second handle on the same database (a pickled copy) may not see this
    #: one's writes until both are flushed and reopened (``dbm.dumb`` keeps its
    #: index in memory; ``dbm.gnu`` locks the file).
    supports_concurrent_handles = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        flag: str = "c",
        mode: int = 0o666,
        open: Callable[..., Any] | None = None,
        write_lock: bool = True,
        dimension_separator: str | None = None,
        **open_kwargs: Any,
    ) -> None:
        if not isinstance(flag, str) or not flag or flag[0] not in "rwcn":
            raise ValueError(f"DBMStore flag must start with 'r', 'w', 'c' or 'n', got {flag!r}")
        self.path = os.path.abspath(os.fsdecode(path))
        self.flag = flag
        self.mode = mode
        self.open = dbm.open if open is None else open
        self.write_lock = bool(write_lock)
        self.open_kwargs = open_kwargs
        self.dimension_separator = check_dimension_separator(dimension_separator)
        self._read_only = flag[0] == "r"
        self._lock: Any = threading.RLock() if self.write_lock else contextlib.nullcontext()
        self._closed = False
        self.db = self._open_db(flag)

    def _open_db(self, flag: str) -> Any:
        try:
            if flag[:1] in ("c", "n"):
                ensure_parent_dir(self.path)
            return self.open(self.path, flag, self.mode, **self.open_kwargs)
        except _DBM_ERRORS as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise StoreError(f"cannot open {self.path!r} as a DBMStore with flag {flag!r}: {reason}") from exc

    # --- identity and pickling ------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Flush, then pickle the parameters ('n' becomes 'c' so the copy keeps the data)."""
        with contextlib.suppress(Exception):
            self.flush()
        flag = "c" + self.flag[1:] if self.flag[0] == "n" else self.flag
        args = (self.path, flag, self.mode, self.open, self.write_lock, self.dimension_separator)
        return (_rebuild, (type(self), args, self.open_kwargs))

    def _identity(self) -> tuple[Any, ...]:
        """The file, open function and open arguments (as zarr 2)."""
        return (self.path, self.open, tuple(sorted(self.open_kwargs.items())))

    def __repr__(self) -> str:
        """``DBMStore('/abs/path')``."""
        return f"{type(self).__name__}({self.path!r})"

    # --- helpers ------------------------------------------------------------------------------

    # --- mapping ------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key``; KeyError when missing."""
        bkey = self._normalize_key(key).encode("utf-8")
        with self._lock:
            self._check_open("read", key)
            try:
                value = self.db[bkey]
            except KeyError:
                raise KeyError(key) from None
            except _DBM_ERRORS as exc:
                raise self._error("read", key, exc) from exc
        return ensure_bytes(value)

    def __setitem__(self, key: str, value: Any) -> None:
        """Store ``value`` (any bytes-like object) at ``key``."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        data = ensure_bytes(value)
        with self._lock:
            self._check_open("write", key)
            try:
                self.db[nkey.encode("utf-8")] = data
            except _DBM_ERRORS as exc:
                raise self._error("write", key, exc) from exc

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; KeyError when missing."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        with self._lock:
            self._check_open("delete", key)
            try:
                del self.db[nkey.encode("utf-8")]
            except KeyError:
                raise KeyError(key) from None
            except _DBM_ERRORS as exc:
                raise self._error("delete", key, exc) from exc

    def _contains(self, nkey: str) -> bool:
        """True when ``key`` holds a value."""
        with self._lock:
            self._check_open("look up", nkey)
            return nkey.encode("utf-8") in self.db

    def _keys(self) -> list[str]:
        with self._lock:
            self._check_open("list", "")
            try:
                raw = list(self.db.keys())
            except _DBM_ERRORS as exc:
                raise self._error("list", "", exc) from exc
        return sorted(k.decode("utf-8") if isinstance(k, bytes) else str(k) for k in raw)

    def __iter__(self) -> Iterator[str]:
        """Keys, sorted (a snapshot)."""
        return iter(self._keys())

    def __len__(self) -> int:
        """Number of keys."""
        with self._lock:
            self._check_open("list", "")
            return len(self.db)

    # --- batches ------------------------------------------------------------------------------

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values under one lock; a bad key or value stores nothing."""
        checked = [(self._normalize_key(k), ensure_bytes(v)) for k, v in items.items()]
        if not checked:
            return
        self._check_writeable(checked[0][0])
        with self._lock:
            for nkey, data in checked:
                self._check_open("write", nkey)
                try:
                    self.db[nkey.encode("utf-8")] = data
                except _DBM_ERRORS as exc:
                    raise self._error("write", nkey, exc) from exc

    # --- lifecycle ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write buffered data to disk (``sync``, else close and reopen); no-op when
        read-only or closed."""
        if self.flag[0] == "r":
            return
        with self._lock:
            if self._closed:
                return
            try:
                if hasattr(self.db, "sync"):
                    self.db.sync()
                else:
                    self.db.close()
                    self.db = self._open_db("c" + self.flag[1:] if self.flag[0] == "n" else self.flag)
            except _DBM_ERRORS as exc:
                raise self._error("flush", "", exc) from exc

    def close(self) -> None:
        """Close the database; later use raises StoreError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if hasattr(self.db, "close"):
                try:
                    self.db.close()
                except _DBM_ERRORS as exc:
                    raise self._error("close", "", exc) from exc


def _rebuild(cls: type[DBMStore], args: tuple[Any, ...], open_kwargs: dict[str, Any]) -> DBMStore:
    """Unpickle a DBMStore from its parameters."""
    return cls(*args, **open_kwargs)

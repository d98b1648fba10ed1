"""SQLiteStore: keys and values in one SQLite table (zarr 2's ``SQLiteStore``).

The table is zarr 2's, ``zarr(k TEXT PRIMARY KEY, v BLOB)``, so zarr 2 reads and
writes the same files. Listing, sizes, ``rmdir`` and ``rename`` are SQL over a key
range (``k >= 'a/' AND k < 'a0'``: '0' sorts right after '/'), which uses the
primary-key index, is case-sensitive, and needs no LIKE escaping for keys holding
'%' or '_'.

One connection per store, shared by threads under a lock (``check_same_thread``
is off). Batched writes, ``rmdir`` and ``rename`` run in one transaction each, so
they apply entirely or not at all; other connections and processes read
committed data only, and wait (``timeout``, 5 s by default) while another
process writes. The default rollback journal works on network filesystems.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from zarrflow.errors import StoreError
from zarrflow.storage.base import (
    Store,
    byte_view,
    check_dimension_separator,
    ensure_parent_dir,
)
from zarrflow.storage.paths import prefix_for

__all__ = ["SQLiteStore"]

#: Keys per ``IN (...)`` query (SQLite allows at least 999 parameters).
_BATCH = 500


def _range(path: str) -> tuple[str, str]:
    """Bounds of every key under ``path`` ('' is the root): ``lo <= k < hi``."""
    return path + "/", path + "0"


def _as_bytes(value: Any) -> bytes:
    """A stored value as bytes (a foreign database may hold TEXT)."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


class SQLiteStore(Store):
    """Keys as rows of the table ``zarr`` in the SQLite database ``path``.

    ``path`` may be ``':memory:'`` (not persistent, cannot be pickled).
    ``read_only=True`` opens the file read-only (it must exist) and makes writes
    raise ReadOnlyError. Other keyword arguments go to ``sqlite3.connect``.
    """

    is_persistent = True
    supports_multiprocess_writes = True
    supports_rename = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        dimension_separator: str | None = None,
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        path = os.fsdecode(path)
        self.path = path if path == ":memory:" else os.path.abspath(path)
        self.is_persistent = self.path != ":memory:"
        self.supports_multiprocess_writes = self.is_persistent
        self.dimension_separator = check_dimension_separator(dimension_separator)
        self._read_only = bool(read_only)
        self.kwargs = kwargs
        self._lock = threading.RLock()
        self._closed = False
        connect = dict(kwargs)
        connect.setdefault("check_same_thread", False)
        connect["isolation_level"] = None  # autocommit; transactions are explicit
        target = self.path
        if self._read_only and self.is_persistent:
            target, connect["uri"] = f"file:{quote(self.path)}?mode=ro", True
        try:
            if not self._read_only and self.is_persistent:
                ensure_parent_dir(self.path)
            self.db = sqlite3.connect(target, detect_types=0, **connect)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path!r} as a SQLiteStore: {exc}") from exc
        try:
            if self._read_only:
                self.db.execute("SELECT 1 FROM zarr LIMIT 1")
            else:
                self.db.execute("CREATE TABLE IF NOT EXISTS zarr(k TEXT PRIMARY KEY, v BLOB)")
        except sqlite3.Error as exc:
            self.db.close()
            raise StoreError(f"cannot open {self.path!r} as a SQLiteStore: {exc}") from exc

    # --- identity and pickling ------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the parameters; an in-memory database cannot be pickled."""
        if not self.is_persistent:
            raise pickle.PicklingError("cannot pickle an in-memory SQLiteStore")
        args = (self.path, self.dimension_separator, self._read_only)
        return (_rebuild, (type(self), args, self.kwargs))

    def _identity(self) -> tuple[Any, ...] | None:
        """The database file; an in-memory database is equal only to itself."""
        return (self.path,) if self.is_persistent else None

    def __repr__(self) -> str:
        """``SQLiteStore('/abs/path')``."""
        return f"{type(self).__name__}({self.path!r})"

    # --- helpers ----------------------------------------------------------------------------------

    def _query(self, action: str, key: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement under the lock; rows as a list."""
        with self._lock:
            self._check_open(action, key)
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error(action, key, exc) from exc

    def _transaction(self, action: str, key: str, work: Any) -> Any:
        """Run ``work(cursor)`` in one write transaction, rolled back on any error."""
        with self._lock:
            self._check_open(action, key)
            cur = self.db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    result = work(cur)
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise self._error(action, key, exc) from exc
            finally:
                cur.close()

    # --- mapping ----------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key``; KeyError when missing."""
        nkey = self._normalize_key(key)
        rows = self._query("read", key, "SELECT v FROM zarr WHERE k = ?", (nkey,))
        if not rows:
            raise KeyError(key)
        return _as_bytes(rows[0][0])

    def __setitem__(self, key: str, value: Any) -> None:
        """Store ``value`` (any bytes-like object) at ``key``."""
        self.setitems({key: value})

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; KeyError when missing."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        with self._lock:
            self._check_open("delete", key)
            try:
                deleted = self.db.execute("DELETE FROM zarr WHERE k = ?", (nkey,)).rowcount
            except sqlite3.Error as exc:
                raise self._error("delete", key, exc) from exc
        if deleted < 1:
            raise KeyError(key)

    def _contains(self, nkey: str) -> bool:
        """True when ``key`` holds a value."""
        return bool(self._query("look up", nkey, "SELECT 1 FROM zarr WHERE k = ?", (nkey,)))

    def __iter__(self) -> Iterator[str]:
        """Keys in sorted order (a snapshot)."""
        return iter([k for (k,) in self._query("list", "", "SELECT k FROM zarr ORDER BY k")])

    def __len__(self) -> int:
        """Number of keys."""
        return int(self._query("list", "", "SELECT COUNT(*) FROM zarr")[0][0])

    def clear(self) -> None:
        """Remove every key."""
        self.rmdir("")

    # --- batches ------------------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` (keyed as given), missing ones left out, in one read transaction."""
        nkeys = [(k, self._normalize_key(k)) for k in keys]
        if not nkeys:
            return {}
        found: dict[str, bytes] = {}
        with self._lock:
            self._check_open("read", nkeys[0][0])
            try:
                self.db.execute("BEGIN")
                try:
                    unique = list(dict.fromkeys(n for _, n in nkeys))
                    for i in range(0, len(unique), _BATCH):
                        part = unique[i : i + _BATCH]
                        sql = f"SELECT k, v FROM zarr WHERE k IN ({','.join('?' * len(part))})"
                        found.update((k, _as_bytes(v)) for k, v in self.db.execute(sql, part))
                finally:
                    self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error("read", nkeys[0][0], exc) from exc
        return {k: found[n] for k, n in nkeys if n in found}

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values in one transaction: all of them or none."""
        checked = [(self._normalize_key(k), byte_view(v)) for k, v in items.items()]
        if not checked:
            return
        self._check_writeable(checked[0][0])
        self._transaction(
            "write", checked[0][0], lambda cur: cur.executemany("REPLACE INTO zarr VALUES (?, ?)", checked)
        )

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys in one transaction; missing ones are ignored."""
        nkeys = [(self._normalize_key(k),) for k in keys]
        if not nkeys:
            return
        self._check_writeable(nkeys[0][0])
        self._transaction("delete", nkeys[0][0], lambda cur: cur.executemany("DELETE FROM zarr WHERE k = ?", nkeys))

    # --- hierarchy ------------------------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, recursively, sorted."""
        npath = self._normalize_path(path)
        if not npath:
            return list(self)
        rows = self._query("list", npath, "SELECT k FROM zarr WHERE k >= ? AND k < ? ORDER BY k", _range(npath))
        return [k for (k,) in rows]

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path``, computed in SQL."""
        npath = self._normalize_path(path)
        start = len(prefix_for(npath)) + 1  # SQL substr() is 1-based and counts characters
        rest = "substr(k, :start)"
        sql = (
            f"SELECT DISTINCT CASE WHEN instr({rest}, '/') > 0 THEN substr({rest}, 1, instr({rest}, '/') - 1) "
            f"ELSE {rest} END AS name FROM zarr"
        )
        params: dict[str, Any] = {"start": start}
        if npath:
            sql += " WHERE k >= :lo AND k < :hi"
            params["lo"], params["hi"] = _range(npath)
        rows = self._query("list", npath, sql + " ORDER BY name", params)
        return [name for (name,) in rows]

    def rmdir(self, path: str = "") -> None:
        """Remove every key under ``path`` in one statement; ``''`` clears the store."""
        npath = self._normalize_path(path)
        self._check_writeable(npath)
        if npath:
            sql = "DELETE FROM zarr WHERE k >= ? AND k < ?"
            self._transaction("remove", npath, lambda cur: cur.execute(sql, _range(npath)))
        else:
            self._transaction("remove", npath, lambda cur: cur.execute("DELETE FROM zarr"))

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes at key ``path``, else of the values directly under it (every value
        under it when ``recursive``), else 0 (zarr 2's count)."""
        npath = self._normalize_path(path)
        size = "COALESCE(SUM(LENGTH(CAST(v AS BLOB))), 0)"
        if npath:
            rows = self._query("size", npath, "SELECT LENGTH(CAST(v AS BLOB)) FROM zarr WHERE k = ?", (npath,))
            if rows:
                return int(rows[0][0] or 0)
            where, args = "k >= ? AND k < ?", _range(npath)
        else:
            where, args = "1", ()
        if not recursive:  # zarr 2's count: values directly under the path only
            where += " AND instr(substr(k, ?), '/') = 0"
            args = (*args, len(npath) + 2 if npath else 1)
        rows = self._query("size", npath, f"SELECT {size} FROM zarr WHERE {where}", args)
        return int(rows[0][0])

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move key ``src_path`` and everything under it to ``dst_path`` in one
        transaction (existing destination values are overwritten)."""
        src, dst = self._rename_paths(src_path, dst_path)
        lo, hi = _range(src)

        def work(cur: sqlite3.Cursor) -> int:
            moved = cur.execute(
                "UPDATE OR REPLACE zarr SET k = ? || substr(k, ?) WHERE k = ? OR (k >= ? AND k < ?)",
                (dst, len(src) + 1, src, lo, hi),
            ).rowcount
            if moved < 1:
                raise KeyError(src_path)
            return moved

        self._transaction("rename", f"{src} -> {dst}", work)

    # --- lifecycle ------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Nothing to do: every write is committed when it returns."""

    def close(self) -> None:
        """Close the connection; later use raises StoreError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.db.close()


def _rebuild(cls: type[SQLiteStore], args: tuple[Any, ...], kwargs: dict[str, Any]) -> SQLiteStore:
    """Unpickle a SQLiteStore from its parameters."""
    return cls(*args, **kwargs)

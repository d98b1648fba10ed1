"""ZipStore: every key one entry of a single Zip file (zarr 2's ``ZipStore``).

Zip entries cannot be removed or replaced in place. Writing a key twice appends
a second entry (Python's ``zipfile`` warns ``Duplicate name``) and reads return
the newest; deleting raises :class:`NotImplementedError` naming the key and
changes nothing. The central directory is written by :meth:`ZipStore.close` (or
:meth:`ZipStore.flush`), so a store that was written to must be closed, as in
zarr 2; other readers see new entries only after that.

A write that fails part way (disk full, an interrupt) is rolled back: the entry is
forgotten and the file cut back to where it started, so a torn value is never
listed. One lock serialises every access, so threads may share a store; processes
must not write the same file. Pickling flushes and pickles the parameters; the copy
reopens the file in mode 'a' (or 'r'), never truncating it, as zarr 2 does.
"""

from __future__ import annotations

import os
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from zarrflow.errors import StoreError
from zarrflow.storage.base import (
    Store,
    byte_view,
    check_dimension_separator,
    ensure_parent_dir,
)
from zarrflow.storage.paths import prefix_for

__all__ = ["ZipStore"]

_MODES = ("r", "w", "a", "x")


class ZipStore(Store):
    """Keys as entries of the Zip file ``path``.

    ``mode`` is 'r' (read an existing file; writes raise ReadOnlyError), 'w'
    (truncate or create), 'a' (append, creating the file when missing; the
    default) or 'x' (create, failing if the file exists). ``compression`` is a
    ``zipfile`` constant applied to new entries (values keep their own codec, so
    the default ``ZIP_STORED`` is usually right); ``allowZip64=False`` refuses
    files over 2 GiB. ``dimension_separator`` is the default chunk-key separator
    of arrays created here.
    """

    _erasable = False
    is_persistent = True
    #: Another handle on the same file (a pickled copy) does not see this one's
    #: writes until it is reopened after :meth:`flush`.
    supports_concurrent_handles = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        compression: int = zipfile.ZIP_STORED,
        allowZip64: bool = True,
        mode: str = "a",
        dimension_separator: str | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"ZipStore mode must be one of {list(_MODES)}, got {mode!r}")
        self.path = os.path.abspath(os.fsdecode(path))
        self.compression = compression
        self.allowZip64 = bool(allowZip64)
        self.mode = mode
        self.dimension_separator = check_dimension_separator(dimension_separator)
        self._read_only = mode == "r"
        self._lock = threading.RLock()
        self._closed = False
        path_is_foreign = os.path.isfile(self.path) and os.path.getsize(self.path) and not zipfile.is_zipfile(self.path)
        if mode == "a" and path_is_foreign:
            # zipfile would append an archive to an unrelated file; refuse instead
            raise StoreError(f"cannot open {self.path!r} as a ZipStore: the file exists and is not a Zip file")
        self.zf = self._open(mode)

    def _open(self, mode: str) -> zipfile.ZipFile:
        """Open the underlying ZipFile, translating errors to StoreError."""
        try:
            if mode != "r":
                ensure_parent_dir(self.path)
            return zipfile.ZipFile(self.path, mode=mode, compression=self.compression, allowZip64=self.allowZip64)
        except (OSError, zipfile.BadZipFile) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise StoreError(f"cannot open {self.path!r} as a ZipStore in mode {mode!r}: {reason}") from exc

    # --- identity and pickling -----------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Flush, then pickle the parameters; the copy reopens in 'a' ('r' stays 'r')."""
        self.flush()
        mode = "r" if self.mode == "r" else "a"
        return (type(self), (self.path, self.compression, self.allowZip64, mode, self.dimension_separator))

    def _identity(self) -> tuple[Any, ...]:
        """The file, compression and Zip64 setting (as zarr 2)."""
        return (self.path, self.compression, self.allowZip64)

    def __repr__(self) -> str:
        """``ZipStore('/abs/path.zip', mode='a')``."""
        return f"{type(self).__name__}({self.path!r}, mode={self.mode!r})"

    # --- helpers ------------------------------------------------------------------------------

    def _not_erasable(self, key: str) -> NotImplementedError:
        return NotImplementedError(
            f"{self!r} cannot delete {key!r}: entries of a Zip file cannot be removed "
            "(write to a DirectoryStore and zip it, or clear() the whole store)"
        )

    def _names(self) -> set[str]:
        """Every key (directory entries of foreign zips left out); caller holds the lock."""
        return {name for name in self.zf.NameToInfo if not name.endswith("/")}

    # --- mapping ------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The newest entry named ``key``; KeyError when missing."""
        nkey = self._normalize_key(key)
        with self._lock:
            self._check_open("read", key)
            return self._read(nkey, key)

    def _read(self, nkey: str, key: str) -> bytes:
        try:
            info = self.zf.getinfo(nkey)
        except KeyError:
            raise KeyError(key) from None
        if info.is_dir():
            raise KeyError(key)
        try:
            with self.zf.open(info) as f:
                return f.read()
        except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
            raise StoreError(f"{self!r}: cannot read {key!r}: {exc}") from exc

    def __setitem__(self, key: str, value: Any) -> None:
        """Append an entry for ``key`` (a second write warns 'Duplicate name')."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        data = byte_view(value)
        with self._lock:
            self._check_open("write", key)
            self._write(nkey, data)

    def _write(self, nkey: str, data: bytes | memoryview) -> None:
        """Write one entry; on any failure forget it and cut the file back."""
        zf = self.zf
        info = zipfile.ZipInfo(filename=nkey, date_time=time.localtime(time.time())[:6])
        info.compress_type = self.compression
        info.external_attr = 0o644 << 16  # ?rw-r--r--
        start, n_entries, previous = zf.start_dir, len(zf.filelist), zf.NameToInfo.get(nkey)
        try:
            zf.writestr(info, data)
        except BaseException as exc:
            self._roll_back(start, n_entries, nkey, previous)
            if isinstance(exc, (OSError, RuntimeError, zipfile.LargeZipFile)):
                raise StoreError(f"{self!r}: cannot write {nkey!r}: {exc}") from exc
            raise

    def _roll_back(self, start: int, n_entries: int, nkey: str, previous: zipfile.ZipInfo | None) -> None:
        zf = self.zf
        del zf.filelist[n_entries:]
        if previous is None:
            zf.NameToInfo.pop(nkey, None)
        else:
            zf.NameToInfo[nkey] = previous
        zf.start_dir = start
        zf._writing = False
        try:
            zf.fp.seek(start)
            zf.fp.truncate()
        except (OSError, AttributeError, ValueError):  # pragma: no cover - the next close rewrites from start_dir
            pass

    def __delitem__(self, key: str) -> None:
        """Always refused: KeyError for a missing key, else NotImplementedError."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        if nkey not in self:
            raise KeyError(key)
        raise self._not_erasable(key)

    def _contains(self, nkey: str) -> bool:
        """True when an entry named ``key`` exists."""
        with self._lock:
            self._check_open("look up", nkey)
            return nkey in self.zf.NameToInfo and not nkey.endswith("/")

    def __iter__(self) -> Iterator[str]:
        """Keys, sorted, each once however often it was written."""
        with self._lock:
            self._check_open("list", "")
            return iter(sorted(self._names()))

    def __len__(self) -> int:
        """Number of distinct keys."""
        with self._lock:
            self._check_open("list", "")
            return len(self._names())

    def clear(self) -> None:
        """Remove every key by starting a new, empty Zip file (as zarr 2)."""
        self._check_writeable("")
        with self._lock:
            self._check_open("clear", "")
            self.zf.close()
            self.zf = self._open("w")

    # --- batches ------------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` (keyed as given), missing ones left out, under one lock."""
        nkeys = [(k, self._normalize_key(k)) for k in keys]
        out: dict[str, bytes] = {}
        with self._lock:
            self._check_open("read", nkeys[0][0] if nkeys else "")
            for key, nkey in nkeys:
                try:
                    out[key] = self._read(nkey, key)
                except KeyError:
                    pass
        return out

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Append many entries; a bad key or value writes nothing."""
        checked = [(self._normalize_key(k), byte_view(v)) for k, v in items.items()]
        if not checked:
            return
        self._check_writeable(checked[0][0])
        with self._lock:
            self._check_open("write", checked[0][0])
            for nkey, data in checked:
                self._write(nkey, data)

    def delitems(self, keys: Any) -> None:
        """Missing keys are ignored; an existing one raises NotImplementedError (nothing deleted)."""
        nkeys = [self._normalize_key(k) for k in keys]
        if not nkeys:
            return
        self._check_writeable(nkeys[0])
        with self._lock:
            self._check_open("delete", nkeys[0])
            present = [k for k in nkeys if k in self.zf.NameToInfo]
        if present:
            raise self._not_erasable(present[0])

    # --- hierarchy ----------------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, recursively, sorted."""
        prefix = prefix_for(self._normalize_path(path))
        with self._lock:
            self._check_open("list", path or "")
            return sorted(k for k in self._names() if k.startswith(prefix))

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path``."""
        prefix = prefix_for(self._normalize_path(path))
        n = len(prefix)
        with self._lock:
            self._check_open("list", path or "")
            return sorted({k[n:].split("/", 1)[0] for k in self._names() if k.startswith(prefix)})

    def rmdir(self, path: str = "") -> None:
        """``''`` clears the whole file; a path with no keys is a no-op; any other
        path raises NotImplementedError naming it (nothing is removed)."""
        npath = self._normalize_path(path)
        self._check_writeable(npath)
        if not npath:
            self.clear()
            return
        if self.keys_under(npath):
            raise self._not_erasable(npath)

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Uncompressed bytes of the entry ``path``, else of the entries directly under
        it (every entry under it when ``recursive``), else 0 (zarr 2's count)."""
        npath = self._normalize_path(path)
        prefix = prefix_for(npath)
        with self._lock:
            self._check_open("size", npath)
            infos = self.zf.NameToInfo
            if npath and npath in infos:
                return infos[npath].file_size
            return sum(i.file_size for name, i in infos.items() if name.startswith(prefix) and not name.endswith("/")
                       and (recursive or "/" not in name[len(prefix):]))

    def rename(self, src_path: str, dst_path: str) -> None:
        """KeyError when there is nothing at ``src_path``; otherwise NotImplementedError
        (a rename deletes the source), with nothing written."""
        src, _ = self._rename_paths(src_path, dst_path)
        if src not in self and not self.keys_under(src):
            raise KeyError(src_path)
        raise self._not_erasable(src)

    # --- lifecycle ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the central directory, then reopen for appending (no-op when
        read-only or closed)."""
        if self.mode == "r":
            return
        with self._lock:
            if self._closed:
                return
            try:
                self.zf.close()
            except OSError as exc:
                raise StoreError(f"{self!r}: cannot flush: {exc}") from exc
            self.zf = self._open("a")

    def close(self) -> None:
        """Write the central directory and close the file; later use raises StoreError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self.zf.close()
            except OSError as exc:
                raise StoreError(f"{self!r}: cannot close: {exc}") from exc

"""DirectoryStore and NestedDirectoryStore: one file per key under a root directory.

'/' in a key makes subdirectories, so nested chunk keys ('0/0') become files in
directories. Writes go to a temporary file in the target directory and are moved
into place with ``os.replace``, so a crash never leaves a torn value; readers see
the old value or the new one. Keys are normalised (no '..', nothing absolute) and
writes and deletes check that the resolved directory stays under the root, so a
key, or a symlink inside the store, cannot make the store touch files outside it.
Reads do follow symlinks: linking chunk directories onto another disk is a
legitimate layout, and reading cannot damage anything.

``durable=True`` also fsyncs each value and its directory before a write returns
(see ``local_files``); metadata documents (``.zarray``, ``.zgroup``, ``.zattrs``,
``.zmetadata``) are written durably always.

OS errors become :class:`~zarrflow.errors.StoreError` naming the store and key,
keeping the OS error as ``__cause__``; a missing file is a ``KeyError``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from zarrflow.errors import FSPathExistNotDir, InvalidKeyError, KeyBlockedError, StoreError
from zarrflow.format.keys import METADATA_KEYS
from zarrflow.storage.base import Store, byte_view, check_dimension_separator
from zarrflow.storage.local_files import is_temp_name, prune_empty_dirs, write_atomically, write_many_durably
from zarrflow.storage.readers import FileReader

__all__ = ["DirectoryStore", "NestedDirectoryStore"]

def _read_whole(path: str) -> bytes:
    """The whole file: one ``read`` of the size ``fstat`` gives (fewer calls than
    ``open().read()``, which matters for many small chunks). Asking one byte more
    shows that the end was reached; a short read (or a file that grew) reads on to EOF."""
    fd = os.open(path, _O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) == size:
            return data
        parts = [data]
        while more := os.read(fd, 1 << 20):
            parts.append(more)
        return b"".join(parts)
    finally:
        os.close(fd)


_O_RDONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


class DirectoryStore(Store):
    """Keys as files under the directory ``path``.

    ``path`` is made absolute and created lazily, on the first write; a path that
    exists and is not a directory raises :class:`FSPathExistNotDir`.
    ``normalize_keys=True`` lower-cases keys (zarr 2). ``dimension_separator`` is
    the default chunk-key separator of arrays created here. ``read_only=True``
    makes every write raise :class:`ReadOnlyError`. ``durable=True`` fsyncs every
    value (and its directory) before the write returns, so it survives a power cut;
    metadata documents are written so always. Pickles as its parameters.
    """

    is_persistent = True
    supports_multiprocess_writes = True
    supports_rename = True
    #: The constructor's default ``dimension_separator`` (dropped from pickles).
    _default_separator: str | None = None
    #: Names (last key component) always written durably: the metadata documents.
    _durable_names: frozenset[str] = METADATA_KEYS

    def __init__(
        self,
        path: str | os.PathLike[str],
        normalize_keys: bool = False,
        dimension_separator: str | None = None,
        read_only: bool = False,
        durable: bool = False,
    ) -> None:
        path = os.path.abspath(os.fsdecode(path))
        if os.path.exists(path) and not os.path.isdir(path):
            raise FSPathExistNotDir(f"path exists but is not a directory: {path!r}")
        self.path = path
        self.normalize_keys = bool(normalize_keys)
        self.dimension_separator = check_dimension_separator(dimension_separator)
        self._read_only = bool(read_only)
        self.durable = bool(durable)
        self._real_root: str | None = None
        self._inside: set[str] = set()  # directories already checked to be under the root

    # --- identity and pickling -----------------------------------------------------------

    def _params(self) -> tuple[Any, ...]:
        """Constructor arguments, trailing defaults dropped (keeps pickles small)."""
        params = [self.path, self.normalize_keys, self.dimension_separator, self._read_only, self.durable]
        defaults = [None, False, type(self)._default_separator, False, False]
        while len(params) > 1 and params[-1] == defaults[len(params) - 1]:
            params.pop()
        return tuple(params)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the class and its parameters: the data stays on disk."""
        return (type(self), self._params())

    def _identity(self) -> tuple[Any, ...]:
        """The directory, key normalisation and separator."""
        return (self.path, self.normalize_keys, self.dimension_separator)

    def __repr__(self) -> str:
        """``DirectoryStore('/abs/path')``."""
        return f"{type(self).__name__}({self.path!r})"

    # --- keys to files -------------------------------------------------------------------

    def _file(self, nkey: str) -> str:
        """Filesystem path of a normalised key or path ('' is the root)."""
        return os.path.join(self.path, nkey) if nkey else self.path

    def _check_inside(self, fs_path: str, key: str) -> None:
        """Raise InvalidKeyError unless ``fs_path`` resolves to the root or below it.

        Directories already found inside are remembered, so writing many chunks into
        one directory resolves its path once rather than per chunk.
        """
        if fs_path in self._inside:
            return
        self._check_inside_uncached(fs_path, key)
        if os.path.isdir(fs_path) and len(self._inside) < 65536:
            self._inside.add(fs_path)

    def _check_inside_uncached(self, fs_path: str, key: str) -> None:
        root = self._real_root
        if root is None:
            root = os.path.realpath(self.path)
            if os.path.isdir(root):  # cache once it exists; a moved root then fails closed
                self._real_root = root
        real = os.path.realpath(fs_path)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise InvalidKeyError(
                f"key {key!r} resolves to {real!r}, outside the root {self.path!r} of {self!r}"
            )

    def _error(self, action: str, key: str, exc: OSError) -> StoreError:
        """A StoreError naming this store, the key and the OS reason."""
        reason = exc.strerror or str(exc) or type(exc).__name__
        return StoreError(f"{self!r}: cannot {action} {key!r}: {reason}")

    def _prune(self, dirpath: str) -> None:
        """Remove now-empty directories from ``dirpath`` up to (not including) the root,
        so a "directory" exists only while it holds keys, as in every other store."""
        self._inside.clear()  # directories may vanish: check them again when reused
        prune_empty_dirs(dirpath, self.path)

    # --- mapping ---------------------------------------------------------------------------

    def _open_file(self, key: str, opener: Callable[[str], Any]) -> Any:
        """``opener(path)`` for ``key``'s file; KeyError when it is missing or a
        directory, StoreError naming the key for any other OS failure."""
        path = self._file(self._normalize_key(key))
        try:
            return opener(path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None
        except OSError as exc:
            if os.path.isdir(path):  # Windows reports directories as PermissionError
                raise KeyError(key) from None
            raise self._error("read", key, exc) from exc

    def __getitem__(self, key: str) -> bytes:
        """The contents of the file for ``key``; KeyError when missing or a directory."""
        return self._open_file(key, _read_whole)

    def open_reader(self, key: str) -> FileReader:
        """A reader of byte ranges of ``key``'s file (one open file, ``pread``), so
        that part of a chunk is read without the rest; KeyError when missing."""
        return self._open_file(key, FileReader)

    def __setitem__(self, key: str, value: Any) -> None:
        """Write ``value`` atomically: temporary file, then ``os.replace``."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        data = byte_view(value)
        path = self._file(nkey)
        dirpath, name = os.path.split(path)
        self._check_inside(dirpath, key)
        try:
            durable = self.durable or name in self._durable_names
            try:
                write_atomically(dirpath, name, data, durable=durable)
            except IsADirectoryError:
                if not os.path.isdir(path) or os.path.islink(path):
                    raise
                shutil.rmtree(path)  # a value replaces the "directory" of keys below it, as in zarr 2
                write_atomically(dirpath, name, data, durable=durable)
        except (FileExistsError, NotADirectoryError) as exc:
            blocker = self._blocking_file(nkey)
            if blocker is None:
                self._prune(dirpath)
                raise self._error("write", key, exc) from exc
            raise KeyBlockedError(f"{self!r}: cannot write {key!r}: the key {blocker!r} on its path holds "
                                  "a value") from exc
        except OSError as exc:  # e.g. a full disk: nothing of the value is left behind ...
            self._prune(dirpath)  # ... nor the directories made for it
            raise self._error("write", key, exc) from exc

    def _blocking_file(self, nkey: str) -> str | None:
        """The shortest key on ``nkey``'s path that is a file (so ``nkey`` cannot be one)."""
        parts = nkey.split("/")
        for i in range(1, len(parts)):
            if os.path.isfile(self._file("/".join(parts[:i]))):
                return "/".join(parts[:i])
        return None

    @property
    def supports_concurrent_getitems(self) -> bool:  # type: ignore[override]
        """True in durable mode: the engine then hands whole chunks over in one
        ``setitems``, whose fsyncs overlap (see :meth:`setitems`)."""
        return self.durable

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values (every key checked first); in durable mode the files are
        written and fsynced concurrently, then each directory is fsynced once, before
        this returns. A failed write raises StoreError naming its key; the others land."""
        if not self.durable or len(items) < 2:
            super().setitems(items)
            return
        writes, keys = [], []
        for key, value in items.items():
            nkey = self._normalize_key(key)
            self._check_writeable(nkey)
            dirpath, name = os.path.split(self._file(nkey))
            self._check_inside(dirpath, key)
            writes.append((dirpath, name, byte_view(value)))
            keys.append(key)
        errors = write_many_durably(writes)
        failed = [(k, e) for k, e in zip(keys, errors) if e is not None]
        if failed:
            for (dirpath, _, _), e in zip(writes, errors):
                if e is not None:
                    self._prune(dirpath)
            key, exc = failed[0]
            if isinstance(exc, OSError):
                raise self._error("write", key, exc) from exc
            raise exc

    def __delitem__(self, key: str) -> None:
        """Delete the file for ``key``; a directory (a prefix) is removed with its tree."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        path = self._file(nkey)
        dirpath = os.path.dirname(path)
        self._check_inside(dirpath, key)
        try:
            try:
                os.remove(path)
            except (IsADirectoryError, PermissionError):
                if not os.path.isdir(path) or os.path.islink(path):
                    raise
                shutil.rmtree(path)
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None
        except OSError as exc:
            raise self._error("delete", key, exc) from exc
        self._prune(dirpath)

    @staticmethod
    def _keys_fast(path: str, walker: Callable[[str], Iterable[tuple[str, list[str], list[str]]]] = os.walk
                   ) -> Iterator[str]:
        """zarr 2's key listing from a directory walk (``walker`` as ``os.walk``): every
        file's path relative to ``path``, '/'-joined."""
        for dirpath, _dirnames, filenames in walker(path):
            rel = os.path.relpath(dirpath, path)
            if rel == os.curdir:
                yield from filenames
            else:
                rel = rel.replace("\\", "/")
                for name in filenames:
                    yield f"{rel}/{name}"

    def _contains(self, nkey: str) -> bool:
        """True when a file exists for ``key``; keys that cannot exist give False."""
        return os.path.isfile(self._file(nkey))

    def _walk(self, nkey: str) -> list[str]:
        """Keys of every file under the normalised path ``nkey`` (unsorted).

        Symlinked directories are not descended (no cycles); temp files are skipped.
        """
        top = self._file(nkey)
        keys: list[str] = []
        stack = [(top, nkey + "/" if nkey else "")]
        try:
            while stack:
                dirpath, prefix = stack.pop()
                try:
                    entries = list(os.scandir(dirpath))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                for entry in entries:
                    name = entry.name
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, prefix + name + "/"))
                    elif not is_temp_name(name) and entry.is_file():
                        keys.append(prefix + name)
        except OSError as exc:
            raise self._error("list", nkey, exc) from exc
        return keys

    def __iter__(self) -> Iterator[str]:
        """Every key, sorted."""
        return iter(sorted(self._walk("")))

    def __len__(self) -> int:
        """Number of keys (walks the directory tree)."""
        return len(self._walk(""))

    def clear(self) -> None:
        """Remove everything under the root (the root directory itself stays)."""
        self._inside.clear()
        self.rmdir("")

    # --- hierarchy -------------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, recursively, sorted."""
        return sorted(self._walk(self._normalize_path(path)))

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the entries of directory ``path`` (temp files skipped)."""
        nkey = self._normalize_path(path)
        try:
            with os.scandir(self._file(nkey)) as it:
                return sorted(e.name for e in it if not is_temp_name(e.name))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise self._error("list", nkey, exc) from exc

    def rmdir(self, path: str = "") -> None:
        """Remove the directory ``path`` and everything in it; ``''`` empties the root."""
        nkey = self._normalize_path(path)
        self._check_writeable(nkey)
        target = self._file(nkey)
        try:
            if not nkey:
                with os.scandir(target) as it:
                    entries = list(it)
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                return
            if os.path.islink(target):
                os.unlink(target)
            else:
                self._check_inside(target, path)
                if not os.path.isdir(target):
                    return
                shutil.rmtree(target)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._error("remove", nkey, exc) from exc
        self._prune(os.path.dirname(target))

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes in the file ``path``, else in the files directly in that directory
        (in every file under it when ``recursive``), else 0 (zarr 2's count)."""
        nkey = self._normalize_path(path)
        target = self._file(nkey)
        try:
            if os.path.isfile(target):
                return os.path.getsize(target)
            total = 0
            stack = [target]
            while stack:
                try:
                    entries = list(os.scandir(stack.pop()))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if recursive:
                            stack.append(entry.path)
                    elif not is_temp_name(entry.name) and entry.is_file():
                        total += entry.stat().st_size
            return total
        except OSError as exc:
            raise self._error("size", nkey, exc) from exc

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move the file or directory ``src_path`` to ``dst_path``.

        A file replaces an existing destination file; a directory moved onto an
        existing directory is merged into it, file by file (overwriting).
        """
        src, dst = self._rename_paths(src_path, dst_path)
        src_fs, dst_fs = self._file(src), self._file(dst)
        self._check_inside(os.path.dirname(src_fs), src_path)
        self._check_inside(os.path.dirname(dst_fs), dst_path)
        if not os.path.lexists(src_fs):
            raise KeyError(src_path)
        try:
            os.makedirs(os.path.dirname(dst_fs), exist_ok=True)
            if os.path.isdir(dst_fs) and os.path.isdir(src_fs) and not os.path.islink(src_fs):
                for key in self._walk(src):
                    target = dst_fs + os.sep + key[len(src) + 1 :]
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.replace(self._file(key), target)
                shutil.rmtree(src_fs)
            else:
                os.replace(src_fs, dst_fs)
        except OSError as exc:
            raise self._error("rename", f"{src} -> {dst}", exc) from exc
        self._prune(os.path.dirname(src_fs))


class NestedDirectoryStore(DirectoryStore):
    """A DirectoryStore whose arrays default to '/' chunk keys ('0/0'), the zarr 2
    class of that name; only '/' is accepted as its ``dimension_separator``."""

    _default_separator = "/"

    def __init__(
        self,
        path: str | os.PathLike[str],
        normalize_keys: bool = False,
        dimension_separator: str | None = "/",
        read_only: bool = False,
        durable: bool = False,
    ) -> None:
        if dimension_separator is None:
            dimension_separator = "/"
        elif dimension_separator != "/":
            raise ValueError(
                f"NestedDirectoryStore only supports '/' as dimension_separator, got {dimension_separator!r}"
            )
        super().__init__(path, normalize_keys, dimension_separator, read_only, durable)

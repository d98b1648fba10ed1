"""TempStore: a DirectoryStore in a fresh temporary directory, removed at exit."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import tempfile
from collections.abc import Callable

from zarrflow.storage.directory import DirectoryStore

__all__ = ["TempStore", "atexit_rmglob", "atexit_rmtree"]


def atexit_rmtree(path: str, isdir: Callable[[str], bool] = os.path.isdir,
                  rmtree: Callable[..., None] = shutil.rmtree) -> None:
    """Remove the directory tree ``path`` when the interpreter exits (zarr 2 helper)."""

    def _remove() -> None:
        if isdir(path):
            rmtree(path, ignore_errors=True)

    atexit.register(_remove)


def atexit_rmglob(path: str, glob: Callable[[str], list[str]] = glob.glob,
                  isdir: Callable[[str], bool] = os.path.isdir, isfile: Callable[[str], bool] = os.path.isfile,
                  remove: Callable[[str], None] = os.remove,
                  rmtree: Callable[..., None] = shutil.rmtree) -> None:
    """Remove every file or directory matching the glob ``path`` at interpreter exit."""

    def _remove() -> None:
        for p in glob(path):
            if isfile(p):
                remove(p)
            elif isdir(p):
                rmtree(p, ignore_errors=True)

    atexit.register(_remove)


class TempStore(DirectoryStore):
    """A :class:`DirectoryStore` in a new directory made by :func:`tempfile.mkdtemp`
    (``suffix``, ``prefix``, ``dir`` as there); the directory is removed when the
    interpreter exits."""

    def __init__(self, suffix: str = "", prefix: str = "zarr", dir: str | None = None,
                 normalize_keys: bool = False, dimension_separator: str | None = None) -> None:
        path = tempfile.mkdtemp(suffix=suffix, prefix=prefix, dir=dir)
        atexit_rmtree(path)
        super().__init__(path, normalize_keys=normalize_keys, dimension_separator=dimension_separator)

    def __reduce__(self) -> tuple:
        """Pickle as a DirectoryStore over the same directory (a new TempStore would
        make a new, empty directory)."""
        return (DirectoryStore, (self.path, self.normalize_keys, self.dimension_separator))

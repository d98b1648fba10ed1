"""Turn whatever the user passed as ``store=`` into a :class:`Store`.

``None`` gives the caller's default, a Store is used as is, a path or URL opens
the matching store (:func:`store_from_path` is the one place that dispatches on
paths), and any other MutableMapping is wrapped in a :class:`KVStore`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fsspec.mapping import FSMap

from zarrflow.storage.base import Store
from zarrflow.storage.directory import DirectoryStore
from zarrflow.storage.fsstore import FSStore
from zarrflow.storage.kvstore import as_store, is_mapping_like
from zarrflow.storage.memory import MemoryStore
from zarrflow.storage.n5 import N5Store
from zarrflow.storage.zip import ZipStore

__all__ = ["normalize_store_arg", "store_from_path"]

#: Modes accepted by ``open``-style functions; only 'r' opens stores read-only.
MODES = frozenset({"r", "r+", "a", "w", "w-", "x"})

#: open()-style modes -> ZipStore modes (zipfile itself knows only r, w, a, x).
_ZIP_MODES = {"r": "r", "r+": "a", "a": "a", "w": "w", "w-": "a", "x": "a"}


def store_from_path(path: str, *, mode: str = "a", storage_options: dict[str, Any] | None = None) -> Store:
    """Open the store a filesystem path or URL names.

    This is the single dispatch point on paths, as zarr 2 dispatches: a local path
    ending in '.n5' opens an N5Store, in '.zip' a ZipStore, anything else a
    DirectoryStore (read-only when ``mode == 'r'``); a URL (``file://`` included, with
    its ``storage_options`` such as ``auto_mkdir``) opens an FSStore over fsspec.
    """
    if "://" in path or "::" in path:
        return FSStore(path, mode=mode, **(storage_options or {}))
    if storage_options:
        raise ValueError(f"storage_options {storage_options!r} given with a non-fsspec path {path!r}")
    return _local_store(path, mode)


def _local_store(path: str, mode: str) -> Store:
    """A local path: N5 for names ending in '.n5', a zip file for '.zip', else a directory."""
    read_only = mode == "r"
    name = path.rstrip("/\\")
    if name.endswith(".n5"):
        return N5Store(path, read_only=read_only)
    if name.endswith(".zip"):
        return ZipStore(path, mode=_ZIP_MODES[mode])
    return DirectoryStore(path, read_only=read_only)


def normalize_store_arg(
    store: Any,
    *,
    mode: str = "a",
    storage_options: dict[str, Any] | None = None,
    default: Callable[[], Store] = MemoryStore,
    zarr_version: int | None = None,
) -> Store:
    """Return a :class:`Store` for ``store``.

    - ``None``: ``default()`` (arrays pass ``lambda: KVStore(dict())``, groups
      ``MemoryStore``);
    - a :class:`Store`: itself, unchanged (``mode`` does not alter it);
    - ``str`` / ``os.PathLike``: :func:`store_from_path` (read-only for mode 'r');
    - any other MutableMapping: ``KVStore(mapping)``, read-only for mode 'r'.

    Anything else raises TypeError naming the type; an unknown mode, ValueError.
    """
    if zarr_version not in (None, 2):
        raise ValueError(f"zarrflow implements Zarr format 2, got zarr_version={zarr_version!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    if store is None:
        return default()
    if isinstance(store, Store):
        return store
    if isinstance(store, (str, os.PathLike)):
        return store_from_path(os.fsdecode(store), mode=mode, storage_options=storage_options)
    if isinstance(store, FSMap):  # an fsspec mapper: an FSStore on its filesystem, as in zarr 2
        fs_store = FSStore(store.root, fs=store.fs, mode="r" if mode == "r" else "w")
        fs_store._map = store
        return fs_store
    if is_mapping_like(store):
        return as_store(store, read_only=mode == "r")
    raise TypeError(
        f"store must be None, a path, a Store or a MutableMapping, got {type(store).__module__}.{type(store).__qualname__}"
    )

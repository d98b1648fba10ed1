"""``open``, ``save`` and ``load``: one call to reach an array or a group by path.

zarr 2's ``zarr.convenience`` also holds ``tree``, the copy functions and
consolidated metadata; they live in ``core/tree``, ``core/copying`` (serial; the
public copies that may run on Dask are ``zarrflow/copying``) and
``core/consolidated``. The ``zarrflow.convenience`` module gathers them under their
zarr 2 names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from zarrflow.core import hierarchy
from zarrflow.core.array import Array
from zarrflow.core.consolidated import (
    check_consolidated,
    consolidate_metadata,
    open_consolidated,
)
from zarrflow.core.creation import array as _array
from zarrflow.core.creation import open_array
from zarrflow.core.tree import tree
from zarrflow.errors import PathNotFoundError
from zarrflow.storage import contains_array, contains_group, normalize_storage_path
from zarrflow.storage.memory import MemoryStore
from zarrflow.storage.normalize import normalize_store_arg


def open(store: Any = None, mode: str = "a", *, zarr_version: int | None = None, path: str | None = None,
         **kwargs: Any) -> Array | hierarchy.Group:
    """Open an array or a group, whichever is at ``path`` (zarr 2's ``zarr.open``).

    With mode 'w', 'w-' or 'x' an array is created when ``shape`` is given, else a
    group; with 'a' an existing array is opened, or an array created when ``shape``
    is given, else a group opened or created; with 'r'/'r+' whatever exists.
    """
    storage_options = kwargs.pop("storage_options", None)
    store = normalize_store_arg(store, mode=mode, storage_options=storage_options, default=MemoryStore)
    path = normalize_storage_path(path)
    kwargs["path"] = path
    if mode in ("w", "w-", "x"):
        if "shape" in kwargs:
            return open_array(store, mode=mode, **kwargs)
        return hierarchy.open_group(store, mode=mode, **kwargs)
    if mode == "a":
        if "shape" in kwargs or contains_array(store, path):
            return open_array(store, mode=mode, **kwargs)
        return hierarchy.open_group(store, mode=mode, **kwargs)
    if contains_array(store, path):
        return open_array(store, mode=mode, **kwargs)
    if contains_group(store, path):
        return hierarchy.open_group(store, mode=mode, **kwargs)
    raise PathNotFoundError(path)


def save_array(store: Any, arr: Any, *, zarr_version: int | None = None, path: str | None = None,
               **kwargs: Any) -> None:
    """Save one NumPy array to ``store`` (replacing what is there)."""
    storage_options = kwargs.pop("storage_options", None)
    may_close = isinstance(store, str)
    store = normalize_store_arg(store, mode="w", storage_options=storage_options, default=MemoryStore)
    try:
        _array(arr, store=store, overwrite=True, path=path, **kwargs)
    finally:
        if may_close:
            store.close()


def save_group(store: Any, *args: Any, zarr_version: int | None = None, path: str | None = None,
               **kwargs: Any) -> None:
    """Save several NumPy arrays into a group: positional ones as ``arr_0``, ``arr_1``
    ..., keyword ones under their names."""
    if not args and not kwargs:
        raise ValueError("at least one array must be provided")
    storage_options = kwargs.pop("storage_options", None)
    may_close = isinstance(store, str)
    store = normalize_store_arg(store, mode="w", storage_options=storage_options, default=MemoryStore)
    try:
        grp = hierarchy.group(store, overwrite=True, path=path)
        for i, arr in enumerate(args):
            grp.create_dataset(f"arr_{i}", data=arr, overwrite=True)
        for name, arr in kwargs.items():
            grp.create_dataset(name, data=arr, overwrite=True)
    finally:
        if may_close:
            store.close()


def save(store: Any, *args: Any, zarr_version: int | None = None, path: str | None = None,
         **kwargs: Any) -> None:
    """Save one array (``save_array``) or several (``save_group``) to ``store``."""
    if len(args) == 0 and len(kwargs) == 0:
        raise ValueError("at least one array must be provided")
    if len(args) == 1 and len(kwargs) == 0:
        save_array(store, args[0], path=path)
    else:
        save_group(store, *args, path=path, **kwargs)


class LazyLoader(Mapping):
    """Read-only mapping of a group's arrays by name, each loaded into memory (as a
    NumPy array) on first access and kept."""

    def __init__(self, grp: hierarchy.Group):
        self.group = grp
        self.cache: dict[str, np.ndarray] = {}

    @property
    def grp(self) -> hierarchy.Group:
        """The group (zarr 2's attribute name)."""
        return self.group

    def __getitem__(self, item: str) -> np.ndarray:
        if item not in self.cache:
            if item not in self:
                raise KeyError(item)
            self.cache[item] = self.group[item][...]
        return self.cache[item]

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and contains_array(self.group.store, self.group._item_path(item))

    def keys(self) -> list[str]:  # type: ignore[override]
        """Names of the group's arrays, sorted."""
        return list(self.group.array_keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return "<LazyLoader: " + ", ".join(self.keys()) + ">"


def load(store: Any, zarr_version: int | None = None, path: str | None = None) -> Any:
    """Load an array into memory, or a group as a lazy dict of its arrays."""
    store = normalize_store_arg(store, mode="r", default=MemoryStore)
    path = normalize_storage_path(path)
    if contains_array(store, path):
        return Array(store, path=path, read_only=True)[...]
    if contains_group(store, path):
        return LazyLoader(hierarchy.Group(store, path=path, read_only=True))
    raise PathNotFoundError(path)


__all__ = [
    "LazyLoader",
    "check_consolidated",
    "consolidate_metadata",
    "load",
    "open",
    "open_consolidated",
    "save",
    "save_array",
    "save_group",
    "tree",
]

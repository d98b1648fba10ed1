"""Stores: where chunk bytes and metadata documents live.

``default_compressor`` is read at array-creation time, so assigning it (as the
zarr tutorial shows) changes the compressor of arrays created afterwards.

``init_array`` and ``init_group`` (zarr 2's helpers that write a new node's metadata)
build array metadata, which is the engine's job: the engine defines them (its
``store_init`` module) and the package's public face attaches them here, so the
storage layer itself never imports the engine.
"""

from numcodecs import Blosc

#: Compressor used when an array is created without ``compressor=``.
default_compressor = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)

# Re-exports and free functions follow the compressor so that its definition above
# stays the first thing this module does.
import warnings  # noqa: E402
from collections.abc import MutableMapping  # noqa: E402

from zarrflow.format.keys import ARRAY_META_KEY, ATTRS_KEY, GROUP_META_KEY  # noqa: E402
from zarrflow.storage.abs import ABSStore  # noqa: E402
from zarrflow.storage.base import Store, ensure_bytes  # noqa: E402
from zarrflow.storage.consolidated import ConsolidatedMetadataStore  # noqa: E402
from zarrflow.storage.dbm import DBMStore  # noqa: E402
from zarrflow.storage.directory import DirectoryStore, NestedDirectoryStore  # noqa: E402
from zarrflow.storage.fsstore import FSStore  # noqa: E402
from zarrflow.storage.kvstore import KVStore, as_store  # noqa: E402
from zarrflow.storage.lmdb import LMDBStore  # noqa: E402
from zarrflow.storage.lru import LRUStoreCache  # noqa: E402
from zarrflow.storage.memory import MemoryStore  # noqa: E402
from zarrflow.storage.n5 import N5Store  # noqa: E402
from zarrflow.storage.n5fs import N5FSStore  # noqa: E402
from zarrflow.storage.normalize import normalize_store_arg, store_from_path  # noqa: E402
from zarrflow.storage.paths import (  # noqa: E402
    join_path,
    normalize_key,
    normalize_storage_path,
    prefix_for,
)
from zarrflow.storage.redis import RedisStore  # noqa: E402
from zarrflow.storage.sqlite import SQLiteStore  # noqa: E402
from zarrflow.storage.temp import TempStore, atexit_rmglob, atexit_rmtree  # noqa: E402
from zarrflow.storage.unavailable import MongoDBStore  # noqa: E402
from zarrflow.storage.zip import ZipStore  # noqa: E402

__all__ = [
    "ABSStore",
    "BaseStore",
    "ConsolidatedMetadataStore",
    "DictStore",
    "MongoDBStore",
    "TempStore",
    "array_meta_key",
    "attrs_key",
    "atexit_rmglob",
    "atexit_rmtree",
    "group_meta_key",
    "init_array",
    "init_group",
    "DBMStore",
    "DirectoryStore",
    "FSStore",
    "KVStore",
    "LMDBStore",
    "LRUStoreCache",
    "MemoryStore",
    "N5FSStore",
    "N5Store",
    "NestedDirectoryStore",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "ZipStore",
    "contains_array",
    "contains_group",
    "default_compressor",
    "ensure_bytes",
    "getsize",
    "join_path",
    "listdir",
    "normalize_key",
    "normalize_storage_path",
    "normalize_store_arg",
    "prefix_for",
    "rename",
    "rmdir",
    "store_from_path",
]

#: Key of an array's metadata document, relative to the array's path (zarr 2's name).
array_meta_key = ARRAY_META_KEY
#: Key of a group's metadata document, relative to the group's path (zarr 2's name).
group_meta_key = GROUP_META_KEY
#: Key of a node's attributes, relative to its path (zarr 2's name).
attrs_key = ATTRS_KEY
#: zarr 2's name of the store base class.
BaseStore = Store


class DictStore(MemoryStore):
    """zarr 2's deprecated alias of :class:`MemoryStore` (it warns, as zarr 2 does)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        _warn_dictstore()
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def __setstate__(self, state: dict) -> None:
        """Unpickling warns too, as zarr 2's does."""
        _warn_dictstore()
        super().__setstate__(state)


def _warn_dictstore() -> None:
    warnings.warn("DictStore has been renamed MemoryStore in 2.4.0 and will be removed in the future. "
                  "Please use MemoryStore.", DeprecationWarning, stacklevel=3)


def listdir(store: Store | MutableMapping, path: str = "") -> list[str]:
    """Sorted names of the direct children of ``path`` in ``store`` (a mapping without
    ``listdir`` is listed from its keys, with zarr 2's warning)."""
    if not isinstance(store, Store) and not hasattr(store, "listdir"):
        warnings.warn(f"Store {store!r} has no `listdir` method. From zarr 2.9 onwards may want to inherit "
                      "from `Store`.", UserWarning, stacklevel=2)
    return as_store(store).listdir(path)


def rmdir(store: Store | MutableMapping, path: str = "") -> None:
    """Remove every key under ``path``; ``''`` clears the store."""
    as_store(store).rmdir(path)


def getsize(store: Store | MutableMapping, path: str = "") -> int:
    """Bytes at key ``path``, else of the values directly under it, else 0, as zarr 2
    counts them (``store.getsize`` when the store has one; -1 for an object that is
    neither a store nor a mapping, whose size cannot be known)."""
    if hasattr(store, "getsize"):
        return store.getsize(normalize_storage_path(path))
    if not isinstance(store, MutableMapping):
        return -1
    return as_store(store).getsize(path)


def rename(store: Store | MutableMapping, src_path: str, dst_path: str) -> None:
    """Move key ``src_path`` and everything under it to ``dst_path``."""
    as_store(store).rename(src_path, dst_path)


def contains_array(store: Store | MutableMapping, path: str = "") -> bool:
    """True when ``path`` holds an array (has ``<path>/.zarray``)."""
    return prefix_for(path) + array_meta_key in store


def contains_group(store: Store | MutableMapping, path: str = "", explicit_only: bool = True) -> bool:
    """True when ``path`` holds a group (has ``<path>/.zgroup``)."""
    return prefix_for(path) + group_meta_key in store

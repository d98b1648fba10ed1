"""zarrflow: chunked, compressed N-dimensional arrays in the Zarr v2 format.

Code written for zarr-python 2.x runs unchanged with ``import zarrflow as zarr``:
the names below are zarr 2's public API. The engine (``zarrflow.core`` and
``zarrflow.storage``) never imports dask.
"""

__version__ = "0.1.0"

# numcodecs' codecs at top level (zarr.Blosc, zarr.Zlib, ...), first, as zarr 2 does, so
# that the zarrflow names below win over any numcodecs name they share.
# isort: off
from zarrflow.codecs import *  # noqa: F403
# isort: on
from zarrflow import codecs, errors  # noqa: F401 - the zarr 2 module names
from zarrflow import storage as _storage
from zarrflow.copying import copy, copy_all, copy_store
from zarrflow.core import store_init as _store_init
from zarrflow.core.array import Array
from zarrflow.core.chunk_cache import LRUChunkCache
from zarrflow.core.consolidated import (
    check_consolidated,
    consolidate_metadata,
    open_consolidated,
)
from zarrflow.core.convenience import (
    LazyLoader,
    load,
    open,
    save,
    save_array,
    save_group,
)
from zarrflow.core.creation import (
    array,
    create,
    empty,
    empty_like,
    full,
    full_like,
    ones,
    ones_like,
    open_array,
    open_like,
    zeros,
    zeros_like,
)
from zarrflow.core.hierarchy import Group, group, open_group
from zarrflow.core.pool import get_num_threads, set_num_threads
from zarrflow.core.sync import ProcessSynchronizer, ThreadSynchronizer
from zarrflow.core.tree import tree
from zarrflow.errors import CopyError, MetadataError
from zarrflow.storage import (
    ABSStore,
    DBMStore,
    DictStore,
    DirectoryStore,
    FSStore,
    KVStore,
    LMDBStore,
    LRUStoreCache,
    MemoryStore,
    MongoDBStore,
    N5FSStore,
    N5Store,
    NestedDirectoryStore,
    RedisStore,
    SQLiteStore,
    TempStore,
    ZipStore,
)
from zarrflow.storage.consolidated import ConsolidatedMetadataStore

# zarr 2's zarrflow.storage.init_array/init_group build array metadata (engine work), so
# they are defined in core and published on the storage module here: storage never
# imports core.
_storage.init_array = _store_init.init_array
_storage.init_group = _store_init.init_group

from zarrflow import (  # noqa: E402, F401 - the zarr 2 module names, thin re-exports
    attrs,
    convenience,
    core,
    creation,
    hierarchy,
    indexing,
    meta,
    n5,
    storage,
    sync,
    util,
)

#: zarr 2's flag for its experimental v3 API: zarrflow has none.
v3_api_available = False

__all__ = [
    "ABSStore",
    "Array",
    "DictStore",
    "MongoDBStore",
    "N5FSStore",
    "TempStore",
    "DBMStore",
    "ConsolidatedMetadataStore",
    "CopyError",
    "DirectoryStore",
    "FSStore",
    "Group",
    "KVStore",
    "LMDBStore",
    "LRUChunkCache",
    "LRUStoreCache",
    "LazyLoader",
    "MemoryStore",
    "N5Store",
    "MetadataError",
    "NestedDirectoryStore",
    "ProcessSynchronizer",
    "RedisStore",
    "SQLiteStore",
    "ThreadSynchronizer",
    "ZipStore",
    "array",
    "check_consolidated",
    "consolidate_metadata",
    "copy",
    "copy_all",
    "copy_store",
    "create",
    "empty",
    "empty_like",
    "errors",
    "full",
    "full_like",
    "get_num_threads",
    "group",
    "load",
    "ones",
    "ones_like",
    "open",
    "open_array",
    "open_consolidated",
    "open_group",
    "open_like",
    "save",
    "save_array",
    "save_group",
    "set_num_threads",
    "tree",
    "zeros",
    "zeros_like",
]


def __getattr__(name: str):
    """The Dask layer (``DistributedSynchronizer``, ``to_dask``, ``from_dask``, ``store``,
    ``map_blocks``, ``map_slices``, ``copy_store_parallel``, ``rechunk``, the ``cluster``, ``filters`` and
    ``images`` modules) is
    imported on first use, so ``import zarrflow`` never imports dask or distributed."""
    if name == "DistributedSynchronizer":
        from zarrflow.graph.sync import DistributedSynchronizer  # noqa: PLC0415 - optional layer

        return DistributedSynchronizer
    if name == "cluster":
        import zarrflow.graph.cluster as cluster  # noqa: PLC0415 - optional layer

        return cluster
    if name in ("to_dask", "from_dask", "store", "map_blocks", "map_slices"):
        from zarrflow.graph import ops  # noqa: PLC0415 - optional layer

        return getattr(ops, name)
    if name in ("rechunk", "Rechunked"):
        from zarrflow.graph import rechunk  # noqa: PLC0415 - optional layer

        return getattr(rechunk, name)
    if name in ("filters", "images"):  # need scipy / tifffile and dask: imported on first use
        import importlib  # noqa: PLC0415 - optional layer

        return importlib.import_module(f"zarrflow.{name}")
    if name == "copy_store_parallel":
        from zarrflow.graph.copy import copy_store_parallel  # noqa: PLC0415 - optional layer

        return copy_store_parallel
    raise AttributeError(f"module 'zarrflow' has no attribute {name!r}")

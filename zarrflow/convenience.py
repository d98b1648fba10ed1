"""zarr 2's ``zarr.convenience``: open/save/load, copies, consolidated metadata, tree
(re-exported from the engine)."""

from zarrflow.core.consolidated import consolidate_metadata, open_consolidated
from zarrflow.core.convenience import LazyLoader, load, open, save, save_array, save_group
from zarrflow.core.copying import copy, copy_all, copy_store
from zarrflow.core.tree import tree

__all__ = ["LazyLoader", "consolidate_metadata", "copy", "copy_all", "copy_store", "load", "open",
           "open_consolidated", "save", "save_array", "save_group", "tree"]

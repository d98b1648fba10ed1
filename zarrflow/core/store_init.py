"""zarr 2's ``zarrflow.storage.init_array`` / ``init_group``: write a new node's
metadata document into a store, with zarr 2's signatures.

They build array metadata (the engine's job), so they live in the engine and the
public face (``zarrflow/__init__.py``) publishes them as ``zarrflow.storage.init_array``
and ``zarrflow.storage.init_group``; the storage layer itself never imports core.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from zarrflow.core import creation, hierarchy
from zarrflow.storage.base import Store
from zarrflow.storage.kvstore import as_store
from zarrflow.storage.paths import normalize_storage_path

__all__ = ["init_array", "init_group"]


def _as_store(store: Store | MutableMapping | None) -> Store | None:
    return None if store is None else as_store(store)


def init_array(
    store: Store | MutableMapping,
    shape: Any,
    chunks: Any = True,
    dtype: Any = None,
    compressor: Any = "default",
    fill_value: Any = None,
    order: str = "C",
    overwrite: bool = False,
    path: str | None = None,
    chunk_store: Store | MutableMapping | None = None,
    filters: Any = None,
    object_codec: Any = None,
    dimension_separator: str | None = None,
    storage_transformers: Any = (),
) -> None:
    """Write the ``.zarray`` of a new array at ``path`` in ``store`` (zarr 2 signature).

    Every argument is validated (the whole document is built) before anything is
    written; with ``overwrite`` whatever was at ``path`` is then removed (also from
    ``chunk_store``). Parent groups are created. An existing array or group at
    ``path`` raises ContainsArrayError / ContainsGroupError unless ``overwrite``.
    ``storage_transformers`` (a zarr v3 feature) must be empty.
    """
    if storage_transformers:
        raise ValueError(f"storage_transformers are a Zarr v3 feature, not supported: {storage_transformers!r}")
    kv = _as_store(store)
    cs = _as_store(chunk_store)
    dimension_separator = creation.store_separator(kv, dimension_separator)
    meta = creation.build_array_metadata(shape, chunks, dtype, compressor, fill_value, order, filters,
                                         object_codec, dimension_separator)
    creation.init_array(kv, meta, path=normalize_storage_path(path), overwrite=overwrite, chunk_store=cs)


def init_group(
    store: Store | MutableMapping,
    overwrite: bool = False,
    path: str | None = None,
    chunk_store: Store | MutableMapping | None = None,
) -> None:
    """Write the ``.zgroup`` of a new group at ``path`` in ``store`` (zarr 2 signature);
    with ``overwrite`` remove what was there first, else refuse an array or group."""
    hierarchy.init_group(_as_store(store), path=normalize_storage_path(path), overwrite=overwrite,
                         chunk_store=_as_store(chunk_store))

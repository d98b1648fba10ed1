"""Consolidated metadata: one ``.zmetadata`` document for a whole hierarchy.

``consolidate_metadata(store)`` gathers every ``.zgroup``, ``.zarray`` and
``.zattrs`` document of a store into ``.zmetadata`` (zarr 2's format, byte for byte);
``open_consolidated(store)`` opens the hierarchy from that one document, so a
hierarchy of any size opens with one read of the store. The metadata of a hierarchy
opened that way are read-only; data writes go to the store as usual.

Consolidated metadata are a snapshot: if the hierarchy is changed afterwards (opened
the normal way), the snapshot goes stale. ``check_consolidated(store)`` compares the
snapshot with the store and lists the differences (or raises
:class:`ConsolidatedMetadataStaleError` with ``raise_on_stale=True``), and
``open_consolidated(store, check=True)`` refuses to serve a stale snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from zarrflow.core import hierarchy
from zarrflow.core.array import Array
from zarrflow.core.creation import open_array
from zarrflow.errors import ConsolidatedMetadataStaleError
from zarrflow.format import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    CONSOLIDATED_KEY,
    GROUP_META_KEY,
    json_dumps,
    json_loads,
)
from zarrflow.storage import contains_array, normalize_storage_path
from zarrflow.storage.base import Store, getitems_with_contexts
from zarrflow.storage.consolidated import ConsolidatedMetadataStore
from zarrflow.storage.memory import MemoryStore
from zarrflow.storage.normalize import normalize_store_arg

__all__ = [
    "ConsolidatedMetadataStaleError",
    "MetadataDifference",
    "check_consolidated",
    "consolidate_metadata",
    "metadata_keys",
    "open_consolidated",
]

_META_NAMES = (ARRAY_META_KEY, GROUP_META_KEY, ATTRS_KEY)


@dataclass(frozen=True)
class MetadataDifference:
    """One metadata document on which the snapshot and the store disagree.

    ``change`` is ``'added'`` (in the store, not in the snapshot: created after
    consolidation), ``'removed'`` (in the snapshot, gone from the store) or
    ``'changed'`` (in both, with different contents).
    """

    key: str
    change: str

    def __str__(self) -> str:
        what = {
            "added": "in the store but not in the consolidated metadata",
            "removed": "in the consolidated metadata but no longer in the store",
            "changed": "differs between the store and the consolidated metadata",
        }[self.change]
        return f"{self.key!r} {what}"


def _is_meta_name(key: str) -> bool:
    return key.rsplit("/", 1)[-1] in _META_NAMES


def metadata_keys(store: Store, path: str = "") -> Iterator[str]:
    """Keys of every ``.zgroup``, ``.zarray`` and ``.zattrs`` document under ``path``.

    In-memory stores are scanned key by key (cheap); other stores are walked down
    the hierarchy with ``listdir``, never listing the chunks inside an array, so a
    directory of a million chunks is not read to find its one ``.zarray``.
    """
    path = normalize_storage_path(path)
    if not store.is_persistent:
        prefix = path + "/" if path else ""
        yield from (k for k in store.keys_under(path) if _is_meta_name(k) and k.startswith(prefix))
        return

    def walk(node: str) -> Iterator[str]:
        prefix = node + "/" if node else ""
        names = store.listdir(node)
        for name in names:
            if name in _META_NAMES:
                yield prefix + name
        for name in names:
            if name in _META_NAMES:
                continue
            child = prefix + name
            if contains_array(store, child):
                yield child + "/" + ARRAY_META_KEY
                if child + "/" + ATTRS_KEY in store:
                    yield child + "/" + ATTRS_KEY
            else:
                yield from walk(child)

    yield from walk(path)


def _read_documents(store: Store, keys: list[str]) -> dict[str, Any]:
    values = getitems_with_contexts(store, keys)
    return {key: json_loads(values[key], key) for key in keys if key in values}


def consolidate_metadata(store: Any, metadata_key: str = CONSOLIDATED_KEY, *,
                         path: str = "") -> hierarchy.Group | Any:
    """Write every metadata document of ``store`` into ``metadata_key`` and return the
    hierarchy at ``path`` opened from it (see :func:`open_consolidated`).

    The document is what zarr 2 writes: ``{"metadata": {key: document},
    "zarr_consolidated_format": 1}``. Call it again after changing the hierarchy.
    """
    store = normalize_store_arg(store, mode="w", default=MemoryStore)
    keys = sorted(metadata_keys(store))
    docs = _read_documents(store, keys)
    store[metadata_key] = json_dumps({"zarr_consolidated_format": 1, "metadata": docs})
    return open_consolidated(store, metadata_key=metadata_key, path=path)


def open_consolidated(store: Any, metadata_key: str = CONSOLIDATED_KEY, mode: str = "r+", *,
                      check: bool = False, **kwargs: Any) -> hierarchy.Group | Any:
    """Open the group (or array) at ``path`` from consolidated metadata.

    Reads ``metadata_key`` once and nothing else to open and walk the hierarchy.
    ``mode`` is 'r' (read only) or 'r+' (data may be written; metadata never: new
    members, resizing and attributes raise ReadOnlyError). With ``check=True`` the
    snapshot is first compared with the store (which lists the store's metadata, so
    costs more than one read) and ConsolidatedMetadataStaleError is raised when they
    differ. Other keyword arguments go to ``open_group`` / ``open_array``.
    """
    if mode not in ("r", "r+"):
        raise ValueError(f"invalid mode, expected either 'r' or 'r+'; found {mode!r}")
    store = normalize_store_arg(store, mode=mode, storage_options=kwargs.pop("storage_options", None),
                                default=MemoryStore)
    meta_store = ConsolidatedMetadataStore(store, metadata_key=metadata_key)
    if check:
        check_consolidated(meta_store, raise_on_stale=True)
    chunk_store = kwargs.pop("chunk_store", None) or store
    kwargs.pop("zarr_version", None)
    path = normalize_storage_path(kwargs.pop("path", None))
    if contains_array(meta_store, path):
        return open_array(meta_store, mode=mode, path=path, chunk_store=chunk_store, **kwargs)
    return hierarchy.open_group(meta_store, mode=mode, path=path, chunk_store=chunk_store, **kwargs)


def _snapshot_of(obj: Any, metadata_key: str) -> ConsolidatedMetadataStore:
    """The consolidated snapshot ``obj`` holds or names."""
    if isinstance(obj, (hierarchy.Group, Array)):
        if not isinstance(obj.store, ConsolidatedMetadataStore):
            raise ValueError(f"{obj!r} was not opened from consolidated metadata")
        return obj.store
    if isinstance(obj, ConsolidatedMetadataStore):
        return obj
    return ConsolidatedMetadataStore(normalize_store_arg(obj, mode="r", default=MemoryStore), metadata_key)


def check_consolidated(store: Any, metadata_key: str = CONSOLIDATED_KEY, *,
                       raise_on_stale: bool = False) -> list[MetadataDifference]:
    """Compare consolidated metadata with the metadata documents actually in the store.

    ``store`` is a store (or path) holding ``metadata_key``, a
    ConsolidatedMetadataStore, or a group/array opened with ``open_consolidated``
    (then its snapshot, as held in memory, is checked). Returns the differences,
    sorted by key: an empty list means the snapshot is current. With
    ``raise_on_stale`` a non-empty result raises ConsolidatedMetadataStaleError.
    Documents are compared by content, not by bytes, so formatting does not count.
    """
    meta_store = _snapshot_of(store, metadata_key)
    snapshot = meta_store.metadata
    current = _read_documents(meta_store.store, sorted(metadata_keys(meta_store.store)))
    differences = []
    for name in sorted(set(snapshot) | set(current)):
        if name not in snapshot:
            differences.append(MetadataDifference(name, "added"))
        elif name not in current:
            differences.append(MetadataDifference(name, "removed"))
        elif json_dumps(snapshot[name]) != json_dumps(current[name]):
            differences.append(MetadataDifference(name, "changed"))
    if differences and raise_on_stale:
        raise ConsolidatedMetadataStaleError(meta_store.metadata_key, differences)
    return differences

"""ConsolidatedMetadataStore: every metadata document of a hierarchy, from one key.

``consolidate_metadata`` copies all ``.zgroup``, ``.zarray`` and ``.zattrs``
documents of a store into one ``.zmetadata`` document (zarr 2's format). This store
reads that one key once, when it is built, and then serves the metadata keys from
memory, so opening and walking a hierarchy of any size costs a single read of the
backing store (one round trip on a remote store).

It holds metadata only, as zarr 2's store of the same name: groups and arrays
opened on it take the backing store as their ``chunk_store``, so chunk data are
read and written there. Metadata are read-only here (``metadata_read_only``):
creating members, resizing arrays or setting attributes raises
:class:`~zarrflow.errors.ReadOnlyError`. If the backing store changes after
consolidation, the documents served here are stale; ``zarrflow.check_consolidated``
says how.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from zarrflow.errors import InvalidKeyError, MetadataError, ReadOnlyError
from zarrflow.format import CONSOLIDATED_KEY, json_dumps, parse_consolidated
from zarrflow.storage.base import Store
from zarrflow.storage.kvstore import as_store
from zarrflow.storage.paths import normalize_key, prefix_for

__all__ = ["ConsolidatedMetadataStore"]


class ConsolidatedMetadataStore(Store):
    """The metadata documents consolidated under ``metadata_key`` in ``store``.

    ``store`` is the backing store (a Store or any MutableMapping); the constructor
    reads ``store[metadata_key]`` once and never reads ``store`` again. Keys are the
    consolidated document names (``'foo/.zarray'``); values are the documents
    encoded as zarr 2 writes them. Writes and deletes raise ReadOnlyError.
    """

    _writeable = False
    _erasable = False
    #: Read by Array and Group: metadata changes through this store are refused.
    metadata_read_only = True

    def __init__(self, store: Any, metadata_key: str = CONSOLIDATED_KEY) -> None:
        if isinstance(store, (str, bytes, os.PathLike)):  # zarr 2 raises ValueError here too
            raise ValueError(f"ConsolidatedMetadataStore wraps a store, not a path ({store!r}); open it with "
                             "zarrflow.open_consolidated() or pass normalize_store_arg(path)")
        self.store = as_store(store)
        self.metadata_key = normalize_key(metadata_key)
        try:
            data = self.store[self.metadata_key]
        except KeyError:
            raise KeyError(
                f"no consolidated metadata at key {self.metadata_key!r} in {self.store!r}; "
                "call consolidate_metadata() first"
            ) from None
        docs = parse_consolidated(data, key=self.metadata_key)
        self._docs: dict[str, dict] = {}
        for name, doc in docs.items():
            try:
                self._docs[normalize_key(name)] = doc
            except (InvalidKeyError, TypeError) as exc:
                raise MetadataError(f"{self.metadata_key}: invalid document name {name!r}: {exc}") from exc
        self._encoded: dict[str, bytes] = {}
        self._children = _children_index(self._docs)
        self.dimension_separator = getattr(self.store, "dimension_separator", None)

    @property
    def metadata(self) -> Mapping[str, dict]:
        """The consolidated documents, parsed: ``{key: JSON object}``."""
        return self._docs

    # --- identity and pickling -----------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """The backing store, the key and the documents (not re-read on unpickling)."""
        return {"store": self.store, "metadata_key": self.metadata_key, "docs": self._docs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__`."""
        self.store = state["store"]
        self.metadata_key = state["metadata_key"]
        self._docs = state["docs"]
        self._encoded = {}
        self._children = _children_index(self._docs)
        self.dimension_separator = getattr(self.store, "dimension_separator", None)

    def __eq__(self, other: object) -> bool:
        """Equal to another ConsolidatedMetadataStore over an equal store, same key and documents."""
        if not isinstance(other, Store):
            return NotImplemented
        if self is other:
            return True
        return (isinstance(other, ConsolidatedMetadataStore) and self.metadata_key == other.metadata_key
                and self.store == other.store and self._docs == other._docs)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """``ConsolidatedMetadataStore(<backing store>, metadata_key='.zmetadata')``."""
        return f"{type(self).__name__}({self.store!r}, metadata_key={self.metadata_key!r})"

    # --- mapping ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The document at ``key``, encoded as zarr 2 writes it; KeyError when missing."""
        nkey = self._normalize_key(key)
        try:
            return self._encoded[nkey]
        except KeyError:
            pass
        try:
            doc = self._docs[nkey]
        except KeyError:
            raise KeyError(key) from None
        data = self._encoded[nkey] = json_dumps(doc)
        return data

    def _contains(self, nkey: str) -> bool:
        """True when ``nkey`` is a consolidated document."""
        return nkey in self._docs

    def __iter__(self) -> Iterator[str]:
        """Document keys, sorted."""
        return iter(sorted(self._docs))

    def __len__(self) -> int:
        """Number of documents."""
        return len(self._docs)

    def _refuse(self, key: str) -> ReadOnlyError:
        return ReadOnlyError(
            f"metadata opened from consolidated metadata ({self.metadata_key!r}) is read-only: "
            f"cannot modify {key!r}; open the hierarchy without open_consolidated() to change it, "
            "then call consolidate_metadata() again"
        )

    def _check_writeable(self, key: str) -> None:
        raise self._refuse(key)

    def __setitem__(self, key: str, value: Any) -> None:
        """Always raises ReadOnlyError."""
        raise self._refuse(key)

    def __delitem__(self, key: str) -> None:
        """Always raises ReadOnlyError."""
        raise self._refuse(key)

    # --- hierarchy ----------------------------------------------------------------------

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path`` among the documents' keys."""
        return sorted(self._children.get(self._normalize_path(path), ()))

    def keys_under(self, path: str = "") -> list[str]:
        """Document keys under ``path``, sorted."""
        prefix = prefix_for(self._normalize_path(path))
        return sorted(k for k in self._docs if k.startswith(prefix))

    def close(self) -> None:
        """Close the backing store."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def _children_index(keys: Any) -> dict[str, set[str]]:
    """``{path: names of its direct children}`` for every ancestor path of ``keys``."""
    children: dict[str, set[str]] = {}
    for key in keys:
        parts = key.split("/")
        for i in range(len(parts)):
            children.setdefault("/".join(parts[:i]), set()).add(parts[i])
    return children

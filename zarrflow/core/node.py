"""What arrays and groups share: where they live, their attributes, their lifecycle."""

from __future__ import annotations

from typing import Any

from zarrflow.core.attrs import Attributes
from zarrflow.storage.base import Store


class Node:
    """Base of :class:`Array` and :class:`Group`: a path in a store (metadata), an
    optional separate chunk store, a synchronizer, and JSON attributes."""

    _store: Store
    _chunk_store: Store | None
    _path: str
    _read_only: bool
    _synchronizer: Any
    _attrs: Attributes

    @property
    def store(self) -> Store:
        """The store holding the metadata (and chunks unless ``chunk_store`` is set)."""
        return self._store

    @property
    def chunk_store(self) -> Store:
        """The store holding array chunks."""
        return self._store if self._chunk_store is None else self._chunk_store

    @property
    def path(self) -> str:
        """The path within the store ('' at the root)."""
        return self._path

    @property
    def synchronizer(self) -> Any:
        """The synchronizer guarding concurrent writers, or None."""
        return self._synchronizer

    @property
    def attrs(self) -> Attributes:
        """User attributes (JSON), stored in ``.zattrs``."""
        return self._attrs

    def __hash__(self) -> int:
        return hash((type(self._store).__name__, self._path, self._read_only))

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        """Close the store (a no-op for stores without ``close``)."""
        close = getattr(self._store, "close", None)
        if close is not None:
            close()

    def _repr_html_(self) -> str:
        return self.info._repr_html_()  # type: ignore[attr-defined]

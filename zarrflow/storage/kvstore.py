"""KVStore: the Store API over any user MutableMapping.

zarr 2 accepts a plain ``dict`` (or any MutableMapping) as a store; the engine
wraps it here so it can call ``listdir``/``getsize``/batched methods on it. The
wrapped object stays visible as ``.mapping`` and keeps the data: writes go
straight through, so the user's dict sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from zarrflow.storage.base import Store, check_dimension_separator, ensure_bytes, getitems_with_contexts

__all__ = ["KVStore", "as_store", "is_mapping_like"]

_MAPPING_METHODS = ("__getitem__", "__setitem__", "__delitem__", "__contains__")


def is_mapping_like(obj: Any) -> bool:
    """True for a MutableMapping, or an object that acts as one (item get/set/delete,
    ``in`` and ``keys()``; a list, which has no keys, is not), as zarr 2 accepts for stores."""
    if isinstance(obj, MutableMapping):
        return True
    return all(hasattr(obj, m) for m in _MAPPING_METHODS) and callable(getattr(obj, "keys", None))


class KVStore(Store):
    """A Store backed by ``mapping`` (a dict or any other MutableMapping).

    ``is_persistent`` follows the mapping's own flag (False for a dict), and
    pickling pickles the mapping, so a dict travels with its data. Listing,
    ``rmdir`` and ``getsize`` are computed from the mapping's keys.
    """

    __hash__ = None  # type: ignore[assignment]  # equality is by content, like dict

    def __init__(
        self,
        mapping: MutableMapping[str, Any],
        *,
        read_only: bool = False,
        dimension_separator: str | None = None,
    ) -> None:
        if not is_mapping_like(mapping):
            raise TypeError(f"KVStore wraps a MutableMapping, got {type(mapping).__name__}")
        self._mapping = mapping
        self._read_only = bool(read_only)
        self.is_persistent = bool(getattr(mapping, "is_persistent", False))
        if dimension_separator is None:
            dimension_separator = getattr(mapping, "dimension_separator", None)
        self.dimension_separator = check_dimension_separator(dimension_separator)
        # a mapping with its own batched getitems (zarr 2.18's store protocol) gets
        # every batch, with the contexts zarr 2 passes
        self.supports_concurrent_getitems = callable(getattr(mapping, "getitems", None))

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` (missing ones left out): from the mapping's own
        ``getitems`` when it has one, else key by key."""
        if not self.supports_concurrent_getitems:
            return super().getitems(keys, contexts=contexts)
        nkeys = {self._normalize_key(k): k for k in keys}
        found = getitems_with_contexts(self._mapping, list(nkeys), contexts={} if contexts is None else contexts)
        return {nkeys.get(k, k): (v if type(v) is bytes else ensure_bytes(v)) for k, v in found.items()}

    @property
    def mapping(self) -> MutableMapping[str, Any]:
        """The wrapped mapping (what ``info`` reports as the store type)."""
        return self._mapping

    @property
    def map(self) -> MutableMapping[str, Any]:
        """The wrapped mapping (zarr 2's name for :attr:`mapping`)."""
        return self._mapping

    def __eq__(self, other: object) -> bool:
        """Equal to another KVStore whose mapping compares equal."""
        if not isinstance(other, Store):
            return NotImplemented
        if self is other:
            return True
        return isinstance(other, KVStore) and self._mapping == other._mapping

    def __repr__(self) -> str:
        """``KVStore(<builtins.dict>)``."""
        cls = type(self._mapping)
        return f"{type(self).__name__}(<{cls.__module__}.{cls.__qualname__}>)"

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key`` as bytes; KeyError when missing."""
        try:
            value = self._mapping[self._normalize_key(key)]
        except KeyError:
            raise KeyError(key) from None
        return value if type(value) is bytes else ensure_bytes(value)

    def __setitem__(self, key: str, value: Any) -> None:
        """Store a copy of ``value`` (any bytes-like object) as bytes."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        self._mapping[nkey] = ensure_bytes(value)

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; KeyError when missing (dict semantics)."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        try:
            del self._mapping[nkey]
        except KeyError:
            raise KeyError(key) from None

    def _contains(self, nkey: str) -> bool:
        """True when ``key`` holds a value; keys that cannot exist give False."""
        return nkey in self._mapping

    def __iter__(self) -> Iterator[str]:
        """The mapping's str keys, sorted (a snapshot)."""
        keys = self._mapping.keys() if hasattr(self._mapping, "keys") else self._mapping
        return iter(sorted(k for k in list(keys) if isinstance(k, str)))

    def __len__(self) -> int:
        """Number of keys in the mapping."""
        if hasattr(self._mapping, "__len__"):
            return len(self._mapping)
        return sum(1 for _ in self)

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move the key ``src_path`` and everything under it to ``dst_path``, moving the
        mapping's values as they are (a move stores nothing new); destinations are
        overwritten; KeyError when there is nothing to move."""
        src, dst = self._rename_paths(src_path, dst_path)
        self._check_writeable(src)
        moves = {k: dst + k[len(src):] for k in self.keys_under(src)}
        if src in self._mapping:
            moves[src] = dst
        if not moves:
            raise KeyError(src_path)
        values = {new: self._mapping[old] for old, new in moves.items()}
        for old in moves:
            del self._mapping[old]
        for new, value in values.items():
            self._mapping[new] = value

    def clear(self) -> None:
        """Remove every key from the mapping."""
        self._check_writeable("")
        if hasattr(self._mapping, "clear"):
            self._mapping.clear()
        else:
            for key in list(self):
                del self._mapping[key]


def as_store(store: Any, *, what: str = "store", read_only: bool = False) -> Store:
    """``store`` itself when it is a :class:`Store`, a :class:`KVStore` over any other
    MutableMapping (read-only when ``read_only``); TypeError naming ``what`` otherwise.

    The one place a user's mapping becomes a Store; paths and URLs are resolved a
    layer up, by ``storage.normalize.normalize_store_arg``.
    """
    if isinstance(store, Store):
        return store
    if is_mapping_like(store):
        return KVStore(store, read_only=read_only)
    raise TypeError(f"{what} must be a Store or a MutableMapping, got {type(store).__name__}")

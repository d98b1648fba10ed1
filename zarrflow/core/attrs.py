"""User attributes of an array or group, stored as JSON in ``.zattrs``."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from zarrflow.core.sync import hold
from zarrflow.errors import ReadOnlyError
from zarrflow.format import ATTRS_KEY, encode_attributes, parse_attributes
from zarrflow.storage.base import Store
from zarrflow.storage.kvstore import KVStore


class Attributes(MutableMapping[str, Any]):
    """Dict-like access to the JSON attributes stored under ``key``.

    Values must be JSON-serialisable; a bad value raises ``TypeError`` before anything
    is written. Every update re-reads the stored document under the synchronizer's
    lock for ``key`` and writes the whole document back, so concurrent writers of
    different attributes do not drop each other's keys.
    """

    def __init__(self, store: MutableMapping, key: str = ATTRS_KEY, read_only: bool = False,
                 cache: bool = True, synchronizer: Any = None, cached: dict | None = None):
        # a plain mapping is wrapped (writes go through to it), as zarr 2 does
        self.store = store if isinstance(store, Store) else KVStore(store)
        self.key = key
        self.read_only = read_only
        self.cache = cache
        self.synchronizer = synchronizer
        self._cached: dict | None = cached if cache else None

    # --- reading ---------------------------------------------------------------------

    def _load(self) -> dict:
        try:
            data = self.store[self.key]
        except KeyError:
            return {}
        return parse_attributes(data, key=self.key)

    def asdict(self) -> dict:
        """A copy of all attributes as a plain dict."""
        if self.cache and self._cached is not None:
            return dict(self._cached)
        d = self._load()
        if self.cache:
            self._cached = d
        return dict(d)

    def refresh(self) -> None:
        """Drop the cached copy and re-read the attributes from the store."""
        if self.cache:
            self._cached = self._load()

    def __getitem__(self, item: str) -> Any:
        return self.asdict()[item]

    def _ipython_key_completions_(self) -> list[str]:
        """Attribute names, for IPython's tab completion of ``attrs[...]``."""
        return sorted(self.asdict())

    def __contains__(self, item: object) -> bool:
        return item in self.asdict()

    def __iter__(self) -> Iterator[str]:
        return iter(self.asdict())

    def __len__(self) -> int:
        return len(self.asdict())

    def keys(self):  # type: ignore[override]
        """The attribute names."""
        return self.asdict().keys()

    # --- writing ---------------------------------------------------------------------

    def _lock(self):
        return hold(self.synchronizer, [self.key])

    def _write(self, mutate) -> None:
        if self.read_only:
            raise ReadOnlyError(f"attributes at {self.key!r} are read-only")
        with self._lock():
            d = self._load()
            mutate(d)
            data = encode_attributes(d)  # raises TypeError before any write
            self.store[self.key] = data
            if self.cache:
                self._cached = d

    def __setitem__(self, item: str, value: Any) -> None:
        item = _str_keys({item: None}).popitem()[0]
        encode_attributes({item: value})  # fail fast, naming the key
        self._write(lambda d: d.__setitem__(item, value))

    def __delitem__(self, item: str) -> None:
        if item not in self.asdict():
            raise KeyError(item)
        self._write(lambda d: d.__delitem__(item))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Update several attributes in one write."""
        new = _str_keys(dict(*args, **kwargs))
        encode_attributes(new)
        self._write(lambda d: d.update(new))

    def put(self, d: Mapping[str, Any]) -> None:
        """Replace all attributes with ``d`` in one write."""
        new = _str_keys(dict(d))
        encode_attributes(new)

        def replace(cur: dict) -> None:
            cur.clear()
            cur.update(new)

        self._write(replace)

    def __repr__(self) -> str:
        return f"<Attributes {self.key!r} {self.asdict()!r}>"

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(repr(self.asdict()))


def _str_keys(d: dict) -> dict:
    """``d`` with its names as JSON stores them (``1`` -> ``'1'``), with zarr 2's
    DeprecationWarning when one is not a string."""
    if all(isinstance(k, str) for k in d):
        return d
    warnings.warn("only attribute keys of type 'string' will be allowed in the future",
                  DeprecationWarning, stacklevel=3)
    return {k if isinstance(k, str) else json_key(k): v for k, v in d.items()}


def json_key(key: Any) -> str:
    """The name JSON gives a non-string key (``True`` -> ``'true'``, ``1`` -> ``'1'``)."""
    try:
        return next(iter(json.loads(json.dumps({key: 0}))))
    except TypeError:
        raise TypeError(f"attribute name {key!r} ({type(key).__name__}) cannot be a JSON object key") from None

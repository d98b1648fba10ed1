"""zarr 2 behaviour found by running zarr 2.18's own suite (tests/compat)."""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from numcodecs import Zlib

import zarrflow
from zarrflow.storage import KVStore, MemoryStore, Store


def test_h5py_compression_args() -> None:
    z = zarrflow.zeros(10, compression="zlib", compression_opts=3)
    assert z.compressor == Zlib(3)
    assert zarrflow.zeros(10, compression=None).compressor is None
    assert zarrflow.create(10, fillvalue=4).fill_value == 4
    with pytest.warns(UserWarning, match="overridden"):
        assert zarrflow.zeros(10, compressor=Zlib(1), compression="gzip").compressor == Zlib(1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"compression": "nosuchcodec"}, "nosuchcodec"),
        ({"compression": "zlib", "compression_opts": {"bogus": 1}}, "bogus"),
        ({"compression_opts": 3}, "without compression"),
        ({"filters": ["notacodec"]}, r"filters\[0\].*'notacodec'"),
        ({"dtype": str, "fill_value": 5}, "fill_value 5"),
    ],
)
def test_bad_creation_args_refused_before_writing(kwargs: dict, match: str) -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match=match):
        zarrflow.create(10, store=store, **kwargs)
    assert list(store) == []


def test_empty_compressor_means_none() -> None:
    assert zarrflow.zeros(10, compressor=[]).compressor is None


def test_hexdigest_covers_chunks_metadata_and_attrs() -> None:
    z = zarrflow.zeros(10, chunks=3, dtype="i4")
    empty = z.hexdigest()
    assert len(empty) == 40 and z.hexdigest("md5") != empty
    z[0] = 1
    filled = z.hexdigest()
    assert filled != empty
    z.attrs["a"] = 1
    assert z.hexdigest() != filled


@pytest.mark.parametrize("start, end", [(-1, 0), (0, -1), (0.5, 1), (0, 0.5)])
def test_islice_bad_bounds(start: Any, end: Any) -> None:
    z = zarrflow.zeros(10, chunks=3)
    with pytest.raises(ValueError, match="islice"):
        list(z.islice(start, end))


def test_attributes_over_a_plain_dict() -> None:
    d: dict = {}
    a = zarrflow.attrs.Attributes(d)
    a["x"] = 1
    assert isinstance(a.store, KVStore) and b'"x": 1' in d[".zattrs"]
    assert a._ipython_key_completions_() == ["x"]


class DuckMapping:
    """A mapping that is not a MutableMapping and has no __len__ (zarr 2's suite has one)."""

    def __init__(self) -> None:
        self.inner: dict = {}

    def keys(self):
        return self.inner.keys()

    def __getitem__(self, k):
        return self.inner[k]

    def __setitem__(self, k, v):
        self.inner[k] = v

    def __delitem__(self, k):
        del self.inner[k]

    def __contains__(self, k):
        return k in self.inner


def test_duck_typed_mapping_as_store() -> None:
    m = DuckMapping()
    z = zarrflow.zeros(10, chunks=5, store=m)
    z[:] = 2
    assert (z[:] == 2).all() and "0" in m.inner
    assert KVStore(m).map is m and len(KVStore(m)) == len(m.inner)


class ContextsRequired(Store):
    """A store written for zarr 2.18: its getitems requires ``contexts`` (batched reads
    go through getitems for stores that ask for them)."""

    supports_concurrent_getitems = True

    def __init__(self) -> None:
        self.d: dict = {}
        self.seen = collections.Counter()

    def __getitem__(self, k):
        return self.d[k]

    def __setitem__(self, k, v):
        self.d[k] = bytes(v)

    def __delitem__(self, k):
        del self.d[k]

    def __iter__(self):
        return iter(self.d)

    def __len__(self):
        return len(self.d)

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any]) -> dict:
        for k in keys:
            assert isinstance(contexts[k], dict)
            self.seen[k] += 1
        return {k: self.d[k] for k in keys if k in self.d}


def test_getitems_gets_contexts() -> None:
    store = ContextsRequired()
    z = zarrflow.zeros(10, chunks=5, store=store)
    z[:] = 1
    assert (z[:] == 1).all()
    assert store.seen["0"] >= 1 and store.seen["1"] >= 1


def test_list_into_object_field_is_one_item_per_element(monkeypatch: pytest.MonkeyPatch) -> None:
    import numcodecs.pickles

    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True, raising=False)
    monkeypatch.setenv("ZARRFLOW_ALLOW_PICKLE", "1")
    dt = [("o", object), ("i", int)]
    z = zarrflow.create(2, dtype=dt, object_codec=zarrflow.codecs.Pickle(), allow_pickle=True)
    z["o"] = [b"e", b"f"]
    assert z[1]["o"] == b"f"


class OldProtocol(ContextsRequired):
    """A store whose getitems takes no ``contexts`` (zarrflow's earlier protocol)."""

    def getitems(self, keys: Sequence[str]) -> dict:  # type: ignore[override]
        return {k: self.d[k] for k in keys if k in self.d}


def test_getitems_without_contexts_still_works() -> None:
    z = zarrflow.zeros(10, chunks=5, store=OldProtocol())
    z[:] = 1
    assert (z[:] == 1).all()

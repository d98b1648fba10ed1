"""zarr 2 behaviour found by running zarr 2.18's own suite (tests/compat)."""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
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
        assert isinstance(contexts, Mapping)  # zarr 2.18: {} by default, else a ConstantMap
        self.last_contexts = contexts
        for k in keys:
            assert isinstance(contexts.get(k, {}), dict)
            self.seen[k] += 1
        return {k: self.d[k] for k in keys if k in self.d}


def test_getitems_gets_contexts() -> None:
    store = ContextsRequired()
    z = zarrflow.zeros(10, chunks=5, store=store)
    z[:] = 1
    assert (z[:] == 1).all()
    assert store.seen["0"] >= 1 and store.seen["1"] >= 1
    assert store.last_contexts == {}  # the default meta_array: no contexts, as zarr 2.18 passes


class Tagged(np.ndarray):
    """A NumPy subclass standing in for a GPU array type as ``meta_array``."""


def test_meta_array_reaches_getitems_and_types_results() -> None:
    store = ContextsRequired()
    meta = np.empty(()).view(Tagged)
    z = zarrflow.zeros(10, chunks=5, store=store, meta_array=meta)
    z[:] = np.arange(10)
    got = z[2:8]
    assert type(got) is Tagged and got.tolist() == [2, 3, 4, 5, 6, 7]
    assert dict(store.last_contexts) == {"0": {"meta_array": meta}, "1": {"meta_array": meta}}
    assert type(zarrflow.open_array(store, mode="r", meta_array=meta)[:]) is Tagged
    g = zarrflow.group(meta_array=meta)
    assert g.meta_array is meta and type(g.zeros("a", shape=4)[:]) is Tagged
    assert type(z.astype("f8")[:]) is Tagged


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


# --- behaviour matched to zarr 2.18's suite (issue 10, second part) ---------------------------


def test_h5py_only_keywords_warn_and_others_still_fail() -> None:
    g = zarrflow.group()
    with pytest.warns(UserWarning, match="ignoring keyword argument 'shuffle'"):
        z = g.create_dataset("y", shape=10, chunks=5, shuffle=True)
    assert z.shape == (10,)
    with pytest.raises(TypeError, match="not_a_keyword"):
        g.create_dataset("z", shape=10, not_a_keyword=1)
    assert "z" not in g


def test_non_string_attribute_names_warn_and_are_stored_as_json_names() -> None:
    z = zarrflow.zeros(3)
    with pytest.warns(DeprecationWarning, match="only attribute keys of type 'string'"):
        z.attrs[1] = "one"
    with pytest.warns(DeprecationWarning):
        z.attrs.update({True: 2})
    assert z.attrs.asdict() == {"1": "one", "true": 2}
    with pytest.raises(TypeError), pytest.warns(DeprecationWarning):
        z.attrs.put({(1, 2): 3})
    assert z.attrs.asdict() == {"1": "one", "true": 2}  # the refused put changed nothing


def test_whole_float_shapes_warn_like_zarr2() -> None:
    from zarrflow.util import normalize_shape

    with pytest.warns(UserWarning, match="non-integer"):
        assert normalize_shape((2.0, 3)) == (2, 3)
    with pytest.raises(ValueError, match="2.5"), pytest.warns(UserWarning):
        normalize_shape((2.5,))
    with pytest.raises(ValueError, match="foo"), pytest.warns(UserWarning):
        normalize_shape("foo")
    with pytest.warns(UserWarning):
        z = zarrflow.create(shape=(4.0,), chunks=(2.0,))
    assert z.shape == (4,) and z.chunks == (2,) and all(type(n) is int for n in z.shape + z.chunks)


def test_bcolz_chunklen_gives_the_chunks() -> None:
    class Carray:
        def __init__(self, data: np.ndarray) -> None:
            self.data, self.chunklen = data, 10
            self.shape, self.dtype = data.shape, data.dtype

        def __getitem__(self, item: Any) -> Any:
            return self.data[item]

        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
            return self.data

    b = np.arange(1000).reshape(100, 10)
    assert zarrflow.array(Carray(b)).chunks == (10, 10)
    assert zarrflow.empty_like(Carray(b)).chunks == (10, 10)


def test_out_may_be_a_zarr_array() -> None:
    a = np.arange(1050)
    z = zarrflow.array(a, chunks=100)
    out = zarrflow.zeros(100, chunks=10, dtype=a.dtype)
    z.get_basic_selection(slice(50, 150), out=out)
    assert out[:].tolist() == a[50:150].tolist()
    with pytest.raises(TypeError, match="list"):
        z.get_basic_selection(Ellipsis, out=[])
    with pytest.raises(ValueError, match=r"\(100,\)"):
        z.get_basic_selection(slice(0, 10), out=out)
    assert out[:].tolist() == a[50:150].tolist()  # the refused read wrote nothing


def test_astype_is_a_read_only_view() -> None:
    z = zarrflow.array(np.arange(10, dtype="i1"), chunks=3, fill_value=5)
    f = z.astype("f4")
    assert f.dtype == np.dtype("f4") and f.read_only and f.fill_value == 5.0
    np.testing.assert_array_equal(f[:], np.arange(10, dtype="f4"))
    assert z.dtype == np.dtype("i1") and z.filters is None  # the stored array is unchanged
    with pytest.raises(PermissionError):
        f[0] = 1


def test_consolidated_store_refuses_a_path(tmp_path) -> None:
    from zarrflow.storage import ConsolidatedMetadataStore

    with pytest.raises(ValueError, match="not a path"):
        ConsolidatedMetadataStore(str(tmp_path))


def test_kvstore_rename_moves_values_as_they_are() -> None:
    d: dict = {"a": 1, "g/x": b"2"}
    zarrflow.storage.rename(d, "a", "b")
    zarrflow.storage.rename(d, "g", "h")
    assert d == {"b": 1, "h/x": b"2"}


def test_listdir_of_a_plain_mapping_warns_like_zarr2() -> None:
    with pytest.warns(UserWarning, match="has no `listdir`"):
        assert zarrflow.storage.listdir({"a/b": b"", "c": b""}) == ["a", "c"]
    assert zarrflow.storage.listdir(KVStore({"a": b""})) == ["a"]  # a Store: no warning


def test_getsize_of_a_non_mapping_is_unknown() -> None:
    assert zarrflow.storage.getsize(object()) == -1
    assert zarrflow.storage.getsize({"a": b"12", "b/c": b"345"}) == 2


def test_capabilities_are_methods_as_in_zarr2(tmp_path) -> None:
    from zarrflow.storage import ZipStore

    s = KVStore({})
    assert s.is_readable() and s.is_writeable() and s.is_listable() and s.is_erasable()
    zs = ZipStore(str(tmp_path / "a.zip"), mode="w")
    assert zs.is_erasable() is False
    zs.close()


def test_partial_decompress_is_accepted_and_says_it_does_nothing(tmp_path) -> None:
    # zarrflow reads in part whatever the flag says (numcodecs 0.16 dropped the
    # decompress_partial zarr 2 used for it), so the flag only warns
    z = zarrflow.array(np.arange(100), chunks=10, store=str(tmp_path / "a"))
    with pytest.warns(UserWarning, match="partial_decompress=True has no effect"):
        again = zarrflow.open_array(str(tmp_path / "a"), mode="r", partial_decompress=True)
    assert again[5:25].tolist() == z[5:25].tolist()
    with pytest.warns(UserWarning, match="reads only the Blosc blocks"):
        zarrflow.Array(z.store, partial_decompress=True)


def test_memory_store_is_a_tree_as_in_zarr2() -> None:
    from zarrflow.errors import KeyBlockedError

    s = MemoryStore()
    s["a/b"] = b"1"
    with pytest.raises(KeyBlockedError, match="'a/b'"):
        s["a/b/c"] = b"2"
    with pytest.raises(KeyError):
        s.setitems({"z": b"0", "a/b/d": b"3"})
    assert dict(s) == {"a/b": b"1"}  # the refused batch wrote nothing
    s["x/y/z"] = b"3"
    s["x/y"] = b"4"  # a value replaces the directory of keys below it
    assert dict(s) == {"a/b": b"1", "x/y": b"4"}
    s["x"] = b"5"
    assert dict(s) == {"a/b": b"1", "x": b"5"}

"""Creating and opening arrays: create/empty/zeros/ones/full/array, the *_like family,
open_array in every mode, zarrflow.open/save/load, and argument normalisation, with
zarr-python 2.18's behaviour as the expected outcome."""

from __future__ import annotations

import json

import numcodecs
import numpy as np
import pytest

import zarrflow
import zarrflow.storage
from tests.core.conftest import chunk_keys, snapshot
from zarrflow.errors import (
    ArrayNotFoundError,
    ContainsArrayError,
    ContainsGroupError,
    PathNotFoundError,
)
from zarrflow.storage import DirectoryStore, KVStore, NestedDirectoryStore


def meta(store, path=""):
    return json.loads(snapshot(store)[(path + "/" if path else "") + ".zarray"])


# --- the creation functions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,fill",
    [
        (lambda **kw: zarrflow.create((5, 4), **kw), 0),
        (lambda **kw: zarrflow.zeros((5, 4), **kw), 0),
        (lambda **kw: zarrflow.ones((5, 4), **kw), 1),
        (lambda **kw: zarrflow.full((5, 4), fill_value=-3, **kw), -3),
        (lambda **kw: zarrflow.empty((5, 4), **kw), None),
    ],
    ids=["create", "zeros", "ones", "full", "empty"],
)
def test_creation_functions(array_store, make, fill):
    z = make(chunks=(2, 3), dtype="i2", store=array_store, path="x")
    assert z.shape == (5, 4) and z.chunks == (2, 3) and z.dtype == np.dtype("i2") and z.fill_value == fill
    assert z.compressor == zarrflow.storage.default_compressor and z.filters is None and z.order == "C"
    assert sorted(snapshot(array_store)) == [".zgroup", "x/.zarray"]  # metadata only: no chunks written
    expected = {
        "zarr_format": 2, "shape": [5, 4], "chunks": [2, 3], "dtype": "<i2", "fill_value": fill, "order": "C",
        "filters": None, "compressor": zarrflow.storage.default_compressor.get_config(),
    }
    if isinstance(array_store, NestedDirectoryStore):  # the store's default separator is recorded
        expected["dimension_separator"] = "/"
    assert meta(array_store, "x") == expected
    if fill is not None:
        np.testing.assert_array_equal(z[:], np.full((5, 4), fill, dtype="i2"))
    z[1:3] = 7
    assert z[2, 3] == 7


def test_create_defaults(array_store):
    z = zarrflow.create(10, store=array_store)
    assert z.shape == (10,) and z.dtype == np.dtype("f8") and z.fill_value == 0.0 and z.chunks == (10,)
    assert z.order == "C" and z.read_only is False


def test_create_in_memory_without_a_store():
    z = zarrflow.zeros((3, 3), dtype="u1")
    z[1] = 5
    assert isinstance(z.store, KVStore) and isinstance(z.store.mapping, dict)
    assert z[:].tolist() == [[0, 0, 0], [5, 5, 5], [0, 0, 0]]


def test_create_on_a_path_string(tmp_path):
    where = str(tmp_path / "data.zarr")
    z = zarrflow.zeros((4,), chunks=2, store=where, dtype="i4")
    z[:] = [1, 2, 3, 4]
    assert isinstance(z.store, DirectoryStore) and sorted(p.name for p in (tmp_path / "data.zarr").iterdir()) == [
        ".zarray", "0", "1"]
    assert zarrflow.open_array(where, mode="r")[:].tolist() == [1, 2, 3, 4]


def test_array_from_data(array_store):
    a = np.arange(24, dtype=">i4").reshape(4, 6)
    z = zarrflow.array(a, chunks=(3, 4), store=array_store, fill_value=None)
    assert z.dtype == np.dtype(">i4") and z.chunks == (3, 4) and z.fill_value is None
    np.testing.assert_array_equal(z[:], a)
    assert len(chunk_keys(array_store)) == 4
    lst = zarrflow.array([[1, 2], [3, 4]])
    assert lst.dtype == np.dtype(int) and lst.chunks == (2, 2) and lst[:].tolist() == [[1, 2], [3, 4]]
    assert zarrflow.array(a, dtype="f4")[:].dtype == np.dtype("f4")
    ro = zarrflow.array(a, read_only=True)
    assert ro.read_only
    np.testing.assert_array_equal(ro[:], a)


def test_array_from_another_array_keeps_its_chunks(array_store):
    src = zarrflow.array(np.arange(30).reshape(5, 6), chunks=(2, 5))
    z = zarrflow.array(src, store=array_store)
    assert z.chunks == (2, 5) and z.dtype == src.dtype
    np.testing.assert_array_equal(z[:], src[:])
    assert zarrflow.array(src, chunks=3).chunks == (3, 3)


# --- *_like ------------------------------------------------------------------------------------------


@pytest.fixture
def model():
    return zarrflow.create((7, 5), chunks=(3, 2), dtype=">f4", compressor=numcodecs.Zlib(level=2), order="F",
                           fill_value=4, filters=[numcodecs.Delta(">f4")])


@pytest.mark.parametrize(
    "fn,fill", [("empty_like", None), ("zeros_like", 0), ("ones_like", 1), ("full_like", 4)],
)
def test_like_copies_the_model(model, array_store, fn, fill):
    z = getattr(zarrflow, fn)(model, store=array_store)
    assert z.store is array_store or z.store.mapping is array_store
    assert (z.shape, z.chunks, z.dtype, z.order) == ((7, 5), (3, 2), np.dtype(">f4"), "F")
    assert z.compressor == numcodecs.Zlib(level=2) and z.filters == [numcodecs.Delta(">f4")]
    assert z.fill_value == fill
    assert meta(array_store)["filters"] == [{"id": "delta", "dtype": ">f4", "astype": ">f4"}]


def test_like_overrides_and_numpy_models(model):
    assert zarrflow.full_like(model, fill_value=9).fill_value == 9
    z = zarrflow.zeros_like(model, chunks=4, dtype="i2")
    assert z.chunks == (4, 4) and z.dtype == np.dtype("i2")
    a = np.zeros((7, 5), dtype="u2")
    z = zarrflow.full_like(a, fill_value=3)
    assert (z.shape, z.dtype, z.order, z.fill_value) == ((7, 5), np.dtype("u2"), "C", 3)
    assert z.compressor == zarrflow.storage.default_compressor
    assert zarrflow.empty_like(a).fill_value is None
    obj = zarrflow.zeros_like(zarrflow.empty(4, dtype=str))
    assert obj.dtype == object and obj.filters == [numcodecs.VLenUTF8()]


def test_open_like(model, tmp_path):
    where = str(tmp_path / "like.zarr")
    z = zarrflow.open_like(model, where)
    assert (z.shape, z.chunks, z.dtype, z.fill_value) == ((7, 5), (3, 2), np.dtype(">f4"), 4)
    assert z.compressor == numcodecs.Zlib(level=2) and isinstance(z.store, DirectoryStore)
    z[0, 0] = 1.5
    assert zarrflow.open_like(model, where, mode="r")[0, 0] == 1.5


# --- open_array modes ------------------------------------------------------------------------------------

#: zarr 2.18's creation.open_array: what each mode does with what is at the path.
#: "open": the existing array, unchanged; "create": a new array from the arguments.
MODE_TABLE = {
    ("r", "missing"): ArrayNotFoundError,
    ("r", "array"): "open",
    ("r", "group"): ContainsGroupError,
    ("r+", "missing"): ArrayNotFoundError,
    ("r+", "array"): "open",
    ("r+", "group"): ContainsGroupError,
    ("a", "missing"): "create",
    ("a", "array"): "open",
    ("a", "group"): ContainsGroupError,
    ("w", "missing"): "create",
    ("w", "array"): "create",
    ("w", "group"): "create",
    ("w-", "missing"): "create",
    ("w-", "array"): ContainsArrayError,
    ("w-", "group"): ContainsGroupError,
    ("x", "missing"): "create",
    ("x", "array"): ContainsArrayError,
    ("x", "group"): ContainsGroupError,
}


def _prepare(store, state, path):
    if state == "array":
        z = zarrflow.full(3, fill_value=7, chunks=2, dtype="i4", store=store, path=path)
        z[0] = 1
        z.attrs["old"] = True
    elif state == "group":
        zarrflow.group(store=store, path=path).attrs["group"] = True


@pytest.mark.parametrize("mode", ["r", "r+", "a", "w", "w-", "x"])
def test_open_array_modes(array_store, mode):
    store = array_store
    for state in ("missing", "array", "group"):
        path = f"{state}/p"
        _prepare(store, state, path)
        expected = MODE_TABLE[(mode, state)]
        before = snapshot(store)
        if not isinstance(expected, str):
            with pytest.raises(expected, match=repr(path)):
                zarrflow.open_array(store, mode=mode, path=path, shape=(4,), chunks=3, dtype="f8", fill_value=1)
            assert snapshot(store) == before, (mode, state)
            continue
        z = zarrflow.open_array(store, mode=mode, path=path, shape=(4,), chunks=3, dtype="f8", fill_value=1)
        assert z.read_only == (mode == "r"), (mode, state)
        if expected == "open":
            assert snapshot(store) == before, (mode, state)
            assert (z.shape, z.dtype, z.fill_value) == ((3,), np.dtype("i4"), 7)
            assert z[:].tolist() == [1, 7, 7] and z.attrs["old"] is True
        else:
            assert (z.shape, z.chunks, z.dtype, z.fill_value) == ((4,), (3,), np.dtype("f8"), 1)
            assert z[:].tolist() == [1.0] * 4 and z.attrs.asdict() == {}
            keys = {k for k in snapshot(store) if k.startswith(path + "/")}
            assert keys == {path + "/.zarray"}, (mode, state)  # old chunks, attrs, .zgroup all gone
        if mode != "r":
            z[0] = 5
            assert zarrflow.Array(store, path=path)[0] == 5


@pytest.mark.parametrize("mode", ["a", "w", "w-", "x"])
def test_open_array_needs_a_shape_to_create(array_store, mode):
    with pytest.raises(TypeError, match="shape"):
        zarrflow.open_array(array_store, mode=mode, path="p")
    assert snapshot(array_store) == {}


def test_open_array_mode_w_keeps_old_data_when_nothing_is_given(array_store):
    z = zarrflow.array(np.arange(4), chunks=2, store=array_store, path="p")
    before = snapshot(array_store)
    with pytest.raises(TypeError):
        zarrflow.open_array(array_store, mode="w", path="p")
    assert snapshot(array_store) == before
    assert z[:].tolist() == [0, 1, 2, 3]


def test_open_array_rejects_unknown_mode(array_store):
    with pytest.raises(ValueError, match="'q'"):
        zarrflow.open_array(array_store, mode="q", shape=3)
    assert snapshot(array_store) == {}


def test_open_array_mode_w_replaces_chunks_in_a_separate_chunk_store(array_store):
    chunk_store = {}
    z = zarrflow.open_array(array_store, mode="w", shape=4, chunks=2, chunk_store=chunk_store, path="p")
    z[:] = 1
    assert sorted(chunk_store) == ["p/0", "p/1"]
    z = zarrflow.open_array(array_store, mode="w", shape=2, chunks=2, chunk_store=chunk_store, path="p",
                            fill_value=3)
    assert chunk_store == {} and z[:].tolist() == [3, 3]


# --- zarrflow.open / save / load ---------------------------------------------------------------------------


def test_open_save_load(array_store):
    a = np.arange(12, dtype="u2").reshape(3, 4)
    zarrflow.save(array_store, a)
    assert meta(array_store)["dtype"] == "<u2"
    np.testing.assert_array_equal(zarrflow.load(array_store), a)
    z = zarrflow.open(array_store)
    assert isinstance(z, zarrflow.Array) and not z.read_only
    np.testing.assert_array_equal(z[:], a)
    ro = zarrflow.open(array_store, mode="r")
    assert isinstance(ro, zarrflow.Array) and ro.read_only
    zarrflow.save(array_store, np.ones(2))  # save replaces
    assert zarrflow.load(array_store).tolist() == [1.0, 1.0]
    zarrflow.save_array(array_store, a, path="sub/arr", chunks=(1, 4))
    assert zarrflow.open(array_store, path="sub/arr").chunks == (1, 4)
    np.testing.assert_array_equal(zarrflow.load(array_store, path="sub/arr"), a)


def test_open_with_shape_creates_an_array(tmp_path):
    where = str(tmp_path / "o.zarr")
    z = zarrflow.open(where, mode="w", shape=(3, 2), dtype="i1", chunks=(2, 2))
    assert isinstance(z, zarrflow.Array) and z[:].tolist() == [[0, 0]] * 3
    z[:] = 4
    assert zarrflow.load(where).tolist() == [[4, 4]] * 3
    assert zarrflow.open(where, mode="r+")[0, 0] == 4
    with pytest.raises(ContainsArrayError):
        zarrflow.open(where, mode="w-", shape=(1,))
    with pytest.raises(PathNotFoundError):
        zarrflow.open(str(tmp_path / "missing.zarr"), mode="r+")


# --- argument normalisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,chunks,dtype,expected",
    [
        ((100, 20), 7, "f8", (7, 7)),
        ((100, 20), (10,), "f8", (10, 20)),
        ((100, 20), (10, -1), "f8", (10, 20)),
        ((100, 20), (None, 5), "f8", (100, 5)),
        ((100, 20), -1, "f8", (100, 20)),
        ((100, 20), None, "f8", (100, 20)),
        ((100, 20), False, "f8", (100, 20)),
        ((100,), True, "f8", (100,)),
        ((10000, 10000), True, "i4", (625, 625)),
        ((1000, 1000, 100), True, "f8", (125, 125, 13)),
        ((10000, 10000), None, "i4", (625, 625)),
        ((0, 20), True, "f8", (1, 20)),
        ((5,), 10, "f8", (10,)),
        ((5,), np.int64(2), "f8", (2,)),
    ],
)
def test_chunks_normalisation(array_store, shape, chunks, dtype, expected):
    z = zarrflow.zeros(shape, chunks=chunks, dtype=dtype, store=array_store)
    assert z.chunks == expected
    assert meta(array_store)["chunks"] == list(expected)
    assert chunk_keys(array_store) == []


def test_default_compressor_is_read_at_call_time(array_store):
    zarrflow.storage.default_compressor = numcodecs.Zlib(level=3)
    z = zarrflow.zeros(10, chunks=5, store=array_store, path="a")
    assert z.compressor == numcodecs.Zlib(level=3)
    assert meta(array_store, "a")["compressor"] == {"id": "zlib", "level": 3}
    z[:] = 1
    assert numcodecs.Zlib(level=3).decode(snapshot(array_store)["a/0"]) == np.ones(5).tobytes()
    zarrflow.storage.default_compressor = None
    assert zarrflow.zeros(10, store=array_store, path="b").compressor is None
    assert meta(array_store, "b")["compressor"] is None
    assert zarrflow.zeros(10, store=array_store, path="c", compressor=numcodecs.BZ2()).compressor == numcodecs.BZ2()


@pytest.mark.parametrize(
    "dtype,codec",
    [(str, numcodecs.VLenUTF8()), (bytes, numcodecs.VLenBytes()), ("str", numcodecs.VLenUTF8()),
     ("array:i8", numcodecs.VLenArray("<i8")), ("array:<f4", numcodecs.VLenArray("<f4"))],
    ids=["str", "bytes", "'str'", "array:i8", "array:<f4"],
)
def test_object_dtype_shorthands(array_store, dtype, codec):
    z = zarrflow.empty(3, chunks=2, dtype=dtype, store=array_store)
    assert z.dtype == np.dtype(object) and z.filters == [codec] and z.fill_value is None
    m = meta(array_store)
    assert m["dtype"] == "|O" and m["filters"] == [codec.get_config()]
    values = {numcodecs.VLenUTF8: ["a", "bc", ""], numcodecs.VLenBytes: [b"a", b"", b"\x00"]}.get(
        type(codec), [np.array([1, 2], dtype=codec.get_config().get("dtype", "<i8")), np.array([], "<i8"),
                      np.array([3], dtype=codec.get_config().get("dtype", "<i8"))])
    data = np.empty(3, dtype=object)
    data[:] = values
    z[:] = data
    got = zarrflow.Array(array_store)[:]
    assert [np.asarray(v).tolist() for v in got] == [np.asarray(v).tolist() for v in values]


def test_overwrite_replaces_only_after_validation(array_store):
    old = zarrflow.array(np.arange(6), chunks=4, store=array_store, path="old")
    old.attrs["x"] = 1
    before = snapshot(array_store)
    with pytest.raises(TypeError):
        zarrflow.create(5, dtype="bogus", store=array_store, path="old", overwrite=True)
    with pytest.raises(ValueError):
        zarrflow.zeros(5, chunks=0, store=array_store, path="old", overwrite=True)
    assert snapshot(array_store) == before
    new = zarrflow.zeros(5, chunks=5, dtype="u1", store=array_store, path="old", overwrite=True)
    assert {k for k in snapshot(array_store) if k.startswith("old/")} == {"old/.zarray"}
    assert new[:].tolist() == [0] * 5 and new.attrs.asdict() == {}
    with pytest.raises(ContainsArrayError):
        zarrflow.zeros(5, store=array_store, path="old")  # overwrite=False (the default)


def test_open_array_leaves_out_the_separator_on_stores_that_have_one(tmp_path):
    """zarr 2.18's open_array records the store's own dimension_separator; MemoryStore and
    DirectoryStore have one (None), so their .zarray has no 'dimension_separator' key."""
    for store in (zarrflow.MemoryStore(), DirectoryStore(str(tmp_path / "d"))):
        zarrflow.open_array(store, mode="w", shape=3)
        assert "dimension_separator" not in json.loads(store[".zarray"])
        zarrflow.open(store, mode="w", shape=3)
        assert "dimension_separator" not in json.loads(store[".zarray"])


def test_open_array_on_a_dict_records_the_separator_like_zarr2():
    for name, make in [("dict", dict), ("kvstore", lambda: KVStore(dict()))]:
        store = make()
        zarrflow.open_array(store, mode="w", shape=3)
        assert json.loads(store[".zarray"]).get("dimension_separator") == ".", name

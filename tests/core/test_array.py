"""The Array API of zarr-python 2.x over every store: properties, info, resize,
append, empty chunks, Python protocols, pickling, separate chunk stores, metadata
caching, attributes, copies from other arrays, object/datetime/big-endian dtypes.

numpy is the oracle for data; store contents are checked by reading the stores'
backing dicts and directories (``snapshot``).
"""

from __future__ import annotations

import json
import pickle
from itertools import islice as it_islice

import numcodecs
import numpy as np
import pytest

import zarrflow
from tests.core.conftest import PERSISTENT_KINDS, chunk_keys, snapshot
from zarrflow.core import chunk_io
from zarrflow.storage import KVStore, MemoryStore


def stored_json(store, key):
    return json.loads(snapshot(store)[key])


def store_type_name(store) -> str:
    """What ``info`` reports as the store type (a wrapped dict is reported as a dict)."""
    if isinstance(store, (dict, KVStore)):
        return "builtins.dict"
    return f"zarrflow.storage.{type(store).__name__}"


# --- properties -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [None, "foo/bar"])
def test_properties(array_store, path):
    z = zarrflow.create((20, 7), chunks=(6, 3), dtype="<i4", compressor=numcodecs.Zlib(level=1),
                        fill_value=-2, order="F", store=array_store, path=path,
                        filters=[numcodecs.Delta(dtype="<i4")])
    assert z.shape == (20, 7) and z.chunks == (6, 3) and z.dtype == np.dtype("<i4")
    assert z.compressor == numcodecs.Zlib(level=1)
    assert z.filters == [numcodecs.Delta(dtype="<i4")]
    assert z.fill_value == -2 and z.order == "F" and z.read_only is False
    assert z.ndim == 2 and z.size == 140 and z.itemsize == 4 and z.nbytes == 560
    assert z.cdata_shape == (4, 3) and z.nchunks == 12
    assert z.nchunks_initialized == 0 and z.initialized == 0
    assert z.synchronizer is None
    assert z.chunk_store is z.store
    if isinstance(array_store, dict):
        assert isinstance(z.store, KVStore) and z.store.mapping is array_store
    else:
        assert z.store is array_store
    prefix = "foo/bar/" if path else ""
    assert z.path == (path or "")
    assert z.name == ("/foo/bar" if path else None)
    assert z.basename == ("bar" if path else None)
    meta = stored_json(array_store, prefix + ".zarray")
    assert meta["shape"] == [20, 7] and meta["chunks"] == [6, 3] and meta["order"] == "F"
    assert meta["fill_value"] == -2 and meta["compressor"] == {"id": "zlib", "level": 1}
    if path:  # the parents became groups
        assert stored_json(array_store, ".zgroup") == {"zarr_format": 2}
        assert stored_json(array_store, "foo/.zgroup") == {"zarr_format": 2}

    a = np.arange(140, dtype="<i4").reshape(20, 7)
    z[:] = a
    z[7:13, 3:6] = -2  # a whole chunk of fill values is still written by default
    a[7:13, 3:6] = -2
    np.testing.assert_array_equal(z[:], a)
    assert z.nchunks_initialized == 12 == z.initialized
    z.attrs["answer"] = 42
    stored = {k: v for k, v in snapshot(array_store).items() if k.startswith(prefix)}
    assert ".zattrs" in {k[len(prefix):] for k in stored}
    assert z.nbytes_stored == sum(len(v) for v in stored.values())


def test_nbytes_stored_counts_only_this_array(array_store):
    zarrflow.zeros(10, chunks=2, store=array_store, path="other")[:] = 1
    z = zarrflow.zeros(10, chunks=5, dtype="u1", compressor=None, store=array_store, path="mine")
    assert z.nbytes_stored == len(snapshot(array_store)["mine/.zarray"])
    z[:] = 3
    assert z.nbytes_stored == len(snapshot(array_store)["mine/.zarray"]) + 10


@pytest.mark.parametrize("separator", [".", "/"])
def test_nchunks_initialized_with_either_separator(array_store, separator):
    z = zarrflow.zeros((10, 10, 3), chunks=(3, 4, 2), store=array_store, dimension_separator=separator)
    assert z.nchunks == 4 * 3 * 2 and z.nchunks_initialized == 0
    z[0, 0, 0] = 1
    z[9, 9, 2] = 1
    z[4, :, 1] = 1
    assert z.nchunks_initialized == 2 + 3
    keys = chunk_keys(array_store)
    assert keys == sorted(separator.join(k) for k in
                          [("0", "0", "0"), ("3", "2", "1"), ("1", "0", "0"), ("1", "1", "0"), ("1", "2", "0")])
    z[:] = 2
    assert z.nchunks_initialized == z.nchunks == 24


def test_info_text_layout(array_store):
    z = zarrflow.zeros((100, 100), chunks=(10, 10), dtype="i4", compressor=None, store=array_store, path="foo")
    z[:20, :20] = 1
    stored = z.nbytes_stored
    assert stored == 1600 + len(snapshot(array_store)["foo/.zarray"])
    expected = (
        "Name               : /foo\n"
        "Type               : zarrflow.Array\n"
        "Data type          : int32\n"
        "Shape              : (100, 100)\n"
        "Chunk shape        : (10, 10)\n"
        "Order              : C\n"
        "Read-only          : False\n"
        "Compressor         : None\n"
        f"Store type         : {store_type_name(array_store)}\n"
        "No. bytes          : 40000 (39.1K)\n"
        f"No. bytes stored   : {stored} ({stored / 1024:.1f}K)\n"
        f"Storage ratio      : {40000 / stored:.1f}\n"
        "Chunks initialized : 4/100\n"
    )
    assert repr(z.info) == expected
    assert str(z.info) == expected


def test_info_with_filters_and_chunk_store(array_store):
    z = zarrflow.create((5,), chunks=5, dtype="<f8", store=array_store, chunk_store=MemoryStore(),
                        compressor=numcodecs.Zlib(level=1), filters=[numcodecs.Delta(dtype="<f8")])
    lines = repr(z.info).splitlines()
    keys = [line.split(":", 1)[0].rstrip() for line in lines]
    assert keys == ["Type", "Data type", "Shape", "Chunk shape", "Order", "Read-only", "Filter [0]",
                    "Compressor", "Store type", "Chunk store type", "No. bytes", "No. bytes stored",
                    "Storage ratio", "Chunks initialized"]
    assert lines[6] == "Filter [0]         : Delta(dtype='<f8')"
    assert lines[9] == "Chunk store type   : zarrflow.storage.MemoryStore"
    assert lines[10] == "No. bytes          : 40"
    assert lines[-1] == "Chunks initialized : 0/1"


# --- resize ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", [".", "/"])
def test_resize_shrink_deletes_outside_chunks_and_regrow_shows_fill(array_store, separator):
    a = np.arange(100, dtype="i4").reshape(10, 10)
    z = zarrflow.array(a, chunks=(4, 4), fill_value=-1, store=array_store, dimension_separator=separator)
    assert len(chunk_keys(array_store)) == 9
    z.resize(5, 5)
    assert z.shape == (5, 5)
    assert chunk_keys(array_store) == sorted(separator.join(c) for c in ["00", "01", "10", "11"])
    np.testing.assert_array_equal(z[:], a[:5, :5])
    assert stored_json(array_store, ".zarray")["shape"] == [5, 5]
    z.resize((10, 10))
    expected = np.full((10, 10), -1, dtype="i4")
    expected[:8, :8] = a[:8, :8]  # kept chunks (rows/cols 0-7) still hold their old data
    np.testing.assert_array_equal(z[:], expected)
    assert zarrflow.Array(array_store).shape == (10, 10)


def test_resize_grow_keeps_data_and_writes_nothing(array_store):
    a = np.arange(12, dtype="f8").reshape(3, 4)
    z = zarrflow.array(a, chunks=(2, 3), fill_value=0.5, store=array_store)
    chunks_before = {k: v for k, v in snapshot(array_store).items() if not k.startswith(".")}
    z.resize(7, 9)
    assert {k: v for k, v in snapshot(array_store).items() if not k.startswith(".")} == chunks_before
    expected = np.full((7, 9), 0.5)
    expected[:3, :4] = a
    np.testing.assert_array_equal(z[:], expected)
    z.shape = (7, None)  # assigning shape resizes; None keeps an axis
    assert z.shape == (7, 9)
    z.resize(0, 9)
    assert chunk_keys(array_store) == [] and z[:].shape == (0, 9)


# --- append ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_append_along_each_axis(array_store, axis):
    a = np.arange(60, dtype="i8").reshape(3, 4, 5)
    z = zarrflow.array(a, chunks=(2, 3, 2), store=array_store)
    extra_shape = list(a.shape)
    extra_shape[axis] = 3
    extra = -np.arange(np.prod(extra_shape)).reshape(extra_shape)
    new_shape = z.append(extra, axis=axis)
    expected = np.concatenate([a, extra], axis=axis)
    assert new_shape == expected.shape == z.shape
    np.testing.assert_array_equal(z[:], expected)
    np.testing.assert_array_equal(zarrflow.Array(array_store)[:], expected)


@pytest.mark.parametrize(
    "data",
    [np.ones((2, 4)), np.ones((2, 5, 4)), np.ones(5), np.array([[["x"] * 5] * 4] * 2)],
    ids=["ndim", "other-axis", "1-d", "strings"],
)
def test_append_bad_data_leaves_array_unchanged(array_store, data):
    a = np.arange(60, dtype="i8").reshape(3, 4, 5)
    z = zarrflow.array(a, chunks=(2, 3, 2), store=array_store)
    before = snapshot(array_store)
    with pytest.raises(ValueError):
        z.append(data)
    assert snapshot(array_store) == before
    assert z.shape == (3, 4, 5)
    np.testing.assert_array_equal(z[:], a)


# --- write_empty_chunks ----------------------------------------------------------------------------


@pytest.mark.parametrize("fill_value,dtype", [(0, "i4"), (-1.5, "f8"), (np.nan, "f8"), (True, "?")])
def test_write_empty_chunks_false(array_store, fill_value, dtype):
    z = zarrflow.full((10, 6), fill_value=fill_value, dtype=dtype, chunks=(4, 3), store=array_store,
                      write_empty_chunks=False)
    assert z.write_empty_chunks is False
    expected = np.full((10, 6), fill_value, dtype=dtype)
    sep = stored_json(array_store, ".zarray").get("dimension_separator") or "."

    def key(*coords):
        return sep.join(map(str, coords))

    z[:] = fill_value
    assert chunk_keys(array_store) == []
    other = np.zeros((), dtype=dtype) if fill_value else np.ones((), dtype=dtype)
    z[:] = other
    expected[:] = other
    assert len(chunk_keys(array_store)) == 6
    z[0:4, 0:3] = fill_value  # one whole chunk back to the fill value: deleted
    expected[0:4, 0:3] = fill_value
    assert key(0, 0) not in chunk_keys(array_store) and len(chunk_keys(array_store)) == 5
    z[4:8, 3:5] = fill_value  # part of a chunk: it still holds other values
    expected[4:8, 3:5] = fill_value
    assert key(1, 1) in chunk_keys(array_store)
    z[4:8, 5] = fill_value  # the rest of it: now all fill, deleted
    expected[4:8, 5] = fill_value
    assert key(1, 1) not in chunk_keys(array_store)
    z[8:, :] = fill_value  # edge chunks (partly outside the array) count as empty too
    expected[8:, :] = fill_value
    assert chunk_keys(array_store) == [key(0, 1), key(1, 0)]
    np.testing.assert_array_equal(z[:], expected)
    z.set_coordinate_selection(([0, 9], [0, 5]), other)
    expected[[0, 9], [0, 5]] = other
    assert chunk_keys(array_store) == [key(0, 0), key(0, 1), key(1, 0), key(2, 1)]
    np.testing.assert_array_equal(z[:], expected)


def test_write_empty_chunks_true_stores_fill_chunks(array_store):
    z = zarrflow.zeros((6,), chunks=2, dtype="i2", store=array_store)
    z[:] = 0
    assert chunk_keys(array_store) == ["0", "1", "2"]


# --- fill_value None -------------------------------------------------------------------------------


def test_fill_value_none(array_store):
    z = zarrflow.empty((7, 3), chunks=(3, 2), dtype="<f4", store=array_store)
    assert z.fill_value is None
    assert stored_json(array_store, ".zarray")["fill_value"] is None
    out = z[:]
    assert out.shape == (7, 3) and out.dtype == np.dtype("<f4")
    a = np.arange(21, dtype="<f4").reshape(7, 3)
    z[:] = a
    z[2, 1] = 100
    a[2, 1] = 100
    np.testing.assert_array_equal(z[:], a)
    np.testing.assert_array_equal(zarrflow.Array(array_store)[:], a)


# --- Python protocols ------------------------------------------------------------------------------


@pytest.fixture
def z_and_a(array_store):
    a = np.arange(11 * 4, dtype="<i4").reshape(11, 4)
    return zarrflow.array(a, chunks=(3, 3), store=array_store), a


def test_array_protocol_and_len(z_and_a):
    z, a = z_and_a
    got = np.asarray(z)
    assert isinstance(got, np.ndarray) and got.dtype == a.dtype
    np.testing.assert_array_equal(got, a)
    as_float = np.array(z, dtype="f4")
    assert as_float.dtype == np.dtype("f4")
    np.testing.assert_array_equal(as_float, a.astype("f4"))
    np.testing.assert_array_equal(np.sum(z, axis=0), a.sum(axis=0))
    assert len(z) == 11


def test_iteration_and_islice(z_and_a):
    z, a = z_and_a
    rows = list(z)
    assert len(rows) == 11
    for got, want in zip(rows, a):
        np.testing.assert_array_equal(got, want)
    for start, end in [(None, None), (0, 11), (2, 7), (3, 6), (5, 5), (4, 100), (10, None), (None, 4)]:
        got = list(z.islice(start, end))
        want = list(a[start:end])
        assert len(got) == len(want), (start, end)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(next(it_islice(z, 7, 8)), a[7])
    one_d = zarrflow.array(np.arange(5, dtype="u1"), chunks=2)
    assert [int(x) for x in one_d] == [0, 1, 2, 3, 4]
    assert [int(x) for x in one_d.islice(1, 4)] == [1, 2, 3]


def test_eq_and_repr(array_store):
    z = zarrflow.zeros((3, 4), chunks=2, dtype="f8", store=array_store, path="a/b")
    same = zarrflow.Array(array_store, path="a/b")
    other_path = zarrflow.zeros(3, store=array_store, path="a/c")
    ro = zarrflow.Array(array_store, path="a/b", read_only=True)
    assert z == same and not (z != same)
    assert z != other_path and z != ro and z != "a/b" and z != np.zeros((3, 4))
    assert repr(z) == "<zarrflow.Array '/a/b' (3, 4) float64>"
    assert repr(ro) == "<zarrflow.Array '/a/b' (3, 4) float64 read-only>"
    root = zarrflow.zeros((2,), dtype="u1", store={})
    assert repr(root) == "<zarrflow.Array (2,) uint8>"


# --- pickling ----------------------------------------------------------------------------------------


def test_pickle(array_store, store_kind):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**62, size=(64, 64), dtype="i8")  # 32 KiB, incompressible
    z = zarrflow.array(a, chunks=(16, 16), store=array_store, path="p", write_empty_chunks=False)
    z.attrs["k"] = "v"
    blob = pickle.dumps(z)
    if store_kind in PERSISTENT_KINDS:
        assert len(blob) < 1000  # parameters only: the data stays on disk
    else:
        assert len(blob) > a.nbytes  # the data travels with the array
    z2 = pickle.loads(blob)
    assert z2 == z
    assert z2.shape == z.shape and z2.chunks == z.chunks and z2.path == "p"
    assert z2.write_empty_chunks is False and z2.attrs["k"] == "v"
    np.testing.assert_array_equal(z2[:], a)
    z[0, 0] = -5
    if store_kind in PERSISTENT_KINDS:
        assert z2[0, 0] == -5  # same files
    else:
        assert z2[0, 0] == a[0, 0]  # an independent copy


def test_pickle_read_only_array_stays_read_only(array_store):
    zarrflow.zeros(4, store=array_store)
    z = zarrflow.Array(array_store, read_only=True)
    z2 = pickle.loads(pickle.dumps(z))
    assert z2.read_only
    with pytest.raises(PermissionError):
        z2[0] = 1


# --- chunk_store, cache_metadata -------------------------------------------------------------------


def test_separate_chunk_store(array_store):
    chunk_store = {}
    z = zarrflow.create((10,), chunks=4, dtype="i2", store=array_store, chunk_store=chunk_store,
                        compressor=None)
    z[:] = np.arange(10)
    z.attrs["a"] = 1
    assert sorted(snapshot(array_store)) == [".zarray", ".zattrs"]
    assert sorted(chunk_store) == ["0", "1", "2"]
    assert z.chunk_store.mapping is chunk_store and z.store is not z.chunk_store
    assert z.nbytes_stored == len(snapshot(array_store)[".zarray"]) + len(snapshot(array_store)[".zattrs"]) + 24
    z2 = zarrflow.Array(array_store, chunk_store=chunk_store)
    np.testing.assert_array_equal(z2[:], np.arange(10))
    assert "Chunk store type   : builtins.dict" in repr(z.info)
    z.resize(3)
    assert sorted(chunk_store) == ["0"]


def test_cache_metadata(array_store):
    zarrflow.zeros((4,), chunks=2, dtype="i4", store=array_store)
    live = zarrflow.Array(array_store, cache_metadata=False)
    cached = zarrflow.Array(array_store)
    writer = zarrflow.Array(array_store)
    writer.resize(9)
    writer[:] = np.arange(9)
    assert live.shape == (9,) and len(live) == 9
    np.testing.assert_array_equal(live[:], np.arange(9))
    assert cached.shape == (4,)
    np.testing.assert_array_equal(cached[:], np.arange(4))
    live[6:] = -1  # writes use the refreshed shape
    assert zarrflow.Array(array_store)[:].tolist() == [0, 1, 2, 3, 4, 5, -1, -1, -1]


# --- attributes ------------------------------------------------------------------------------------


def test_attributes(array_store):
    z = zarrflow.zeros(3, store=array_store, path="arr")
    assert dict(z.attrs) == {} and len(z.attrs) == 0 and "arr/.zattrs" not in snapshot(array_store)
    z.attrs["foo"] = "bar"
    z.attrs["n"] = [1, 2.5, None, {"x": True}]
    assert z.attrs["foo"] == "bar" and "n" in z.attrs and sorted(z.attrs) == ["foo", "n"]
    assert stored_json(array_store, "arr/.zattrs") == {"foo": "bar", "n": [1, 2.5, None, {"x": True}]}
    z.attrs.update({"a": 1}, b=np.int64(2))
    assert z.attrs.asdict() == {"foo": "bar", "n": [1, 2.5, None, {"x": True}], "a": 1, "b": 2}
    del z.attrs["foo"]
    with pytest.raises(KeyError):
        del z.attrs["foo"]
    with pytest.raises(KeyError):
        z.attrs["missing"]
    z.attrs.put({"only": "this"})
    assert stored_json(array_store, "arr/.zattrs") == {"only": "this"}
    assert zarrflow.Array(array_store, path="arr").attrs.asdict() == {"only": "this"}

    before = snapshot(array_store)
    for bad in [lambda: z.attrs.__setitem__("bad", object()),
                lambda: z.attrs.update(ok=1, bad={1, 2}),
                lambda: z.attrs.put({"bad": np.zeros(2)})]:
        with pytest.raises(TypeError, match="bad"):
            bad()
        assert snapshot(array_store) == before
    assert z.attrs.asdict() == {"only": "this"}


def test_attributes_refresh(array_store):
    zarrflow.zeros(3, store=array_store)
    reader = zarrflow.Array(array_store)
    uncached = zarrflow.Array(array_store, cache_attrs=False)
    assert reader.attrs.asdict() == {}
    zarrflow.Array(array_store).attrs["new"] = 1
    assert uncached.attrs.asdict() == {"new": 1}
    assert reader.attrs.asdict() == {}  # cached
    reader.attrs.refresh()
    assert reader.attrs.asdict() == {"new": 1}


# --- copying from another Array --------------------------------------------------------------------


class RecordingSource:
    """An on-demand array (like a zarr or h5py one) that records the reads made on it."""

    def __init__(self, a, chunks):
        self.a, self.chunks, self.reads = a, chunks, []

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)

    def __getitem__(self, sel):
        self.reads.append(sel)
        return self.a[sel]


def test_assign_from_another_array(array_store):
    a = np.arange(23 * 9, dtype="i4").reshape(23, 9)
    src = zarrflow.array(a, chunks=(5, 4))
    dst = zarrflow.zeros((23, 9), chunks=(7, 2), dtype="f8", store=array_store)
    dst[:] = src
    np.testing.assert_array_equal(dst[:], a.astype("f8"))
    region = zarrflow.array(-a[:6, :3], chunks=(4, 4))
    dst[10:16, 2:5] = region
    expected = a.astype("f8")
    expected[10:16, 2:5] = -a[:6, :3]
    np.testing.assert_array_equal(dst[:], expected)
    np.testing.assert_array_equal(zarrflow.Array(array_store)[:], expected)


def test_assign_from_lazy_array_reads_chunk_rows(array_store, monkeypatch):
    monkeypatch.setattr(chunk_io, "LAZY_SLAB_BYTES", 1)  # one row of target chunks per read
    a = np.arange(40 * 6, dtype="u2").reshape(40, 6)
    src = RecordingSource(a, chunks=(3, 6))
    dst = zarrflow.zeros((45, 6), chunks=(8, 4), dtype="u2", store=array_store)
    dst[3:43] = src
    expected = np.zeros((45, 6), dtype="u2")
    expected[3:43] = a
    np.testing.assert_array_equal(dst[:], expected)
    assert len(src.reads) > 1
    covered = []
    for sel in src.reads:
        rows = sel[0] if isinstance(sel, tuple) else sel
        assert rows.stop - rows.start <= 8  # never more than one chunk row of the target
        covered.extend(range(rows.start, rows.stop))
    assert covered == list(range(40))


# --- dtypes: objects, datetimes, big-endian -----------------------------------------------------


def _objects(values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


OBJECT_CASES = [
    ("json", dict(dtype=object, object_codec=numcodecs.JSON()), ["a", 1, [1, 2], {"k": None}, 2.5], "json2"),
    ("msgpack", dict(dtype=object, object_codec=numcodecs.MsgPack()), ["a", 1, [1, 2], b"raw", 2.5], "msgpack2"),
    ("vlen-utf8", dict(dtype=object, object_codec=numcodecs.VLenUTF8()), ["a", "", "ünï", "ccc", "d"], "vlen-utf8"),
    ("str", dict(dtype=str), ["a", "", "ünï", "ccc", "d"], "vlen-utf8"),
    ("vlen-bytes", dict(dtype=object, object_codec=numcodecs.VLenBytes()), [b"a", b"", b"\x00\xff", b"cc", b"d"],
     "vlen-bytes"),
    ("bytes", dict(dtype=bytes), [b"a", b"", b"\x00\xff", b"cc", b"d"], "vlen-bytes"),
    ("categorize", dict(dtype=object, object_codec=numcodecs.Categorize(["x", "y", "z"], dtype=object)),
     ["x", "z", "z", "y", "x"], "categorize"),
]


@pytest.mark.parametrize("case", OBJECT_CASES, ids=[c[0] for c in OBJECT_CASES])
def test_object_arrays_round_trip(array_store, case):
    _, kwargs, values, codec_id = case
    data = _objects(values)
    z = zarrflow.empty(5, chunks=2, store=array_store, **kwargs)
    assert z.dtype == np.dtype(object) and z.filters[0].codec_id == codec_id
    z[:] = data
    assert stored_json(array_store, ".zarray")["filters"][0]["id"] == codec_id
    assert stored_json(array_store, ".zarray")["dtype"] == "|O"
    for handle in (z, zarrflow.Array(array_store)):
        got = handle[:]
        assert got.dtype == object and got.tolist() == data.tolist()
    z[1] = values[3]
    data[1] = values[3]
    assert zarrflow.Array(array_store)[:].tolist() == data.tolist()
    assert zarrflow.Array(array_store)[4] == values[4]


def test_vlen_array_round_trip(array_store):
    z = zarrflow.empty(4, chunks=3, dtype="array:i4", store=array_store)
    assert z.filters == [numcodecs.VLenArray("<i4")]
    data = _objects([np.array([1, 2]), np.array([3]), np.array([], "i4"), np.array([4, 5, 6])])
    z[:] = data
    for handle in (z, zarrflow.Array(array_store)):
        got = handle[:]
        assert [x.tolist() for x in got] == [[1, 2], [3], [], [4, 5, 6]]
        assert all(x.dtype == np.dtype("<i4") for x in got)
    z[2] = np.array([9, 9, 9, 9], dtype="i4")
    assert zarrflow.Array(array_store)[2].tolist() == [9, 9, 9, 9]


def test_pickle_codec_round_trips_with_opt_in(array_store, monkeypatch):
    monkeypatch.delenv("ZARRFLOW_ALLOW_PICKLE", raising=False)
    z = zarrflow.empty(5, chunks=2, dtype=object, object_codec=numcodecs.Pickle(), store=array_store)
    data = _objects(["a", 1, None, (1, 2), {"k": 1.5}])
    z[:] = data
    assert stored_json(array_store, ".zarray")["filters"][0]["id"] == "pickle"
    assert z[:].tolist() == data.tolist()  # created here: the opt-in is implied
    assert zarrflow.Array(array_store, allow_pickle=True)[:].tolist() == data.tolist()


@pytest.mark.parametrize("dtype", ["<M8[D]", ">M8[ns]", "<m8[s]", "<M8[ms]"])
def test_datetime_round_trip(array_store, dtype):
    base = np.array(["2020-01-01", "1969-12-31T23:59:59", "NaT", "2262-04-11"], dtype="M8[s]")
    data = base.astype(dtype) if dtype[1] == "M" else (base - np.datetime64("1970-01-01", "s")).astype(dtype)
    fill = data[0]
    z = zarrflow.full(6, fill_value=fill, chunks=4, dtype=dtype, store=array_store)
    assert z.fill_value == fill
    z[1:5] = data
    expected = np.concatenate([[fill], data, [fill]]).astype(dtype)
    for handle in (z, zarrflow.Array(array_store)):
        got = handle[:]
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)
    meta = stored_json(array_store, ".zarray")
    assert meta["dtype"] == np.dtype(dtype).str
    assert meta["fill_value"] == int(np.array(fill).view("i8"))
    assert np.isnat(z[3])


@pytest.mark.parametrize("dtype", [">i2", ">u4", ">i8", ">f4", ">f8", ">c8", ">c16"])
@pytest.mark.parametrize("compressor", [None, "default"])
def test_big_endian_round_trip(array_store, dtype, compressor):
    data = (np.arange(13) * 3 - (7 if dtype[1] != "u" else 0)).astype(dtype)
    z = zarrflow.zeros(13, chunks=5, dtype=dtype, compressor=compressor, store=array_store)
    z[:] = data
    assert z.dtype == np.dtype(dtype) and z[:].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(z[:], data)
    np.testing.assert_array_equal(zarrflow.Array(array_store)[2:9:3], data[2:9:3])
    assert stored_json(array_store, ".zarray")["dtype"] == dtype
    if compressor is None:  # chunks hold the items in the array's byte order
        assert snapshot(array_store)["1"] == data[5:10].tobytes()
    little = np.arange(5).astype(dtype.replace(">", "<"))
    z[:5] = little  # values, not bytes, are written
    np.testing.assert_array_equal(z[:5], little.astype(dtype))

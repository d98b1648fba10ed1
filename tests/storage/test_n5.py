"""N5Store: the N5 translation (metadata, reversed dimensions, block headers,
big-endian data, compressors), checked against the on-disk format and against
tensorstore's 'n5' driver as an independent reader and writer. The mapping
semantics are covered by the shared conformance suite (cases_n5.py)."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numcodecs
import numpy as np
import pytest

import zarrflow as zarr
from zarrflow.errors import ChunkDecodeError, MetadataError
from zarrflow.storage.n5 import N5ChunkWrapper, N5Store

DTYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"]
COMPRESSORS = {
    "raw": None,
    "gzip": numcodecs.GZip(level=5),
    "zlib": numcodecs.Zlib(level=1),
    "bz2": numcodecs.BZ2(level=3),
    "xz": numcodecs.LZMA(preset=1),
    "blosc": numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE),
    "zstd": numcodecs.Zstd(level=2),
}
N5_COMPRESSION = {
    "raw": {"type": "raw"},
    "gzip": {"type": "gzip", "level": 5, "useZlib": False},
    "zlib": {"type": "gzip", "level": 1, "useZlib": True},
    "bz2": {"type": "bzip2", "blockSize": 3},
    "xz": {"type": "xz", "preset": 1},
    "blosc": {"type": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0},
    "zstd": {"type": "zstd", "level": 2},
}


def attrs_of(path: Path) -> dict:
    return json.loads((path / "attributes.json").read_text())


def sample(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)


# --- the tutorial and the layout on disk -----------------------------------------------------


def test_tutorial_group_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "example.n5"
    root = zarr.group(store=N5Store(path))
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    z[0, :3] = [1, 2, 3]
    assert attrs_of(path) == {"n5": "2.0.0"}
    assert attrs_of(path / "foo") == {"n5": "2.0.0"}
    meta = attrs_of(path / "foo" / "bar")
    assert meta["dimensions"] == [1000, 1000] and meta["blockSize"] == [100, 100]
    assert meta["dataType"] == "int32" and meta["compression"]["type"] == "blosc"
    assert (path / "foo" / "bar" / "9" / "9").is_file()

    again = zarr.open_group(N5Store(path), mode="r")
    assert list(again.keys()) == ["foo"] and list(again["foo"].keys()) == ["bar"]
    bar = again["foo/bar"]
    assert bar.shape == (1000, 1000) and bar.chunks == (100, 100) and bar.dtype == np.dtype("i4")
    assert bar.fill_value == 0 and bar.order == "C"
    assert bar.nchunks_initialized == 100
    expected = np.full((1000, 1000), 42, dtype="i4")
    expected[0, :3] = [1, 2, 3]
    np.testing.assert_array_equal(bar[:], expected)
    assert isinstance(bar.compressor, N5ChunkWrapper)


def test_reversed_dimensions_header_and_big_endian_data(tmp_path: Path) -> None:
    path = tmp_path / "a.n5"
    z = zarr.open_array(N5Store(path), mode="w", shape=(10, 20), chunks=(3, 7), dtype="<u2", compressor=None)
    data = np.arange(200, dtype="<u2").reshape(10, 20)
    z[:] = data
    meta = attrs_of(path)
    assert meta == {
        "n5": "2.0.0",
        "dimensions": [20, 10],
        "blockSize": [7, 3],
        "dataType": "uint16",
        "compression": {"type": "raw"},
    }
    # zarr chunk (1, 2) is N5 block path 2/1; header: mode 0, 2 dims, N5-order block size
    block = (path / "2" / "1").read_bytes()
    assert struct.unpack(">HHII", block[:12]) == (0, 2, 7, 3)
    payload = np.frombuffer(block[12:], dtype=">u2").reshape(3, 7)
    np.testing.assert_array_equal(payload[:, :6], data[3:6, 14:20])  # padded edge chunk
    assert z.store[".zarray"] == N5Store(path)[".zarray"]
    zarray = json.loads(z.store[".zarray"])
    assert zarray["shape"] == [10, 20] and zarray["chunks"] == [3, 7] and zarray["dimension_separator"] == "."
    assert zarray["compressor"] == {"id": "n5_wrapper", "compressor_config": None, "dtype": "<u2", "chunk_shape": [3, 7]}


def test_store_keys_are_zarr_keys(tmp_path: Path) -> None:
    store = N5Store(tmp_path / "k.n5")
    root = zarr.group(store=store)
    root.attrs["title"] = "t"
    z = root.zeros("g/arr", shape=(4, 6), chunks=(2, 3), dtype="i2")
    z[:2, :] = 1
    z.attrs["units"] = "m"
    assert list(store) == [".zattrs", ".zgroup", "g/.zgroup", "g/arr/.zarray", "g/arr/.zattrs", "g/arr/0.0", "g/arr/0.1"]
    assert store.listdir("g/arr") == [".zarray", ".zattrs", "0.0", "0.1"]
    assert store.listdir() == [".zattrs", ".zgroup", "g"]
    assert "g/arr/0.1" in store and "g/arr/1.1" not in store
    assert json.loads(store["g/arr/.zattrs"]) == {"units": "m"}
    assert store.getsize("g/arr/0.0") == len(store["g/arr/0.0"]) > 0
    # copying key by key into another N5Store reproduces the container
    other = N5Store(tmp_path / "copy.n5")
    zarr.copy_store(store, other)
    assert attrs_of(tmp_path / "copy.n5" / "g" / "arr") == attrs_of(tmp_path / "k.n5" / "g" / "arr")
    np.testing.assert_array_equal(zarr.open_array(other, path="g/arr", mode="r")[:], z[:])


def test_attributes_share_the_n5_document(tmp_path: Path) -> None:
    path = tmp_path / "attrs.n5"
    z = zarr.open_array(N5Store(path), mode="w", shape=(5,), chunks=(2,), dtype="f4")
    z.attrs.update({"resolution": [1, 2], "name": "x"})
    doc = attrs_of(path)
    assert doc["resolution"] == [1, 2] and doc["dimensions"] == [5]
    z.resize(9)  # rewriting .zarray keeps the user attributes
    doc = attrs_of(path)
    assert doc["dimensions"] == [9] and doc["name"] == "x"
    reopened = zarr.open_array(N5Store(path), mode="r")
    assert reopened.shape == (9,) and dict(reopened.attrs) == {"resolution": [1, 2], "name": "x"}
    z.attrs.clear()  # only the user attributes go
    assert ".zattrs" not in z.store and attrs_of(path)["dataType"] == "float32"
    with pytest.raises(MetadataError, match="dimensions"):
        z.attrs["dimensions"] = [1]
    del z.store[".zarray"]  # the node goes with its document
    assert not (path / "attributes.json").exists()


# --- dtypes and compressors ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_compressor_roundtrip(tmp_path: Path, dtype: str, name: str) -> None:
    path = tmp_path / "rt.n5"
    data = sample((7, 11), dtype)
    z = zarr.open_array(N5Store(path), mode="w", shape=data.shape, chunks=(3, 4), dtype=dtype,
                        compressor=COMPRESSORS[name])
    z[:] = data
    assert attrs_of(path)["compression"] == N5_COMPRESSION[name]
    assert attrs_of(path)["dataType"] == np.dtype(dtype).name
    back = zarr.open_array(N5Store(path), mode="r")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back[:], data)
    np.testing.assert_array_equal(back[2:5, 3:9], data[2:5, 3:9])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dtype="i4,f8"), "dtype"),
        (dict(dtype="<U3"), "dtype"),
        (dict(dtype="M8[s]"), "dtype"),
        (dict(dtype="i4", fill_value=7), "fill_value"),
        (dict(dtype="i4", order="F"), "order"),
        (dict(dtype="i4", filters=[numcodecs.Delta(dtype="i4")]), "filters"),
    ],
)
def test_arrays_n5_cannot_express_are_refused(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match) as info:
        zarr.open_array(N5Store(tmp_path / "bad.n5"), mode="w", shape=(4,), chunks=(2,), **kwargs)
    if match == "dtype":
        assert isinstance(info.value, TypeError)  # as zarr 2's N5Store raises
    assert not (tmp_path / "bad.n5").exists() or not any((tmp_path / "bad.n5").rglob("*.json"))


@pytest.mark.parametrize("dtype", ["bool", "float16", "complex64", "complex128"])
def test_numpy_data_types_zarr2_writes_to_n5(tmp_path: Path, dtype: str) -> None:
    """zarr 2's N5Store also stores these four under their NumPy names: read and write them."""
    path = tmp_path / "np.n5"
    data = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    z = zarr.open_array(N5Store(path), mode="w", shape=(3, 4), chunks=(2, 3), dtype=dtype)
    z[:] = data
    assert attrs_of(path)["dataType"] == np.dtype(dtype).name
    back = zarr.open_array(N5Store(path), mode="r")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back[:], data)


# --- bad input -------------------------------------------------------------------------------------


def make_array(path: Path, compressor: object = None) -> zarr.Array:
    z = zarr.open_array(N5Store(path), mode="w", path="arr", shape=(6, 4), chunks=(3, 2), dtype="i4",
                        compressor=compressor)
    z[:] = np.arange(24).reshape(6, 4)
    return z


def test_malformed_attributes_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.n5"
    make_array(path)
    (path / "arr" / "attributes.json").write_text('{"dimensions": [4, 6], ')
    with pytest.raises(MetadataError, match="arr/attributes.json"):
        zarr.open_array(N5Store(path), path="arr", mode="r")
    (path / "arr" / "attributes.json").write_text('{"dimensions": [4, 6], "blockSize": [2], '
                                                  '"dataType": "int32", "compression": {"type": "raw"}}')
    with pytest.raises(MetadataError, match="arr/attributes.json.*blockSize"):
        zarr.open_array(N5Store(path), path="arr", mode="r")


@pytest.mark.parametrize("data_type", ["string", "object", "void120", "float128", 32])
def test_unsupported_data_type(tmp_path: Path, data_type: object) -> None:
    path = tmp_path / "dt.n5"
    make_array(path)
    doc = attrs_of(path / "arr")
    doc["dataType"] = data_type
    (path / "arr" / "attributes.json").write_text(json.dumps(doc))
    with pytest.raises(MetadataError, match=f"arr/attributes.json: unsupported N5 dataType {data_type!r}"):
        zarr.open_array(N5Store(path), path="arr", mode="r")


def test_unsupported_compression_type(tmp_path: Path) -> None:
    path = tmp_path / "c.n5"
    make_array(path)
    doc = attrs_of(path / "arr")
    doc["compression"] = {"type": "lz4-n5-java", "blockSize": 65536}
    (path / "arr" / "attributes.json").write_text(json.dumps(doc))
    with pytest.raises(MetadataError, match="unsupported N5 compression type 'lz4-n5-java'"):
        zarr.open_array(N5Store(path), path="arr", mode="r")


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda b: b[:3], "shorter than the 4-byte"),
        (lambda b: struct.pack(">HH", 0, 3) + b[4:], "3 dimensions"),
        (lambda b: struct.pack(">HH", 7, 2) + b[4:], "mode 7"),
        (lambda b: b[:8], "shorter than its 12-byte header"),
        (lambda b: b[:4] + struct.pack(">II", 2, 9) + b[12:], "larger than the chunk shape"),
        (lambda b: b[:-4], "needs 24"),
    ],
)
def test_corrupted_block_names_the_key(tmp_path: Path, corrupt, match: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "h.n5"
    make_array(path)
    block = path / "arr" / "1" / "0"  # zarr chunk (0, 1)
    block.write_bytes(corrupt(block.read_bytes()))
    z = zarr.open_array(N5Store(path), path="arr", mode="r")
    with pytest.raises(ChunkDecodeError, match=f"'arr/0.1'.*{match}"):
        z[:]
    np.testing.assert_array_equal(z[:, :2], np.arange(24).reshape(6, 4)[:, :2])  # other chunks fine


def test_truncated_blosc_payload(tmp_path: Path) -> None:
    path = tmp_path / "b.n5"
    make_array(path, compressor=numcodecs.Blosc())
    block = path / "arr" / "0" / "0"
    block.write_bytes(block.read_bytes()[:-3])
    with pytest.raises(ChunkDecodeError, match="'arr/0.0'.*Blosc"):
        zarr.open_array(N5Store(path), path="arr", mode="r")[:]


# --- truncated edge blocks, as N5 writers store them -----------------------------------------------


def test_truncated_edge_blocks_are_read(tmp_path: Path) -> None:
    path = tmp_path / "edge.n5"
    path.mkdir()
    data = np.arange(5 * 7, dtype="<i2").reshape(5, 7)  # zarr shape (5, 7), chunks (2, 4)
    (path / "attributes.json").write_text(json.dumps(
        {"dimensions": [7, 5], "blockSize": [4, 2], "dataType": "int16",
         "compression": {"type": "gzip", "level": -1, "useZlib": True}}))
    for i in range(3):
        for j in range(2):
            part = data[i * 2:(i + 1) * 2, j * 4:(j + 1) * 4]
            header = struct.pack(">HHII", 0, 2, part.shape[1], part.shape[0])
            (path / str(j)).mkdir(exist_ok=True)
            (path / str(j) / str(i)).write_bytes(header + zlib.compress(part.astype(">i2").tobytes()))
    z = zarr.open_array(N5Store(path), mode="r")
    assert z.shape == (5, 7) and z.chunks == (2, 4)
    np.testing.assert_array_equal(z[:], data)
    np.testing.assert_array_equal(z[4, 4:], data[4, 4:])


# --- tensorstore as the independent N5 implementation ----------------------------------------------

TS_COMPRESSION = [
    {"type": "raw"},
    {"type": "gzip"},
    {"type": "gzip", "useZlib": True},
    {"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
    {"type": "zstd", "level": 3},
    {"type": "bzip2"},
    {"type": "xz"},
]


def ts_open(path: Path, **kwargs):  # type: ignore[no-untyped-def]
    ts = pytest.importorskip("tensorstore")
    spec = {"driver": "n5", "kvstore": {"driver": "file", "path": str(path)}}
    spec.update(kwargs.pop("spec", {}))
    return ts.open(spec, **kwargs).result()


@pytest.mark.parametrize("compression", TS_COMPRESSION, ids=lambda c: c["type"] + ("-zlib" if c.get("useZlib") else ""))
@pytest.mark.parametrize("dtype", ["u1", "i2", "u4", "i8", "f4", "f8"])
def test_reads_what_tensorstore_writes(tmp_path: Path, compression: dict, dtype: str) -> None:
    path = tmp_path / "ts.n5"
    n5_shape = [13, 7, 3]  # N5 order; zarr sees (3, 7, 13)
    data = sample(tuple(n5_shape), dtype)
    t = ts_open(path, create=True, spec={"metadata": {
        "dimensions": n5_shape, "blockSize": [5, 3, 2], "dataType": np.dtype(dtype).name, "compression": compression}})
    t[:, :, :2].write(data[:, :, :2]).result()  # leave the last zarr row of chunks unwritten
    z = zarr.open_array(N5Store(path), mode="r")
    assert z.shape == (3, 7, 13) and z.chunks == (2, 3, 5) and z.dtype == np.dtype(dtype)
    expected = data.T.copy()
    expected[2:] = 0  # never written: N5's fill value
    np.testing.assert_array_equal(z[:], expected)
    np.testing.assert_array_equal(z[1, 2:6, 4:12], expected[1, 2:6, 4:12])


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
@pytest.mark.parametrize("dtype", ["i1", "u2", "i4", "u8", "f4", "f8"])
def test_tensorstore_reads_what_zarrflow_writes(tmp_path: Path, name: str, dtype: str) -> None:
    path = tmp_path / "zf.n5"
    root = zarr.group(store=N5Store(path))
    data = sample((9, 10, 11), dtype, seed=1)
    z = root.zeros("a/b", shape=data.shape, chunks=(4, 3, 5), dtype=dtype, compressor=COMPRESSORS[name])
    z[:] = data
    z[8, 9, 10] = 0
    data[8, 9, 10] = 0
    t = ts_open(path / "a" / "b")
    assert tuple(t.shape) == (11, 10, 9) and t.dtype.numpy_dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.read().result(), data.T)


def test_zarrflow_edits_a_tensorstore_array(tmp_path: Path) -> None:
    path = tmp_path / "edit.n5"
    t = ts_open(path, create=True, spec={"metadata": {
        "dimensions": [10, 6], "blockSize": [4, 4], "dataType": "int32", "compression": {"type": "gzip"}}})
    t.write(np.ones((10, 6), dtype="i4")).result()
    z = zarr.open_array(N5Store(path), mode="r+")
    z[2:5, 3:9] = 7
    expected = np.ones((6, 10), dtype="i4")
    expected[2:5, 3:9] = 7
    np.testing.assert_array_equal(ts_open(path).read().result(), expected.T)
    assert "n5" not in attrs_of(path)  # tensorstore wrote none; the store reads without it


def test_open_path_n5_dispatch(tmp_path: Path) -> None:
    """zarr 2 picks N5Store for paths ending in '.n5' (storage/normalize.py)."""
    from zarrflow.storage import store_from_path

    store = store_from_path(str(tmp_path / "d.n5"))
    assert isinstance(store, N5Store)
    root = zarr.open(str(tmp_path / "d.n5"), mode="w")
    root.zeros("x", shape=(3,), chunks=(2,), dtype="u1")
    assert attrs_of(tmp_path / "d.n5" / "x")["dataType"] == "uint8"


def test_separator_and_pickle(tmp_path: Path) -> None:
    import pickle

    store = N5Store(tmp_path / "p.n5")
    assert store.dimension_separator == "."
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store and type(clone) is N5Store
    with pytest.raises(ValueError, match="dimension_separator"):
        N5Store(tmp_path / "q.n5", dimension_separator="/")
    assert os.fspath(tmp_path / "p.n5") == store.path


def test_non_n5_compressor_is_written_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "lz4.n5"
    with pytest.warns(RuntimeWarning, match="not an N5 compression type"):
        z = zarr.open_array(N5Store(path), mode="w", shape=(8,), chunks=(3,), dtype="u4",
                            compressor=numcodecs.LZ4())
    z[:] = np.arange(8)
    assert attrs_of(path)["compression"] == {"type": "lz4", "acceleration": 1}
    np.testing.assert_array_equal(zarr.open_array(N5Store(path), mode="r")[:], np.arange(8))


def test_values_that_are_not_zarr_documents_are_kept_verbatim(tmp_path: Path) -> None:
    store = N5Store(tmp_path / "v.n5")
    store["g/.zgroup"] = b"{}"  # no zarr_format: not a Zarr document, so no N5 translation
    assert store["g/.zgroup"] == b"{}" and not (tmp_path / "v.n5" / "g" / "attributes.json").exists()
    store["g/.zgroup"] = b'{"zarr_format": 2}'  # a real document replaces the verbatim one
    assert attrs_of(tmp_path / "v.n5" / "g") == {"n5": "2.0.0"}
    assert json.loads(store["g/.zgroup"]) == {"zarr_format": 2} and list(store) == ["g/.zgroup"]
    store["g/0.0"] = b"x"  # g is not an array: a plain key
    assert (tmp_path / "v.n5" / "g" / "0.0").read_bytes() == b"x"

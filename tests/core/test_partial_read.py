"""Reads that decode only the blocks they need give exactly what whole-chunk decodes
give (numpy is the oracle), on every store kind, codec, order and selection kind;
corrupt chunks still fail with an error naming the chunk."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrflow as zarr
from zarrflow.core.partial_read import PartialDecoder
from zarrflow.errors import ChunkDecodeError
from zarrflow.storage.readers import BytesReader, FileReader, open_reader

COMPRESSORS = {
    "none": None,
    "lz4-shuffle": zarr.Blosc("lz4", 5, zarr.Blosc.SHUFFLE),
    "zstd-bitshuffle": zarr.Blosc("zstd", 3, zarr.Blosc.BITSHUFFLE),
    "blosclz-noshuffle": zarr.Blosc("blosclz", 5, zarr.Blosc.NOSHUFFLE, blocksize=8192),
    "zlib-blosc": zarr.Blosc("zlib", 1, zarr.Blosc.SHUFFLE, blocksize=4096),
}


def _store(kind, tmp_path):
    if kind == "directory":
        return zarr.DirectoryStore(str(tmp_path / "d"))
    if kind == "nested":
        return zarr.NestedDirectoryStore(str(tmp_path / "n"))
    return zarr.MemoryStore()


@pytest.fixture(params=["directory", "nested", "memory"])
def store_kind(request):
    return request.param


@pytest.mark.parametrize("comp", list(COMPRESSORS))
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["f8", "i2", "u1"])
def test_points_and_thin_selections_match_numpy(store_kind, tmp_path, comp, order, dtype):
    rng = np.random.default_rng(0)
    a = (rng.random((90, 130, 12)) * 200).astype(dtype)
    z = zarr.open_array(_store(store_kind, tmp_path), mode="w", shape=a.shape, chunks=(60, 128, 10),
                        dtype=dtype, order=order, compressor=COMPRESSORS[comp])
    z[:] = a
    assert z._layout.codec.partial_decoder is not None
    pts = np.stack([rng.integers(0, n, 60) for n in a.shape], axis=1)
    assert [z[i, j, k] for i, j, k in pts] == a[tuple(pts.T)].tolist()
    assert z[-1, -1, -1] == a[-1, -1, -1]
    assert z[np.int64(3), np.int32(4), np.uint8(5)] == a[3, 4, 5]
    np.testing.assert_array_equal(z[45, :, :], a[45])
    np.testing.assert_array_equal(z[5:9, 17, 3:], a[5:9, 17, 3:])
    np.testing.assert_array_equal(z.vindex[tuple(pts.T)], a[tuple(pts.T)])
    rows = np.sort(rng.choice(90, 7, replace=False))
    np.testing.assert_array_equal(z.oindex[rows, :, 2], a[rows][:, :, 2])
    np.testing.assert_array_equal(z.get_orthogonal_selection((rows, slice(3, 9), [1, 4])),
                                  a[np.ix_(rows, np.arange(3, 9), [1, 4])])


def test_missing_chunk_item_is_the_fill_value(tmp_path):
    z = zarr.open_array(str(tmp_path / "a"), mode="w", shape=(300, 300), chunks=(200, 200), dtype="i4",
                        fill_value=-7)
    z[0, 0] = 1
    assert z[250, 250] == -7 and z[0, 0] == 1 and z[0, 1] == -7
    assert type(z[250, 250]) is np.int32 and type(z[0, 0]) is np.int32


def test_item_reads_keep_index_errors(tmp_path):
    z = zarr.open_array(str(tmp_path / "a"), mode="w", shape=(300, 300), chunks=(200, 200), dtype="i4")
    with pytest.raises(IndexError, match="index 300 out of bounds for dimension of length 300 along axis 0"):
        z[300, 0]
    with pytest.raises(IndexError, match="-301"):
        z[0, -301]


@pytest.mark.parametrize("comp", ["lz4-shuffle", "none"])
def test_corrupt_chunks_still_raise(tmp_path, comp):
    z = zarr.open_array(str(tmp_path / "a"), mode="w", shape=(400, 400), chunks=(400, 400), dtype="f8",
                        compressor=COMPRESSORS[comp])
    z[:] = 1.5
    path = tmp_path / "a" / "0.0"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ChunkDecodeError, match="'0.0'"):
        z[3, 3]
    with pytest.raises(ChunkDecodeError, match="'0.0'"):
        z[3, :]


def test_damaged_block_is_reported_not_returned(tmp_path):
    a = np.random.default_rng(3).random((400, 400))
    z = zarr.open_array(str(tmp_path / "a"), mode="w", shape=a.shape, chunks=a.shape, dtype="f8",
                        compressor=zarr.Blosc("zstd", 3, 1, blocksize=16384))
    z[:] = a
    path = tmp_path / "a" / "0.0"
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 2000, len(data) - 1000):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ChunkDecodeError):
        z[:]
    with pytest.raises(ChunkDecodeError):
        for i in range(0, 400, 7):  # one of these points lies in the damaged block
            z[399, i]


def test_small_chunks_and_object_arrays_decode_whole():
    assert zarr.zeros((100, 100), chunks=(10, 10))._layout.codec.partial_decoder is None
    assert zarr.zeros((1000,), chunks=(1000,), dtype=object,
                      object_codec=zarr.VLenUTF8())._layout.codec.partial_decoder is None
    z = zarr.zeros((1000, 100), chunks=(1000, 100), filters=[zarr.Delta(dtype="f8")])
    assert z._layout.codec.partial_decoder is None


def test_readers(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(range(200)))
    with FileReader(str(p)) as r:
        assert r.size == 200 and r.read(10, 13) == bytes([10, 11, 12]) and r.read(190, 400) == bytes(range(190, 200))
    assert bytes(BytesReader(b"abcdef").read(2, 4)) == b"cd"
    store = zarr.DirectoryStore(str(tmp_path / "s"))
    store["k"] = b"12345"
    reader = open_reader(store, "k")
    assert isinstance(reader, FileReader) and bytes(reader.read(1, 3)) == b"23"
    reader.close()
    with pytest.raises(KeyError):
        open_reader(store, "missing")
    (tmp_path / "s" / "sub").mkdir()
    with pytest.raises(KeyError):
        open_reader(store, "sub")
    assert isinstance(open_reader({"k": b"xy"}, "k"), BytesReader)


def test_stores_reading_values_their_own_way_are_not_read_raw(tmp_path):
    class Doubling(zarr.DirectoryStore):
        def __getitem__(self, key):
            return super().__getitem__(key) * 2

    store = Doubling(str(tmp_path / "x"))
    store["k"] = b"ab"
    assert isinstance(open_reader(store, "k"), BytesReader)
    assert bytes(open_reader(store, "k").read(0, 4)) == b"abab"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_small_selection_matches_numpy(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 70), min_size=1, max_size=3)))
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    dtype = data.draw(st.sampled_from(["f8", "i4", "u2", "u1"]))
    comp = COMPRESSORS[data.draw(st.sampled_from(list(COMPRESSORS)))]
    order = data.draw(st.sampled_from("CF"))
    a = np.arange(np.prod(shape), dtype="i8").reshape(shape).astype(dtype)
    z = zarr.zeros(shape, chunks=chunks, dtype=dtype, compressor=comp, order=order)
    z[:] = a
    idx = tuple(data.draw(st.integers(-n, n - 1)) for n in shape)
    assert z[idx] == a[idx]
    sel = tuple(data.draw(st.sampled_from([slice(None), slice(0, 1), n // 2])) for n in shape)
    np.testing.assert_array_equal(z[sel], a[sel])
    # decode in part directly (whatever the chunk size), compared with the whole decode
    decoder = PartialDecoder(z._layout.codec)
    key = z._layout.chunk_key((0,) * len(shape))
    within = tuple(data.draw(st.integers(0, c - 1)) for c in chunks)
    got = decoder.read(BytesReader(z.store[key]), np.array([decoder.offset_of(within)]), key)
    whole = z._layout.codec.decode(z.store[key], key)
    if isinstance(got, np.ndarray):
        assert got[within] == whole[within]


@pytest.mark.parametrize("shuffle", [zarr.Blosc.SHUFFLE, zarr.Blosc.NOSHUFFLE])
@pytest.mark.parametrize("dtype", ["f8", "i2", "c16"])
@pytest.mark.parametrize("data", ["random", "integers"])
def test_split_blocks_are_read_stream_by_stream(tmp_path, shuffle, dtype, data):
    """A point in a full split block is read from its streams (no block decode), and
    gives the whole decode's value; a stream size that does not add up falls back."""
    from zarrflow.format.blosc_frames import HEADER_SIZE, block_spans, parse_header

    rng = np.random.default_rng(1)
    # random: incompressible low bytes (streams stored as is), compressible high bytes;
    # integers: every stream compresses
    values = rng.random((64, 4096)) * 1000 if data == "random" else rng.integers(0, 1000, (64, 4096))
    a = values.astype(dtype)
    z = zarr.open_array(str(tmp_path / "s"), mode="w", shape=a.shape, chunks=a.shape, dtype=dtype,
                        compressor=zarr.Blosc("lz4", 5, shuffle))
    z[:] = a
    decoder = z._layout.codec.partial_decoder
    frame = z.store["0.0"]
    header = parse_header(frame, len(frame))
    spans = block_spans(header, memoryview(frame)[HEADER_SIZE:header.offsets_end])
    if header.memcpyed:  # Blosc stored it uncompressed: read as a plain copy
        assert [z[w] for w in [(0, 0), (63, 4095)]] == [a[0, 0], a[63, 4095]]
        return
    streamed = 0
    for within in [(0, 0), (3, 1000), (31, 4095), (40, 7)]:
        offsets = np.array([decoder.offset_of(within)])
        starts = offsets * a.itemsize
        needed = decoder._blocks(starts, header.blocksize)
        if header.block_nbytes(needed[0]) < header.blocksize:
            continue  # the last, shorter block is never split
        buf = np.zeros(decoder.nbytes, dtype=np.uint8)
        with FileReader(str(tmp_path / "s" / "0.0")) as reader:
            assert decoder._read_split_blocks(reader, header, spans, needed, starts, buf) == []
        assert buf.view(dtype).reshape(a.shape)[within] == a[within]
        assert z[within] == a[within]
        streamed += 1
    assert streamed >= 2
    # a stream size that does not add up: the stream path refuses, the block decode decides
    bad = bytearray(frame)
    start = spans[0][0]
    size = int.from_bytes(bad[start:start + 4], "little")
    bad[start:start + 4] = (size - 1).to_bytes(4, "little")
    buf = np.zeros(decoder.nbytes, dtype=np.uint8)
    starts = np.array([0])
    assert decoder._read_split_blocks(BytesReader(bytes(bad)), header, spans, [0], starts, buf) == [0]
    store = zarr.MemoryStore()
    zb = zarr.open_array(store, mode="w", shape=a.shape, chunks=a.shape, dtype=dtype,
                         compressor=zarr.Blosc("lz4", 5, shuffle))
    store["0.0"] = bytes(bad)
    try:
        got = zb[0, 0]
    except ChunkDecodeError:
        return
    assert got == a[0, 0]  # Blosc decoded the block whole and it still held the value

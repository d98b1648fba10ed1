"""Every block of a Blosc frame decodes alone to exactly its bytes of the whole decode."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
from numcodecs import Blosc

from zarrflow.format.blosc_frames import (
    HEADER_SIZE,
    block_frame,
    block_spans,
    block_streams,
    blocks_of_byte_ranges,
    parse_header,
    stream_frame,
    stream_position,
)

CNAMES = numcodecs.blosc.list_compressors()


def _data(dtype: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    if dtype == "S3":
        return rng.integers(0, 255, n * 3, dtype="u1").view("S3")
    if dtype.startswith("i"):
        return np.arange(n, dtype=dtype)
    return (rng.random(n) * 100).astype(dtype)


@pytest.mark.parametrize("cname", CNAMES)
@pytest.mark.parametrize("shuffle", [Blosc.NOSHUFFLE, Blosc.SHUFFLE, Blosc.BITSHUFFLE])
@pytest.mark.parametrize("dtype", ["u1", "i2", "f4", "f8", "S3", "c16"])
@pytest.mark.parametrize("n, blocksize", [(1, 0), (1000, 256), (33333, 4104), (300000, 0)])
def test_each_block_decodes_alone(cname, shuffle, dtype, n, blocksize):
    a = _data(dtype, n)
    frame = Blosc(cname=cname, clevel=5, shuffle=shuffle, blocksize=blocksize).encode(a)
    raw = a.tobytes()
    header = parse_header(frame[:HEADER_SIZE], len(frame))
    assert header is not None and header.nbytes == len(raw)
    spans = block_spans(header, memoryview(frame)[HEADER_SIZE:header.offsets_end])
    assert spans is not None and len(spans) == header.nblocks
    bs = header.blocksize
    for j, (start, stop) in enumerate(spans):
        block = memoryview(frame)[start:stop]
        if header.memcpyed:
            got = bytes(block)
        else:
            got = numcodecs.blosc.decompress(block_frame(header, j, block))
        assert got == raw[j * bs:(j + 1) * bs], f"block {j} of {header.nblocks}"


def _streams(frame: bytes, start: int, stop: int, nstreams: int, neblock: int):
    """``(csize, data start)`` of each stream of a block, or None when the sizes do
    not add up to the block's stored length (the block is not split)."""
    out, pos = [], start
    for _ in range(nstreams):
        csize = int.from_bytes(frame[pos:pos + 4], "little", signed=True)
        if not 0 < csize <= neblock:
            return None
        out.append((csize, pos + 4))
        pos += 4 + csize
    return out if pos == stop else None


@pytest.mark.parametrize("cname", CNAMES)
@pytest.mark.parametrize("shuffle", [Blosc.NOSHUFFLE, Blosc.SHUFFLE])
@pytest.mark.parametrize("dtype", ["i2", "f4", "f8", "S3", "c16"])
@pytest.mark.parametrize("n", [40000, 300000])
def test_each_stream_of_a_split_block_gives_its_bytes(cname, shuffle, dtype, n):
    """Streams stored as is hold the block's bytes where stream_position says, and a
    compressed stream decodes alone (stream_frame) to the same bytes; frames Blosc
    did not split are never taken for split ones."""
    a = _data(dtype, n)
    frame = Blosc(cname=cname, clevel=5, shuffle=shuffle).encode(a)
    raw = a.tobytes()
    header = parse_header(frame[:HEADER_SIZE], len(frame))
    spans = block_spans(header, memoryview(frame)[HEADER_SIZE:header.offsets_end])
    bs = header.blocksize
    split_blocks = 0
    for j, (start, stop) in enumerate(spans):
        nstreams = block_streams(header, j)
        if nstreams == 1:
            continue
        neblock = bs // nstreams
        streams = _streams(frame, start, stop, nstreams, neblock)
        if streams is None:  # the chain check: Blosc kept this block in one stream
            continue
        split_blocks += 1
        block = raw[j * bs:(j + 1) * bs]
        decoded = []
        for csize, data_start in streams:
            if csize == neblock:
                decoded.append(frame[data_start:data_start + neblock])
            else:
                packed = frame[data_start - 4:data_start + csize]
                decoded.append(numcodecs.blosc.decompress(stream_frame(header, neblock, packed)))
        for o in range(0, bs, max(1, bs // 997)):
            b, i = stream_position(header, nstreams, o)
            assert decoded[b][i] == block[o], f"byte {o} of block {j}"
    if header.flags & 0x10 or header.memcpyed or np.dtype(dtype).itemsize < 2:
        assert split_blocks == 0
    elif header.nbytes >= 2 * bs and cname != "zstd":
        assert split_blocks > 0  # lz4, blosclz, zlib... split full blocks of 2-16-byte types


def test_frames_that_cannot_be_split_are_refused():
    frame = bytearray(Blosc("lz4", 5, 1).encode(np.arange(100000, dtype="f8")))
    assert parse_header(frame, len(frame) - 1) is None  # truncated
    assert parse_header(frame[:10], len(frame)) is None  # shorter than a header
    delta = bytearray(frame)
    delta[2] |= 0x08
    assert parse_header(delta, len(delta)) is None  # the delta filter ties blocks together
    assert parse_header(b"\x07" + bytes(frame[1:]), len(frame)) is None  # unknown version


def test_blocks_of_byte_ranges():
    starts = np.array([0, 10, 95, 300])
    stops = np.array([4, 12, 205, 301])
    assert blocks_of_byte_ranges(starts, stops, 100).tolist() == [0, 1, 2, 3]
    assert blocks_of_byte_ranges(np.array([250]), np.array([251]), 100).tolist() == [2]
    assert blocks_of_byte_ranges(np.array([], dtype=int), np.array([], dtype=int), 100).tolist() == []

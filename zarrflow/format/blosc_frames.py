"""The layout of a Blosc1 frame, so that single blocks of a chunk can be decoded.

A Blosc1 frame is a 16-byte header (version, versionlz, flags, typesize, nbytes,
blocksize, cbytes), then - unless the frame is a plain copy (``MEMCPYED``) - one
int32 offset per block (``bstarts``), then the blocks. Each block is compressed on
its own (after its own shuffle), so the bytes of block ``j`` can be decoded without
the rest of the frame: :func:`block_frame` wraps them in a one-block frame that
Blosc itself decodes (``numcodecs.blosc.decompress``), so every Blosc codec, shuffle
and split mode decodes exactly as in a whole-chunk decode, with no codec re-written
here. Pure functions over bytes; reading the bytes is the caller's job.

The delta filter (flag ``0x08``, which numcodecs never sets) makes every block depend
on the first one: :func:`parse_header` reports such frames as not block-decodable.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BloscHeader", "HEADER_SIZE", "parse_header", "block_spans", "block_frame", "blocks_of_byte_ranges",
    "block_streams", "stream_position", "stream_frame",
]

_HEADER = struct.Struct("<BBBBIII")
HEADER_SIZE = _HEADER.size  # 16
_OFFSET = struct.Struct("<i")

_SHUFFLE, _MEMCPYED, _BITSHUFFLE, _DELTA, _NOSPLIT = 0x01, 0x02, 0x04, 0x08, 0x10
_COMPRESSOR_BITS = 0xE0
#: Frames with at most this many blocks have their offsets parsed in plain Python.
_FEW_BLOCKS = 64
#: Blosc splits a block into ``typesize`` streams only for types up to this size
_MAX_SPLITS = 16


@dataclass(frozen=True)
class BloscHeader:
    """The fields of a Blosc1 frame header."""

    version: int
    versionlz: int
    flags: int
    typesize: int
    nbytes: int
    blocksize: int
    cbytes: int

    @functools.cached_property
    def nblocks(self) -> int:
        """Blocks in the frame (the last one may be shorter)."""
        return -(-self.nbytes // self.blocksize) if self.blocksize else 0

    @property
    def memcpyed(self) -> bool:
        """True when the data follows the header uncompressed."""
        return bool(self.flags & _MEMCPYED)

    @property
    def offsets_end(self) -> int:
        """Where the block offsets end (the header's end for a plain copy)."""
        return HEADER_SIZE if self.memcpyed else HEADER_SIZE + 4 * self.nblocks

    def block_nbytes(self, j: int) -> int:
        """Decoded size of block ``j``."""
        return min(self.blocksize, self.nbytes - j * self.blocksize)


def parse_header(head: bytes | memoryview, size: int) -> BloscHeader | None:
    """The header of a frame of ``size`` bytes whose first bytes are ``head``, or None
    when the frame cannot be decoded block by block (not a Blosc1 frame, inconsistent
    sizes, the delta filter): callers then decode the whole chunk, which reports
    what is wrong with it."""
    if len(head) < HEADER_SIZE:
        return None
    header = BloscHeader(*_HEADER.unpack_from(head))
    if header.version not in (1, 2) or header.flags & _DELTA or header.cbytes != size:
        return None
    if header.blocksize <= 0 or header.nbytes <= 0 or header.offsets_end > size:
        return None
    if header.memcpyed and HEADER_SIZE + header.nbytes != size:
        return None
    return header


def block_spans(header: BloscHeader, offsets: bytes | memoryview) -> list[tuple[int, int]] | None:
    """``(start, stop)`` of each block's bytes in the frame, from the block offsets
    (``offsets`` = the frame's bytes ``[16, header.offsets_end)``); None when they are
    inconsistent. Blocks compressed by several threads may be stored out of order, so a
    block ends where the next stored block starts."""
    if header.memcpyed:
        bs = header.blocksize
        return [(HEADER_SIZE + j * bs, HEADER_SIZE + j * bs + header.block_nbytes(j)) for j in range(header.nblocks)]
    if header.nblocks <= _FEW_BLOCKS:  # plain Python: numpy's per-call cost dominates here
        if len(offsets) < 4 * header.nblocks or header.nblocks == 0:
            return None
        first = struct.unpack_from(f"<{header.nblocks}i", offsets)
        if min(first) < header.offsets_end or max(first) >= header.cbytes:
            return None
        by_start = sorted(range(header.nblocks), key=first.__getitem__)
        stops = [0] * header.nblocks
        for here, after in zip(by_start, by_start[1:]):
            stops[here] = first[after]
        stops[by_start[-1]] = header.cbytes
        return list(zip(first, stops))
    starts = np.frombuffer(offsets, dtype="<i4", count=header.nblocks)
    if starts.size != header.nblocks or starts.size == 0:
        return None
    if int(starts.min()) < header.offsets_end or int(starts.max()) >= header.cbytes:
        return None
    order = np.argsort(starts, kind="stable")
    ends = np.empty_like(starts)
    ends[order[:-1]] = starts[order[1:]]
    ends[order[-1]] = header.cbytes
    return list(zip(starts.tolist(), ends.tolist()))


def block_frame(header: BloscHeader, j: int, block: bytes | memoryview) -> bytes:
    """A one-block Blosc frame holding block ``j``'s stored bytes, which
    ``numcodecs.blosc.decompress`` decodes to exactly that block's bytes.

    A full block keeps the frame's block size, so Blosc splits it as it did when it
    compressed it. The last, shorter block was compressed unsplit (Blosc never
    splits a leftover block), so its frame says "no split" and has its own size as
    block size.
    """
    nbytes = header.block_nbytes(j)
    flags, blocksize = header.flags, header.blocksize
    if nbytes < blocksize:
        flags, blocksize = flags | _NOSPLIT, nbytes
    cbytes = HEADER_SIZE + 4 + len(block)
    return b"".join((
        _HEADER.pack(header.version, header.versionlz, flags, header.typesize, nbytes, blocksize, cbytes),
        _OFFSET.pack(HEADER_SIZE + 4),
        block,
    ))


def blocks_of_byte_ranges(starts: np.ndarray, stops: np.ndarray, blocksize: int) -> np.ndarray:
    """Sorted unique indices of the blocks of ``blocksize`` bytes that the byte ranges
    ``[starts[i], stops[i])`` of the decoded data overlap (ranges are non-empty)."""
    first = np.asarray(starts, dtype=np.int64) // blocksize
    last = (np.asarray(stops, dtype=np.int64) - 1) // blocksize
    if first.size == 0:
        return np.empty(0, dtype=np.int64)
    if bool(np.all(first == last)):
        return np.unique(first)
    counts = last - first + 1
    rep = np.repeat(first - np.cumsum(counts) + counts, counts)
    return np.unique(rep + np.arange(int(counts.sum()), dtype=np.int64))


# --- the streams of a split block --------------------------------------------------------
#
# Blosc compresses a full block of a type of 2-16 bytes as ``typesize`` separate
# streams (unless the frame says "no split"): after a byte shuffle, stream ``b`` holds
# byte ``b`` of every item. Each stream is stored as an int32 size and its bytes; a
# stream that did not compress is stored as is (its size equals the stream's length).
# A few items of such a block can thus be read without decoding it: their bytes in the
# stored-as-is streams are read directly, and only compressed streams are decoded.


def block_streams(header: BloscHeader, j: int) -> int:
    """How many streams block ``j`` may be stored as: ``typesize`` when Blosc could
    have split it, else 1. Callers confirm a split by checking that the stream sizes
    add up to the block's stored length (:func:`stream_positions` callers do)."""
    ts = header.typesize
    if (header.flags & (_NOSPLIT | _MEMCPYED | _BITSHUFFLE) or not 2 <= ts <= _MAX_SPLITS
            or header.block_nbytes(j) != header.blocksize or header.blocksize % ts):
        return 1
    return ts


def stream_position(header: BloscHeader, nstreams: int, offset: int) -> tuple[int, int]:
    """``(stream, index)`` of the decoded byte at block-relative ``offset`` of a block
    stored as ``nstreams`` streams: a byte-shuffled block holds byte ``o`` at position
    ``o // nstreams`` of stream ``o % nstreams``; an unshuffled one is cut into
    ``nstreams`` consecutive pieces."""
    if header.flags & _SHUFFLE:
        return offset % nstreams, offset // nstreams
    return divmod(offset, header.blocksize // nstreams)


def stream_frame(header: BloscHeader, neblock: int, stream: bytes | memoryview) -> bytes:
    """A one-block frame holding one compressed stream (its int32 size and bytes) of
    ``neblock`` decoded bytes, which ``numcodecs.blosc.decompress`` decodes to exactly
    that stream: same compressor, byte-sized items, no shuffle, no split."""
    flags = (header.flags & _COMPRESSOR_BITS) | _NOSPLIT
    cbytes = HEADER_SIZE + 4 + len(stream)
    return b"".join((
        _HEADER.pack(header.version, header.versionlz, flags, 1, neblock, neblock, cbytes),
        _OFFSET.pack(HEADER_SIZE + 4),
        stream,
    ))

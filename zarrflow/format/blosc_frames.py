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

import struct
from dataclasses import dataclass

import numpy as np

__all__ = ["BloscHeader", "HEADER_SIZE", "parse_header", "block_spans", "block_frame", "blocks_of_byte_ranges"]

_HEADER = struct.Struct("<BBBBIII")
HEADER_SIZE = _HEADER.size  # 16
_OFFSET = struct.Struct("<i")

_SHUFFLE, _MEMCPYED, _BITSHUFFLE, _DELTA, _NOSPLIT = 0x01, 0x02, 0x04, 0x08, 0x10


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

    @property
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

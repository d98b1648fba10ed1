"""Decoding only the part of a chunk that a selection reads.

A point read or a thin slice needs a few items of a chunk; decoding the whole chunk
costs the same as reading all of it. For chunks stored as Blosc frames (whose blocks
are compressed one by one, see ``format/blosc_frames``) or uncompressed, the
:class:`PartialDecoder` reads the frame's header, then only the stored bytes of the
blocks holding the selected items, and decodes those blocks into a chunk-sized
buffer; the caller then indexes that buffer as if it held the whole chunk (only
selected items are ever looked at). Results are exact for every codec Blosc has,
because Blosc itself decodes each block.

Anything unexpected (not a Blosc1 frame, sizes that disagree with the metadata, a
selection touching most of the chunk) hands the whole stored value back to the
caller, which decodes it normally and reports any corruption as before.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numcodecs.blosc
import numpy as np

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

if TYPE_CHECKING:
    from zarrflow.core.codecs import ChunkCodec
    from zarrflow.storage.readers import RangeReader

__all__ = ["PartialDecoder", "MAX_SHARE", "MIN_CHUNK_BYTES"]

#: A selection is decoded in part when it reads at most this share of a chunk's items.
MAX_SHARE = 0.25
#: Chunks below this size are always decoded whole: Blosc makes one block of them.
MIN_CHUNK_BYTES = 64 * 1024
#: The first read of a frame: its header and, for up to ~1000 blocks, every offset.
HEAD_BYTES = 4096
#: Uncompressed chunks are read in pieces of this many bytes.
RAW_PIECE = 64 * 1024
#: Wanted byte spans closer than this are read in one go.
MERGE_GAP = 16 * 1024
#: Decoding in part pays while it touches at most this share of a chunk's blocks.
MAX_BLOCK_SHARE = 0.5
#: A split block is read stream by stream (see :meth:`PartialDecoder._read_streams`)
#: when the selection needs at most this many of its bytes.
MAX_STREAM_BYTES = 4096

_ZERO_BYTE = np.zeros((), dtype=np.uint8)


class PartialDecoder:
    """Reads and decodes the blocks of one array's chunks that selections need.

    Only for plain byte pipelines (``ChunkCodec.can_decode_into``: Blosc or no
    compressor, no filters, no object dtype) and chunks of at least
    :data:`MIN_CHUNK_BYTES`; :meth:`for_codec` returns None otherwise.
    """

    def __init__(self, codec: ChunkCodec) -> None:
        self.codec = codec
        self.chunks = codec.chunks
        self.itemsize = codec.dtype.itemsize
        self.nbytes = codec.nbytes
        self.raw = codec.compressor is None
        dims = range(len(self.chunks))
        if codec.order == "C":
            strides = [math.prod(self.chunks[a + 1:]) for a in dims]
        else:
            strides = [math.prod(self.chunks[:a]) for a in dims]
        self.strides = strides
        self._axis_offsets = [
            np.broadcast_to(
                (np.arange(n, dtype=np.int64) * s).reshape((1,) * a + (n,) + (1,) * (len(self.chunks) - a - 1)),
                self.chunks,
            )
            for a, (n, s) in enumerate(zip(self.chunks, strides))
        ]

    @classmethod
    def for_codec(cls, codec: ChunkCodec) -> PartialDecoder | None:
        """A decoder for ``codec``'s chunks, or None when they are always decoded whole."""
        if not codec.can_decode_into or codec.nbytes < MIN_CHUNK_BYTES or not codec.chunks:
            return None
        return cls(codec)

    # --- which bytes a selection needs ----------------------------------------------------

    def item_offsets(self, chunk_selection: Any) -> np.ndarray | None:
        """Flat item offsets (in the chunk's order) of the items ``chunk[chunk_selection]``
        reads, or None when that is more than :data:`MAX_SHARE` of the chunk."""
        probe = np.broadcast_to(_ZERO_BYTE, self.chunks)[chunk_selection]
        count = np.size(probe)
        if count == 0 or count > MAX_SHARE * math.prod(self.chunks):
            return None
        total = np.zeros(np.shape(probe), dtype=np.int64)
        for offsets in self._axis_offsets:
            total += offsets[chunk_selection]
        return total.reshape(-1)

    def offset_of(self, within: tuple[int, ...]) -> int:
        """Flat item offset of one item at chunk-relative index ``within``."""
        return sum(i * s for i, s in zip(within, self.strides))

    # --- reading ----------------------------------------------------------------------------

    def read(self, reader: RangeReader, item_offsets: np.ndarray, key: str = "") -> np.ndarray | bytes | memoryview:
        """A chunk-shaped array whose items at ``item_offsets`` are decoded (the rest
        is undefined), or, when decoding in part does not apply or pay, the whole
        stored value for the caller to decode."""
        starts = item_offsets * self.itemsize
        if self.raw:
            return self._read_raw(reader, starts)
        size = reader.size
        head = reader.read(0, min(size, HEAD_BYTES))
        header = parse_header(head, size)
        if header is None or header.nbytes != self.nbytes:
            return _whole(reader, head)
        if header.offsets_end > len(head):
            head = reader.read(0, header.offsets_end)
        spans = block_spans(header, memoryview(head)[HEADER_SIZE:header.offsets_end])
        if spans is None:
            return _whole(reader, head)
        needed = self._blocks(starts, header.blocksize)
        if len(needed) > MAX_BLOCK_SHARE * header.nblocks:
            return _whole(reader, head)
        buf = np.empty(self.nbytes, dtype=np.uint8)  # untouched pages cost nothing
        needed = self._read_split_blocks(reader, header, spans, needed, starts, buf)
        for j, block in _read_spans(reader, [(j, *spans[j]) for j in needed]):
            start = j * header.blocksize
            dest = buf[start:start + header.block_nbytes(j)]
            if len(block) == 0:
                return _whole(reader, head)
            if header.memcpyed:
                if len(block) != dest.size:
                    return _whole(reader, head)
                dest[...] = np.frombuffer(block, dtype=np.uint8)
                continue
            try:
                numcodecs.blosc.decompress(block_frame(header, j, block), dest)
            except (RuntimeError, ValueError):  # a damaged block: the full decode says how
                return _whole(reader, head)
        return self._as_chunk(buf)

    def _read_split_blocks(self, reader: RangeReader, header: Any, spans: list[tuple[int, int]],
                           needed: list[int], starts: np.ndarray, buf: np.ndarray) -> list[int]:
        """Fill ``buf`` with the wanted bytes of the split blocks among ``needed`` that
        few items touch, stream by stream; returns the blocks still to decode whole."""
        if not any(block_streams(header, j) > 1 for j in needed):
            return needed
        if starts.size * self.itemsize > MAX_STREAM_BYTES:
            return needed
        bs = header.blocksize
        by_block: dict[int, list[int]] = {}
        for start in starts.tolist():  # a few items: plain Python beats numpy's call cost
            for o in range(start, start + self.itemsize):
                by_block.setdefault(o // bs, []).append(o)
        rest = []
        for j in needed:
            nstreams = block_streams(header, j)
            if nstreams == 1 or not self._read_streams(reader, header, j, nstreams, spans[j], by_block[j], buf):
                rest.append(j)
        return rest

    def _read_streams(self, reader: RangeReader, header: Any, j: int, nstreams: int, span: tuple[int, int],
                      wanted: list[int], buf: np.ndarray) -> bool:
        """Put the decoded bytes at chunk offsets ``wanted`` (all in split block ``j``)
        into ``buf``: bytes of streams stored as is are read directly, only compressed
        streams holding some of them are decoded. False (nothing trusted) when the
        stream sizes do not add up to the block's stored length or a stream does not
        decode: the caller then decodes the block whole. Plain Python over lists: a
        point read needs a few bytes, and numpy's per-call cost would dominate."""
        neblock = header.blocksize // nstreams
        base = j * header.blocksize
        per_stream: dict[int, tuple[list[int], list[int]]] = {}
        for o in wanted:
            b, i = stream_position(header, nstreams, o - base)
            entry = per_stream.setdefault(b, ([], []))
            entry[0].append(o)
            entry[1].append(i)
        read = getattr(reader, "read_at", None) or reader.read
        pos, stop = span
        size_bytes = read(pos, pos + 4)
        plain: list[tuple[int, int]] = []  # (stream, where its bytes start)
        packed: list[tuple[int, bytes]] = []  # (stream, its int32 size and compressed bytes)
        for b in range(nstreams):
            if len(size_bytes) < 4:
                return False
            csize = int.from_bytes(size_bytes[:4], "little", signed=True)
            if not 0 < csize <= neblock:
                return False
            data_start = pos + 4
            pos = data_start + csize
            if csize < neblock and b in per_stream:
                data = read(data_start, pos + 4)  # with the next stream's size
                if len(data) < csize:
                    return False
                packed.append((b, bytes(size_bytes[:4]) + data[:csize]))
                size_bytes = data[csize:csize + 4]
            else:
                if csize == neblock and b in per_stream:
                    plain.append((b, data_start))
                size_bytes = read(pos, pos + 4) if b + 1 < nstreams else b""
        if pos != stop:
            return False
        for b, data_start in plain:
            where, idx = per_stream[b]
            lo, hi = min(idx), max(idx) + 1
            data = read(data_start + lo, data_start + hi)
            if len(data) != hi - lo:
                return False
            for o, i in zip(where, idx):
                buf[o] = data[i - lo]
        for b, stream in packed:
            decoded = np.empty(neblock, dtype=np.uint8)
            try:
                numcodecs.blosc.decompress(stream_frame(header, neblock, stream), decoded)
            except (RuntimeError, ValueError):
                return False
            where, idx = per_stream[b]
            buf[where] = decoded[idx]
        return True

    def _read_raw(self, reader: RangeReader, starts: np.ndarray) -> np.ndarray | bytes | memoryview:
        if reader.size != self.nbytes:
            return reader.read(0, reader.size)  # the full decode names the size mismatch
        needed = self._blocks(starts, RAW_PIECE)
        buf = np.empty(self.nbytes, dtype=np.uint8)
        pieces = [(j, j * RAW_PIECE, min(self.nbytes, (j + 1) * RAW_PIECE)) for j in needed]
        for j, data in _read_spans(reader, pieces):
            piece = buf[j * RAW_PIECE:(j + 1) * RAW_PIECE]
            if len(data) != piece.size:  # the file changed size under us
                return reader.read(0, reader.size)
            piece[...] = np.frombuffer(data, dtype=np.uint8)
        return self._as_chunk(buf)

    def _blocks(self, starts: np.ndarray, blocksize: int) -> list[int]:
        """Indices of the blocks of ``blocksize`` decoded bytes that hold the items."""
        if starts.size <= 64:  # a few items: plain Python beats numpy's call cost
            return sorted({b for s in starts.tolist() for b in range(s // blocksize, (s + self.itemsize - 1) // blocksize + 1)})
        if blocksize % self.itemsize == 0:  # no item spans two blocks
            return np.unique(starts // blocksize).tolist()
        return blocks_of_byte_ranges(starts, starts + self.itemsize, blocksize).tolist()

    def _as_chunk(self, buf: np.ndarray) -> np.ndarray:
        return buf.view(self.codec.dtype).reshape(self.chunks, order=self.codec.order)


def _whole(reader: RangeReader, head: bytes | memoryview) -> bytes | memoryview:
    """The whole stored value, reusing the bytes already read when they are all of it."""
    if len(head) >= reader.size:
        return head
    return reader.read(0, reader.size)


def _read_spans(reader: RangeReader, wanted: list[tuple[int, int, int]]):
    """Yield ``(j, bytes)`` for each ``(j, start, stop)``; spans closer than
    :data:`MERGE_GAP` are fetched with one read."""
    wanted = sorted(wanted, key=lambda w: w[1])
    i = 0
    while i < len(wanted):
        k = i
        while k + 1 < len(wanted) and wanted[k + 1][1] - wanted[k][2] <= MERGE_GAP:
            k += 1
        lo, hi = wanted[i][1], max(w[2] for w in wanted[i:k + 1])
        data = memoryview(reader.read(lo, hi))
        for j, start, stop in wanted[i:k + 1]:
            yield j, data[start - lo:stop - lo]
        i = k + 1

"""Chunks prepared for the two limit measurements (codec-bound and I/O-bound).

Both limits handle exactly the chunks an engine has to handle for the workload
(:func:`benchmarks.chunks.touched`, repeats included for one-call-per-point reads),
as Zarr v2 stores them: padded to the full chunk shape, C order, encoded with the
workload's numcodecs compressor. All of this is prepared before timing.
"""

from __future__ import annotations

import zlib

import numcodecs
import numpy as np

from benchmarks import chunks as ck
from benchmarks.workloads import Workload

#: Worker threads of both limits (the benchmark machine has 2 cores).
DEFAULT_THREADS = 2


class ChunkSet:
    """The distinct chunks a workload touches and the order they are handled in.

    ``raw[i]`` (kept only when ``keep_raw``) is the i-th distinct chunk's data,
    ``encoded[i]`` its stored bytes, ``crc[i]`` the CRC-32 of its raw bytes,
    ``keys[i]`` its store key; ``order`` lists indices into these, one per chunk
    operation, repeats included.
    """

    def __init__(self, wl: Workload, keep_raw: bool):
        a = wl.make_data()
        touched = ck.touched(wl)
        position: dict[tuple[int, ...], int] = {}
        for idx in touched:
            position.setdefault(idx, len(position))
        self.order = [position[idx] for idx in touched]
        self.keys = [ck.key(idx) for idx in position]
        self.codec = numcodecs.get_codec(dict(wl.compressor))
        raw = [ck.padded_chunk(a, idx, wl.chunks) for idx in position]
        del a
        self.crc = [zlib.crc32(r) for r in raw]
        self.nbytes = [r.nbytes for r in raw]
        self.encoded = [bytes(self.codec.encode(r)) for r in raw]
        self.raw: list[np.ndarray] | None = raw if keep_raw else None

    @property
    def stored_bytes(self) -> int:
        """Stored (compressed) size of the distinct chunks."""
        return sum(len(e) for e in self.encoded)

    def extra(self) -> dict:
        return {"stored_bytes": self.stored_bytes, "chunk_ops": len(self.order),
                "distinct_chunks": len(self.keys)}

"""The one planner for "groups of whole chunks under a byte budget" (pure, no I/O).

Copies (``core/copying``, the Dask layer's parallel copies), streaming writes from
lazily read sources (``core/chunk_io``) and slice-wise maps (``graph/plan``) all cut
an array, or a region of it, into *slabs*: boxes whose every cut falls on a chunk
boundary of the array's grid, so each chunk belongs to exactly one slab (a slab can
be written without locks and without reading what another slab writes).

A slab is whole chunk rows along ``axis`` (several rows when one row is small), and
when a single row exceeds the budget it is cut at chunk boundaries along the other
axes in turn (unless ``split=False``, e.g. when a slab must hold whole 2-D slices).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import product

__all__ = ["chunk_slabs"]


def _cuts(region: slice, chunk: int, step_chunks: int) -> list[slice]:
    """``region`` cut at chunk boundaries, ``step_chunks`` chunks at a time (the first
    and last pieces are cut by the region's own edges)."""
    out, pos = [], region.start
    while pos < region.stop:
        nxt = min(region.stop, (pos // chunk + step_chunks) * chunk)
        out.append(slice(pos, nxt))
        pos = nxt
    return out


def chunk_slabs(shape: tuple[int, ...], chunks: tuple[int, ...], itemsize: int, max_bytes: int, *,
                axis: int = 0, region: tuple[slice, ...] | None = None,
                split: bool = True) -> Iterator[tuple[slice, ...]]:
    """Chunk-aligned boxes covering ``region`` (default: all of ``shape``), each of at
    most about ``max_bytes`` (but one chunk row of the region along ``axis`` at least,
    or one chunk when ``split``), in C order.

    ``axis``: the axis slabs advance along (whole chunk rows of it per slab).
    ``split``: cut a row that exceeds the budget at chunk boundaries of the other
    axes; with False a slab always spans the region's whole extent off ``axis``.
    ``region``: concrete step-1 slices (``slice(start, stop)``), one per axis; its cuts
    still fall on the array's chunk boundaries. A 0-d array is one slab ``()``; a
    region with an empty axis has none.
    """
    if not shape:
        yield ()
        return
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for shape {shape}")
    axis %= ndim
    if region is None:
        region = tuple(slice(0, n) for n in shape)
    extent = [r.stop - r.start for r in region]
    if 0 in extent:
        return
    chunks = tuple(max(1, min(c, s)) for c, s in zip(chunks, shape))
    # block: the slab's extent per axis; it starts as one chunk row along ``axis``
    block = list(extent)
    block[axis] = min(extent[axis], chunks[axis])
    budget = max(max_bytes, math.prod(min(c, e) for c, e in zip(chunks, extent)) * itemsize)
    row_bytes = math.prod(block) * itemsize
    if row_bytes <= budget:
        block[axis] = min(extent[axis], chunks[axis] * max(1, budget // row_bytes))
    elif split:
        for other in (a for a in range(ndim) if a != axis):
            slab_bytes = math.prod(block) * itemsize
            if slab_bytes <= budget:
                break
            per_unit = slab_bytes // block[other]
            block[other] = min(extent[other], chunks[other] * max(1, budget // (per_unit * chunks[other])))
    steps = [max(1, -(-b // c)) for b, c in zip(block, chunks)]
    yield from product(*(_cuts(r, c, k) for r, c, k in zip(region, chunks, steps)))

"""Pure planning for the Dask layer: chunk grids, regions, alignment and halos.

Nothing here imports dask or touches a store: every function maps shapes, chunk
shapes and regions (tuples of ints and slices) to other such tuples, so plans can be
built and checked before anything runs.

Vocabulary: a *grid* along one axis is the tuple of block lengths (dask's
``chunks`` for that axis); *boundaries* are the cumulative offsets ``(0, ..., n)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import islice, pairwise, product
from typing import Any

from zarrflow.core.slabs import chunk_slabs

Grid = tuple[tuple[int, ...], ...]
Region = tuple[slice, ...]


# --- grids ---------------------------------------------------------------------------------


def regular_grid(shape: tuple[int, ...], chunks: tuple[int, ...]) -> Grid:
    """Dask-style chunks of ``shape`` cut every ``chunks`` items (last block truncated)."""
    grid = []
    for n, c in zip(shape, chunks):
        full, rest = divmod(n, c)
        grid.append((c,) * full + ((rest,) if rest else ()) if n else (0,))
    return tuple(grid)


def boundaries(lengths: tuple[int, ...]) -> tuple[int, ...]:
    """Cumulative offsets of a grid axis: ``(0, l0, l0 + l1, ..., n)``."""
    out, pos = [0], 0
    for n in lengths:
        pos += n
        out.append(pos)
    return tuple(out)


def lengths(bounds: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Inverse of :func:`boundaries`."""
    return tuple(b - a for a, b in pairwise(bounds))


def block_slices(grid: Grid) -> list[list[slice]]:
    """Per axis, the slice of every block of ``grid``."""
    out = []
    for axis in grid:
        b = boundaries(axis)
        out.append([slice(b[i], b[i + 1]) for i in range(len(axis))])
    return out


def read_grid(shape: tuple[int, ...], stored: tuple[int, ...], chunks: Any = None) -> Grid:
    """The blocks ``to_dask`` reads: the stored chunks, or ``chunks`` (an int or one int per
    axis) which must be a multiple of the stored chunk along every axis."""
    if chunks is None:
        return regular_grid(shape, stored)
    want = (chunks,) * len(shape) if isinstance(chunks, int) else tuple(chunks)
    if len(want) != len(shape):
        raise ValueError(f"chunks={chunks!r} must have one entry per axis of the shape {shape}")
    want = tuple(s if w in (-1, None) else int(w) for w, s in zip(want, shape))
    bad = [(i, w, c) for i, (w, c) in enumerate(zip(want, stored)) if w <= 0 or (w % c != 0 and w < shape[i])]
    if bad:
        detail = ", ".join(f"axis {i}: {w} is not a multiple of the stored chunk {c}" for i, w, c in bad)
        raise ValueError(f"chunks={chunks!r} must be whole multiples of the stored chunks {stored} ({detail}); "
                         "pass multiples, or rechunk the dask array afterwards")
    return regular_grid(shape, tuple(max(min(w, s), 1) for w, s in zip(want, shape)))


#: A dask block is cut from stored chunks thinner than this many bytes along the last
#: axis only in runs of several chunks side by side (see :func:`default_read_chunks`).
THIN_ROW_BYTES = 64

#: ... and only when a chunk holds at least this many bytes (smaller ones stay in cache).
THIN_CHUNK_BYTES = 256 * 1024


def default_read_chunks(shape: tuple[int, ...], stored: tuple[int, ...], itemsize: int,
                        order: str) -> tuple[int, ...] | None:
    """The blocks ``to_dask`` cuts by default: None (one block per stored chunk), or,
    for large C-order chunks thinner than :data:`THIN_ROW_BYTES` along the last axis
    (image stacks chunked one slice at a time), runs of chunks along that axis filling
    a cache line. Why: dask assembles ``compute()``'s result block by block, and a block
    one item thick is copied with a stride of the whole row, touching a cache line per
    item (measured: (1000, 1000, 1)-chunked float64, 2.6x the direct read; 8 chunks per
    block, about 1.2x)."""
    if order != "C" or len(shape) < 2 or not stored:
        return None
    row = stored[-1] * itemsize
    if row >= THIN_ROW_BYTES or math.prod(stored) * itemsize < THIN_CHUNK_BYTES or shape[-1] <= stored[-1]:
        return None
    run = min(16, -(-THIN_ROW_BYTES // max(row, 1)))
    return (*stored[:-1], stored[-1] * run)


# --- regions -------------------------------------------------------------------------------


def normalize_region(region: Any, shape: tuple[int, ...]) -> Region:
    """``region`` (None, a slice, or a tuple of slices, step 1) as one bounded slice per axis."""
    if region is None:
        return tuple(slice(0, n) for n in shape)
    items = region if isinstance(region, tuple) else (region,)
    if len(items) > len(shape):
        raise ValueError(f"region {region!r} has more axes than the target's shape {shape}")
    items = items + (slice(None),) * (len(shape) - len(items))
    out = []
    for axis, (s, n) in enumerate(zip(items, shape)):
        if not isinstance(s, slice):
            raise TypeError(f"region must hold slices, got {s!r} on axis {axis}")
        start, stop, step = s.indices(n)
        if step != 1:
            raise ValueError(f"region slices must have step 1, got {s!r} on axis {axis}")
        out.append(slice(start, max(start, stop)))
    return tuple(out)


def region_shape(region: Region) -> tuple[int, ...]:
    """The shape a normalized region covers."""
    return tuple(s.stop - s.start for s in region)


# --- alignment with a target's chunks ---------------------------------------------------------


def aligned_boundaries(region: slice, chunk: int) -> tuple[int, ...]:
    """Offsets (relative to ``region.start``) where a block may start or end so that no
    target chunk is split between two blocks: the region's edges and every chunk
    boundary inside it."""
    first = -(-region.start // chunk) * chunk
    inner = range(first, region.stop, chunk)
    cuts = sorted({region.start, region.stop, *inner})
    return tuple(c - region.start for c in cuts)


def shared_chunks(grid_axis: tuple[int, ...], region: slice, chunk: int) -> list[int]:
    """Target chunk indices along one axis that more than one block of ``grid_axis``
    (placed at ``region.start``) writes into."""
    allowed = set(aligned_boundaries(region, chunk))
    return sorted({(region.start + b) // chunk for b in boundaries(grid_axis)[1:-1] if b not in allowed})


def is_aligned(grid: Grid, region: Region, chunks: tuple[int, ...]) -> bool:
    """True when every target chunk is written by exactly one block."""
    return not any(shared_chunks(g, r, c) for g, r, c in zip(grid, region, chunks))


def misaligned_chunks(grid: Grid, region: Region, chunks: tuple[int, ...],
                      shape: tuple[int, ...]) -> tuple[int, Iterator[tuple[int, ...]]]:
    """How many target chunks more than one block writes, and an iterator over their
    grid coordinates (C order)."""
    ranges = [range(r.start // c, -(-r.stop // c)) if r.stop > r.start else range(0)
              for r, c in zip(region, chunks)]
    shared = [set(shared_chunks(g, r, c)) for g, r, c in zip(grid, region, chunks)]
    total = math.prod(len(r) for r in ranges)
    clean = math.prod(len([i for i in r if i not in s]) for r, s in zip(ranges, shared))

    def walk() -> Iterator[tuple[int, ...]]:
        for coords in product(*ranges):
            if any(i in s for i, s in zip(coords, shared)):
                yield coords

    return total - clean, walk()


def regroup_grid(grid: Grid, region: Region, chunks: tuple[int, ...]) -> Grid:
    """A grid close to ``grid`` whose every boundary is allowed (see
    :func:`aligned_boundaries`): each boundary moves to the nearest allowed offset, so
    blocks keep about their size and each target chunk gets exactly one block."""
    out = []
    for g, r, c in zip(grid, region, chunks):
        allowed = aligned_boundaries(r, c)
        if len(allowed) == 1:  # empty region along this axis
            out.append(g)
            continue
        cuts = {0, allowed[-1]}
        for b in boundaries(g)[1:-1]:
            cuts.add(min(allowed, key=lambda a, b=b: (abs(a - b), a)))
        out.append(lengths(sorted(cuts)))
    return tuple(out)


def describe_chunks(coords: Iterator[tuple[int, ...]], count: int, limit: int = 8) -> str:
    """``"(0, 1), (0, 2) and 5 more"`` for an error message."""
    shown = [str(c) for c in islice(coords, limit)]
    more = count - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# --- halos and slabs (map_blocks / map_slices) --------------------------------------------------


def halo_plan(shape: tuple[int, ...], chunks: tuple[int, ...], depth: Any = 0
              ) -> list[tuple[tuple[int, ...], Region, Region, Region]]:
    """For every target chunk: ``(coords, out_region, in_region, trim)``: the chunk's
    region, that region grown by ``depth`` (an int or one int per axis) clipped at the
    array edge, and where the chunk sits inside the grown block."""
    depths = (depth,) * len(shape) if isinstance(depth, int) else tuple(depth)
    if len(depths) != len(shape) or any(d < 0 for d in depths):
        raise ValueError(f"depth={depth!r} must be a non-negative int or one per axis of {shape}")
    axes = []
    for n, c, d in zip(shape, chunks, depths):
        entries = []
        for i, start in enumerate(range(0, n, c)):
            stop = min(start + c, n)
            lo, hi = max(start - d, 0), min(stop + d, n)
            entries.append((i, slice(start, stop), slice(lo, hi), slice(start - lo, stop - lo)))
        axes.append(entries)
    plan = []
    for combo in product(*axes):
        plan.append((tuple(e[0] for e in combo), tuple(e[1] for e in combo),
                     tuple(e[2] for e in combo), tuple(e[3] for e in combo)))
    return plan


def slab_plan(shape: tuple[int, ...], chunks: tuple[int, ...], axis: int) -> list[Region]:
    """Regions spanning every axis but ``axis`` fully, one per target chunk along ``axis``."""
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"axis {axis} is out of bounds for shape {shape}")
    return list(chunk_slabs(shape, chunks, 1, 0, axis=axis, split=False))




# --- copying arrays ------------------------------------------------------------------------


def same_encoding(source: Any, dest: Any) -> bool:
    """True when two arrays' metadata (:class:`~zarrflow.format.ArrayMetadata`) agree
    on everything that decides a chunk's stored bytes (shape, chunks, dtype, codecs,
    order, fill value), so chunks can be copied as bytes; the key separator may
    differ (keys are renamed)."""
    return source.replace(dimension_separator=None) == dest.replace(dimension_separator=None)


def key_batches(pairs: list[tuple[str, str]], chunk_nbytes: int, task_bytes: int,
                max_keys: int = 256) -> list[list[tuple[str, str]]]:
    """``pairs`` cut into batches of about ``task_bytes`` of decoded chunk data (a
    stored chunk is rarely larger than its decoded size), at most ``max_keys`` each."""
    size = max(1, min(max_keys, task_bytes // max(chunk_nbytes, 1)))
    return [pairs[i:i + size] for i in range(0, len(pairs), size)]

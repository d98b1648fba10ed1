"""Zarr v2 chunk-grid arithmetic: chunk keys, regions, padded chunk data, chunks touched.

Used by the limit measurements (which handle chunks without any store) and by the
independent read-back check of written arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from benchmarks.workloads import Workload

ChunkIndex = tuple[int, ...]


def grid_shape(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Number of chunks along each axis."""
    return tuple(-(-n // c) for n, c in zip(shape, chunks))


def all_chunks(shape: tuple[int, ...], chunks: tuple[int, ...]) -> Iterator[ChunkIndex]:
    """Every chunk index of the grid, in C order."""
    return itertools.product(*(range(g) for g in grid_shape(shape, chunks)))


def key(idx: ChunkIndex, separator: str = ".") -> str:
    """The store key of a chunk (``'0.3.1'`` with the default ``'.'`` separator)."""
    return separator.join(map(str, idx)) if idx else "0"


def region(idx: ChunkIndex, shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[slice, ...]:
    """The part of the array that chunk ``idx`` covers (clipped at the array's edge)."""
    return tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(idx, chunks, shape))


def padded_chunk(a: np.ndarray, idx: ChunkIndex, chunks: tuple[int, ...], fill_value=0) -> np.ndarray:
    """The full-size, C-contiguous chunk as Zarr v2 stores it (edge chunks padded)."""
    reg = region(idx, a.shape, chunks)
    part = a[reg]
    if part.shape == tuple(chunks):
        return np.ascontiguousarray(part)
    out = np.full(chunks, fill_value, dtype=a.dtype)
    out[tuple(slice(0, s) for s in part.shape)] = part
    return out


def _axis_chunks(sel, n: int, c: int) -> list[int]:
    """Chunk indices along one axis hit by an int, a slice or an int array."""
    if isinstance(sel, slice):
        return sorted({i // c for i in range(*sel.indices(n))})
    if np.ndim(sel) == 0:
        return [int(sel) // c]
    return sorted({int(i) // c for i in np.asarray(sel).ravel()})


def touched(wl: Workload, sel=None) -> list[ChunkIndex]:
    """Chunks an engine must handle for the workload, once per separate call.

    Full write/read and basic/orthogonal selections: each chunk of the selection once.
    ``vindex``: each distinct chunk of the points once (one call). ``points``: one
    chunk per point, with repeats, because every point is a separate ``z[i, j, k]``.
    """
    sel = wl.selection() if sel is None else sel
    if wl.is_full:
        return list(all_chunks(wl.shape, wl.chunks))
    if wl.op in ("slice", "oindex"):
        axes = [_axis_chunks(s, n, c) for s, n, c in zip(sel, wl.shape, wl.chunks)]
        return list(itertools.product(*axes))
    chunks = np.asarray(wl.chunks)
    if wl.op == "points":
        return [tuple(int(v) for v in p // chunks) for p in sel]
    if wl.op == "vindex":
        coords = np.stack([np.asarray(s) for s in sel], axis=1) // chunks
        return sorted({tuple(int(v) for v in row) for row in coords})
    raise ValueError(f"unknown op {wl.op!r}")

"""The task of a filter graph: read a region of the input with its halo, extend it at
the array's edges as the plan says, run the kernel, write whole output chunks.

Like ``graph/tasks.py`` it carries layouts and a :class:`~zarrflow.graph.filter_plan.FilterTask`,
never array data; kept apart because it needs scipy (``graph/kernels.py``).
"""

from __future__ import annotations

import numpy as np

from zarrflow.core import chunk_io
from zarrflow.core.indexing import BasicIndexer, OrthogonalIndexer
from zarrflow.core.layout import ArrayLayout
from zarrflow.graph import kernels
from zarrflow.graph.filter_plan import FilterSpec, FilterTask

__all__ = ["apply_filter", "read_extended"]


def read_extended(layout: ArrayLayout, task: FilterTask, cval: float) -> np.ndarray:
    """The input block of ``task``: its region plus halo, with the border mode's items
    (far-side items for ``wrap``, ``cval`` for ``constant``) where the halo leaves the array."""
    meta = layout.metadata
    if all(isinstance(r, slice) for r in task.read):
        indexer = BasicIndexer(tuple(task.read), meta.shape, meta.chunks)
    else:
        sel = tuple(r if isinstance(r, slice) else np.asarray(r, dtype=np.intp) for r in task.read)
        indexer = OrthogonalIndexer(sel, meta.shape, meta.chunks)
    block = np.asarray(chunk_io.read(layout, indexer))
    for axis, take in enumerate(task.take):
        if take is None:
            continue
        positions = np.asarray(take, dtype=np.intp)
        block = np.take(block, np.maximum(positions, 0), axis=axis)
        if (positions < 0).any():
            where = [slice(None)] * block.ndim
            where[axis] = positions < 0
            block[tuple(where)] = cval
    return block


def apply_filter(spec: FilterSpec, source: ArrayLayout, target: ArrayLayout, task: FilterTask) -> int:
    """Filter one slab: returns the number of output items written."""
    block = read_extended(source, task, spec.cval)
    result = kernels.filter_block(block, spec.op, spec.rank, spec.footprint, spec.origin, spec.kernel_mode(),
                                  spec.cval, task.extended, spec.kernel)
    want = tuple(s.stop - s.start for s in task.out_region)
    if result.shape != want:  # a planning error, never user input
        raise AssertionError(f"kernel returned {result.shape} for the output region {task.out_region}")
    dtype = target.metadata.dtype
    if result.dtype != dtype:
        result = result.astype(dtype)
    indexer = BasicIndexer(task.out_region, target.metadata.shape, target.metadata.chunks)
    chunk_io.write(target, indexer, result)
    return int(result.size)

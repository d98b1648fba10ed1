"""Planning a rechunk (pure: no I/O, no dask).

A rechunk from source chunks ``a`` to target chunks ``b`` runs in one or more
*stages*; each stage copies an array with one chunking into an array with the next
(the last writes the target, the others intermediates in a temp store). A stage is
a set of independent tasks, each of which writes one *write block*: a box of whole
chunks of the stage's output (a multiple of its chunks, clipped to the shape), for
which it reads every source chunk the block touches. Whole output chunks per task
means no two tasks write the same chunk: no locks, and a task can run twice.

What a task holds (the budget ``max_mem`` is per task, i.e. per worker thread):

- the assembled block, ``prod(block) * itemsize``;
- ``read_batch`` stored source chunks fetched at once (counted at their decoded
  size: an incompressible chunk is stored at about that size) and one decoded source
  chunk, plus one buffer per source filter;
- one padded output chunk being encoded, its filter buffers, and ``read_batch``
  encoded output chunks waiting to be stored.

Cost is bytes moved: every stage writes each output chunk once and reads whole
source chunks, a chunk once per block that touches it. Per axis, a block grid reads
``sum over blocks of (source chunks the block's interval touches)`` chunks, and the
product over axes is the stage's chunk reads (the blocks form a product grid), so a
plan's I/O is computed exactly, in closed form per axis. The planner picks, for each
number of stages, intermediate chunkings between ``a`` and ``b`` (geometric steps,
rounded to multiples of the chunk they grow from or divide, so the grids stay
regular) and, per stage, the write block that reads least within the budget; then
the number of stages with the least total I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from zarrflow.errors import RechunkPlanError

__all__ = [
    "ArrayRechunkPlan",
    "RechunkPlanError",
    "Stage",
    "axis_reads",
    "format_bytes",
    "minimum_memory",
    "plan_array",
    "stage_blocks",
    "task_memory",
]

#: Source chunks a task fetches in one batch at most (latency hiding on object stores).
MAX_READ_BATCH = 8
#: Stages the planner considers at most.
MAX_STAGES = 4
#: Candidate write-block lengths considered per axis (fewer for many dimensions).
_CANDIDATES_PER_AXIS = 40
_SEARCH_LIMIT = 200_000


def format_bytes(n: float) -> str:
    """``1536 -> '1.50 kiB'`` (binary units, as dask prints them)."""
    for unit in ("B", "kiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} PiB"  # pragma: no cover - the loop returns


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _grid(shape: Sequence[int], chunks: Sequence[int]) -> tuple[int, ...]:
    return tuple(_ceil_div(s, c) if s else 0 for s, c in zip(shape, chunks))


def axis_reads(extent: int, source_chunk: int, block: int) -> int:
    """Source chunks read along one axis when blocks of length ``block`` tile
    ``[0, extent)``: the sum over blocks of the source chunks each one touches."""
    if extent == 0:
        return 0
    starts = np.arange(0, extent, block, dtype=np.int64)
    stops = np.minimum(starts + block, extent)
    return int(np.sum(-(-stops // source_chunk) - starts // source_chunk))


def task_memory(block: Sequence[int], source_chunks: Sequence[int], target_chunks: Sequence[int],
                itemsize: int, read_batch: int = 1, source_filters: int = 0, target_filters: int = 0) -> int:
    """Projected peak bytes one task holds (see the module docstring)."""
    src = math.prod(source_chunks) * itemsize
    tgt = math.prod(target_chunks) * itemsize
    return (math.prod(block) * itemsize
            + read_batch * src + src * (1 + source_filters)
            + tgt * (1 + target_filters) + read_batch * tgt)


def minimum_memory(source_chunks: Sequence[int], target_chunks: Sequence[int], itemsize: int,
                   source_filters: int = 0, target_filters: int = 0, shape: Sequence[int] | None = None) -> int:
    """The smallest ``max_mem`` any plan can run in: one output chunk per task, one
    source chunk at a time (an intermediate stage cannot do with less, since its
    first stage still decodes whole source chunks and its last writes whole target
    chunks)."""
    block = target_chunks if shape is None else tuple(min(b, max(s, 1)) for b, s in zip(target_chunks, shape))
    return task_memory(block, source_chunks, target_chunks, itemsize, 1, source_filters, target_filters)


@dataclass(frozen=True)
class Stage:
    """One pass: copy the array chunked ``source_chunks`` into one chunked
    ``target_chunks``, ``n_tasks`` tasks each writing a ``write_block`` of whole
    output chunks. Byte counts are decoded chunk bytes (what the codecs see)."""

    index: int
    source_chunks: tuple[int, ...]
    target_chunks: tuple[int, ...]
    write_block: tuple[int, ...]
    read_batch: int
    n_tasks: int
    chunks_read: int
    chunks_written: int
    bytes_read: int
    bytes_written: int
    task_memory: int
    intermediate: bool

    def blocks(self, shape: Sequence[int]) -> list[tuple[slice, ...]]:
        """The write blocks of this stage over ``shape``, in C order (task ``i`` writes
        ``blocks(shape)[i]``)."""
        return stage_blocks(shape, self.write_block)

    def describe(self) -> str:
        """One line for the plan's printout."""
        kind = "intermediate" if self.intermediate else "target"
        return (f"stage {self.index}: {self.source_chunks} -> {self.target_chunks} ({kind}): "
                f"{self.n_tasks} tasks writing blocks of {self.write_block}, "
                f"read {format_bytes(self.bytes_read)} ({self.chunks_read} chunks), "
                f"write {format_bytes(self.bytes_written)} ({self.chunks_written} chunks), "
                f"{format_bytes(self.task_memory)} per task")


@dataclass(frozen=True)
class ArrayRechunkPlan:
    """The stages that rechunk one array, and what they cost."""

    shape: tuple[int, ...]
    itemsize: int
    source_chunks: tuple[int, ...]
    target_chunks: tuple[int, ...]
    max_mem: int
    stages: tuple[Stage, ...] = field(default_factory=tuple)

    @property
    def nbytes(self) -> int:
        """Bytes of the array's data."""
        return math.prod(self.shape) * self.itemsize

    @property
    def n_tasks(self) -> int:
        """Tasks over all stages."""
        return sum(s.n_tasks for s in self.stages)

    @property
    def bytes_read(self) -> int:
        """Decoded bytes every stage reads, summed."""
        return sum(s.bytes_read for s in self.stages)

    @property
    def bytes_written(self) -> int:
        """Decoded bytes every stage writes, summed."""
        return sum(s.bytes_written for s in self.stages)

    @property
    def intermediate_bytes(self) -> int:
        """Decoded bytes of the intermediates (written to the temp store)."""
        return sum(s.bytes_written for s in self.stages if s.intermediate)

    @property
    def peak_task_memory(self) -> int:
        """The most any task of the plan holds."""
        return max((s.task_memory for s in self.stages), default=0)

    @property
    def intermediate_chunks(self) -> tuple[tuple[int, ...], ...]:
        """The chunkings of the intermediates, in stage order."""
        return tuple(s.target_chunks for s in self.stages[:-1])

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description (the resume record compares these)."""
        return {
            "shape": list(self.shape),
            "itemsize": self.itemsize,
            "source_chunks": list(self.source_chunks),
            "target_chunks": list(self.target_chunks),
            "stages": [{"source_chunks": list(s.source_chunks), "target_chunks": list(s.target_chunks),
                        "write_block": list(s.write_block), "read_batch": s.read_batch, "n_tasks": s.n_tasks}
                       for s in self.stages],
        }

    def on_workers(self, workers: int, threads_per_worker: int = 1) -> str:
        """How the plan would run on ``workers`` workers of ``threads_per_worker``
        threads: waves of tasks per stage and the memory each worker needs."""
        slots = max(1, workers * threads_per_worker)
        lines = []
        for s in self.stages:
            waves = _ceil_div(s.n_tasks, slots) if s.n_tasks else 0
            lines.append(f"stage {s.index}: {s.n_tasks} tasks in {waves} waves of up to {slots}, "
                         f"{format_bytes(s.task_memory * threads_per_worker)} per worker")
        return "\n".join(lines)


def stage_blocks(shape: Sequence[int], block: Sequence[int]) -> list[tuple[slice, ...]]:
    """The boxes of ``block`` tiling ``shape`` (clipped at the edges), in C order."""
    if not shape:
        return [()]
    axes = [[slice(start, min(start + b, n)) for start in range(0, n, b)] for n, b in zip(shape, block)]
    return [tuple(box) for box in product(*axes)]


def _axis_candidates(extent: int, source_chunk: int, target_chunk: int, limit: int) -> list[int]:
    """Write-block lengths worth trying along one axis: multiples of the output chunk
    (all of them when few), favouring multiples of lcm(source, target), which read
    every source chunk once; the whole extent is always a candidate."""
    extent = max(extent, 1)
    top = max(1, _ceil_div(extent, target_chunk))  # multiples of target_chunk up to the whole axis
    if top <= limit:
        ks = set(range(1, top + 1))
    else:
        ks = {1, top}
        k = 1
        while k < top and len(ks) < limit // 2:
            ks.add(k)
            k = max(k + 1, int(k * 1.5))
        step = math.lcm(source_chunk, target_chunk) // target_chunk
        k = step
        while k < top and len(ks) < limit:
            ks.add(k)
            k = k * 2 if k >= 8 * step else k + step
    return sorted({min(k * target_chunk, extent) for k in ks})


def _best_stage(shape: Sequence[int], itemsize: int, source_chunks: Sequence[int], target_chunks: Sequence[int],
                max_mem: int, source_filters: int, target_filters: int) -> tuple[tuple[int, ...], int, int] | None:
    """``(write_block, chunk_reads, read_batch)`` reading least within ``max_mem``
    (ties: the larger block, i.e. fewer tasks), or None if no block fits."""
    ndim = len(shape)
    if ndim == 0:
        if task_memory((), (), (), itemsize, 1, source_filters, target_filters) > max_mem:
            return None
        return (), 1, 1
    fixed = task_memory([0] * ndim, source_chunks, target_chunks, itemsize, 1, source_filters, target_filters)
    block_budget = (max_mem - fixed) // max(itemsize, 1)  # items
    if block_budget < 1:
        return None
    limit = max(4, min(_CANDIDATES_PER_AXIS, int(_SEARCH_LIMIT ** (1 / ndim))))
    candidates = [_axis_candidates(n, a, b, limit) for n, a, b in zip(shape, source_chunks, target_chunks)]
    reads = [[axis_reads(n, a, w) for w in cands] for n, a, cands in zip(shape, source_chunks, candidates)]
    # smallest product of the remaining axes' first candidates, for pruning
    rest_min = [1] * (ndim + 1)
    for d in range(ndim - 1, -1, -1):
        rest_min[d] = rest_min[d + 1] * candidates[d][0]
    if rest_min[0] > block_budget:
        return None
    best: list[Any] = [None, None, None]  # reads, -items, block

    def search(d: int, items: int, nreads: int, chosen: list[int]) -> None:
        if d == ndim:
            key = (nreads, -items)
            if best[0] is None or key < (best[0], best[1]):
                best[:] = [nreads, -items, tuple(chosen)]
            return
        for w, r in zip(candidates[d], reads[d]):
            if items * w * rest_min[d + 1] > block_budget:
                break
            if best[0] is not None and nreads * r * _min_rest_reads(d + 1) > best[0]:
                continue
            chosen.append(w)
            search(d + 1, items * w, nreads * r, chosen)
            chosen.pop()

    min_reads_from = [1] * (ndim + 1)
    for d in range(ndim - 1, -1, -1):
        min_reads_from[d] = min_reads_from[d + 1] * min(reads[d])

    def _min_rest_reads(d: int) -> int:
        return min_reads_from[d]

    search(0, 1, 1, [])
    if best[2] is None:
        return None
    block = best[2]
    spare = max_mem - task_memory(block, source_chunks, target_chunks, itemsize, 1, source_filters, target_filters)
    per_batch = (math.prod(source_chunks) + math.prod(target_chunks)) * itemsize
    read_batch = int(max(1, min(MAX_READ_BATCH, 1 + spare // max(per_batch, 1))))
    return block, best[0], read_batch


def _make_stage(index: int, shape: Sequence[int], itemsize: int, a: tuple[int, ...], b: tuple[int, ...],
                max_mem: int, source_filters: int, target_filters: int, intermediate: bool) -> Stage | None:
    found = _best_stage(shape, itemsize, a, b, max_mem, source_filters, target_filters)
    if found is None:
        return None
    block, chunk_reads, read_batch = found
    n_tasks = math.prod(_grid(shape, block)) if shape else 1
    chunks_written = math.prod(_grid(shape, b)) if shape else 1
    if shape and 0 in shape:
        n_tasks = chunk_reads = chunks_written = 0
    return Stage(index=index, source_chunks=a, target_chunks=b, write_block=block, read_batch=read_batch,
                 n_tasks=n_tasks, chunks_read=chunk_reads, chunks_written=chunks_written,
                 bytes_read=chunk_reads * math.prod(a) * itemsize,
                 bytes_written=chunks_written * math.prod(b) * itemsize,
                 task_memory=task_memory(block, a, b, itemsize, read_batch, source_filters, target_filters),
                 intermediate=intermediate)


def _round_step(value: float, start: int, end: int, extent: int, prefer_start: bool) -> int:
    """An intermediate chunk length near ``value`` between ``start`` and ``end``:
    a multiple of the smaller of the two (so one of the stages it joins reads or
    writes that axis exactly), and a divisor of the larger when one is close."""
    extent = max(extent, 1)
    small, large = min(start, end), max(start, end)
    if small == large:
        return min(small, extent)
    multiples = [k * small for k in range(1, large // small + 1)]
    exact = [m for m in multiples if large % m == 0]
    nearest = min(multiples, key=lambda m: (abs(math.log(m / value)), m))
    close = [m for m in exact if abs(math.log(m / value)) <= math.log(1.5)]
    if close and not prefer_start:
        nearest = min(close, key=lambda m: abs(math.log(m / value)))
    return max(1, min(nearest, extent))


def _intermediates(shape: Sequence[int], a: tuple[int, ...], b: tuple[int, ...], n_stages: int,
                   prefer_start: bool) -> list[tuple[int, ...]]:
    """Geometric steps from ``a`` to ``b`` in ``n_stages`` stages."""
    out = []
    for i in range(1, n_stages):
        t = i / n_stages
        out.append(tuple(_round_step(x ** (1 - t) * y ** t, min(x, max(n, 1)), min(y, max(n, 1)), n, prefer_start)
                         for x, y, n in zip(a, b, shape)))
    return out


def _consolidate(chunks: tuple[int, ...], limits: tuple[int, ...], shape: Sequence[int], budget: int) -> list[int]:
    """``chunks`` grown by whole multiples towards ``limits`` (at most the whole axis)
    while the box holds at most ``budget`` items; the axes that can grow most first."""
    out = list(chunks)
    order = sorted(range(len(chunks)), key=lambda d: -(min(limits[d], max(shape[d], 1)) / chunks[d]))
    for d in order:
        cap = min(limits[d], max(shape[d], 1))
        if cap <= out[d]:
            continue
        rest = math.prod(out) // out[d]
        k = min(_ceil_div(cap, chunks[d]), budget // max(rest * chunks[d], 1))
        if k > 1:
            out[d] = min(k * chunks[d], max(shape[d], 1))
    return out


def _two_stage_candidates(shape: Sequence[int], itemsize: int, a: tuple[int, ...], b: tuple[int, ...],
                          max_mem: int, source_filters: int, target_filters: int) -> list[tuple[int, ...]]:
    """Intermediate chunkings for a two-stage plan: the elementwise minimum of the
    largest block of source chunks and the largest block of target chunks that fit
    (the first stage then reads every source chunk once and the second writes
    whole target blocks), also rounded to divisors of the target chunk so the second
    stage reads exactly."""
    fixed = task_memory([0] * len(a), a, b, itemsize, 1, source_filters, target_filters)
    out: list[tuple[int, ...]] = []
    # the overhead of the stages depends on the intermediate chunk itself, so try a few
    # budgets below the whole one as well
    for share in (1.0, 0.9, 0.8, 0.65, 0.5):
        budget = max(1, int((max_mem - fixed) * share) // itemsize)
        read_block = _consolidate(a, b, shape, budget)
        write_block = _consolidate(b, a, shape, budget)
        base = [max(1, min(r, w)) for r, w in zip(read_block, write_block)]
        options = []
        for d, v in enumerate(base):
            opts = {v}
            # the same number of chunks along the axis, balanced (less padding at the edge)
            n, unit = max(shape[d], 1), min(a[d], b[d])
            pieces = _ceil_div(n, v)
            opts.add(max(1, min(v, _ceil_div(_ceil_div(n, pieces), unit) * unit)))
            if b[d] > a[d] and v < b[d]:
                # a multiple of the source chunk that divides the target chunk, near v
                exact = [m for m in range(a[d], v + 1, a[d]) if b[d] % m == 0 and m * 2 >= v]
                if exact:
                    opts.add(max(exact))
            options.append(sorted(opts))
        for combo in product(*options):
            if combo != a and combo != b and combo not in out:
                out.append(tuple(combo))
    return out


def plan_array(shape: Sequence[int], itemsize: int, source_chunks: Sequence[int], target_chunks: Sequence[int],
               max_mem: int, *, source_filters: int = 0, target_filters: int = 0, temp_filters: int | None = None,
               max_stages: int = MAX_STAGES) -> ArrayRechunkPlan:
    """The plan with the least total I/O for rechunking one array within ``max_mem``
    bytes per task (ties: fewer stages). Raises :class:`RechunkPlanError` naming the
    smallest ``max_mem`` that works when nothing fits."""
    shape = tuple(int(s) for s in shape)
    a = tuple(int(c) for c in source_chunks)
    b = tuple(int(c) for c in target_chunks)
    if not (len(shape) == len(a) == len(b)):
        raise RechunkPlanError(f"shape {shape}, source chunks {a} and target chunks {b} differ in dimensions")
    if any(c < 1 for c in a + b):
        raise RechunkPlanError(f"chunk lengths must be >= 1: source {a}, target {b}")
    itemsize = max(1, int(itemsize))
    temp_filters = target_filters if temp_filters is None else temp_filters
    need = minimum_memory(a, b, itemsize, source_filters, target_filters, shape)
    if max_mem < need:
        raise RechunkPlanError(
            f"max_mem={max_mem} ({format_bytes(max_mem)}) is too small to rechunk {shape} from chunks {a} "
            f"to {b}: a task must hold at least one target chunk and one source chunk; the smallest max_mem "
            f"that works is {need} ({format_bytes(need)})")
    chains: list[list[tuple[int, ...]]] = [[a, b]]
    if max_stages >= 2 and a != b:
        chains += [[a, c, b] for c in _two_stage_candidates(shape, itemsize, a, b, max_mem,
                                                             source_filters, temp_filters)]
    for n_stages in range(2, max(1, max_stages) + 1):
        for prefer_start in (False, True):
            chains.append([a, *_intermediates(shape, a, b, n_stages, prefer_start), b])
    best: ArrayRechunkPlan | None = None
    seen = set()
    for chain in chains:
        key = tuple(chain)
        if key in seen or (len(chain) > 2 and len(set(chain)) < len(chain)):
            continue  # tried already, or a repeated chunking (a wasted stage)
        seen.add(key)
        n_stages = len(chain) - 1
        stages = []
        for i in range(n_stages):
            last = i == n_stages - 1
            stage = _make_stage(i + 1, shape, itemsize, chain[i], chain[i + 1], max_mem,
                                source_filters if i == 0 else temp_filters,
                                target_filters if last else temp_filters, intermediate=not last)
            if stage is None:
                break
            stages.append(stage)
        else:
            plan = ArrayRechunkPlan(shape, itemsize, a, b, max_mem, tuple(stages))
            cost = plan.bytes_read + plan.bytes_written
            if best is None or cost < best.bytes_read + best.bytes_written:
                best = plan
    if best is None:  # pragma: no cover - the one-stage plan fits whenever max_mem >= need
        raise RechunkPlanError(f"no plan fits max_mem={max_mem} for shape {shape}")
    return best

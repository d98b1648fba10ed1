"""Pure planning (zarrflow.graph.plan) against brute force."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from zarrflow.graph import plan


def brute_writers(grid, region, chunks):
    """Target chunk -> set of blocks that write into it (by brute force over items)."""
    writers = {}
    bounds = [plan.boundaries(g) for g in grid]
    for coords in itertools.product(*(range(len(g)) for g in grid)):
        ranges = [range(region[a].start + bounds[a][i], region[a].start + bounds[a][i + 1])
                  for a, i in enumerate(coords)]
        for item in itertools.product(*ranges):
            key = tuple(x // c for x, c in zip(item, chunks))
            writers.setdefault(key, set()).add(coords)
    return writers


def split(n, sizes):
    out, left, i = [], n, 0
    while left > 0:
        s = min(sizes[i % len(sizes)], left)
        out.append(s)
        left -= s
        i += 1
    return tuple(out) or (0,)


CASES = [
    ((25, 33), (5, 7), None, ((6, 8))),
    ((25, 33), (5, 7), (slice(3, 20), slice(5, 30)), (4, 9)),
    ((30,), (10,), (slice(10, 30),), (10,)),
    ((30,), (10,), (slice(4, 27),), (3, 5, 11)),
    ((12, 12), (4, 4), (slice(1, 11), slice(0, 12)), (3, 4)),
]


@pytest.mark.parametrize("shape, chunks, region, sizes", CASES)
def test_alignment_and_regrouping_match_brute_force(shape, chunks, region, sizes):
    region = plan.normalize_region(region, shape)
    rshape = plan.region_shape(region)
    sizes = sizes if isinstance(sizes, tuple) else (sizes,)
    grid = tuple(split(n, sizes if len(sizes) != len(rshape) else (sizes[a],)) for a, n in enumerate(rshape))
    writers = brute_writers(grid, region, chunks)
    shared = {k for k, w in writers.items() if len(w) > 1}
    assert plan.is_aligned(grid, region, chunks) == (not shared)
    count, coords = plan.misaligned_chunks(grid, region, chunks, shape)
    assert count == len(shared)
    assert set(coords) == shared
    regrouped = plan.regroup_grid(grid, region, chunks)
    assert tuple(sum(g) for g in regrouped) == rshape
    assert plan.is_aligned(regrouped, region, chunks)
    assert all(len(w) == 1 for w in brute_writers(regrouped, region, chunks).values())


def test_aligned_blocks_are_kept():
    grid = ((10, 10, 5), (14, 14, 5))
    region = plan.normalize_region(None, (25, 33))
    assert plan.is_aligned(grid, region, (5, 7))
    assert plan.regroup_grid(grid, region, (5, 7)) == grid


def test_read_grid_multiples_only():
    assert plan.read_grid((25, 33), (5, 7)) == ((5,) * 5, (7, 7, 7, 7, 5))
    assert plan.read_grid((25, 33), (5, 7), (10, -1)) == ((10, 10, 5), (33,))
    with pytest.raises(ValueError, match="multiple"):
        plan.read_grid((25, 33), (5, 7), (6, 7))


def test_normalize_region():
    assert plan.normalize_region((slice(2, None),), (10, 4)) == (slice(2, 10), slice(0, 4))
    with pytest.raises(ValueError, match="step"):
        plan.normalize_region(slice(0, 10, 2), (10,))
    with pytest.raises(TypeError):
        plan.normalize_region((3,), (10,))


def test_halo_plan_clips_at_edges():
    entries = plan.halo_plan((10,), (4,), depth=2)
    assert [(e[1], e[2], e[3]) for e in entries] == [
        ((slice(0, 4),), (slice(0, 6),), (slice(0, 4),)),
        ((slice(4, 8),), (slice(2, 10),), (slice(2, 6),)),
        ((slice(8, 10),), (slice(6, 10),), (slice(2, 4),)),
    ]
    with pytest.raises(ValueError):
        plan.halo_plan((10,), (4,), depth=-1)


def test_slab_plan():
    assert plan.slab_plan((5, 3, 4), (2, 2, 2), axis=0) == [
        (slice(0, 2), slice(0, 3), slice(0, 4)),
        (slice(2, 4), slice(0, 3), slice(0, 4)),
        (slice(4, 5), slice(0, 3), slice(0, 4)),
    ]


def test_plan_and_tasks_import_no_dask():
    code = ("import sys, zarrflow, zarrflow.graph.plan, zarrflow.graph.tasks; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"

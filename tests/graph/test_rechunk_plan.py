"""The rechunk planner on paper (no data, no I/O): budgets, I/O counts, stages."""

from __future__ import annotations

import math
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrflow.errors import RechunkPlanError
from zarrflow.graph.rechunk_plan import axis_reads, minimum_memory, plan_array, stage_blocks, task_memory


def brute_force_reads(shape, source_chunks, block):
    """Source chunks every block touches, counted block by block."""
    total = 0
    for box in stage_blocks(shape, block):
        total += math.prod(-(-s.stop // c) - s.start // c for s, c in zip(box, source_chunks))
    return total


def check_plan(plan, shape, a, b, max_mem):
    assert plan.stages[0].source_chunks == tuple(a)
    assert plan.stages[-1].target_chunks == tuple(b)
    for prev, nxt in zip(plan.stages, plan.stages[1:]):
        assert prev.target_chunks == nxt.source_chunks
    assert [s.intermediate for s in plan.stages] == [True] * (len(plan.stages) - 1) + [False]
    for s in plan.stages:
        assert s.task_memory <= max_mem
        for w, c, n in zip(s.write_block, s.target_chunks, shape):
            assert w % c == 0 or w == max(n, 1), (s.write_block, s.target_chunks)
        blocks = s.blocks(shape)
        assert len(blocks) == s.n_tasks or 0 in shape
        # the blocks tile the array exactly
        covered = sum(math.prod(r.stop - r.start for r in box) for box in blocks)
        assert covered == math.prod(shape)
        if 0 not in shape:
            assert s.chunks_read == brute_force_reads(shape, s.source_chunks, s.write_block)
            assert s.chunks_written == math.prod(-(-n // c) for n, c in zip(shape, s.target_chunks))
        assert s.bytes_read == s.chunks_read * math.prod(s.source_chunks) * plan.itemsize


def test_axis_reads_closed_form():
    assert axis_reads(100, 10, 10) == 10
    assert axis_reads(100, 10, 15) == 13  # six blocks of 15 touch 2 chunks each, [90, 100) one
    assert axis_reads(100, 10, 15) == brute_force_reads((100,), (10,), (15,))
    assert axis_reads(0, 10, 15) == 0
    assert axis_reads(7, 10, 3) == 3


def test_era5_plan_on_paper():
    """(350640, 721, 1440) f4 from (24, 721, 1440) to (8760, 10, 10), 2 GB per task."""
    shape, a, b, mem = (350640, 721, 1440), (24, 721, 1440), (8760, 10, 10), 2_000_000_000
    plan = plan_array(shape, 4, a, b, mem)
    check_plan(plan, shape, a, b, mem)
    nbytes = math.prod(shape) * 4
    assert len(plan.stages) == 2
    # the first stage reads every source chunk once; the second reads the intermediate once
    assert plan.stages[0].chunks_read == math.prod(-(-n // c) for n, c in zip(shape, a)) == 14610
    assert plan.stages[0].bytes_read == nbytes
    assert plan.stages[1].bytes_read == plan.stages[0].bytes_written
    # total I/O at most ~2.05x the array each way (edge chunks are stored whole)
    assert plan.bytes_read <= 2.05 * nbytes and plan.bytes_written <= 2.1 * nbytes
    # pinned: a change to the planner shows up here
    assert plan.intermediate_chunks == ((120, 10, 1440),)
    assert [s.write_block for s in plan.stages] == [(360, 721, 1440), (8760, 30, 1440)]
    assert [s.n_tasks for s in plan.stages] == [974, 1025]
    assert plan.intermediate_bytes == 213306 * 120 * 10 * 1440 * 4
    text = plan.on_workers(100, 1)
    assert "stage 1: 974 tasks in 10 waves of up to 100" in text
    assert "stage 2: 1025 tasks in 11 waves of up to 100" in text
    # the direct plan would read the source many times over
    direct = plan_array(shape, 4, a, b, mem, max_stages=1)
    assert direct.bytes_read > 10 * nbytes


def test_plans_are_deterministic():
    args = ((2048, 2048, 2048), 4, (1, 2048, 2048), (512, 64, 64), 512 * 2**20)
    assert plan_array(*args) == plan_array(*args)
    plan = plan_array(*args)
    check_plan(plan, *args[:1], args[2], args[3], args[4])
    assert plan.bytes_read == plan.bytes_written == 2 * 2048**3 * 4  # read once, write once, twice


def test_too_small_budget_names_the_smallest_that_works():
    shape, a, b = (100, 100), (10, 100), (100, 10)
    need = minimum_memory(a, b, 8, shape=shape)
    assert need == task_memory(b, a, b, 8)
    with pytest.raises(RechunkPlanError, match=f"smallest max_mem that works is {need} "):
        plan_array(shape, 8, a, b, need - 1)
    plan = plan_array(shape, 8, a, b, need)
    check_plan(plan, shape, a, b, need)


def test_dimension_mismatch_and_bad_chunks():
    with pytest.raises(RechunkPlanError, match="differ in dimensions"):
        plan_array((10, 10), 4, (5, 5), (5,), 10**6)
    with pytest.raises(RechunkPlanError, match=">= 1"):
        plan_array((10, 10), 4, (5, 5), (0, 5), 10**6)


def test_zero_d_and_empty_arrays():
    plan = plan_array((), 8, (), (), 1000)
    assert [s.n_tasks for s in plan.stages] == [1]
    plan = plan_array((0, 10), 4, (5, 5), (3, 3), 10**6)
    assert plan.n_tasks == 0 and plan.bytes_read == 0


def test_filters_count_in_the_budget():
    base = plan_array((1000, 1000), 8, (10, 1000), (1000, 10), 10**7)
    filtered = plan_array((1000, 1000), 8, (10, 1000), (1000, 10), 10**7, source_filters=2, target_filters=2)
    assert filtered.stages[0].task_memory <= 10**7
    assert math.prod(filtered.stages[0].write_block) <= math.prod(base.stages[0].write_block)


@st.composite
def plan_cases(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.integers(0 if ndim else 1, 40)) for _ in range(ndim))
    a = tuple(draw(st.integers(1, max(n, 1) + 3)) for n in shape)
    b = tuple(draw(st.integers(1, max(n, 1) + 3)) for n in shape)
    itemsize = draw(st.sampled_from([1, 2, 4, 8, 16]))
    need = minimum_memory(a, b, itemsize, shape=shape)
    mem = need + draw(st.integers(0, 40 * need))
    return shape, itemsize, a, b, mem


@settings(max_examples=300, deadline=None)
@given(plan_cases())
def test_random_plans_fit_their_budget_and_count_io_exactly(case):
    shape, itemsize, a, b, mem = case
    plan = plan_array(shape, itemsize, a, b, mem)
    check_plan(plan, shape, a, b, mem)
    assert plan == plan_array(shape, itemsize, a, b, mem)
    direct = plan_array(shape, itemsize, a, b, mem, max_stages=1)
    assert plan.bytes_read + plan.bytes_written <= direct.bytes_read + direct.bytes_written


def test_more_budget_never_reads_more():
    shape, a, b = (64, 64, 64), (1, 64, 64), (64, 4, 4)
    costs = []
    for mem in (2**17, 2**18, 2**20, 2**22):
        plan = plan_array(shape, 4, a, b, mem)
        costs.append(plan.bytes_read + plan.bytes_written)
    assert costs == sorted(costs, reverse=True)


@pytest.mark.parametrize("a,b", list(product([(7, 13), (10, 10), (1, 100)], [(11, 3), (100, 1), (10, 10)])))
def test_small_grids(a, b):
    plan = plan_array((100, 100), 8, a, b, 50_000)
    check_plan(plan, (100, 100), a, b, 50_000)

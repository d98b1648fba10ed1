"""The filter plan (pure): arguments read as scipy reads them, tasks that write every
output chunk exactly once, halos of size // 2 shifted by origin (deeper than a chunk
when the window is), none along axes not filtered, reads from the far side for wrap."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("scipy")

from hypothesis import given, settings
from hypothesis import strategies as st

from zarrflow.graph import filter_plan


def spec(name="median_filter", shape=(10, 20, 30), dtype="u2", **kw):
    return filter_plan.filter_spec(name, shape, dtype, **kw)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=3).flatmap(
    lambda shape: st.tuples(st.just(tuple(shape)), st.tuples(*(st.integers(1, n) for n in shape)),
                            st.tuples(*(st.integers(1, 7) for _ in shape)), st.sampled_from([1, 50, 10**6]))))
def test_tasks_write_each_output_chunk_once(args):
    shape, chunks, sizes, budget = args
    s = spec(shape=shape, size=sizes, mode="wrap")
    tasks = filter_plan.plan_filter(shape, chunks, 2, s, budget)
    seen = np.zeros(shape, dtype=int)
    for t in tasks:
        seen[t.out_region] += 1
        for region, c, n in zip(t.out_region, chunks, shape):  # whole chunks only
            assert region.start % c == 0 and (region.stop % c == 0 or region.stop == n)
        for a, (region, (before, after)) in enumerate(zip(t.out_region, s.halos)):
            length = region.stop - region.start
            if t.extended[a]:
                assert t.block_shape()[a] == length + before + after
            else:
                assert t.block_shape()[a] == length
    assert (seen == 1).all()


def test_slice_by_slice_has_no_halo_along_the_slice_axis():
    s = spec(size=5, axes=(1, 2))
    assert s.footprint.shape == (1, 5, 5) and s.halos == ((0, 0), (2, 2), (2, 2)) and s.filtered_axes == (1, 2)
    tasks = filter_plan.plan_filter((10, 20, 30), (1, 20, 30), 2, s, 2 * 20 * 30 * 3)
    assert [t.out_region[0] for t in tasks] == [slice(i, min(i + 3, 10)) for i in range(0, 10, 3)]
    assert all(t.read[0] == t.out_region[0] and t.take == (None,) * 3 for t in tasks)


def test_footprint_of_depth_one_is_slice_by_slice():
    s = spec(footprint=np.ones((1, 3, 3)))
    assert s.filtered_axes == (1, 2) and s.halos[0] == (0, 0)


def test_halo_deeper_than_a_chunk_and_origin():
    s = spec(shape=(40,), size=9, origin=-3)  # halo: 9 // 2 - 3 = 1 before, 7 after
    assert s.halos == ((1, 7),)
    tasks = filter_plan.plan_filter((40,), (2,), 2, s, 1)
    middle = tasks[5]
    assert middle.out_region == (slice(10, 12),) and middle.read == (slice(9, 19),) and middle.take == (None,)


@pytest.mark.parametrize("mode,take", [
    ("constant", (-1, -1, 0, 1, 2, 3)),
    ("reflect", (1, 0, 0, 1, 2, 3)),
    ("mirror", (2, 1, 0, 1, 2, 3)),
    ("nearest", (0, 0, 0, 1, 2, 3)),
])
def test_edges_by_mode(mode, take):
    """The first chunk [0, 2) of a size-5 window: positions -2..3 from items 0..3."""
    s = spec(shape=(10,), size=5, mode=mode)
    first = filter_plan.plan_filter((10,), (2,), 2, s, 1)[0]
    assert first.read == (slice(0, 4),) and first.take == (take,) and first.extended == (True,)


def test_wrap_reads_the_far_side():
    s = spec(shape=(10,), size=5, mode="wrap")
    first = filter_plan.plan_filter((10,), (2,), 2, s, 1)[0]
    assert first.read == ((0, 1, 2, 3, 8, 9),)
    assert first.take == ((4, 5, 0, 1, 2, 3),)  # positions -2..3 -> items 8, 9, 0, 1, 2, 3


@pytest.mark.parametrize("kw,rank_op", [
    (dict(name="median_filter", size=3), ("rank", 4)),
    (dict(name="percentile_filter", size=3, percentile=100), ("maximum", 8)),
    (dict(name="percentile_filter", size=3, percentile=-50), ("rank", 4)),
    (dict(name="rank_filter", size=3, rank=-1), ("maximum", 8)),
    (dict(name="rank_filter", size=3, rank=0), ("minimum", 0)),
    (dict(name="minimum_filter", footprint=np.eye(3)), ("minimum", 0)),
])
def test_ranks_as_scipy_resolves_them(kw, rank_op):
    s = spec(shape=(8, 8), **kw)
    assert (s.op, s.rank) == rank_op


@pytest.mark.parametrize("kw,error,match", [
    (dict(size=3, axes=(3,)), ValueError, "axis 3 is out of range"),
    (dict(size=3, axes=(1, -2)), ValueError, "name an axis twice"),
    (dict(footprint=np.ones((3, 3))), ValueError, r"footprint has 2 dimension\(s\) but the filter runs over 3"),
    (dict(footprint=np.zeros((3, 3, 3))), ValueError, "selects no point"),
    (dict(size=0), ValueError, "positive integers"),
    (dict(size=(3, 3)), ValueError, "one per filtered axis"),
    (dict(size=3, origin=2), ValueError, "origin 2 is out of range for the window of length 3"),
    (dict(size=3, mode="edge"), ValueError, "mode='edge' is not one of"),
    (dict(size=3, mode=("wrap", "wrap", "wrap")), ValueError, "sequence of modes"),
    (dict(size=3, kernel="gpu"), ValueError, "kernel='gpu'"),
    (dict(size=3, mode="constant", cval=-1), ValueError, r"cval=-1.0 is outside the range of uint16"),
    (dict(), ValueError, "give size or footprint"),
])
def test_bad_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        spec(**kw)


@pytest.mark.parametrize("dtype,match", [("f2", "float16"), ("c8", "complex64"), ("M8[s]", "datetime64")])
def test_unsupported_dtypes(dtype, match):
    with pytest.raises(TypeError, match=match):
        spec(dtype=dtype, size=3)


def test_bad_rank_and_percentile():
    with pytest.raises(ValueError, match="rank=9 is not within the footprint's 9 point"):
        spec(name="rank_filter", size=3, shape=(5, 5), rank=9)
    with pytest.raises(ValueError, match="percentile=101"):
        spec(name="percentile_filter", size=3, shape=(5, 5), percentile=101)


def test_describe_names_window_halo_and_tasks():
    s = spec(size=5, axes=(1, 2))
    tasks = filter_plan.plan_filter((10, 20, 30), (1, 20, 30), 2, s)
    line = filter_plan.describe(s, (10, 20, 30), tasks, 2)
    assert line.startswith("median_filter: window 1x5x5 over shape (10, 20, 30), halo (before+after) per axis "
                           "[0+0, 2+2, 2+2], 1 task(s)")


def test_plan_is_deterministic():
    s = spec(size=3)
    a = filter_plan.plan_filter((10, 20, 30), (3, 7, 11), 2, s, 100)
    b = filter_plan.plan_filter((10, 20, 30), (3, 7, 11), 2, s, 100)
    assert a == b and len(a) == len(list(itertools.product(range(4), range(3), range(3))))

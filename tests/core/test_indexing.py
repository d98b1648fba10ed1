"""Pure tests of zarrflow.core.indexing, with numpy as the oracle.

Reads and writes are simulated over an in-memory chunk grid: every chunk is padded
to the full chunk shape (with a sentinel), projections are applied exactly as the
Array applies them, and the result is compared with numpy indexing.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zarrflow.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    ChunkProjection,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
    check_fields,
    check_no_multi_fields,
    ensure_tuple,
    is_basic_selection,
    is_coordinate_selection,
    is_mask_selection,
    is_pure_fancy_indexing,
    is_pure_orthogonal_indexing,
    is_total_slice,
    make_slice_selection,
    normalize_integer_selection,
    pop_fields,
    replace_ellipsis,
)
from zarrflow.errors import (
    ArrayIndexError,
    BoundsCheckError,
    NegativeStepError,
)

SENTINEL = -999
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- simulated chunk grid ----------------------------------------------------------------


def grid_shape(shape, chunks):
    return tuple(math.ceil(n / c) for n, c in zip(shape, chunks))


def padded_chunk(a, chunks, coords, fill=SENTINEL):
    """The chunk at ``coords``, padded to the full chunk shape with ``fill``."""
    region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, chunks))
    part = a[region]
    if part.ndim == 0:
        return part.copy()
    pad = [(0, c - s) for c, s in zip(chunks, part.shape)]
    return np.pad(part, pad, constant_values=fill)


def sim_read(a, chunks, indexer):
    """Assemble a selection from projections, as the Array does on read."""
    out = np.full(indexer.shape, SENTINEL, dtype=a.dtype)
    written = np.zeros(indexer.shape, dtype=int)
    seen = set()
    for p in indexer:
        assert isinstance(p, ChunkProjection)
        assert all(type(c) is int for c in p.chunk_coords)
        assert p.chunk_coords not in seen, "each chunk is projected once"
        seen.add(p.chunk_coords)
        chunk = padded_chunk(a, chunks, p.chunk_coords)
        part = chunk[p.chunk_selection]
        if indexer.drop_axes:
            part = part.squeeze(axis=indexer.drop_axes)
        assert out[p.out_selection].shape == part.shape
        out[p.out_selection] = part
        written[p.out_selection] += 1
    # every output element written exactly once
    assert np.all(written == 1)
    return out.reshape(indexer.sel_shape)


def sim_write(shape, chunks, indexer, value):
    """Apply a write through projections into a zero chunk grid; return the array."""
    value = np.asarray(value).reshape(indexer.shape)
    store = {}
    for p in indexer:
        chunk = store.setdefault(p.chunk_coords, np.zeros(chunks, dtype=value.dtype))
        part = value[p.out_selection]
        if indexer.drop_axes:
            part = np.expand_dims(part, indexer.drop_axes)
        chunk[p.chunk_selection] = part
    out = np.zeros(shape, dtype=value.dtype)
    for coords, chunk in store.items():
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, chunks))
        inbound = tuple(slice(0, s) for s in out[region].shape) if shape else ()
        out[region] = chunk[inbound]
        # nothing written past the array edge
        edge = chunk.copy()
        edge[inbound] = 0
        assert not edge.any(), "chunk_selection reached past the array edge"
    return out


def brute_complete(shape, chunks, p, drop_axes):
    """True iff chunk_selection takes every in-bounds element in natural order."""
    idx = np.arange(math.prod(chunks)).reshape(chunks)
    sel = idx[p.chunk_selection]
    offsets = [i * c for i, c in zip(p.chunk_coords, chunks)]
    inbound = tuple(slice(0, min(c, n - o)) for c, n, o in zip(chunks, shape, offsets))
    want = idx[inbound].ravel()
    got = np.asarray(sel).ravel()
    return got.shape == want.shape and bool(np.array_equal(got, want))


def check_indexer(a, chunks, indexer, expected):
    """Read, write and is_complete checks against a numpy result ``expected``."""
    got = sim_read(a, chunks, indexer)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    for p in indexer:
        assert p.is_complete == brute_complete(a.shape, chunks, p, indexer.drop_axes), p


# --- strategies --------------------------------------------------------------------------


@st.composite
def shape_chunks(draw, min_dims=0, max_dims=4, min_len=0):
    shape = tuple(draw(st.lists(st.integers(min_len, 6), min_size=min_dims, max_size=max_dims)))
    chunks = tuple(draw(st.integers(1, n + 2)) for n in shape)
    return shape, chunks


def int_index(n):
    return st.integers(-n, n - 1)


def any_slice(n):
    bound = st.none() | st.integers(-n - 2, n + 2)
    return st.builds(slice, bound, bound, st.none() | st.integers(1, 4))


@st.composite
def basic_selection(draw, shape):
    items = [draw(int_index(n) | any_slice(n)) if n else draw(any_slice(n)) for n in shape]
    # sometimes leave trailing axes out, or use an Ellipsis
    how = draw(st.sampled_from(["full", "short", "ellipsis"]))
    if how == "short":
        items = items[: draw(st.integers(0, len(items)))]
    elif how == "ellipsis":
        i = draw(st.integers(0, len(items)))
        j = draw(st.integers(i, len(items)))
        items = items[:i] + [Ellipsis] + items[j:]
    return tuple(items)


def int_array(n, max_size=7):
    if n == 0:
        return st.just(np.array([], dtype=np.int64))
    return st.lists(int_index(n), min_size=0, max_size=max_size).map(
        lambda v: np.array(v, dtype=np.int64)
    )


def bool_array(n):
    return st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.array(v, dtype=bool))


@st.composite
def orthogonal_selection(draw, shape):
    items = []
    for n in shape:
        options = [any_slice(n), int_array(n), bool_array(n)]
        if n:
            options.append(int_index(n))
        item = draw(st.one_of(*options))
        if isinstance(item, np.ndarray) and draw(st.booleans()):
            item = item.tolist()  # lists must behave like arrays
        items.append(item)
    return tuple(items)


def orthogonal_oracle(a, selection):
    """numpy ``oindex``: np.ix_ over per-axis index arrays, then drop integer axes."""
    if a.ndim == 0:
        return a[()]
    per_axis, drop = [], []
    for axis, (s, n) in enumerate(zip(selection, a.shape)):
        if isinstance(s, slice):
            per_axis.append(np.arange(*s.indices(n)))
        elif isinstance(s, (int, np.integer)):
            per_axis.append(np.array([s]))
            drop.append(axis)
        else:
            s = np.asarray(s)
            if s.size == 0:
                s = s.astype(np.intp)
            per_axis.append(np.flatnonzero(s) if s.dtype == bool else s)
    return a[np.ix_(*per_axis)].squeeze(axis=tuple(drop))


def orthogonal_assign(shape, selection, value):
    out = np.zeros(shape, dtype=value.dtype)
    if not shape:
        out[()] = value
        return out
    per_axis = []
    for s, n in zip(selection, shape):
        if isinstance(s, slice):
            per_axis.append(np.arange(*s.indices(n)))
        elif isinstance(s, (int, np.integer)):
            per_axis.append(np.array([s]))
        else:
            s = np.asarray(s)
            if s.size == 0:
                s = s.astype(np.intp)
            per_axis.append(np.flatnonzero(s) if s.dtype == bool else s)
    ix = np.ix_(*per_axis)
    out[ix] = value.reshape(out[ix].shape)
    return out


@st.composite
def coordinate_selection(draw, shape):
    ndim = len(shape)
    if any(n == 0 for n in shape):
        bshape = (0,)
    else:
        bshape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    coords = []
    for n in shape:
        kind = draw(st.sampled_from(["full", "scalar", "bcast"])) if n else "full"
        if kind == "scalar" or (kind == "bcast" and not bshape):
            coords.append(draw(int_index(n)))
            continue
        sub = bshape
        if kind == "bcast":  # a shape broadcastable to bshape (some axes of length 1)
            sub = tuple(1 if draw(st.booleans()) else d for d in bshape)
        size = math.prod(sub)
        vals = draw(st.lists(int_index(n), min_size=size, max_size=size)) if n else []
        coords.append(np.array(vals, dtype=np.int64).reshape(sub))
    assert len(coords) == ndim
    return tuple(coords)


@st.composite
def block_selection(draw, shape, chunks):
    items = []
    for n, c in zip(shape, chunks):
        nb = math.ceil(n / c)
        opts = [st.just(slice(None))]
        if nb:
            opts += [
                int_index(nb),
                st.builds(
                    slice,
                    st.none() | int_index(nb),
                    st.none() | st.integers(-nb - 2, nb + 2),
                ),
            ]
        items.append(draw(st.one_of(*opts)))
    return tuple(items)


def block_oracle_selection(selection, shape, chunks):
    out = []
    for s, n, c in zip(selection, shape, chunks):
        blocks = range(math.ceil(n / c))
        picked = [blocks[s]] if isinstance(s, int) else list(blocks[s])
        if not picked:
            out.append(slice(0, 0))
        else:
            out.append(slice(picked[0] * c, (picked[-1] + 1) * c))
    return tuple(out)


# --- property tests ----------------------------------------------------------------------


@FAST
@given(data=st.data(), sc=shape_chunks())
def test_basic_read_write(data, sc):
    shape, chunks = sc
    a = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    sel = data.draw(basic_selection(shape))
    ix = BasicIndexer(sel, shape, chunks)
    assert ix.drop_axes == ()
    assert ix.sel_shape == ix.shape
    expected = a[sel]
    check_indexer(a, chunks, ix, np.asarray(expected))
    value = np.arange(1, expected.size + 1, dtype=np.int64).reshape(expected.shape)
    want = np.zeros(shape, dtype=np.int64)
    want[sel] = value
    np.testing.assert_array_equal(sim_write(shape, chunks, ix, value), want)


@FAST
@given(data=st.data(), sc=shape_chunks())
def test_orthogonal_read_write(data, sc):
    shape, chunks = sc
    a = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    sel = data.draw(orthogonal_selection(shape))
    ix = OrthogonalIndexer(sel, shape, chunks)
    expected = orthogonal_oracle(a, sel)
    check_indexer(a, chunks, ix, expected)
    value = np.arange(1, expected.size + 1, dtype=np.int64).reshape(expected.shape)
    np.testing.assert_array_equal(
        sim_write(shape, chunks, ix, value), orthogonal_assign(shape, sel, value)
    )


@FAST
@given(data=st.data(), sc=shape_chunks(min_dims=1))
def test_coordinate_read_write(data, sc):
    shape, chunks = sc
    a = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    coords = data.draw(coordinate_selection(shape))
    ix = CoordinateIndexer(coords, shape, chunks)
    assert ix.drop_axes == ()
    expected = np.asarray(a[coords])
    assert ix.shape == (expected.size,)
    expected = expected.reshape(ix.sel_shape)  # all-scalar coordinates give (1,)
    assert ix.sel_shape == (np.broadcast(*coords).shape or (1,))
    check_indexer(a, chunks, ix, expected)
    value = np.arange(1, expected.size + 1, dtype=np.int64)
    want = np.zeros(shape, dtype=np.int64)
    want[coords] = value.reshape(np.broadcast(*coords).shape)
    np.testing.assert_array_equal(sim_write(shape, chunks, ix, value), want)


@FAST
@given(data=st.data(), sc=shape_chunks(min_dims=1))
def test_mask_read_write(data, sc):
    shape, chunks = sc
    a = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    flat = data.draw(st.lists(st.booleans(), min_size=a.size, max_size=a.size))
    mask = np.array(flat, dtype=bool).reshape(shape)
    ix = MaskIndexer(mask, shape, chunks)
    assert ix.shape == ix.sel_shape == (int(mask.sum()),)
    check_indexer(a, chunks, ix, a[mask])
    value = np.arange(1, ix.shape[0] + 1, dtype=np.int64)
    want = np.zeros(shape, dtype=np.int64)
    want[mask] = value
    np.testing.assert_array_equal(sim_write(shape, chunks, ix, value), want)


@FAST
@given(data=st.data(), sc=shape_chunks())
def test_block_read_write(data, sc):
    shape, chunks = sc
    a = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    sel = data.draw(block_selection(shape, chunks))
    ix = BlockIndexer(sel, shape, chunks)
    assert ix.drop_axes == ()
    esel = block_oracle_selection(sel, shape, chunks)
    expected = a[esel]
    check_indexer(a, chunks, ix, expected)
    # every touched chunk is complete: blocks are whole chunks
    assert all(p.is_complete for p in ix)
    value = np.arange(1, expected.size + 1, dtype=np.int64).reshape(expected.shape)
    want = np.zeros(shape, dtype=np.int64)
    want[esel] = value
    np.testing.assert_array_equal(sim_write(shape, chunks, ix, value), want)


@FAST
@given(sc=shape_chunks())
def test_total_selection_is_complete_everywhere(sc):
    shape, chunks = sc
    ix = BasicIndexer(Ellipsis, shape, chunks)
    projs = list(ix)
    assert len(projs) == (math.prod(grid_shape(shape, chunks)) if all(shape) else 0)
    assert all(p.is_complete for p in projs)


# --- focused cases -----------------------------------------------------------------------


def test_zero_dim_array():
    a = np.array(42)
    for sel in [(), Ellipsis]:
        ix = BasicIndexer(sel, (), ())
        projs = list(ix)
        assert projs == [ChunkProjection((), (), (), True)]
        assert ix.shape == ix.sel_shape == ()
        assert sim_read(a, (), ix) == 42


def test_int_axes_drop_and_keep():
    a = np.arange(60).reshape(3, 4, 5)
    ix = BasicIndexer((1, slice(None), -1), a.shape, (2, 3, 2))
    assert ix.shape == (4,)
    np.testing.assert_array_equal(sim_read(a, (2, 3, 2), ix), a[1, :, -1])
    ix = OrthogonalIndexer((1, slice(None), [4, 0, 0]), a.shape, (2, 3, 2))
    assert ix.shape == (4, 3) and ix.drop_axes == (0,)
    np.testing.assert_array_equal(sim_read(a, (2, 3, 2), ix), a[1][:, [4, 0, 0]])


def test_orthogonal_without_arrays_is_basic():
    ix = OrthogonalIndexer((1, slice(0, 3)), (4, 5), (2, 2))
    assert ix.drop_axes == ()
    assert all(isinstance(p.out_selection, tuple) for p in ix)
    assert all(isinstance(s, slice) for p in ix for s in p.out_selection)


def test_orthogonal_single_array_keeps_slices():
    ix = OrthogonalIndexer((slice(None), np.array([3, 1])), (4, 5), (3, 2))
    for p in ix:
        assert isinstance(p.chunk_selection[0], slice)
        assert isinstance(p.chunk_selection[1], np.ndarray)


def test_empty_selections():
    a = np.arange(20).reshape(4, 5)
    cases = [
        BasicIndexer((slice(2, 2), slice(None)), a.shape, (3, 2)),
        OrthogonalIndexer(([], slice(None)), a.shape, (3, 2)),
        OrthogonalIndexer((np.zeros(4, bool), 1), a.shape, (3, 2)),
        CoordinateIndexer((np.array([], int), np.array([], int)), a.shape, (3, 2)),
        MaskIndexer(np.zeros((4, 5), bool), a.shape, (3, 2)),
    ]
    for ix in cases:
        assert 0 in ix.shape
        out = sim_read(a, (3, 2), ix)
        assert out.size == 0


def test_zero_length_dimension():
    ix = BasicIndexer(Ellipsis, (0, 5), (3, 2))
    assert ix.shape == (0, 5) and list(ix) == []
    ix = BlockIndexer((slice(None), 0), (0, 5), (3, 2))
    assert ix.shape == (0, 2) and list(ix) == []


def test_slice_with_large_step_skips_empty_chunks():
    ix = BasicIndexer(slice(0, None, 7), (30,), (2,))
    coords = [p.chunk_coords for p in ix]
    assert coords == [(0,), (3,), (7,), (10,), (14,)]
    np.testing.assert_array_equal(sim_read(np.arange(30), (2,), ix), np.arange(30)[::7])


def test_unsorted_duplicate_int_array_write_last_wins():
    a_shape, chunks = (10,), (3,)
    sel = np.array([7, 1, 7, 2, 9, 1])
    ix = OrthogonalIndexer((sel,), a_shape, chunks)
    value = np.arange(1, 7)
    want = np.zeros(10, dtype=value.dtype)
    want[sel] = value
    np.testing.assert_array_equal(sim_write(a_shape, chunks, ix, value), want)


def test_inputs_not_mutated():
    sel = np.array([-1, 0, -3])
    before = sel.copy()
    OrthogonalIndexer((sel,), (5,), (2,))
    CoordinateIndexer((sel,), (5,), (2,))
    np.testing.assert_array_equal(sel, before)


def test_coordinate_out_selection_is_int_array():
    ix = CoordinateIndexer(([0, 3, 1], [1, 2, 0]), (4, 4), (2, 2))
    for p in ix:
        assert isinstance(p.out_selection, np.ndarray) and p.out_selection.ndim == 1
        assert all(isinstance(c, np.ndarray) for c in p.chunk_selection)


def test_coordinate_scalars_and_multidim():
    a = np.arange(20).reshape(4, 5)
    ix = CoordinateIndexer((1, 2), a.shape, (3, 2))
    assert ix.sel_shape == (1,)
    np.testing.assert_array_equal(sim_read(a, (3, 2), ix), [7])
    rows = np.array([[0, 1], [2, 3]])
    ix = CoordinateIndexer((rows, -1), a.shape, (3, 2))
    assert ix.sel_shape == (2, 2) and ix.shape == (4,)
    np.testing.assert_array_equal(sim_read(a, (3, 2), ix), a[rows, -1])


def test_coordinate_complete_chunk():
    rows, cols = np.meshgrid(np.arange(2), np.arange(2), indexing="ij")
    ix = CoordinateIndexer((rows.ravel(), cols.ravel()), (3, 3), (2, 2))
    (p,) = list(ix)
    assert p.is_complete
    ix = CoordinateIndexer((rows.ravel()[::-1], cols.ravel()[::-1]), (3, 3), (2, 2))
    assert not next(iter(ix)).is_complete  # all points, but not in natural order


def test_mask_accepts_tuple_and_list():
    mask = [[True, False], [False, True]]
    for sel in (mask, (np.array(mask),)):
        ix = MaskIndexer(sel, (2, 2), (1, 2))
        np.testing.assert_array_equal(sim_read(np.arange(4).reshape(2, 2), (1, 2), ix), [0, 3])


def test_numpy_integer_scalars():
    a = np.arange(20).reshape(4, 5)
    sel = (np.int32(-1), slice(np.int64(1), np.uint8(4)))
    np.testing.assert_array_equal(sim_read(a, (3, 2), BasicIndexer(sel, a.shape, (3, 2))), a[sel])
    sel = (np.uint64(2), np.array([4, 0], dtype=np.uint16))
    ix = OrthogonalIndexer(sel, a.shape, (3, 2))
    np.testing.assert_array_equal(sim_read(a, (3, 2), ix), a[2, [4, 0]])


def test_perf_sanity_coordinate_million_points():
    """Not timed: a million random points over a 10000x10000 grid of (100, 100) chunks."""
    rng = np.random.default_rng(0)
    coords = tuple(rng.integers(0, 10000, size=1_000_000) for _ in range(2))
    ix = CoordinateIndexer(coords, (10000, 10000), (100, 100))
    assert ix.shape == (1_000_000,)
    total = sum(p.out_selection.size for p in ix)
    assert total == 1_000_000
    big = rng.integers(0, 10000, size=1_000_000)
    ix = OrthogonalIndexer((big, slice(0, 3)), (10000, 10000), (100, 100))
    assert ix.shape == (1_000_000, 3)


# --- helpers -----------------------------------------------------------------------------


def test_replace_ellipsis():
    assert replace_ellipsis(Ellipsis, (2, 3)) == (slice(None), slice(None))
    assert replace_ellipsis((1, Ellipsis), (2, 3, 4)) == (1, slice(None), slice(None))
    assert replace_ellipsis((Ellipsis, 1), (2, 3)) == (slice(None), 1)
    assert replace_ellipsis((1, Ellipsis, 2), (2, 3)) == (1, 2)
    assert replace_ellipsis(0, (2, 3)) == (0, slice(None))
    assert replace_ellipsis((), ()) == ()
    with pytest.raises(ArrayIndexError, match="single ellipsis"):
        replace_ellipsis((Ellipsis, Ellipsis), (2, 3))
    with pytest.raises(ArrayIndexError, match="too many indices"):
        replace_ellipsis((0, 0, 0), (2, 3))


def test_normalize_integer_selection():
    assert normalize_integer_selection(-1, 5) == 4
    assert normalize_integer_selection(np.int8(3), 5) == 3
    assert type(normalize_integer_selection(np.int64(3), 5)) is int
    for bad in (5, -6):
        with pytest.raises(BoundsCheckError, match=rf"{bad}.*length 5"):
            normalize_integer_selection(bad, 5)
    with pytest.raises(ArrayIndexError, match="2.5"):
        normalize_integer_selection(2.5, 5)


def test_is_total_slice():
    assert is_total_slice(Ellipsis, (2, 3))
    assert is_total_slice(slice(None), (4,))
    assert is_total_slice((slice(0, 2), slice(None)), (2, 3))
    assert is_total_slice((slice(None),), (2, 3))
    assert is_total_slice((0, slice(None)), (1, 3))
    assert not is_total_slice((0, slice(None)), (2, 3))
    assert not is_total_slice((slice(0, 1), slice(None)), (2, 3))
    assert not is_total_slice((slice(None, None, 2),), (4,))
    with pytest.raises(TypeError):
        is_total_slice(3, (4,))


def test_make_slice_selection():
    assert make_slice_selection((1, slice(2, 3), np.array([4]))) == [
        slice(1, 2, 1),
        slice(2, 3),
        slice(4, 5, 1),
    ]
    with pytest.raises(ArrayIndexError):
        make_slice_selection((np.array([1, 2]),))


def test_pop_fields():
    assert pop_fields("a") == ("a", ())
    assert pop_fields(["a", "b"]) == (["a", "b"], ())
    assert pop_fields(5) == (None, 5)
    assert pop_fields(("a", 1)) == ("a", 1)
    assert pop_fields(("a", "b", 1, slice(None))) == (["a", "b"], (1, slice(None)))
    assert pop_fields((["a"], slice(2))) == (["a"], slice(2))
    assert pop_fields((1, 2)) == (None, (1, 2))


def test_check_fields():
    dt = np.dtype([("a", "i4"), ("b", "f8"), ("c", "u1")])
    assert check_fields(None, dt) == dt
    assert check_fields("b", dt) == np.dtype("f8")
    assert check_fields(["c", "a"], dt) == np.dtype([("c", "u1"), ("a", "i4")])
    with pytest.raises(ArrayIndexError, match="'zz'"):
        check_fields("zz", dt)
    with pytest.raises(ArrayIndexError, match="'zz'"):
        check_fields(["a", "zz"], dt)
    with pytest.raises(ArrayIndexError, match="no fields"):
        check_fields("a", np.dtype("i4"))
    with pytest.raises(ArrayIndexError, match="string or list"):
        check_fields(3, dt)


def test_check_no_multi_fields():
    assert check_no_multi_fields(None) is None
    assert check_no_multi_fields("a") == "a"
    assert check_no_multi_fields(["a"]) == "a"
    with pytest.raises(ArrayIndexError, match="multiple fields.*'b'"):
        check_no_multi_fields(["a", "b"])


@pytest.mark.parametrize(
    "selection, ndim, fancy, ortho",
    [
        ([0, 2], 1, True, True),
        (np.array([0, 2]), 1, True, True),
        ((np.array([0, 2]),), 1, True, True),
        (([0, 2], [1, 3]), 2, True, False),
        ((1, [0, 2]), 2, True, True),
        ((np.int64(1), [0, 2]), 2, True, True),
        ((slice(None), [0, 2]), 2, False, True),
        ((slice(None), np.int64(1)), 2, False, True),
        ((slice(None), 1), 2, False, True),
        ((1, 2), 2, False, True),
        ([0, 2], 2, False, True),
        (slice(None), 1, False, False),
        (np.array([True, False]), 1, False, False),
        ((Ellipsis, [0, 1]), 2, False, False),
        ((), 0, False, False),
        ([[0, 1], [1, 0]], 2, False, False),
    ],
)
def test_dispatch_predicates(selection, ndim, fancy, ortho):
    assert is_pure_fancy_indexing(selection, ndim) is fancy
    assert is_pure_orthogonal_indexing(selection, ndim) is ortho


def test_selection_kind_predicates():
    assert is_basic_selection((1, slice(None, None, 2)))
    assert not is_basic_selection((1, slice(None, None, -1)))
    assert not is_basic_selection(([1],))
    assert is_coordinate_selection(([1, 2], 3), (4, 4))
    assert not is_coordinate_selection(([1, 2],), (4, 4))
    assert is_mask_selection(np.ones((2, 2), bool), (2, 2))
    assert not is_mask_selection(np.ones((2, 3), bool), (2, 2))
    assert not is_mask_selection((np.ones((2, 2), bool), 1), (2, 2))
    assert ensure_tuple(1) == (1,) and ensure_tuple((1,)) == (1,)


# --- bad input ---------------------------------------------------------------------------

S1, C1 = (5,), (2,)
S2, C2 = (4, 5), (3, 2)


@pytest.mark.parametrize(
    "selection, error, pattern",
    [
        (2.3, ArrayIndexError, "2.3"),
        ("foo", ArrayIndexError, "'foo'"),
        (b"xxx", ArrayIndexError, "xxx"),
        (None, ArrayIndexError, "None"),
        ([0, 1], ArrayIndexError, r"\[0, 1\]"),
        (np.array([0, 1]), ArrayIndexError, "array"),
        ((0, 0), ArrayIndexError, "too many indices"),
        ((Ellipsis, Ellipsis), ArrayIndexError, "single ellipsis"),
        (5, BoundsCheckError, r"index 5 .*length 5.*axis 0"),
        (-6, BoundsCheckError, r"-6 .*length 5"),
        (slice(None, None, -1), NegativeStepError, "-1"),
        (slice(None, None, 0), NegativeStepError, "0"),
        (slice(1.5, None), ArrayIndexError, "1.5"),
    ],
)
def test_basic_bad(selection, error, pattern):
    with pytest.raises(error, match=pattern):
        BasicIndexer(selection, S1, C1)


@pytest.mark.parametrize(
    "selection, error, pattern",
    [
        ((np.array([0, 7]),), BoundsCheckError, r"index 7 .*length 5"),
        ((np.array([0, -6]),), BoundsCheckError, r"index -6 .*length 5"),
        ((np.array([0, 9], dtype=np.uint64),), BoundsCheckError, r"index 9 .*length 5"),
        ((np.array([True, False]),), ArrayIndexError, "expected 5, got 2"),
        ((np.array([[0, 1]]),), ArrayIndexError, r"1-dimensional.*\(1, 2\)"),
        ((np.array([0.5, 1.0]),), ArrayIndexError, "0.5"),
        (("a",), ArrayIndexError, "'a'"),
        ((0, 0), ArrayIndexError, "too many indices"),
        ((slice(None, None, -2),), NegativeStepError, "-2"),
        ((6,), BoundsCheckError, r"index 6 .*length 5"),
    ],
)
def test_orthogonal_bad(selection, error, pattern):
    with pytest.raises(error, match=pattern):
        OrthogonalIndexer(selection, S1, C1)


def test_orthogonal_bad_axis_named():
    with pytest.raises(BoundsCheckError, match=r"index 5 .*length 5 along axis 1"):
        OrthogonalIndexer((slice(None), [0, 5]), S2, C2)


@pytest.mark.parametrize(
    "selection, error, pattern",
    [
        (([0, 1],), ArrayIndexError, r"expected one integer array per dimension \(2\), got 1"),
        (([0], [0], [0]), ArrayIndexError, "too many indices"),
        ((np.array([0.5]), [0]), ArrayIndexError, "0.5"),
        ((np.array([True]), [0]), ArrayIndexError, "True"),
        ((slice(None), [0]), ArrayIndexError, "slice"),
        (([0, 4], [0, 1]), BoundsCheckError, r"index 4 .*length 4 along axis 0"),
        (([0, 1], [-6, 1]), BoundsCheckError, r"index -6 .*length 5 along axis 1"),
        ((7, 0), BoundsCheckError, r"index 7 .*length 4"),
        (([0, 1, 2], [0, 1]), ArrayIndexError, r"broadcast.*\(3,\).*\(2,\)"),
    ],
)
def test_coordinate_bad(selection, error, pattern):
    with pytest.raises(error, match=pattern):
        CoordinateIndexer(selection, S2, C2)


def test_coordinate_zero_dim_array():
    with pytest.raises(ArrayIndexError, match="0-d"):
        CoordinateIndexer((), (), ())


@pytest.mark.parametrize(
    "selection, pattern",
    [
        (np.ones((4, 4), bool), r"\(4, 4\).*\(4, 5\)"),
        (np.ones(20, bool), r"\(20,\).*\(4, 5\)"),
        (np.ones((4, 5), int), "Boolean"),
        ((np.ones((4, 5), bool), 1), "Boolean"),
        ((np.ones(4, bool), slice(None)), "Boolean"),
    ],
)
def test_mask_bad(selection, pattern):
    with pytest.raises(ArrayIndexError, match=pattern):
        MaskIndexer(selection, S2, C2)


@pytest.mark.parametrize(
    "selection, error, pattern",
    [
        (3, BoundsCheckError, r"index 3 .*length 3"),
        (-4, BoundsCheckError, r"index -4 .*length 3"),
        (slice(3, None), BoundsCheckError, r"index 3 .*length 3"),
        (slice(-4, None), BoundsCheckError, r"index -4 .*length 3"),
        (slice(None, None, 2), ArrayIndexError, "step 1"),
        (slice(None, None, -1), NegativeStepError, "-1"),
        ([0, 1], ArrayIndexError, r"\[0, 1\]"),
        (2.0, ArrayIndexError, "2.0"),
        ((0, 0), ArrayIndexError, "too many indices"),
    ],
)
def test_block_bad(selection, error, pattern):
    with pytest.raises(error, match=pattern):
        BlockIndexer(selection, S1, C1)


def test_errors_are_index_errors():
    for cls in (ArrayIndexError, BoundsCheckError, NegativeStepError):
        assert issubclass(cls, IndexError)


def test_every_projection_field_typed():
    shape, chunks = (7, 5), (3, 2)
    sels = [
        BasicIndexer((slice(1, 6, 2), 3), shape, chunks),
        OrthogonalIndexer(([6, 0, 3], np.array([True, False, True, True, False])), shape, chunks),
        CoordinateIndexer(([6, 0], [4, 1]), shape, chunks),
        BlockIndexer((slice(1, None), -1), shape, chunks),
    ]
    for ix in sels:
        assert isinstance(ix.shape, tuple) and isinstance(ix.drop_axes, tuple)
        assert all(type(n) is int for n in ix.shape)
        for p in ix:
            assert isinstance(p.chunk_selection, tuple)
            assert isinstance(p.is_complete, bool)
            assert len(p.chunk_coords) == 2


def test_grid_helper_sanity():
    # the simulated grid itself: padded chunks have the full chunk shape
    a = np.arange(7)
    for coords in itertools.product(range(3)):
        assert padded_chunk(a, (3,), coords).shape == (3,)

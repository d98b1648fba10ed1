"""Array-level reads and writes for every selection kind, over every store, with
numpy as the oracle.

Hypothesis draws the array (0-3 dims, zero-length axes, chunks larger or smaller
than the shape, numeric dtypes of both byte orders, C/F order, '.' or '/' chunk keys,
compressors) and a selection; reads must equal numpy's, and after a write the whole
array must equal the numpy array after the same assignment.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib.recfunctions import repack_fields

import zarrflow
from tests.core.conftest import chunk_keys, snapshot
from zarrflow.errors import VindexInvalidSelectionError

HYPO = settings(
    max_examples=int(os.environ.get("ZARRFLOW_TEST_EXAMPLES", "25")),  # raise it for a deeper search
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

DTYPES = ["|i1", "|u1", "<i2", ">u2", "<i4", ">i4", "<u8", ">i8", "<f4", ">f4", "<f8", ">f8", "<c8", ">c16", "|b1"]
COMPRESSORS = ["default", None, numcodecs.Zlib(level=1)]

#: Smallest number of dimensions Hypothesis draws (0-d arrays included).
MIN_NDIM = 0


# --- arrays --------------------------------------------------------------------------------


@dataclass
class Spec:
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    order: str
    separator: str | None
    fill_value: Any
    compressor: Any

    def create(self, store: Any) -> zarrflow.Array:
        return zarrflow.create(
            self.shape, chunks=self.chunks, dtype=self.dtype, order=self.order,
            dimension_separator=self.separator, fill_value=self.fill_value,
            compressor=self.compressor, store=store,
        )


@st.composite
def specs(draw: Any, min_ndim: int = MIN_NDIM, max_ndim: int = 3, min_len: int = 0, max_len: int = 7) -> Spec:
    ndim = draw(st.integers(min_ndim, max_ndim))
    shape = tuple(draw(st.lists(st.integers(min_len, max_len), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    return Spec(
        shape=shape,
        chunks=chunks,
        dtype=np.dtype(draw(st.sampled_from(DTYPES))),
        order=draw(st.sampled_from("CF")),
        separator=draw(st.sampled_from([None, ".", "/"])),
        fill_value=draw(st.sampled_from([0, 1, 3])),
        compressor=draw(st.sampled_from(COMPRESSORS)),
    )


def sample_data(shape: tuple[int, ...], dtype: np.dtype, offset: int = 0) -> np.ndarray:
    """Deterministic, mostly distinct values of ``dtype`` (none equal to the fill values)."""
    n = math.prod(shape)
    base = np.arange(offset + 10, offset + 10 + n).reshape(shape)
    if dtype.kind == "b":
        return (base % 3 == 0).astype(dtype)
    if dtype.kind in "iu":
        return (base % 100 + 10).astype(dtype)
    if dtype.kind == "f":
        return (base * 0.5).astype(dtype)
    return (base * 0.5 - 1j * base).astype(dtype)


def scalar_value(dtype: np.dtype) -> Any:
    return {"b": True, "i": 42, "u": 42, "f": -2.5, "c": 1 + 2j}[dtype.kind]


@st.composite
def basic_selection(draw: Any, shape: tuple[int, ...], with_ints: bool = True) -> Any:
    """Ints (negative too), slices with any bounds and steps 1-4, maybe fewer items
    than axes, maybe one Ellipsis; unwrapped when a single item."""
    if not shape:
        return draw(st.sampled_from([(), Ellipsis, (Ellipsis,)]))
    items: list[Any] = []
    for n in shape:
        if with_ints and n > 0 and draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            bound = st.none() | st.integers(-n - 2, n + 2)
            items.append(slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 4))))
    k = draw(st.integers(0, len(items)))
    if draw(st.booleans()):  # leading items, '...', trailing items: each stays on its axis
        items = items[:k] + [Ellipsis] + items[draw(st.integers(k, len(items))):]
    elif draw(st.booleans()):  # fewer items than axes
        items = items[:k]
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


@st.composite
def int_indices(draw: Any, n: int, unique: bool, max_size: int = 6) -> np.ndarray:
    """Unsorted (maybe duplicate) indices into an axis of length ``n``, some negative."""
    if n == 0:
        return np.empty(0, dtype=np.intp)
    if unique:
        pos = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=min(n, max_size)))
    else:
        pos = draw(st.lists(st.integers(0, n - 1), max_size=max_size))
    neg = draw(st.lists(st.booleans(), min_size=len(pos), max_size=len(pos)))
    return np.array([p - n if m else p for p, m in zip(pos, neg)], dtype=np.intp)


@st.composite
def orthogonal_selection(draw: Any, shape: tuple[int, ...], unique: bool = False) -> tuple:
    """One item per axis: int, slice, int array/list, or Boolean array."""
    items: list[Any] = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "array", "list", "bool"] if n else ["slice", "array", "bool"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            items.append(slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3))))
        elif kind == "array":
            items.append(draw(int_indices(n, unique)).astype(draw(st.sampled_from(["i8", "i4", "i2"]))))
        elif kind == "list":
            idx = draw(int_indices(n, unique)).tolist()
            items.append(idx if idx else [0])
        else:
            items.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool))
    return tuple(items)


def numpy_orthogonal(shape: tuple[int, ...], selection: tuple) -> tuple[tuple, tuple[int, ...]]:
    """(np.ix_ index, result shape with integer axes dropped) for an orthogonal selection."""
    idx, out_shape = [], []
    for s, n in zip(selection, shape):
        if isinstance(s, (int, np.integer)):
            idx.append(np.array([s % n], dtype=np.intp))
            continue
        if isinstance(s, slice):
            arr = np.arange(n)[s]
        else:
            arr = np.asarray(s)
            arr = np.flatnonzero(arr) if arr.dtype == bool else arr.astype(np.intp)
        idx.append(arr)
        out_shape.append(len(arr))
    return np.ix_(*idx), tuple(out_shape)


@st.composite
def coordinate_selection(draw: Any, shape: tuple[int, ...], unique: bool = False) -> tuple:
    """One int array per axis, all of one (1-d or 2-d) shape; maybe one plain int."""
    if any(n == 0 for n in shape):
        cshape: tuple[int, ...] = (0,)
    else:
        cshape = draw(st.sampled_from([(0,), (1,), (3,), (6,), (2, 3), (3, 1)]))
    npoints = math.prod(cshape)
    if unique and npoints:
        flat = draw(st.lists(st.integers(0, math.prod(shape) - 1), unique=True,
                             min_size=min(npoints, math.prod(shape)), max_size=min(npoints, math.prod(shape))))
        cshape = (len(flat),)
        coords = [c.astype(np.intp) for c in np.unravel_index(np.array(flat, dtype=np.intp), shape)]
    else:
        coords = [
            np.array(draw(st.lists(st.integers(0, n - 1), min_size=npoints, max_size=npoints)), dtype=np.intp)
            .reshape(cshape) if npoints else np.zeros(cshape, dtype=np.intp)
            for n in shape
        ]
    out: list[Any] = []
    for c, n in zip(coords, shape):
        if draw(st.booleans()):
            c = np.where(c > 0, c - n, c) if draw(st.booleans()) else c
        out.append(c)
    if not unique and npoints and len(shape) > 1 and draw(st.booleans()):
        ax = draw(st.integers(0, len(shape) - 1))
        out[ax] = draw(st.integers(-shape[ax], shape[ax] - 1))
    if draw(st.booleans()):
        out = [o.tolist() if isinstance(o, np.ndarray) and o.ndim == 1 and o.size else o for o in out]
    return tuple(out)


@st.composite
def mask_selection(draw: Any, shape: tuple[int, ...]) -> np.ndarray:
    n = math.prod(shape)
    return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool).reshape(shape)


@st.composite
def block_selection(draw: Any, shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple:
    items: list[Any] = []
    for n, c in zip(shape, chunks):
        nb = -(-n // c)
        if draw(st.booleans()):
            items.append(draw(st.integers(-nb, nb - 1)))
        else:
            items.append(slice(draw(st.none() | st.integers(-nb, nb - 1)), draw(st.none() | st.integers(-nb, nb + 2))))
    return tuple(items)


def numpy_blocks(shape: tuple[int, ...], chunks: tuple[int, ...], selection: tuple) -> tuple:
    """The element slices a block selection covers (integers keep their axis)."""
    out = []
    for s, n, c in zip(selection, shape, chunks):
        nb = -(-n // c)
        if isinstance(s, int):
            b = s + nb if s < 0 else s
            out.append(slice(b * c, (b + 1) * c))
        else:
            start = 0 if s.start is None else (s.start + nb if s.start < 0 else s.start)
            stop = nb if s.stop is None else (s.stop + nb if s.stop < 0 else s.stop)
            out.append(slice(start * c, max(start, stop) * c))
    return tuple(out)


def build(spec: Spec, store: Any, full: bool = True) -> tuple[zarrflow.Array, np.ndarray]:
    """The array with data written (all of it, or only its first half along axis 0)."""
    z = spec.create(store)
    expected = np.full(spec.shape, spec.fill_value, dtype=spec.dtype)
    data = sample_data(spec.shape, spec.dtype)
    if full or not spec.shape:
        z[...] = data
        expected[...] = data
    else:
        region = slice(0, spec.shape[0] // 2)
        z[region] = data[region]
        expected[region] = data[region]
    return z, expected


def assert_same(actual: Any, expected: Any) -> None:
    """Same shape, dtype and values (numpy scalars are native-endian, so a scalar's
    dtype is compared up to byte order; arrays, 0-d ones included, exactly)."""
    expected = np.asarray(expected)
    got = np.asarray(actual)
    assert got.shape == expected.shape
    if isinstance(actual, np.generic):
        assert got.dtype.newbyteorder("=") == expected.dtype.newbyteorder("=")
    else:
        assert isinstance(actual, np.ndarray)
        assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


# --- reads -------------------------------------------------------------------------------------


@HYPO
@given(data=st.data())
def test_basic_selection_reads_equal_numpy(store_factory, data):
    spec = data.draw(specs())
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    sel = data.draw(basic_selection(spec.shape))
    expected = a[sel]
    assert_same(z.get_basic_selection(sel), expected)
    assert_same(z[sel], expected)
    if not spec.shape and sel != ():
        assert isinstance(z[sel], np.ndarray)  # '...' on a 0-d array: a 0-d ndarray
    elif expected.ndim == 0:
        assert isinstance(z[sel], np.generic)  # one item: a scalar, '...' or not (zarr 2)
    assert_same(z[...], a)


@HYPO
@given(data=st.data())
def test_orthogonal_selection_reads_equal_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    sel = data.draw(orthogonal_selection(spec.shape))
    ix, out_shape = numpy_orthogonal(spec.shape, sel)
    expected = a[ix].reshape(out_shape)
    assert_same(z.get_orthogonal_selection(sel), expected)
    assert_same(z.oindex[sel], expected)
    # the out= argument receives the same values
    out = np.zeros(out_shape, dtype=spec.dtype)
    if out_shape:
        z.get_orthogonal_selection(sel, out=out)
        assert_same(out, expected)


@HYPO
@given(data=st.data())
def test_coordinate_selection_reads_equal_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    sel = data.draw(coordinate_selection(spec.shape))
    expected = a[tuple(np.asarray(s) for s in sel)]
    if expected.ndim == 0:
        expected = expected.reshape(1)
    assert_same(z.get_coordinate_selection(sel), expected)
    assert_same(z.vindex[sel], expected)


@HYPO
@given(data=st.data())
def test_mask_selection_reads_equal_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    mask = data.draw(mask_selection(spec.shape))
    assert_same(z.get_mask_selection(mask), a[mask])
    assert_same(z.vindex[mask], a[mask])


@HYPO
@given(data=st.data())
def test_block_selection_reads_equal_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1, min_len=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    sel = data.draw(block_selection(spec.shape, spec.chunks))
    expected = a[numpy_blocks(spec.shape, spec.chunks, sel)]
    assert_same(z.get_block_selection(sel), expected)
    assert_same(z.blocks[sel], expected)


# --- writes ------------------------------------------------------------------------------------


def draw_value(data: Any, sel_shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """A scalar, an array of exactly ``sel_shape``, or one that broadcasts to it."""
    kind = data.draw(st.sampled_from(["scalar", "array", "broadcast", "list"]))
    if kind == "scalar" or not sel_shape:
        return scalar_value(dtype) if kind != "array" else np.asarray(scalar_value(dtype), dtype=dtype)
    values = sample_data(sel_shape, dtype, offset=500)
    if kind == "list" and values.size:
        return values.tolist()
    if kind == "broadcast":
        # keep the last axes, with length 1 where drawn: broadcasts to the selection
        keep = data.draw(st.integers(0, len(sel_shape)))
        shape = tuple(1 if data.draw(st.booleans()) else n for n in sel_shape[len(sel_shape) - keep:])
        return sample_data(shape, dtype, offset=700)
    return values


def check_stored(z: zarrflow.Array, expected: np.ndarray) -> None:
    """The whole array equals ``expected``, through this handle and a fresh one."""
    assert_same(z[...], expected)
    assert_same(zarrflow.Array(z.store, path=z.path)[...], expected)


@HYPO
@given(data=st.data())
def test_basic_selection_writes_match_numpy(store_factory, data):
    spec = data.draw(specs())
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    sel = data.draw(basic_selection(spec.shape))
    value = draw_value(data, a[sel].shape, spec.dtype)
    if data.draw(st.booleans()):
        z[sel] = value
    else:
        z.set_basic_selection(sel, value)
    a[sel] = value
    check_stored(z, a)


@HYPO
@given(data=st.data())
def test_orthogonal_selection_writes_match_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    scalar = data.draw(st.booleans())
    sel = data.draw(orthogonal_selection(spec.shape, unique=not scalar))
    ix, out_shape = numpy_orthogonal(spec.shape, sel)
    value = scalar_value(spec.dtype) if scalar else draw_value(data, out_shape, spec.dtype)
    if data.draw(st.booleans()):
        z.oindex[sel] = value
    else:
        z.set_orthogonal_selection(sel, value)
    a[ix] = np.broadcast_to(np.asarray(value, dtype=spec.dtype), out_shape).reshape(a[ix].shape)
    check_stored(z, a)


@HYPO
@given(data=st.data())
def test_coordinate_selection_writes_match_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    scalar = data.draw(st.booleans())
    sel = data.draw(coordinate_selection(spec.shape, unique=not scalar))
    np_sel = tuple(np.asarray(s) for s in sel)
    sel_shape = np.broadcast_shapes(*(s.shape for s in np_sel))
    value = scalar_value(spec.dtype) if scalar else sample_data(sel_shape, spec.dtype, offset=300)
    if data.draw(st.booleans()):
        z.vindex[sel] = value
    else:
        z.set_coordinate_selection(sel, value)
    a[np_sel] = value
    check_stored(z, a)


@HYPO
@given(data=st.data())
def test_mask_selection_writes_match_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    mask = data.draw(mask_selection(spec.shape))
    n = int(mask.sum())
    value = scalar_value(spec.dtype) if data.draw(st.booleans()) else sample_data((n,), spec.dtype, offset=900)
    if data.draw(st.booleans()):
        z.vindex[mask] = value
    else:
        z.set_mask_selection(mask, value)
    a[mask] = value
    check_stored(z, a)


@HYPO
@given(data=st.data())
def test_block_selection_writes_match_numpy(store_factory, data):
    spec = data.draw(specs(min_ndim=1, min_len=1))
    z, a = build(spec, store_factory(), full=data.draw(st.booleans()))
    sel = data.draw(block_selection(spec.shape, spec.chunks))
    region = numpy_blocks(spec.shape, spec.chunks, sel)
    value = draw_value(data, a[region].shape, spec.dtype)
    if data.draw(st.booleans()):
        z.blocks[sel] = value
    else:
        z.set_block_selection(sel, value)
    a[region] = value
    check_stored(z, a)


@HYPO
@given(data=st.data())
def test_written_chunks_are_exactly_those_touched(store_factory, data):
    """A write into a fresh array stores exactly the chunks its selection touches."""
    spec = data.draw(specs(min_ndim=1, max_ndim=2, min_len=1))
    store = store_factory()
    z = spec.create(store)
    sel = data.draw(basic_selection(spec.shape))
    z[sel] = scalar_value(spec.dtype)
    touched = np.zeros(spec.shape, dtype=bool)
    touched[sel] = True
    sep = json.loads(snapshot(store)[".zarray"]).get("dimension_separator") or "."
    expected = sorted(
        sep.join(str(i // c) for i, c in zip(point, spec.chunks)) for point in zip(*np.nonzero(touched))
    )
    assert chunk_keys(store) == sorted(set(expected))


# --- __getitem__ / __setitem__ dispatch (zarr 2.18 rules) ---------------------------------------


@pytest.fixture
def z2d(array_store):
    a = np.arange(42, dtype="i4").reshape(6, 7)
    return zarrflow.array(a, chunks=(4, 3), store=array_store), a


def test_getitem_int_list_is_orthogonal(z2d):
    z, a = z2d
    assert_same(z[[4, 0, 4]], a[[4, 0, 4]])
    assert_same(z[np.array([5, -1, 0])], a[[5, -1, 0]])
    assert_same(z[[1, 3], 2:6], a[[1, 3], 2:6])
    assert_same(z[1:5:2, [6, 0]], a[1:5:2][:, [6, 0]])
    assert_same(z[-2, [2, 1]], a[-2, [2, 1]])


def test_getitem_several_int_arrays_is_vectorised(z2d):
    z, a = z2d
    assert_same(z[[1, 2], [3, 4]], a[[1, 2], [3, 4]])
    assert_same(z[[-1, 0, 5], [-1, 6, 0]], a[[-1, 0, 5], [-1, 6, 0]])
    rows, cols = np.array([[0, 1], [2, 3]]), np.array([[6, 5], [4, 3]])
    assert_same(z[rows, cols], a[rows, cols])


def test_setitem_dispatch_matches_numpy(z2d):
    z, a = z2d
    z[[4, 0]] = -1
    a[[4, 0]] = -1
    z[[1, 2], [3, 4]] = [100, 200]
    a[[1, 2], [3, 4]] = [100, 200]
    z[[5, 3], 1:3] = [[7, 8], [9, 10]]
    a[[5, 3], 1:3] = [[7, 8], [9, 10]]
    z[2, 1:6:2] = 55
    a[2, 1:6:2] = 55
    assert_same(z[...], a)


def test_getitem_one_dimensional_fancy(array_store):
    a = np.arange(10, 30, dtype="u2")
    z = zarrflow.array(a, chunks=6, store=array_store)
    two_d = np.array([[1, 19], [-1, 0]])
    assert_same(z[two_d], a[two_d])  # 1-d: a 2-d int array is a coordinate selection
    assert_same(z[[True, False] * 10], a[[True, False] * 10])  # a Boolean list: a mask
    assert_same(z[[3, 3, -20]], a[[3, 3, -20]])


@pytest.mark.parametrize(
    "selection",
    [
        ([0, 1], slice(None), [1, 2]),  # two int arrays mixed with a slice
        ([0, 2], Ellipsis),
        np.array([[0, 1]]),  # a 2-d int array on a 3-d array
        np.ones((3, 4, 5), dtype=bool),  # a mask: vindex only
        [],  # an empty list
    ],
    ids=["two-lists-slice", "list-ellipsis", "2d-int-array", "mask", "empty-list"],
)
def test_getitem_rejects_what_zarr2_rejects(array_store, selection):
    """zarr 2.18 sends these to basic selection, which raises IndexError."""
    z = zarrflow.array(np.arange(60).reshape(3, 4, 5), chunks=2, store=array_store)
    with pytest.raises(IndexError):
        z[selection]


def test_vindex_rejects_slices(array_store):
    z = zarrflow.array(np.arange(12).reshape(3, 4), chunks=2, store=array_store)
    with pytest.raises(VindexInvalidSelectionError, match="slice"):
        z.vindex[0:2, [1]]
    with pytest.raises(VindexInvalidSelectionError):
        z.vindex[[0.5], [1]]


# --- 0-d arrays ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["<f8", ">i4", "|u1", "<c16"])
def test_zero_d_unwritten_reads(array_store, dtype):
    z = zarrflow.full((), fill_value=5, dtype=dtype, store=array_store)
    assert z.shape == () and z.ndim == 0 and z.nchunks == 1 and z.cdata_shape == (1,) and z.chunks == ()
    ell = z[...]
    assert isinstance(ell, np.ndarray) and ell.shape == () and ell == 5 and ell.dtype == np.dtype(dtype)
    scalar = z[()]
    assert isinstance(scalar, np.generic) and scalar == 5
    assert scalar.dtype == np.dtype(dtype).newbyteorder("=")
    assert isinstance(z.get_basic_selection(Ellipsis), np.ndarray)
    assert chunk_keys(array_store) == []


@pytest.mark.parametrize("dtype", ["<f8", ">i4", "|u1", "<c16"])
def test_zero_d_writes_store_one_uncompressed_chunk(array_store, dtype):
    z = zarrflow.zeros((), dtype=dtype, store=array_store)
    assert z.compressor is None
    writes = [(Ellipsis, 7, 7), ((), np.array(9), 9), ((), [11], 11), (Ellipsis, np.int8(3), 3)]
    for selection, value, expected in writes:
        z[selection] = value
        assert chunk_keys(array_store) == ["0"]
        stored = np.frombuffer(snapshot(array_store)["0"], dtype=dtype)
        assert stored.tolist() == [expected]


def test_zero_d_read_of_stored_chunk(array_store):
    """Reading a stored 0-d chunk fills the result (a 0-d output has no sliceable view)."""
    z = zarrflow.zeros((), dtype="<f8", store=array_store)
    read = []
    for v in [1.5, 2.5, -3.25, 1e10]:
        z[...] = v
        np.full(100, 123.0) * 2  # churn small allocations, as any program does
        read.append((float(z[()]), float(z[...])))
    assert read == [(v, v) for v in [1.5, 2.5, -3.25, 1e10]]


def test_zero_d_ellipsis_keeps_byte_order(array_store):
    """zarr 2 returns the 0-d array in the array's own dtype: array(5, dtype='>i4')."""
    z = zarrflow.full((), fill_value=5, dtype=">i4", store=array_store)
    assert z[...].dtype == np.dtype(">i4")


def test_zero_d_rejects_other_selections(array_store):
    z = zarrflow.zeros((), dtype="i4", store=array_store)
    with pytest.raises(IndexError, match="too many indices"):
        z[0]
    with pytest.raises(IndexError, match="too many indices"):
        z[:]
    with pytest.raises(IndexError):
        z.vindex[[0]]
    with pytest.raises(TypeError):
        len(z)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        z[()] = [1, 2]
    assert chunk_keys(array_store) == []


# --- structured dtypes and fields= ---------------------------------------------------------------

STRUCT = np.dtype([("x", "<i4"), ("y", ">f8"), ("z", "u1")])


@pytest.fixture
def zstruct(array_store):
    a = np.zeros((7, 5), dtype=STRUCT)
    a["x"] = np.arange(35).reshape(7, 5)
    a["y"] = np.arange(35).reshape(7, 5) * 0.25
    a["z"] = np.arange(35).reshape(7, 5) % 7
    return zarrflow.array(a, chunks=(3, 2), store=array_store), a


@pytest.mark.parametrize("fields", ["x", "y", ["z", "x"], ["y"]])
def test_fields_on_each_selection_kind(zstruct, fields):
    z, a = zstruct
    ref = repack_fields(a[fields])  # several fields come back packed, as in zarr 2
    assert_same(z.get_basic_selection((slice(1, 6, 2), -1), fields=fields), ref[1:6:2, -1])
    assert_same(z.get_orthogonal_selection(([5, 0, 2], slice(None, None, 2)), fields=fields),
                ref[[5, 0, 2]][:, ::2])
    assert_same(z.get_coordinate_selection(([6, 0, 3], [4, 1, 1]), fields=fields), ref[[6, 0, 3], [4, 1, 1]])
    mask = (np.arange(35).reshape(7, 5) % 4) == 1
    assert_same(z.get_mask_selection(mask, fields=fields), ref[mask])
    assert_same(z.get_block_selection((1, slice(1, None)), fields=fields), ref[3:6, 2:])
    assert_same(z.oindex[[1, 2], 3, fields], ref[[1, 2], 3])
    assert_same(z.vindex[[0, 1], [1, 0], fields], ref[[0, 1], [1, 0]])
    assert_same(z.blocks[0, fields], ref[0:3])
    assert_same(z.blocks[-1, 1, fields], ref[6:, 2:4])


def test_fields_through_getitem(zstruct):
    z, a = zstruct
    assert_same(z["x"], a["x"])
    assert_same(z["y", 2:4], a["y"][2:4])
    assert_same(z[1:3, "x", 0], a["x"][1:3, 0])
    assert_same(z[["x", "z"]], repack_fields(a[["x", "z"]]))
    assert_same(z[[0, 6], "z"], a["z"][[0, 6]])  # orthogonal via an int list
    assert_same(z[...], a)


def test_field_writes_on_each_selection_kind(zstruct):
    z, a = zstruct
    z.set_basic_selection(slice(0, 2), -1, fields="x")
    a["x"][0:2] = -1
    z.set_orthogonal_selection(([4, 6], [0, 3]), [[1.5, 2.5], [3.5, 4.5]], fields="y")
    a["y"][np.ix_([4, 6], [0, 3])] = [[1.5, 2.5], [3.5, 4.5]]
    z.set_coordinate_selection(([2, 3], [2, 3]), 99, fields="z")
    a["z"][[2, 3], [2, 3]] = 99
    mask = np.zeros((7, 5), dtype=bool)
    mask[5] = True
    z.set_mask_selection(mask, 7, fields=["x"])  # a one-field list acts like the name
    a["x"][mask] = 7
    z.set_block_selection((2, 2), -5, fields="x")
    a["x"][6:, 4:] = -5
    z["y", 6, 0] = 8.75
    a["y"][6, 0] = 8.75
    check_stored(z, a)


def test_structured_scalar_and_multi_field_write(zstruct):
    z, a = zstruct
    z[3, 3] = (1, 2.0, 3)
    a[3, 3] = (1, 2.0, 3)
    check_stored(z, a)
    with pytest.raises(IndexError, match="multiple fields"):
        z.set_basic_selection(0, 1, fields=["x", "y"])
    with pytest.raises(IndexError, match="'nope'"):
        z["nope"]

"""The read/write strategies of core/chunk_io: thin-chunk grouping, batched stores,
inline vs pooled work. numpy is the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrflow
from zarrflow.core import pool
from zarrflow.storage import MemoryStore


class BatchingStore(MemoryStore):
    """A MemoryStore that asks for batched access, like remote stores do, and counts it."""

    supports_concurrent_getitems = True

    def __init__(self) -> None:
        super().__init__()
        self.getitems_calls = 0
        self.setitems_calls = 0

    def getitems(self, keys):
        self.getitems_calls += 1
        return super().getitems(keys)

    def setitems(self, items):
        self.setitems_calls += 1
        return super().setitems(items)


@pytest.mark.parametrize("store_kind", ["memory", "batching"])
@pytest.mark.parametrize("threads", [1, 2])
def test_thin_chunks_grouped_along_last_axis(store_kind, threads):
    pool.set_num_threads(threads)
    try:
        store = MemoryStore() if store_kind == "memory" else BatchingStore()
        a = np.random.default_rng(0).random((37, 23, 45))
        z = zarrflow.create(shape=a.shape, chunks=(10, 23, 1), dtype="f8", store=store, fill_value=np.nan)
        expected = np.full(a.shape, np.nan)
        # leave holes: some thin chunks never written, in the middle of groups
        for k in range(45):
            if k % 7 != 3:
                z[:, :, k] = a[:, :, k]
                expected[:, :, k] = a[:, :, k]
        np.testing.assert_array_equal(z[:], expected)
        np.testing.assert_array_equal(z[3:29, 1:20, 5:41], expected[3:29, 1:20, 5:41])
        np.testing.assert_array_equal(z[:, :, 44], expected[:, :, 44])
        out = np.zeros(a.shape)
        z.get_basic_selection(..., out=out)
        np.testing.assert_array_equal(out, expected)
        if store_kind == "batching":
            assert store.getitems_calls > 0
    finally:
        pool.set_num_threads(None)


def test_batched_store_writes_whole_chunks_in_one_round_trip():
    store = BatchingStore()
    z = zarrflow.zeros((100, 100), chunks=(10, 10), dtype="i4", store=store)
    z[:] = np.arange(10000, dtype="i4").reshape(100, 100)
    assert store.setitems_calls == 1
    z[5:15, 5:15] = -1  # partial chunks: read-modify-write under the lock
    expected = np.arange(10000, dtype="i4").reshape(100, 100)
    expected[5:15, 5:15] = -1
    np.testing.assert_array_equal(z[:], expected)


def test_large_chunks_use_the_pool_and_small_ones_run_inline(monkeypatch):
    calls = []
    real = pool.run_all

    def spy(func, items, **kwargs):
        calls.append(kwargs.get("item_bytes"))
        return real(func, items, **kwargs)

    monkeypatch.setattr("zarrflow.core.chunk_io.run_all", spy)
    small = zarrflow.zeros((100, 100), chunks=(10, 10), dtype="i4")
    small[:] = 1
    big = zarrflow.zeros((1024, 1024), chunks=(512, 512), dtype="f8")
    big[:] = 1
    assert small[:].sum() == 10000 and big[:].sum() == 1024 * 1024
    assert min(calls) < pool.MIN_PARALLEL_ITEM_BYTES <= max(calls)


def test_thin_chunks_with_an_integer_index_dropping_an_axis():
    a = np.arange(10 * 20 * 30, dtype="f8").reshape(10, 20, 30)
    z = zarrflow.array(a, chunks=(10, 1, 1))
    np.testing.assert_array_equal(z[:, 3, :], a[:, 3, :])
    np.testing.assert_array_equal(z[4, :, :], a[4, :, :])
    np.testing.assert_array_equal(z[:, :, 7], a[:, :, 7])
    np.testing.assert_array_equal(z[2:9, 5, 3:29], a[2:9, 5, 3:29])


@st.composite
def thin_case(draw):
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.integers(1, 7)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 3)) for _ in range(ndim - 1)) + (draw(st.integers(1, 2)),)
    sel = []
    for n in shape:
        kind = draw(st.sampled_from(["all", "int", "slice"]))
        if kind == "int":
            sel.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.integers(0, n))
            sel.append(slice(start, draw(st.integers(start, n)), draw(st.integers(1, 3))))
        else:
            sel.append(slice(None))
    return shape, chunks, tuple(sel), draw(st.sampled_from(["f8", "i1", "u2"]))


@settings(max_examples=150, deadline=None)
@given(thin_case())
def test_thin_chunk_reads_match_numpy(case):
    shape, chunks, sel, dtype = case
    a = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    z = zarrflow.array(a, chunks=chunks)
    np.testing.assert_array_equal(z[sel], a[sel])
    np.testing.assert_array_equal(z[...], a)

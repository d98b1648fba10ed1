"""The read/write strategies of core/chunk_io: thin-chunk grouping, batched stores,
inline vs pooled work. numpy is the oracle."""

from __future__ import annotations

import numpy as np
import pytest

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

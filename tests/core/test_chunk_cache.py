"""The opt-in decoded-chunk cache: reads through it equal numpy's, it stays within its
byte bound, evicts least recently used first, and never serves a chunk older than the
array's own last write to it."""

from __future__ import annotations

import numpy as np
import pytest

import zarrflow as zarr
from zarrflow.core.chunk_cache import LRUChunkCache


class BatchingMemoryStore(zarr.MemoryStore):
    """A memory store that asks for batched ``getitems`` (as remote stores do)."""

    supports_concurrent_getitems = True


def _store(kind, tmp_path):
    if kind == "directory":
        return zarr.DirectoryStore(str(tmp_path / "d"))
    if kind == "batching":
        return BatchingMemoryStore()
    return zarr.MemoryStore()


@pytest.fixture(params=["directory", "memory", "batching"])
def store(request, tmp_path):
    return _store(request.param, tmp_path)


@pytest.mark.parametrize("compressor", [None, zarr.Blosc("lz4", 5, zarr.Blosc.SHUFFLE)])
def test_reads_through_the_cache_match_numpy(store, compressor):
    rng = np.random.default_rng(0)
    a = rng.random((50, 70, 6))
    cache = LRUChunkCache(2**22)
    z = zarr.open_array(store, mode="w", shape=a.shape, chunks=(20, 30, 6), dtype="f8",
                        compressor=compressor, chunk_cache=cache)
    z[:] = a
    pts = [tuple(int(rng.integers(0, n)) for n in a.shape) for _ in range(200)]
    for _ in range(2):  # cold, then from the cache
        assert [z[p] for p in pts] == [a[p] for p in pts]
        np.testing.assert_array_equal(z[5:45, 3, :], a[5:45, 3, :])
        np.testing.assert_array_equal(z.vindex[tuple(np.array(pts).T)], a[tuple(np.array(pts).T)])
        rows = [1, 7, 33, 49]
        np.testing.assert_array_equal(z.oindex[rows, :, 2], a[rows][:, :, 2])
        np.testing.assert_array_equal(z[:], a)
    n_chunks = 3 * 3
    assert cache.misses == n_chunks and cache.hits > 400
    assert len(cache) == n_chunks and cache.current_size == n_chunks * 20 * 30 * 6 * 8


def test_missing_chunks_read_as_fill_and_are_not_cached(store):
    cache = LRUChunkCache(None)
    z = zarr.open_array(store, mode="w", shape=(10, 10), chunks=(5, 5), dtype="i4", fill_value=7,
                        chunk_cache=cache)
    assert z[3, 3] == 7 and (z[:] == 7).all()
    assert len(cache) == 0
    z[0, 0] = 1
    assert z[0, 0] == 1 and z[0, 1] == 7 and len(cache) == 1


def test_writes_through_the_array_are_read_back(store):
    cache = LRUChunkCache(None)
    z = zarr.open_array(store, mode="w", shape=(12, 12), chunks=(4, 4), dtype="i8", chunk_cache=cache)
    z[:] = np.arange(144).reshape(12, 12)
    assert z[5, 5] == 65  # cached now
    z[5, 5] = -1  # a partial write: read-modify-write of the chunk
    assert z[5, 5] == -1 and z[5, 6] == 66
    z[4:8, 4:8] = 3  # a whole-chunk write
    assert z[5, 5] == 3
    z.vindex[[0, 11], [0, 11]] = [100, 200]
    assert z[0, 0] == 100 and z[11, 11] == 200
    expected = np.arange(144).reshape(12, 12)
    expected[4:8, 4:8] = 3
    expected[0, 0], expected[11, 11] = 100, 200
    np.testing.assert_array_equal(z[:], expected)


def test_resize_drops_cached_chunks(store):
    cache = LRUChunkCache(None)
    z = zarr.open_array(store, mode="w", shape=(8,), chunks=(2,), dtype="i4", fill_value=0, chunk_cache=cache)
    z[:] = np.arange(1, 9)
    assert z[7] == 8
    z.resize(4)  # chunks 2 and 3 deleted from the store
    z.resize(8)
    assert z[7] == 0 and z[:].tolist() == [1, 2, 3, 4, 0, 0, 0, 0]


def test_bounded_and_least_recently_used_first():
    cache = LRUChunkCache(3 * 800)  # three chunks of 100 f8
    z = zarr.zeros((1000,), chunks=(100,), dtype="f8", chunk_cache=cache)
    z[:] = np.arange(1000.0)
    for i in (0, 100, 200):
        z[i]
    z[0]  # chunk 0 is now the most recently used
    z[300]  # evicts chunk 1, the least recently used
    assert cache.current_size <= cache.max_size and len(cache) == 3
    before = cache.misses
    z[5]
    assert cache.misses == before  # chunk 0 kept
    z[105]
    assert cache.misses == before + 1  # chunk 1 was evicted
    big = LRUChunkCache(100)  # smaller than one chunk: nothing is kept, reads still work
    zb = zarr.zeros((1000,), chunks=(100,), dtype="f8", chunk_cache=big)
    zb[:] = 1.0
    assert zb[3] == 1.0 and len(big) == 0


def test_a_read_older_than_an_invalidation_is_not_cached():
    cache = LRUChunkCache(None)
    token = cache.token("k")
    cache.invalidate_keys(["k"])
    cache.put("k", np.zeros(3), token)
    assert cache.get("k") is None
    token = cache.token("k")
    cache.invalidate()
    cache.put("k", np.zeros(3), token)
    assert cache.get("k") is None
    token = cache.token("k")
    cache.put("k", np.zeros(3), token)
    chunk = cache.get("k")
    assert chunk is not None and not chunk.flags.writeable


def test_results_are_copies_and_arrays_sharing_a_cache_stay_apart():
    cache = LRUChunkCache(None)
    root = zarr.group()
    a = root.create_dataset("a", shape=(4, 4), chunks=(4, 4), dtype="i4", chunk_cache=cache)
    b = root.create_dataset("b", shape=(4, 4), chunks=(4, 4), dtype="i4", chunk_cache=cache)
    a[:] = 1
    b[:] = 2
    got = a[:]
    got[:] = 9  # the caller's copy, not the cached chunk
    assert (a[:] == 1).all() and (b[:] == 2).all() and a[0, 0] == 1 and b[0, 0] == 2
    assert len(cache) == 2


@pytest.mark.parametrize("bad", [-1, 1.5, "10"])
def test_bad_max_size_is_refused(bad):
    with pytest.raises(ValueError, match="max_size"):
        LRUChunkCache(bad)

"""store / from_dask: aligned blocks write without locks, misaligned blocks are
regrouped so each target chunk has one writer, locks only when asked for, a clear
refusal when neither is allowed."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import zarrflow
from zarrflow.errors import MisalignedWriteError
from zarrflow.graph import ops, tasks

SHAPE, CHUNKS = (25, 33), (5, 7)


def data(shape=SHAPE, dtype="f8"):
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape) * 0.5


def target(tmp_path, name="t.zarr", shape=SHAPE, chunks=CHUNKS, **kw):
    return zarrflow.open_array(str(tmp_path / name), mode="w", shape=shape, chunks=chunks, dtype="f8",
                               fill_value=-1, **kw)


def write_tasks(delayed):
    graph = dict(delayed.__dask_graph__())
    return {k: v for k, v in graph.items() if isinstance(k, tuple) and k[0].startswith("zarrflow-store-")}


@pytest.mark.parametrize("blocks", [(5, 7), (10, 14), (6, 8), (3, 33), (25, 4)])
def test_store_equals_numpy(scheduler, tmp_path, blocks):
    a = data()
    t = target(tmp_path)
    n = ops.store(da.from_array(a, chunks=blocks), t, **scheduler.kwargs)
    assert n == a.size
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")[...], a)


def test_aligned_blocks_write_directly_without_locks(tmp_path):
    t = target(tmp_path, synchronizer=zarrflow.ThreadSynchronizer())
    d = da.from_array(data(), chunks=(10, 14))
    delayed = ops.store(d, t, compute=False)
    writes = write_tasks(delayed)
    assert len(writes) == d.npartitions  # no regrouping layer: one write per source block
    assert all(task[1].synchronizer is None for task in writes.values())


def test_misaligned_blocks_are_regrouped_one_writer_per_chunk(tmp_path):
    t = target(tmp_path)
    d = da.from_array(data(), chunks=(6, 8))
    writes = write_tasks(ops.store(d, t, compute=False))
    owners = {}
    for task in writes.values():
        region = task[2]
        for i in range(region[0].start // 5, -(-region[0].stop // 5)):
            for j in range(region[1].start // 7, -(-region[1].stop // 7)):
                owners.setdefault((i, j), []).append(region)
    assert len(owners) == t.nchunks
    assert all(len(v) == 1 for v in owners.values())
    assert all(task[1].synchronizer is None for task in writes.values())


def test_refusal_names_the_chunks_and_the_fix(tmp_path):
    t = target(tmp_path)
    d = da.from_array(data(), chunks=(6, 8))
    with pytest.raises(MisalignedWriteError) as info:
        ops.store(d, t, lock=False)
    msg = str(info.value)
    assert "(0, 1)" in msg and "24 chunk(s)" in msg
    assert "synchronizer=" in msg and "rechunk" in msg
    with pytest.raises(MisalignedWriteError, match="has none"):
        ops.store(d, t, lock=True)  # no synchronizer on the target
    assert t.nchunks_initialized == 0  # nothing was written
    ops.store(da.from_array(data(), chunks=(10, 14)), t, lock=False)  # aligned: fine without either


def test_misaligned_with_the_targets_synchronizer(tmp_path):
    a = data()
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "locks"))
    t = target(tmp_path, synchronizer=sync)
    d = da.from_array(a, chunks=(6, 8))
    delayed = ops.store(d, t, lock=True, compute=False)
    writes = write_tasks(delayed)
    assert len(writes) == d.npartitions  # kept the blocks
    assert all(task[1].synchronizer is not None for task in writes.values())
    assert delayed.compute(scheduler="processes") == a.size
    np.testing.assert_array_equal(t[...], a)


def test_misaligned_with_a_given_synchronizer_threads(tmp_path):
    a = data()
    t = target(tmp_path)
    ops.store(da.from_array(a, chunks=(3, 4)), t, lock=zarrflow.ThreadSynchronizer(), scheduler="threads")
    np.testing.assert_array_equal(t[...], a)


@pytest.mark.parametrize("blocks", [(4, 5), (10, 10)])
def test_region_write(scheduler, tmp_path, blocks):
    a = data((10, 20))
    t = target(tmp_path)
    region = (slice(3, 13), slice(6, 26))
    ops.store(da.from_array(a, chunks=blocks), t, region=region, **scheduler.kwargs)
    expected = np.full(SHAPE, -1.0)
    expected[region] = a
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")[...], expected)


def test_region_shape_mismatch(tmp_path):
    t = target(tmp_path)
    with pytest.raises(ValueError, match="region"):
        ops.store(da.zeros((4, 4), chunks=2), t, region=(slice(0, 5), slice(0, 4)))


def test_compute_false_and_idempotent(tmp_path):
    a = data()
    t = target(tmp_path)
    delayed = ops.store(da.from_array(a, chunks=(6, 8)), t, compute=False)
    assert t.nchunks_initialized == 0
    assert delayed.compute(scheduler="threads") == a.size
    before = {k: t.store[k] for k in t.store if not k.startswith(".")}
    assert delayed.compute(scheduler="threads") == a.size  # again: same bytes
    assert {k: t.store[k] for k in t.store if not k.startswith(".")} == before
    np.testing.assert_array_equal(t[...], a)


def test_write_task_is_small(tmp_path):
    t = target(tmp_path)
    writes = write_tasks(ops.store(da.from_array(data(), chunks=(5, 7)), t, compute=False))
    size = len(pickle.dumps(next(iter(writes.values()))))
    assert size < 1000, size


def test_from_dask(scheduler, tmp_path):
    a = data((30, 20))
    d = da.from_array(a, chunks=(10, 5))
    z = ops.from_dask(d, str(tmp_path / "new.zarr"), **scheduler.kwargs)
    assert z.chunks == (10, 5) and z.shape == (30, 20) and z.dtype == a.dtype
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "new.zarr"), mode="r")[...], a)
    z2 = ops.from_dask(d, str(tmp_path / "other.zarr"), chunks=(7, 7), fill_value=None, **scheduler.kwargs)
    assert z2.chunks == (7, 7)
    np.testing.assert_array_equal(z2[...], a)


def test_from_dask_compute_false_writes_metadata_first(tmp_path):
    d = da.ones((8, 8), chunks=4, dtype="i2")
    delayed = ops.from_dask(d, str(tmp_path / "new.zarr"), compute=False)
    z = zarrflow.open_array(str(tmp_path / "new.zarr"), mode="r")
    assert z.shape == (8, 8) and z.nchunks_initialized == 0
    delayed.compute(scheduler="threads")
    np.testing.assert_array_equal(z[...], np.ones((8, 8), "i2"))


def test_round_trip_through_to_dask(scheduler, tmp_path):
    src = target(tmp_path, "s.zarr")
    src[...] = data()
    t = target(tmp_path, chunks=(4, 9))
    ops.store(ops.to_dask(src) * 2, t, **scheduler.kwargs)
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")[...], data() * 2)


def test_ref_pickles_the_store_not_the_array(tmp_path):
    t = target(tmp_path)
    ref = tasks.layout_of(t)
    assert len(pickle.dumps(ref)) < 500


def test_memory_target_refused_on_other_processes():
    t = zarrflow.zeros((10, 10), chunks=5)  # in-memory store
    d = da.ones((10, 10), chunks=5)
    with pytest.raises(ValueError, match="lost"):
        ops.store(d, t, scheduler="processes")
    ops.store(d, t, scheduler="threads")
    np.testing.assert_array_equal(t[...], np.ones((10, 10)))


def test_single_writer_file_target_refused_on_other_processes(tmp_path):
    """A ZipStore must not be appended to by several processes at once: refused
    before any chunk is written; threads share the one handle and are fine."""
    zs = zarrflow.ZipStore(str(tmp_path / "t.zip"), mode="w")
    t = zarrflow.zeros((10, 10), chunks=5, store=zs)
    d = da.ones((10, 10), chunks=5)
    with pytest.raises(ValueError, match="ZipStore.*one process at a time.*scheduler='threads'"):
        ops.store(d, t, scheduler="processes")
    assert t.nchunks_initialized == 0
    ops.store(d, t, scheduler="threads")
    zs.close()
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zip"), mode="r")[...], np.ones((10, 10)))

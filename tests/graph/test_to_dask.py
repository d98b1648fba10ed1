"""to_dask: lazy reads, one small task per stored chunk (or per block of several)."""

from __future__ import annotations

import pickle
import time
import uuid

import numpy as np
import pytest

pytest.importorskip("dask")

import zarrflow
from zarrflow.graph import ops


def make(path, shape=(25, 33), chunks=(5, 7), dtype="f8", **kw):
    z = zarrflow.open_array(str(path), mode="w", shape=shape, chunks=chunks, dtype=dtype, **kw)
    data = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    z[...] = data
    return z, data


def first_task(d):
    layer = d.__dask_graph__().layers[d.name]
    return layer[next(iter(layer))]


@pytest.mark.parametrize("chunks", [None, (10, 14), (-1, 7)])
def test_to_dask_equals_numpy(scheduler, tmp_path, chunks):
    z, data = make(tmp_path / "a.zarr")
    d = ops.to_dask(z, chunks=chunks)
    if chunks is None:
        assert d.chunks == ((5,) * 5, (7, 7, 7, 7, 5))
        assert d.npartitions == z.nchunks
    np.testing.assert_array_equal(scheduler.compute(d), data)
    np.testing.assert_array_equal(scheduler.compute(d[3:17, ::2].sum(axis=0)), data[3:17, ::2].sum(axis=0))


def test_to_dask_reads_from_a_zip_store(scheduler, tmp_path):
    src = zarrflow.ZipStore(str(tmp_path / "a.zip"), mode="w")
    z = zarrflow.zeros((20, 9), chunks=(4, 4), dtype="i4", store=src)
    z[...] = np.arange(180).reshape(20, 9)
    src.close()
    d = ops.to_dask(zarrflow.open_array(zarrflow.ZipStore(str(tmp_path / "a.zip"), mode="r"), mode="r"))
    np.testing.assert_array_equal(scheduler.compute(d), np.arange(180).reshape(20, 9))


def test_to_dask_fsspec_memory_store():
    url = f"memory://zarrflow-{uuid.uuid4().hex}/a.zarr"
    z = zarrflow.open_array(url, mode="w", shape=(12, 10), chunks=(5, 5), dtype="i2", fill_value=-1)
    z[:7] = 3
    d = ops.to_dask(url)
    expected = np.full((12, 10), -1, dtype="i2")
    expected[:7] = 3
    np.testing.assert_array_equal(d.compute(scheduler="threads"), expected)


def test_missing_chunks_read_as_fill_value(tmp_path):
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(10, 10), chunks=(3, 3), dtype="f4",
                            fill_value=np.nan)
    z[0:3, 0:3] = 1
    out = ops.to_dask(z).compute(scheduler="threads")
    assert np.all(out[:3, :3] == 1) and np.isnan(out[3:]).all()


def test_task_is_small_and_holds_no_data(tmp_path):
    z, data = make(tmp_path / "a.zarr", shape=(400, 400), chunks=(100, 100))
    task = first_task(ops.to_dask(z))
    size = len(pickle.dumps(task))
    print(f"pickled read task: {size} bytes")
    assert size < 1000
    assert data[:100, :100].tobytes()[:64] not in pickle.dumps(task)


def test_names_are_deterministic(tmp_path):
    z, _ = make(tmp_path / "a.zarr")
    again = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="r")
    d1, d2 = ops.to_dask(z), ops.to_dask(again)
    assert d1.name == d2.name
    assert set(d1.__dask_keys__()[0]) == set(d2.__dask_keys__()[0])
    assert ops.to_dask(z, chunks=(10, 14)).name != d1.name
    z.attrs["unrelated"] = 1  # attributes are not metadata of the chunks
    assert ops.to_dask(z).name == d1.name
    z.fill_value = 7  # changed metadata: new keys
    assert ops.to_dask(z).name != d1.name
    other, _ = make(tmp_path / "b.zarr")
    assert ops.to_dask(other).name != d1.name


def test_chunks_must_be_multiples(tmp_path):
    z, _ = make(tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="multiple"):
        ops.to_dask(z, chunks=(6, 7))


def test_zero_dimensional(tmp_path):
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(), dtype="i4")
    z[...] = 42
    assert int(ops.to_dask(z).compute(scheduler="threads")) == 42


def test_graph_construction_for_100k_chunks(tmp_path):
    """Timed, not asserted: building the read graph and a store graph of 100,000 chunks."""
    z = zarrflow.open_array(str(tmp_path / "big.zarr"), mode="w", shape=(10_000, 10_000), chunks=(100, 10),
                            dtype="u1")
    assert z.nchunks == 100_000
    t0 = time.perf_counter()
    d = ops.to_dask(z)
    t1 = time.perf_counter()
    target = zarrflow.open_array(str(tmp_path / "out.zarr"), mode="w", shape=z.shape, chunks=z.chunks, dtype="u1")
    delayed = ops.store(d, target, compute=False)
    t2 = time.perf_counter()
    assert d.npartitions == 100_000
    assert len(delayed.__dask_graph__()) == 200_001
    print(f"\n100,000-chunk graphs: to_dask {t1 - t0:.2f} s, store (on top) {t2 - t1:.2f} s")


def test_public_names_of_the_dask_layer(tmp_path):
    """The public spellings: zarrflow.to_dask / zarrflow.store / zarrflow.from_dask /
    zarrflow.cluster.local (the engine's Array has no Dask method: the engine never
    imports the Dask layer)."""
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(6, 4), chunks=(3, 2), dtype="i2")
    z[...] = np.arange(24, dtype="i2").reshape(6, 4)
    x = zarrflow.to_dask(z)
    assert x.name == zarrflow.to_dask(z).name and x.npartitions == 4
    assert not hasattr(z, "to_dask")
    np.testing.assert_array_equal(x.compute(), z[...])
    t = zarrflow.zeros((6, 4), chunks=(2, 4), dtype="i2")
    assert zarrflow.store(x + 1, t) == 24
    np.testing.assert_array_equal(t[...], z[...] + 1)
    assert callable(zarrflow.cluster.local) and zarrflow.cluster.local.__doc__


class CountingDict(dict):
    """A plain mapping that counts reads of each key."""

    def __init__(self):
        super().__init__()
        self.reads = {}

    def __getitem__(self, key):
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().__getitem__(key)


def test_tasks_do_not_reread_the_metadata():
    """Each task opens the array from the metadata the graph carries: on S3 that
    saves one GET per chunk."""
    mapping = CountingDict()
    z = zarrflow.zeros((40, 40), chunks=(10, 10), dtype="i4", store=zarrflow.KVStore(mapping))
    z[...] = np.arange(1600, dtype="i4").reshape(40, 40)
    x = ops.to_dask(z)
    mapping.reads.clear()
    got = x.compute(scheduler="threads")
    assert mapping.reads.get(".zarray", 0) == 0
    assert sum(n for k, n in mapping.reads.items() if not k.startswith(".")) == 16  # each chunk read once
    np.testing.assert_array_equal(got, np.arange(1600, dtype="i4").reshape(40, 40))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["i2", "f4", "u8"])
def test_edge_chunks_dtype_and_order(tmp_path, order, dtype):
    z, data = make(tmp_path / "a.zarr", shape=(23, 17), chunks=(5, 4), dtype=dtype, order=order)
    d = ops.to_dask(z)
    assert d.dtype == np.dtype(dtype) and d._meta.dtype == np.dtype(dtype)
    assert d.chunks == ((5, 5, 5, 5, 3), (4, 4, 4, 4, 1))
    got = d.compute(scheduler="threads")
    np.testing.assert_array_equal(got, data)
    assert got.dtype == np.dtype(dtype)
    block = ops.to_dask(z).blocks[4, 4].compute(scheduler="sync")
    assert block.shape == (3, 1) and block.flags.writeable


def test_missing_chunks_without_fill_value_read_as_zero(tmp_path):
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(9, 9), chunks=(4, 4), dtype="i4",
                            fill_value=None)
    z[:4, :4] = 5
    out = ops.to_dask(z).compute(scheduler="threads")
    assert (out[:4, :4] == 5).all() and (out[4:] == 0).all() and (out[:, 4:] == 0).all()


def test_thin_chunks_are_read_several_per_block(tmp_path):
    """(256, 128, 1) float64 chunks (256 KiB, 8 bytes along the last axis): 8 per block by default,
    so dask's assembly copies cache lines, not single items; chunks= still wins."""
    z, data = make(tmp_path / "a.zarr", shape=(256, 128, 20), chunks=(256, 128, 1))
    d = ops.to_dask(z)
    assert d.chunks == ((256,), (128,), (8, 8, 4))
    np.testing.assert_array_equal(d.compute(scheduler="threads"), data)
    assert ops.to_dask(z, chunks=(256, 128, 1)).chunks[-1] == (1,) * 20
    small, _ = make(tmp_path / "b.zarr", shape=(8, 8, 4), chunks=(8, 8, 1))  # small chunks: left alone
    assert ops.to_dask(small).chunks[-1] == (1, 1, 1, 1)


def test_name_changes_when_the_metadata_changes(tmp_path):
    z, _ = make(tmp_path / "a.zarr")
    before = ops.to_dask(z).name
    z.resize(30, 33)
    assert ops.to_dask(z).name != before

"""The Dask layer against S3 (a moto server on 127.0.0.1, through s3fs) on every
scheduler: tasks carry the FSStore (URL and storage options, never data), so worker
processes read and write the bucket themselves."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import zarrflow
from tests.graph.test_map import plus_one
from tests.storage.s3_server import fresh_bucket, s3_server  # noqa: F401 - s3_server is a fixture
from zarrflow.graph import ops
from zarrflow.storage import FSStore

DATA = np.arange(24 * 30, dtype="i4").reshape(24, 30)


def remote(s3_server, name="a.zarr", **kw):
    return FSStore(f"s3://{fresh_bucket(s3_server)}/{name}", **s3_server.storage_options(), **kw)


def test_from_dask_to_s3_then_to_dask_and_map_blocks(scheduler, s3_server, tmp_path):
    store = remote(s3_server)
    x = da.from_array(DATA, chunks=(7, 11))  # misaligned with the target: regrouped
    z = ops.from_dask(x, store, chunks=(8, 10), **scheduler.kwargs)
    assert z.nchunks_initialized == z.nchunks == 9
    np.testing.assert_array_equal(z[...], DATA)
    read = ops.to_dask(zarrflow.open_array(store, mode="r"))
    np.testing.assert_array_equal(scheduler.compute(read), DATA)
    target = zarrflow.open_array(str(tmp_path / "t.zarr"), mode="w", shape=DATA.shape, chunks=(8, 10), dtype="i4")
    assert ops.map_blocks(plus_one, zarrflow.open_array(store, mode="r"), target, depth=1, **scheduler.kwargs) == DATA.size
    np.testing.assert_array_equal(target[...], DATA + 1)


def test_region_write_into_s3(scheduler, s3_server):
    store = remote(s3_server)
    z = zarrflow.open_array(store, mode="w", shape=DATA.shape, chunks=(8, 10), dtype="i4", fill_value=-1)
    ops.store(da.ones((8, 20), chunks=(8, 10), dtype="i4"), z, region=(slice(8, 16), slice(10, 30)),
              **scheduler.kwargs)
    expected = np.full(DATA.shape, -1, dtype="i4")
    expected[8:16, 10:30] = 1
    np.testing.assert_array_equal(zarrflow.open_array(store, mode="r")[...], expected)
    assert z.nchunks_initialized == 2

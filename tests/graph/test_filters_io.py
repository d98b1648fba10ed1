"""zarrflow.filters where the data lives and where tasks run: S3 input and output
(a moto server on 127.0.0.1 through s3fs), a LocalCluster of worker processes (the
active client is used without being told), dask's process scheduler; and bad
arguments, which raise before anything is created or written."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("dask")
ndi = pytest.importorskip("scipy.ndimage")

import zarrflow
import zarrflow.filters as zf
from tests.storage.s3_server import fresh_bucket, s3_server  # noqa: F401 - s3_server is a fixture
from zarrflow.storage import FSStore

DATA = np.random.default_rng(0).integers(0, 4000, (6, 33, 28)).astype("u2")


def test_s3_input_and_output(s3_server):
    bucket = fresh_bucket(s3_server)
    source = FSStore(f"s3://{bucket}/in.zarr", **s3_server.storage_options())
    zarrflow.array(DATA, chunks=(2, 11, 14), store=source)
    url = f"s3://{bucket}/out.zarr"
    out = zf.median_filter(f"s3://{bucket}/in.zarr", size=(3, 5), axes=(2, 1), output=url, mode="wrap",
                           storage_options=s3_server.storage_options())
    assert out.chunks == (2, 11, 14)
    reopened = zarrflow.open_array(FSStore(url, **s3_server.storage_options()), mode="r")
    np.testing.assert_array_equal(reopened[...], ndi.median_filter(DATA, size=(3, 5), axes=(2, 1), mode="wrap"))


def test_local_cluster_with_processes(cluster_client, tmp_path):
    zarrflow.array(DATA, chunks=(1, 11, 28), store=str(tmp_path / "in.zarr"))
    with cluster_client.as_current():
        out = zf.median_filter(str(tmp_path / "in.zarr"), 3, output=str(tmp_path / "out.zarr"), mode="mirror",
                               max_bytes=1)
        pids = cluster_client.run(os.getpid)
    assert os.getpid() not in pids.values()
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "out.zarr"), mode="r")[...],
                                  ndi.median_filter(DATA, 3, mode="mirror"))
    np.testing.assert_array_equal(out[...], ndi.median_filter(DATA, 3, mode="mirror"))


def test_process_scheduler(tmp_path):
    zarrflow.array(DATA, chunks=(2, 33, 28), store=str(tmp_path / "in.zarr"))
    out = zf.maximum_filter(str(tmp_path / "in.zarr"), 4, output=str(tmp_path / "out.zarr"), axes=(1, 2),
                            scheduler="processes", max_bytes=1)
    np.testing.assert_array_equal(out[...], ndi.maximum_filter(DATA, 4, axes=(1, 2)))


def test_worker_processes_cannot_write_memory_outputs():
    z = zarrflow.array(DATA, chunks=(2, 33, 28))
    with pytest.raises(ValueError, match="lives in this process's memory"):
        zf.median_filter(z, 3, output=zarrflow.MemoryStore(), scheduler="processes")


BAD = [
    (dict(size=4, axes=(1, 2), kernel="opencv"), ValueError, "odd square windows"),
    (dict(footprint=np.ones((3, 3))), ValueError, r"footprint has 2 dimension\(s\)"),
    (dict(size=3, axes=(0, 3)), ValueError, "axis 3 is out of range for an array of 3 dimensions"),
    (dict(size=3, origin=(0, 2, 0)), ValueError, "origin 2 is out of range"),
    (dict(size=3, mode="bogus"), ValueError, "mode='bogus'"),
]


@pytest.mark.parametrize("kw,error,match", BAD)
def test_bad_arguments_write_nothing(tmp_path, kw, error, match):
    src = zarrflow.array(DATA, chunks=(2, 11, 14), store=str(tmp_path / "in.zarr"))
    before = sorted(os.listdir(tmp_path / "in.zarr"))
    with pytest.raises(error, match=match):
        zf.median_filter(src, output=str(tmp_path / "out.zarr"), **kw)
    assert not (tmp_path / "out.zarr").exists()
    assert sorted(os.listdir(tmp_path / "in.zarr")) == before


def test_float16_input_is_refused_and_nothing_written(tmp_path):
    src = zarrflow.array(DATA.astype("f2"), chunks=(2, 11, 14))
    with pytest.raises(TypeError, match="float16 is not supported by scipy.ndimage"):
        zf.median_filter(src, 3, output=str(tmp_path / "out.zarr"))
    assert not (tmp_path / "out.zarr").exists()


def test_output_of_another_shape_is_refused_and_left_alone(tmp_path):
    src = zarrflow.array(DATA, chunks=(2, 11, 14))
    target = zarrflow.full((6, 33, 27), 5, chunks=(6, 33, 27), dtype="u2", store=str(tmp_path / "t.zarr"))
    with pytest.raises(ValueError, match=r"output has shape \(6, 33, 27\), the input has shape \(6, 33, 28\)"):
        zf.median_filter(src, 3, output=target)
    assert (target[...] == 5).all()


def test_filtering_in_place_is_refused(tmp_path):
    src = zarrflow.array(DATA, chunks=(2, 11, 14), store=str(tmp_path / "in.zarr"))
    again = zarrflow.open_array(str(tmp_path / "in.zarr"), mode="r+")
    with pytest.raises(ValueError, match="output is the input array"):
        zf.median_filter(src, 3, output=again)
    np.testing.assert_array_equal(again[...], DATA)


def test_existing_output_path_is_not_overwritten_unless_asked(tmp_path):
    src = zarrflow.array(DATA, chunks=(2, 11, 14))
    zarrflow.full(DATA.shape, 9, chunks=(6, 33, 28), dtype="u2", store=str(tmp_path / "o.zarr"))
    with pytest.raises(Exception, match="contains an array|already"):
        zf.median_filter(src, 3, output=str(tmp_path / "o.zarr"))
    assert (zarrflow.open_array(str(tmp_path / "o.zarr"), mode="r")[...] == 9).all()
    out = zf.median_filter(src, 3, output=str(tmp_path / "o.zarr"), overwrite=True)
    np.testing.assert_array_equal(out[...], ndi.median_filter(DATA, 3))


def test_missing_output_is_an_error():
    with pytest.raises(ValueError, match="give output"):
        zf.median_filter(zarrflow.array(DATA), 3)

"""zarrflow.images: TIFF stacks in and out, against tifffile (the oracle): round trips of
slice globs, directories, lists and multi-page files for several dtypes; natural sort
order; mismatched files named before anything is written; exports per slice and as one
multi-page file; existing files refused; a LocalCluster of worker processes."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("dask")
tifffile = pytest.importorskip("tifffile")

import zarrflow
from zarrflow import images


def stack(shape=(11, 21, 17), dtype="u2", seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)


def write_slices(directory, data, name="slice_{}.tif"):
    directory.mkdir(exist_ok=True)
    for i, image in enumerate(data):
        tifffile.imwrite(directory / name.format(i), image)


@pytest.mark.parametrize("dtype", ["u1", "u2", "i2", "u4", "f4", "f8"])
def test_glob_round_trip(tmp_path, dtype):
    data = stack(dtype=dtype)
    write_slices(tmp_path / "in", data)
    z = images.from_tiff(str(tmp_path / "in" / "*.tif"), str(tmp_path / "z.zarr"), chunks=(4, 21, 17))
    assert z.shape == data.shape and z.dtype == data.dtype and z.chunks == (4, 21, 17)
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "z.zarr"), mode="r")[...], data)
    names = images.to_tiff(str(tmp_path / "z.zarr"), str(tmp_path / "out" / "s_{:05d}.tif"))
    assert names == [str(tmp_path / "out" / f"s_{i:05d}.tif") for i in range(11)]
    for i, name in enumerate(names):
        image = tifffile.imread(name)
        assert image.dtype == data.dtype
        np.testing.assert_array_equal(image, data[i])
    assert sorted(os.listdir(tmp_path / "out")) == [os.path.basename(n) for n in names]  # no temporary left


def test_natural_sort_order_and_directories(tmp_path):
    data = stack(shape=(12, 5, 6))
    write_slices(tmp_path / "in", data, name="img{}.tiff")  # img10 sorts after img9
    z = images.from_tiff(str(tmp_path / "in"), zarrflow.MemoryStore())
    np.testing.assert_array_equal(z[...], data)
    assert z.chunks == (1, 5, 6)
    assert [os.path.basename(f) for f in images.list_tiffs(str(tmp_path / "in"))][:3] == ["img0.tiff", "img1.tiff",
                                                                                         "img2.tiff"]


def test_list_of_files_keeps_its_order(tmp_path):
    data = stack(shape=(3, 4, 5))
    write_slices(tmp_path / "in", data)
    files = [str(tmp_path / "in" / f"slice_{i}.tif") for i in (2, 0, 1)]
    z = images.from_tiff(files, zarrflow.MemoryStore())
    np.testing.assert_array_equal(z[...], data[[2, 0, 1]])


def test_multipage_file_round_trip(tmp_path):
    data = stack(shape=(9, 13, 8), dtype="u1")
    tifffile.imwrite(tmp_path / "stack.tif", data, photometric="minisblack")
    z = images.from_tiff(str(tmp_path / "stack.tif"), str(tmp_path / "z.zarr"), chunks=2, max_bytes=1)
    assert z.chunks == (2, 13, 8)
    np.testing.assert_array_equal(z[...], data)
    assert images.to_tiff(z, str(tmp_path / "back.tif"), compression="zlib") == [str(tmp_path / "back.tif")]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "back.tif"), data)
    with tifffile.TiffFile(tmp_path / "back.tif") as tif:
        assert len(tif.pages) == 9


def test_stack_of_multipage_files_is_4d(tmp_path):
    data = stack(shape=(3, 4, 6, 5))
    (tmp_path / "in").mkdir()
    for i, volume in enumerate(data):
        tifffile.imwrite(tmp_path / "in" / f"v{i}.tif", volume, photometric="minisblack")
    z = images.from_tiff(str(tmp_path / "in" / "v*.tif"), zarrflow.MemoryStore())
    assert z.shape == (3, 4, 6, 5) and z.chunks == (1, 4, 6, 5)
    np.testing.assert_array_equal(z[...], data)


@pytest.mark.parametrize("bad", ["shape", "dtype"])
def test_mismatched_files_are_named_and_nothing_is_written(tmp_path, bad):
    data = stack(shape=(5, 8, 9))
    write_slices(tmp_path / "in", data)
    odd = data[3, :7] if bad == "shape" else data[3].astype("u1")
    tifffile.imwrite(tmp_path / "in" / "slice_3.tif", odd)
    with pytest.raises(ValueError, match=r"1 of 5 TIFF files differ from the first .*slice_0.tif: shape \(8, 9\) "
                                         r"uint16\): .*slice_3.tif: shape \((7, 9\) uint16|8, 9\) uint8)"):
        images.from_tiff(str(tmp_path / "in" / "*.tif"), str(tmp_path / "z.zarr"))
    assert not (tmp_path / "z.zarr").exists()


def test_not_a_tiff_and_no_files(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.tif").write_bytes(b"not a tiff")
    with pytest.raises(ValueError, match="a.tif: not a readable TIFF file"):
        images.from_tiff(str(tmp_path / "in" / "*.tif"), str(tmp_path / "z.zarr"))
    with pytest.raises(FileNotFoundError, match="no file matches"):
        images.from_tiff(str(tmp_path / "none" / "*.tif"), str(tmp_path / "z.zarr"))
    assert not (tmp_path / "z.zarr").exists()


def test_export_refuses_existing_files_and_bad_patterns(tmp_path):
    z = zarrflow.array(stack(shape=(3, 4, 5)))
    (tmp_path / "s_00001.tif").write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="s_00001.tif"):
        images.to_tiff(z, str(tmp_path / "s_{:05d}.tif"))
    assert sorted(os.listdir(tmp_path)) == ["s_00001.tif"] and (tmp_path / "s_00001.tif").read_bytes() == b"keep"
    images.to_tiff(z, str(tmp_path / "s_{:05d}.tif"), overwrite=True)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "s_00001.tif"), z[1])
    with pytest.raises(ValueError, match="exactly one format field"):
        images.to_tiff(z, str(tmp_path / "{}_{}.tif"))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        images.to_tiff(zarrflow.array(np.arange(3)), str(tmp_path / "x_{}.tif"))


def test_on_a_local_cluster(cluster_client, tmp_path):
    data = stack(shape=(7, 16, 16))
    write_slices(tmp_path / "in", data)
    with cluster_client.as_current():
        z = images.from_tiff(str(tmp_path / "in" / "*.tif"), str(tmp_path / "z.zarr"), max_bytes=1)
        names = images.to_tiff(z, str(tmp_path / "out" / "{:03d}.tif"), max_bytes=1)
    np.testing.assert_array_equal(z[...], data)
    np.testing.assert_array_equal(np.stack([tifffile.imread(n) for n in names]), data)


def test_lazy_module_attribute():
    assert zarrflow.images.from_tiff is images.from_tiff

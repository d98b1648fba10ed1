"""``zarrflow tiff import|export``: round trips against tifffile, mismatched files named
with nothing written, existing files refused."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask")
tifffile = pytest.importorskip("tifffile")

from click.testing import CliRunner

import zarrflow
from zarrflow.cli import main

DATA = np.random.default_rng(0).integers(0, 255, (12, 20, 16)).astype("u1")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def slices(tmp_path):
    (tmp_path / "in").mkdir()
    for i, image in enumerate(DATA):
        tifffile.imwrite(tmp_path / "in" / f"s{i}.tif", image)
    return tmp_path


def test_import_then_export(slices):
    result = invoke("tiff", "import", slices / "in" / "*.tif", slices / "z.zarr", "--chunks", "4,20,16",
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert f"12 TIFF file(s): {slices / 'in' / 's0.tif'} ... {slices / 'in' / 's11.tif'}" in result.output
    assert "shape (12, 20, 16) uint8, chunks (4, 20, 16)" in result.output
    np.testing.assert_array_equal(zarrflow.open_array(str(slices / "z.zarr"), mode="r")[...], DATA)
    result = invoke("tiff", "export", slices / "z.zarr", slices / "out" / "slice_{:05d}.tif", "--compression", "zlib")
    assert result.exit_code == 0, result.output
    assert "wrote 12 file(s)" in result.output
    for i in range(12):
        np.testing.assert_array_equal(tifffile.imread(slices / "out" / f"slice_{i:05d}.tif"), DATA[i])
    result = invoke("tiff", "export", slices / "z.zarr", slices / "out" / "slice_{:05d}.tif")
    assert result.exit_code == 1 and "exist already" in result.output


def test_multipage_export_and_import(slices):
    zarrflow.array(DATA, store=str(slices / "z.zarr"), chunks=(5, 20, 16))
    assert invoke("tiff", "export", slices / "z.zarr", slices / "stack.tif").exit_code == 0
    np.testing.assert_array_equal(tifffile.imread(slices / "stack.tif"), DATA)
    result = invoke("tiff", "import", slices / "stack.tif", slices / "back.zarr", "--no-progress")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(zarrflow.open_array(str(slices / "back.zarr"), mode="r")[...], DATA)


def test_mismatch_is_reported_by_file_name(slices):
    tifffile.imwrite(slices / "in" / "s7.tif", DATA[7, :19])
    result = invoke("tiff", "import", slices / "in" / "*.tif", slices / "z.zarr")
    assert result.exit_code == 1
    assert "s7.tif: shape (19, 16) uint8" in result.output and "nothing was written" in result.output
    assert not (slices / "z.zarr").exists()

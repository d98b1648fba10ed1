"""``zarrflow filter ...``: the plan line, the result against scipy, bad arguments as
clear errors that write nothing; one real ``python -m zarrflow`` subprocess."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask")
ndi = pytest.importorskip("scipy.ndimage")

from click.testing import CliRunner

import zarrflow
from zarrflow.cli import main

DATA = np.random.default_rng(0).integers(0, 60000, (5, 40, 30)).astype("u2")


@pytest.fixture
def stack(tmp_path):
    zarrflow.array(DATA, chunks=(1, 40, 30), store=str(tmp_path / "in.zarr"))
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_median_slice_by_slice(stack):
    result = invoke("filter", "median", stack / "in.zarr", stack / "out.zarr", "--size", "5", "--axes", "1,2",
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert ("median_filter: window 1x5x5 over shape (5, 40, 30), halo (before+after) per axis [0+0, 2+2, 2+2], "
            "1 task(s)") in result.output
    assert "wrote" in result.output and "shape (5, 40, 30) uint16, chunks (1, 40, 30)" in result.output
    np.testing.assert_array_equal(zarrflow.open_array(str(stack / "out.zarr"), mode="r")[...],
                                  ndi.median_filter(DATA, 5, axes=(1, 2)))


@pytest.mark.parametrize("args,oracle", [
    (["rank", "--rank", "-2", "--size", "3", "--mode", "wrap"], lambda a: ndi.rank_filter(a, -2, 3, mode="wrap")),
    (["percentile", "--percentile", "25", "--size", "2,3,4", "--origin", "0,1,-1"],
     lambda a: ndi.percentile_filter(a, 25, (2, 3, 4), origin=(0, 1, -1))),
    (["minimum", "--size", "3,4", "--axes", "2,1", "--mode", "wrap,constant", "--cval", "7"],
     lambda a: ndi.minimum_filter(a, (3, 4), axes=(2, 1), mode=("wrap", "constant"), cval=7)),
    (["maximum", "--size", "3", "--chunks", "2,20,30", "--kernel", "scipy", "--scheduler", "processes"],
     lambda a: ndi.maximum_filter(a, 3)),
])
def test_other_filters(stack, args, oracle):
    result = invoke("filter", args[0], stack / "in.zarr", stack / "out.zarr", *args[1:], "--no-progress")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(zarrflow.open_array(str(stack / "out.zarr"), mode="r")[...], oracle(DATA))


def test_footprint_file(stack):
    fp = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    np.save(stack / "fp.npy", fp)
    result = invoke("filter", "median", stack / "in.zarr", stack / "out.zarr", "--footprint", stack / "fp.npy",
                    "--axes", "1,2", "--no-progress")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(zarrflow.open_array(str(stack / "out.zarr"), mode="r")[...],
                                  ndi.median_filter(DATA, footprint=fp, axes=(1, 2)))


@pytest.mark.parametrize("args,message", [
    (["--size", "4", "--axes", "1,2", "--kernel", "opencv"], "odd square windows"),
    (["--size", "3", "--axes", "1,5"], "axis 5 is out of range"),
    (["--size", "3", "--mode", "edge"], "mode='edge' is not one of"),
    (["--size", "x"], "'x' is not a comma-separated list of integers"),
    ([], "give exactly one of --size and --footprint"),
    (["--size", "3", "--max-bytes", "lots"], "'lots' is not a byte size"),
])
def test_bad_arguments_write_nothing(stack, args, message):
    result = invoke("filter", "median", stack / "in.zarr", stack / "out.zarr", *args, "--no-progress")
    assert result.exit_code != 0
    assert message in result.output
    assert not (stack / "out.zarr").exists()


def test_float16_is_refused(tmp_path):
    zarrflow.array(DATA.astype("f2"), store=str(tmp_path / "in.zarr"))
    result = invoke("filter", "median", tmp_path / "in.zarr", tmp_path / "out.zarr", "--size", "3")
    assert result.exit_code == 1 and "float16 is not supported" in result.output
    assert not (tmp_path / "out.zarr").exists()


def test_python_dash_m_with_progress_bar(stack):
    proc = subprocess.run([sys.executable, "-m", "zarrflow", "filter", "median", str(stack / "in.zarr"),
                           str(stack / "out.zarr"), "--size", "3", "--axes", "1,2"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "100% Completed" in proc.stdout + proc.stderr
    np.testing.assert_array_equal(zarrflow.open_array(str(stack / "out.zarr"), mode="r")[...],
                                  ndi.median_filter(DATA, 3, axes=(1, 2)))

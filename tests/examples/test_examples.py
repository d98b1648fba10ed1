"""The examples run as users run them (a fresh interpreter) and check their own
results against NumPy; these tests hold them to a zero exit and their output lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_quickstart(tmp_path):
    out = run_example("quickstart.py", "--path", str(tmp_path / "q.zarr"), "--size", "500")
    assert "Type               : zarrflow.Array" in out
    assert "Shape              : (500, 500)" in out
    assert "data identical" in out and "z[234, 178] = 117178;" in out


@pytest.mark.parametrize("workers", ["0", "2"], ids=["threads", "local-cluster"])
def test_dask_layer(tmp_path, workers):
    pytest.importorskip("distributed")
    out = run_example("dask_layer.py", "--path", str(tmp_path), "--size", "64", "--workers", workers)
    assert "from_dask: (16, 64, 64) uint16 in 4 chunks" in out
    assert "copy_all(parallel=True): 2 copied, 0 skipped, 393216 bytes" in out
    assert out.rstrip().endswith("all results equal NumPy's")
    assert ("local cluster of 2 worker processes" in out) == (workers == "2")


def test_rechunk_time_series(tmp_path):
    pytest.importorskip("dask")
    out = run_example("rechunk_time_series.py", "--path", str(tmp_path), "--steps", "40", "--size", "64",
                      "--max-mem", "400kB")
    assert "source: (40, 64, 64) float32 in chunks (1, 64, 64)" in out
    assert "Rechunk plan" in out and "stage 1" in out
    assert out.rstrip().endswith("over 40 steps; data identical")


def test_median_filter_stack(tmp_path):
    pytest.importorskip("distributed")
    pytest.importorskip("scipy")
    pytest.importorskip("tifffile")
    out = run_example("median_filter_stack.py", "--path", str(tmp_path / "m"), "--slices", "9", "--size", "48")
    assert "wrote 9 TIFF slices of 48 x 48 uint16" in out
    assert "from_tiff: (9, 48, 48) uint16, chunks (4, 48, 48)" in out
    assert "to_tiff: 18 files" in out
    assert "slices [0, 2, 5, 8] of both exports equal scipy.ndimage.median_filter; whole arrays too" in out
    assert out.rstrip().endswith("all results equal scipy's")

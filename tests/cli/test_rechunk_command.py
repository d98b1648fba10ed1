"""``zarrflow rechunk``: plan printed first, result exact, errors as usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import zarrflow
from zarrflow.cli import main

REPO = Path(__file__).resolve().parents[2]


def make_source(path):
    data = np.arange(32 * 16 * 16, dtype="i4").reshape(32, 16, 16)
    z = zarrflow.open_array(str(path), mode="w", shape=data.shape, chunks=(1, 16, 16), dtype="i4")
    z[...] = data
    return data


def test_rechunk_command(tmp_path):
    data = make_source(tmp_path / "s.zarr")
    result = CliRunner().invoke(main, ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"),
                                       "--chunks", "32,2,2", "--max-mem", "40kB", "--temp", str(tmp_path / "x"),
                                       "--target-options", '{"compressor": {"id": "zlib", "level": 1}}',
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Rechunk plan")
    assert any("stage 1" in line for line in lines)
    assert json.loads(lines[-1])["tasks_skipped"] == 0
    out = zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")
    assert out.chunks == (32, 2, 2) and out.compressor.codec_id == "zlib"
    np.testing.assert_array_equal(out[...], data)


def test_dry_run_writes_nothing(tmp_path):
    make_source(tmp_path / "s.zarr")
    result = CliRunner().invoke(main, ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"),
                                       "--chunks", "32,-1,1", "--max-mem", "1MB", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "(32, 16, 1)" in result.output
    assert not (tmp_path / "t.zarr").exists()


def test_errors_are_reported_not_raised(tmp_path):
    make_source(tmp_path / "s.zarr")
    runner = CliRunner()
    result = runner.invoke(main, ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"),
                                  "--chunks", "32,2", "--max-mem", "1MB"])
    assert result.exit_code == 1 and "has 2 dimensions but the array has 3" in result.output
    result = runner.invoke(main, ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"),
                                  "--chunks", "a,b", "--max-mem", "1MB"])
    assert result.exit_code == 2 and "comma-separated list of integers" in result.output
    result = runner.invoke(main, ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"),
                                  "--chunks", "32,1,1", "--max-mem", "100"])
    assert result.exit_code == 1 and "smallest max_mem that works" in result.output
    assert not (tmp_path / "t.zarr").exists()


def test_installed_command_runs(tmp_path):
    data = make_source(tmp_path / "s.zarr")
    proc = subprocess.run([sys.executable, "-m", "zarrflow", "rechunk", str(tmp_path / "s.zarr"),
                           str(tmp_path / "t.zarr"), "--chunks", "32,4,4", "--max-mem", "1MB", "--no-progress"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Rechunk plan")
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")[...], data)

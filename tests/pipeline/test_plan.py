"""``zarrflow plan``: what a run would read and write, the rechunk plans and the new
inputs, touching nothing."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from tests.pipeline.conftest import REPO, WORKFLOWS
from zarrflow.cli import main
from zarrflow.pipeline.runner import ExitCode


def snapshot(path):
    return {p: p.stat().st_mtime_ns for p in path.rglob("*")}


def test_plan_touches_nothing(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "make_workflow_data.py"), "--out",
                           str(tmp_path / "data"), "--slices", "3", "--size", "32"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    before = snapshot(tmp_path)
    env = {"ZARRFLOW_DATA": str(tmp_path / "data"), "ZARRFLOW_OUTPUT": str(tmp_path / "out"),
           "ZARRFLOW_INCOMING": str(tmp_path / "data" / "incoming")}
    result = CliRunner().invoke(main, ["plan", str(WORKFLOWS / "rechunk_time_series.yaml")], env=env)
    assert result.exit_code == 0, result.output
    assert f"reads maps: {tmp_path / 'data'}/maps.zarr" in result.output
    assert "Rechunk plan" in result.output and "stage 1" in result.output
    result = CliRunner().invoke(main, ["plan", str(WORKFLOWS / "nightly_tiff_ingest.yaml")], env=env)
    assert result.exit_code == 0, result.output
    assert "new: slice_00000.tif" in result.output and "new: slice_00002.tif" in result.output
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "out").exists()
    # after a run there is nothing new: exit 3
    run = CliRunner().invoke(main, ["run", str(WORKFLOWS / "nightly_tiff_ingest.yaml")], env=env)
    assert run.exit_code == ExitCode.OK, run.output
    result = CliRunner().invoke(main, ["plan", str(WORKFLOWS / "nightly_tiff_ingest.yaml")], env=env)
    assert result.exit_code == ExitCode.NOTHING_TO_DO
    assert "skip - no new inputs" in result.output


def test_run_on_a_cluster_file(tmp_path):
    """``zarrflow run --cluster``: the cluster is started for a run with work, not for
    one with nothing to do; the result is the same."""
    from tests.pipeline.conftest import run_zarrflow

    proc = subprocess.run([sys.executable, str(REPO / "examples" / "make_workflow_data.py"), "--out",
                           str(tmp_path / "data"), "--slices", "1", "--size", "32"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("kind: local\nworkers: 2\ncluster: {threads_per_worker: 1, memory_limit: 1GiB}\n")
    env = {"ZARRFLOW_DATA": str(tmp_path / "data"), "ZARRFLOW_OUTPUT": str(tmp_path / "out"),
           "ZARRFLOW_MAX_MEM": "200kB"}
    flow = WORKFLOWS / "rechunk_time_series.yaml"
    run = run_zarrflow("run", flow, "--cluster", cluster, env=env)
    assert run.code == ExitCode.OK, run.stderr
    assert "cluster: local, 2 workers" in run.stderr
    import zarrflow

    maps = zarrflow.open_array(str(tmp_path / "data" / "maps.zarr"), mode="r")
    series = zarrflow.open_array(str(tmp_path / "out" / "series.zarr"), mode="r")
    assert series.chunks == (maps.shape[0], 8, 8)
    assert (series[:] == maps[:]).all()
    again = run_zarrflow("run", flow, "--cluster", cluster, env=env)
    assert again.code == ExitCode.NOTHING_TO_DO
    assert "cluster: local" not in again.stderr  # no cluster started for nothing
    both = run_zarrflow("run", flow, "--cluster", cluster, "--scheduler", "threads", env=env)
    assert both.code == 2 and "cannot be used together" in both.stderr

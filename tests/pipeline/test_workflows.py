"""The ready pipelines of ``workflows/``, run as they are (a real ``zarrflow run``
process) on the data ``examples/make_workflow_data.py`` makes, with S3 through a moto
server on 127.0.0.1: the nightly scenario played for real (first run, nothing new,
new slices, a corrupt file, a kill mid-append, a stale lease, two runs at once)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("tifffile")
ndimage = pytest.importorskip("scipy.ndimage")

import zarrflow
from tests.pipeline.conftest import REPO, WORKFLOWS, run_zarrflow, start_zarrflow, wait_for, zarrflow_env
from zarrflow.pipeline.append import RECORD_ATTR
from zarrflow.pipeline.runner import ExitCode

SIZE = 48


def make_data(out: str, env: dict, first: int = 0, slices: int = 6, only_tiff: bool = False) -> None:
    args = [sys.executable, str(REPO / "examples" / "make_workflow_data.py"), "--out", out, "--slices", str(slices),
            "--size", str(SIZE), "--first", str(first)] + (["--only-tiff"] if only_tiff else [])
    proc = subprocess.run(args, capture_output=True, text=True, env=zarrflow_env(env), cwd=REPO)
    assert proc.returncode == 0, proc.stderr


def expected_slices(numbers):
    from examples.make_workflow_data import noisy_slice

    return np.stack([ndimage.median_filter(noisy_slice(i, SIZE), size=3, mode="reflect") for i in numbers])


def open_s3(s3, path):
    return zarrflow.open_array(zarrflow.FSStore(s3.url(path), **s3.storage_options), mode="r")


def test_nightly_ingest_scenarios_on_s3(s3):
    env = {**s3.env, "ZARRFLOW_INCOMING": s3.url("incoming"), "ZARRFLOW_OUTPUT": s3.url("stacks")}
    make_data(s3.url(""), s3.env, first=0, slices=6, only_tiff=True)
    flow = WORKFLOWS / "nightly_tiff_ingest.yaml"
    # 1. the first night
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.OK, run.stderr
    stack = open_s3(s3, "stacks/stack.zarr")
    np.testing.assert_array_equal(stack[:], expected_slices(range(6)))
    assert zarrflow.open_consolidated(zarrflow.FSStore(s3.url("stacks/stack.zarr"), **s3.storage_options))
    # 2. nothing new: exit 3, not one object written (not even a lease)
    before = s3.snapshot()
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.NOTHING_TO_DO, run.stderr
    assert s3.snapshot() == before
    # 3. new slices arrive, one of them corrupt: the others are appended, it is quarantined
    make_data(s3.url(""), s3.env, first=6, slices=3, only_tiff=True)
    s3.fs.pipe(f"{s3.name}/incoming/slice_00007.tif", b"truncated tiff")
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.OK, run.stderr
    assert [q["id"] for q in run.report["quarantined"]] == ["slice_00007.tif"]
    np.testing.assert_array_equal(open_s3(s3, "stacks/stack.zarr")[:], expected_slices([0, 1, 2, 3, 4, 5, 6, 8]))
    report = json.loads(s3.fs.cat(f"{s3.name}/stacks/stack.zarr.zarrflow/runs/latest.json"))
    assert report["run_id"] == run.report["run_id"] and report["quarantined"]
    # 4. a stale lease (a run that died on another machine, expired): taken over
    lease = {"holder": "dead-run", "host": "elsewhere", "pid": 1, "expires": time.time() - 5, "ttl": 600}
    s3.fs.pipe(f"{s3.name}/stacks/stack.zarr.zarrflow/lease.json", json.dumps(lease).encode())
    make_data(s3.url(""), s3.env, first=9, slices=1, only_tiff=True)
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.OK, run.stderr
    assert run.report["leases_taken_over"][0]["previous"]["holder"] == "dead-run"
    # 5. a live lease of another machine: locked, nothing written
    lease["expires"] = time.time() + 600
    s3.fs.pipe(f"{s3.name}/stacks/stack.zarr.zarrflow/lease.json", json.dumps(lease).encode())
    make_data(s3.url(""), s3.env, first=10, slices=1, only_tiff=True)
    before = s3.snapshot()
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.LOCKED, run.stderr
    assert s3.snapshot() == before
    s3.fs.rm(f"{s3.name}/stacks/stack.zarr.zarrflow/lease.json")
    assert run_zarrflow("run", flow, env=env).code == ExitCode.OK
    final = open_s3(s3, "stacks/stack.zarr")
    np.testing.assert_array_equal(final[:], expected_slices([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]))
    ids = [e["id"] for e in final.attrs[RECORD_ATTR]]
    assert len(ids) == len(set(ids)) == 10


def test_killed_mid_append_on_s3_then_rerun(s3, tmp_path):
    make_data(s3.url(""), s3.env, first=0, slices=24, only_tiff=True)
    flow = tmp_path / "ingest.yaml"
    text = (WORKFLOWS / "nightly_tiff_ingest.yaml").read_text().replace("on_error: skip", "on_error: skip\n"
                                                                        "      batch_bytes: 1")
    flow.write_text(text)
    env = {**s3.env, "ZARRFLOW_INCOMING": s3.url("incoming"), "ZARRFLOW_OUTPUT": s3.url("stacks")}
    proc = start_zarrflow("run", flow, env=env)

    def committed_three():
        s3.fs.invalidate_cache()
        return json.loads(s3.fs.cat(f"{s3.name}/stacks/stack.zarr/.zarray"))["shape"][0] >= 3

    wait_for(committed_three, timeout=90, interval=0.02, until_exit=proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n = open_s3(s3, "stacks/stack.zarr").shape[0]
    assert 3 <= n < 24
    np.testing.assert_array_equal(open_s3(s3, "stacks/stack.zarr")[:], expected_slices(range(n)))
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.OK, run.stderr
    final = open_s3(s3, "stacks/stack.zarr")
    np.testing.assert_array_equal(final[:], expected_slices(range(24)))
    assert [e["id"] for e in final.attrs[RECORD_ATTR]] == [f"slice_{i:05d}.tif" for i in range(24)]


def test_two_runs_at_once_on_s3(s3, tmp_path):
    src = zarrflow.open_array(str(tmp_path / "src.zarr"), mode="w", shape=(10, 8, 8), chunks=(1, 8, 8), dtype="i4")
    src[:] = np.arange(640, dtype="i4").reshape(10, 8, 8)
    flow = tmp_path / "slow.yaml"
    flow.write_text(f"""\
version: 1
name: slow-s3
inputs:
  src: {{zarr: "{tmp_path / 'src.zarr'}"}}
outputs:
  doubled: {{zarr: "{s3.url('doubled.zarr')}"}}
steps:
  - map_slices: {{from: src, to: doubled, function: "tests.pipeline.slow:slow_double", kwargs: {{delay: 0.3}}}}
""")
    procs = [start_zarrflow("run", flow, "--scheduler", "synchronous", env=s3.env) for _ in range(2)]
    codes = sorted(p.wait(timeout=180) for p in procs)
    assert codes == [ExitCode.OK, ExitCode.LOCKED], [p.stderr.read() for p in procs]
    np.testing.assert_array_equal(open_s3(s3, "doubled.zarr")[:], src[:] * 2)


def test_rechunk_workflow_local_to_s3_and_rerun(s3, tmp_path):
    make_data(str(tmp_path), {}, slices=1)
    env = {**s3.env, "ZARRFLOW_DATA": str(tmp_path), "ZARRFLOW_OUTPUT": s3.url("analysis"), "ZARRFLOW_MAX_MEM": "1MB"}
    flow = WORKFLOWS / "rechunk_time_series.yaml"
    run = run_zarrflow("run", flow, env=env)
    assert run.code == ExitCode.OK, run.stderr
    series = open_s3(s3, "analysis/series.zarr")
    maps = zarrflow.open_array(str(tmp_path / "maps.zarr"), mode="r")
    assert series.chunks == (maps.shape[0], 8, 8)
    np.testing.assert_array_equal(series[:], maps[:])
    assert not s3.fs.exists(f"{s3.name}/analysis/series-intermediate.zarr/zarrflow-rechunk")
    assert run_zarrflow("run", flow, env=env).code == ExitCode.NOTHING_TO_DO
    # the maps change: the series is rechunked again
    zarrflow.open_array(str(tmp_path / "maps.zarr"), mode="r+")[0] = 5.0
    assert run_zarrflow("run", flow, env=env).code == ExitCode.OK
    np.testing.assert_array_equal(open_s3(s3, "analysis/series.zarr")[0], np.full((SIZE, SIZE), 5.0, "f4"))


def test_copy_to_cloud_workflow(s3, tmp_path):
    make_data(str(tmp_path), {}, slices=1)
    env = {**s3.env, "ZARRFLOW_DATA": str(tmp_path), "ZARRFLOW_CLOUD": s3.url("published")}
    run = run_zarrflow("run", WORKFLOWS / "copy_to_cloud.yaml", env=env)
    assert run.code == ExitCode.OK, run.stderr
    cloud = zarrflow.open_consolidated(zarrflow.FSStore(s3.url("published/hierarchy.zarr"), **s3.storage_options))
    local = zarrflow.open_group(str(tmp_path / "hierarchy.zarr"), mode="r")
    assert cloud.attrs["title"] == "example hierarchy"
    np.testing.assert_array_equal(cloud["raw/counts"][:], local["raw/counts"][:])
    np.testing.assert_array_equal(cloud["labels"][:], local["labels"][:])
    assert run_zarrflow("run", WORKFLOWS / "copy_to_cloud.yaml", env=env).code == ExitCode.NOTHING_TO_DO

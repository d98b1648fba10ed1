"""Appends: exact against tifffile, natural order, idempotent reruns, new inputs
only, quarantined inputs, and crash consistency under SIGKILL."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

import zarrflow
from tests.pipeline.conftest import run_zarrflow, start_zarrflow, wait_for
from zarrflow.pipeline.append import RECORD_ATTR
from zarrflow.pipeline.runner import ExitCode

PIPELINE = """\
version: 1
name: append-test
lease: {{ttl: 30}}
inputs:
  slices: {{tiff: "{incoming}/*.tif"}}
  grow: {{zarr: "{grow}"}}
outputs:
  stack: {{zarr: "{stack}"}}
  copy: {{zarr: "{copy}"}}
steps:
  - id: ingest
    append: {{from: slices, to: stack, chunks: [4, 16, 16], on_error: {on_error}, batch_bytes: {batch}}}
  - id: follow
    append: {{from: grow, to: copy, axis: 1}}
"""


def slice_image(i: int, shape=(16, 16), dtype="u2") -> np.ndarray:
    return (np.arange(np.prod(shape)).reshape(shape) * 3 + i).astype(dtype)


def write_slices(directory, numbers, shape=(16, 16), dtype="u2"):
    directory.mkdir(parents=True, exist_ok=True)
    for i in numbers:
        tifffile.imwrite(directory / f"slice_{i}.tif", slice_image(i, shape, dtype))


def setup(tmp_path, on_error="skip", batch=1 << 28):
    grow = zarrflow.open_array(str(tmp_path / "grow.zarr"), mode="w", shape=(3, 0), chunks=(3, 5), dtype="i4")
    text = PIPELINE.format(incoming=tmp_path / "in", grow=tmp_path / "grow.zarr", stack=tmp_path / "stack.zarr",
                           copy=tmp_path / "copy.zarr", on_error=on_error, batch=batch)
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path, grow


def stack_of(tmp_path):
    return zarrflow.open_array(str(tmp_path / "stack.zarr"), mode="r")


def test_append_exact_in_natural_order_and_idempotent(tmp_path):
    path, grow = setup(tmp_path)
    write_slices(tmp_path / "in", [1, 2, 10])
    run = run_zarrflow("run", path)
    assert run.code == ExitCode.OK, run.stderr
    stack = stack_of(tmp_path)
    expected = [tifffile.imread(tmp_path / "in" / f"slice_{i}.tif") for i in (1, 2, 10)]  # 2 before 10
    np.testing.assert_array_equal(stack[:], np.stack(expected))
    assert [e["id"] for e in stack.attrs[RECORD_ATTR]] == ["slice_1.tif", "slice_2.tif", "slice_10.tif"]
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "stack.zarr").rglob("*")}
    # a rerun with nothing new: exit 3 and not one file written
    again = run_zarrflow("run", path)
    assert again.code == ExitCode.NOTHING_TO_DO, again.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "stack.zarr").rglob("*")} == before
    assert not (tmp_path / "stack.zarr.zarrflow" / "lease.json").exists()
    # new files: only they are appended
    write_slices(tmp_path / "in", [3, 11])
    plan = run_zarrflow("plan", path)
    assert "new: slice_3.tif" in plan.stdout and "slice_1.tif" not in plan.stdout
    run = run_zarrflow("run", path)
    assert run.code == ExitCode.OK
    assert run.report["steps"][0]["inputs"] == ["slice_3.tif", "slice_11.tif"]
    np.testing.assert_array_equal(stack_of(tmp_path)[:], np.stack(expected + [slice_image(3), slice_image(11)]))
    # the run report is next to the output
    latest = json.loads((tmp_path / "stack.zarr.zarrflow" / "runs" / "latest.json").read_text())
    assert latest["run_id"] == run.report["run_id"] and latest["exit_code"] == 0


def test_growing_zarr_source_appends_only_the_new_part(tmp_path):
    path, grow = setup(tmp_path)
    grow.append(np.arange(12, dtype="i4").reshape(3, 4), axis=1)
    assert run_zarrflow("run", path).code == ExitCode.OK
    grow.append(np.arange(12, 18, dtype="i4").reshape(3, 2), axis=1)
    assert run_zarrflow("run", path).code == ExitCode.OK
    copy = zarrflow.open_array(str(tmp_path / "copy.zarr"), mode="r")
    np.testing.assert_array_equal(copy[:], grow[:])
    assert run_zarrflow("run", path).code == ExitCode.NOTHING_TO_DO


def test_bad_inputs_are_quarantined_and_not_retried_until_changed(tmp_path):
    path, _ = setup(tmp_path, on_error="skip")
    write_slices(tmp_path / "in", [0, 1])
    (tmp_path / "in" / "slice_2.tif").write_bytes(b"not a tiff at all")
    tifffile.imwrite(tmp_path / "in" / "slice_3.tif", np.zeros((8, 8), "u2"))  # wrong shape
    run = run_zarrflow("run", path)
    assert run.code == ExitCode.OK, run.stderr
    bad = {q["id"]: q["error"] for q in run.report["quarantined"]}
    assert set(bad) == {"slice_2.tif", "slice_3.tif"}
    assert "(8, 8)" in bad["slice_3.tif"] and "(16, 16)" in bad["slice_3.tif"]
    np.testing.assert_array_equal(stack_of(tmp_path)[:], np.stack([slice_image(0), slice_image(1)]))
    assert run_zarrflow("run", path).code == ExitCode.NOTHING_TO_DO  # quarantined files are not new
    tifffile.imwrite(tmp_path / "in" / "slice_2.tif", slice_image(2))  # fixed: tried again
    assert run_zarrflow("run", path).code == ExitCode.OK
    np.testing.assert_array_equal(stack_of(tmp_path)[:], np.stack([slice_image(i) for i in (0, 1, 2)]))


def test_on_error_stop_fails_the_step(tmp_path):
    path, _ = setup(tmp_path, on_error="stop")
    write_slices(tmp_path / "in", [0])
    (tmp_path / "in" / "slice_1.tif").write_bytes(b"garbage")
    run = run_zarrflow("run", path)
    assert run.code == ExitCode.FAILED
    step = run.report["steps"][0]
    assert step["status"] == "failed" and "slice_1.tif" in step["error"]
    np.testing.assert_array_equal(stack_of(tmp_path)[:], slice_image(0)[None])  # what came before is committed


def test_killed_mid_append_then_rerun_is_exact_without_duplicates(tmp_path):
    path, _ = setup(tmp_path, batch=1)  # one committed batch per file
    numbers = list(range(60))
    write_slices(tmp_path / "in", numbers)
    proc = start_zarrflow("run", path)
    meta = tmp_path / "stack.zarr" / ".zarray"
    wait_for(lambda: json.loads(meta.read_text())["shape"][0] >= 5, interval=0.001, until_exit=proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = stack_of(tmp_path)
    n = partial.shape[0]
    assert 5 <= n < 60
    # what is visible is exact: committed entries only, data equal
    np.testing.assert_array_equal(partial[:], np.stack([slice_image(i) for i in numbers[:n]]))
    rerun = run_zarrflow("run", path)  # the killed holder's pid is gone: its lease is stale at once
    assert rerun.code == ExitCode.OK, rerun.stderr
    assert rerun.report["leases_taken_over"]
    final = stack_of(tmp_path)
    np.testing.assert_array_equal(final[:], np.stack([slice_image(i) for i in numbers]))
    ids = [e["id"] for e in final.attrs[RECORD_ATTR]]
    assert ids == [f"slice_{i}.tif" for i in numbers]  # each once, in order


def test_two_runs_at_once_one_is_locked(tmp_path):
    (tmp_path / "in").mkdir()
    src = zarrflow.open_array(str(tmp_path / "src.zarr"), mode="w", shape=(12, 8, 8), chunks=(1, 8, 8), dtype="f4")
    src[:] = np.arange(12 * 64, dtype="f4").reshape(12, 8, 8)
    path = tmp_path / "slow.yaml"
    path.write_text(f"""\
version: 1
name: slow
inputs:
  src: {{zarr: "{tmp_path / 'src.zarr'}"}}
outputs:
  doubled: {{zarr: "{tmp_path / 'doubled.zarr'}"}}
steps:
  - map_slices: {{from: src, to: doubled, function: "tests.pipeline.slow:slow_double", kwargs: {{delay: 0.25}}}}
""")
    first = start_zarrflow("run", path, "--scheduler", "synchronous")
    lease = tmp_path / "doubled.zarr.zarrflow" / "lease.json"
    wait_for(lease.exists, until_exit=first)
    second = run_zarrflow("run", path)
    assert second.code == ExitCode.LOCKED, second.stderr
    assert "is held by run" in second.stderr
    out, err = first.communicate(timeout=120)
    assert first.returncode == ExitCode.OK, err
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "doubled.zarr"))[:], src[:] * 2)

"""The ``benchmarks.child --serve`` protocol and the interleaved rounds, with real children
at a tiny scale (no timing asserted)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from benchmarks import run
from benchmarks.interleave import ChildFailed, ServedChild, interleave, round_order, summarize

ROOT = Path(__file__).resolve().parents[2]
TINY = "0.002"


def _child(impl: str, workload: str, workdir: Path) -> ServedChild:
    cmd = [sys.executable, "-m", "benchmarks.child", "--serve", "--impl", impl, "--workload", workload,
           "--scale", TINY, "--workdir", str(workdir)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return ServedChild(cmd, env, str(ROOT), timeout=120)


def test_round_trip_read_checks_every_run(tmp_path):
    pytest.importorskip("zarrflow.core.array")
    child = _child("zarrflow", "i4_zstd_read", tmp_path)
    try:
        assert child.wait_ready() is None
        warm = child.send("warmup")
        runs = [child.send("run") for _ in range(2)]
        assert warm["cmd"] == "warmup" and [r["cmd"] for r in runs] == ["run", "run"]
        assert all(a["verified"] is True and a["check"] == "ok" and a["seconds"] > 0 for a in [warm, *runs])
        with pytest.raises(ChildFailed, match="unknown command"):
            child.send("bogus")
        res = child.send("finish")
    finally:
        child.close()
    assert res["status"] == "ok" and res["verified"] is True
    assert res["checks_run"] == 3 and res["checks_passed"] == 3
    assert res["peak_bytes"] >= 0 and res["mem_method"] in ("hwm-reset", "ru_maxrss")
    assert res["env"]["zarrflow"] and res["stored_bytes"] > 0
    assert child.proc.returncode == 0


def test_a_changed_chunk_fails_that_runs_check(tmp_path):
    """A chunk removed between runs makes the next read return fill values: caught."""
    pytest.importorskip("zarrflow.core.array")
    child = _child("zarrflow", "i4_zstd_read", tmp_path)
    try:
        assert child.wait_ready() is None
        assert child.send("run")["verified"] is True
        (tmp_path / "array.zarr" / "0.0").unlink()
        bad = child.send("run")
        res = child.send("finish")
    finally:
        child.close()
    assert bad["verified"] is False and "crc32 differs" in bad["check"]
    assert res["verified"] is False and res["checks_passed"] == 1 and res["checks_run"] == 2


def test_write_is_checked_on_finish(tmp_path):
    child = _child("codec", "i4_zstd_write", tmp_path)
    try:
        assert child.wait_ready() is None
        answers = [child.send(c) for c in ("warmup", "run", "run")]
        res = child.send("finish")
    finally:
        child.close()
    assert all(a["verified"] is None for a in answers)  # writes: checked after the last run
    assert res["verified"] is True and res["check"] == "ok"


def test_unavailable_impl_answers_instead_of_ready(tmp_path):
    child = _child("zarr2", "i4_zstd_read", tmp_path)  # this interpreter has zarr 3, not 2
    try:
        failed = child.wait_ready()
    finally:
        child.kill()
        child.close()
    assert failed is not None and failed["status"] == "unavailable"


def test_round_order_rotates():
    assert round_order(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert round_order(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert round_order(["a", "b", "c"], 3) == ["a", "b", "c"]
    assert round_order([], 2) == []


def test_rounds_interleave_the_children_in_time(tmp_path):
    """Every round visits every child once, in the rotated order, and the runs really
    happen in that order (the children's own start times say so)."""
    names = ["codec", "rawio"]
    children = {n: _child(n, "i4_zstd_read", tmp_path / n) for n in names}
    failures: list = []
    try:
        for c in children.values():
            assert c.wait_ready() is None
        answers, orders = interleave(children, 3, lambda impl, why: failures.append((impl, why)))
        for c in children.values():
            c.send("finish")
    finally:
        for c in children.values():
            c.close()
    assert not failures
    assert orders == [["codec", "rawio"], ["rawio", "codec"], ["codec", "rawio"], ["rawio", "codec"]]
    timeline = sorted((a["started_at"], name) for name in names for a in answers[name])
    assert [name for _, name in timeline] == [n for order in orders for n in order]
    for name in names:
        assert [a["cmd"] for a in answers[name]] == ["warmup", "run", "run", "run"]
        s = summarize(answers[name])
        assert len(s["times"]) == 3 and s["min_s"] <= s["seconds"] <= s["max_s"] and s["warmup_runs"] == 1


def test_run_reports_median_spread_and_times(tmp_path):
    out = tmp_path / "engine.md"
    rc = run.main(["--scale", TINY, "--repeat", "3", "--impls", "codec,rawio", "--workloads", "i4_zstd_read",
                   "--out", str(out), "--workdir", str(tmp_path / "work")])
    assert rc == 0
    import json

    data = json.loads(out.with_suffix(".json").read_text())
    for r in data["results"]:
        if r["impl"] == "limit":
            continue
        assert len(r["times"]) == 3 and r["min_s"] <= r["seconds"] <= r["max_s"]
        assert r["round_orders"] == [["codec", "rawio"], ["rawio", "codec"]] * 2  # warm-up round first
    assert data["meta"]["repeat"] == 3 and data["meta"]["commit"]


def test_a_dead_child_is_dropped_and_the_others_go_on(tmp_path):
    children = {n: _child(n, "i4_zstd_read", tmp_path / n) for n in ("codec", "rawio")}
    failures: list = []
    try:
        for c in children.values():
            assert c.wait_ready() is None
        children["codec"].proc.kill()
        answers, orders = interleave(children, 2, lambda impl, why: failures.append((impl, why)))
        res = children["rawio"].send("finish")
    finally:
        for c in children.values():
            c.close()
    assert [impl for impl, _ in failures] == ["codec"]
    assert "exited" in failures[0][1] or "gone" in failures[0][1]
    assert orders[1:] == [["rawio"], ["rawio"]]
    assert [a["cmd"] for a in answers["rawio"]] == ["warmup", "run", "run"] and res["verified"] is True

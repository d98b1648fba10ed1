"""Smoke test of ``python -m benchmarks.filters`` at a tiny size: every row is produced,
every output is checked identical (the run's exit status says so); no timing asserted."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("dask_image")
pytest.importorskip("scipy")

from benchmarks import filters


def test_tiny_run(tmp_path):
    out, js = tmp_path / "filters.md", tmp_path / "filters.json"
    rc = filters.main(["--scale", "0.002", "--slice-size", "40", "--workloads", "median2d_size3,median3d_size3",
                       "--out", str(out), "--json", str(js), "--workdir", str(tmp_path)])
    assert rc == 0
    data = json.loads(js.read_text())
    assert data["meta"]["shape"] == [2, 40, 40]
    rows = {(r["workload"], r["impl"]): r for r in data["rows"]}
    assert set(rows) == {(w, i) for w in ("median2d_size3", "median3d_size3") for i in filters.IMPLS}
    for w in ("median2d_size3", "median3d_size3"):
        assert rows[(w, "zarrflow")]["identical"] is True
        assert rows[(w, "dask-image")]["identical"] is True and rows[(w, "scipy-loop")]["identical"] is True
        assert rows[(w, "zarrflow")]["planned_peak"] > 0
    text = out.read_text()
    assert "| median3d_size3 | dask-image |" in text and "Stack 2 x 40 x 40 uint16" in text

"""``python -m benchmarks.run --all --quick --only engine,dask``: the plumbing of the one
command that regenerates every figure (tiny scales; no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run, suite

ROOT = Path(__file__).resolve().parents[2]


def test_quick_engine_and_dask(tmp_path, zarr2, monkeypatch):
    pytest.importorskip("dask")
    pytest.importorskip("zarrflow.core.array")
    monkeypatch.setenv("ZARRFLOW_ZARR2_PYTHON", str(zarr2.python))  # the oracle venv the suite's fixture built
    readme_before = (ROOT / "README.md").read_text()
    committed = sorted(p.name for p in (ROOT / "benchmarks" / "results").iterdir())
    rc = run.main(["--all", "--quick", "--only", "engine,dask", "--out-dir", str(tmp_path)])
    info = json.loads((tmp_path / "suite.json").read_text())
    assert [b["name"] for b in info["benchmarks"]] == ["engine", "dask"]
    assert all(b["status"] == "ok" for b in info["benchmarks"]), info["benchmarks"]
    assert rc == 0
    for name in ("engine.json", "engine.md", "dask.json", "dask.md"):
        assert (tmp_path / name).stat().st_size > 0
    engine = json.loads((tmp_path / "engine.json").read_text())
    assert engine["meta"]["commit"] and engine["meta"]["versions"]["main"]["numpy"]
    assert all(r["verified"] for r in engine["results"]), [r for r in engine["results"] if not r["verified"]]
    assert not engine["skipped"], engine["skipped"]  # every implementation ran, h5py and zarr 2.18 included
    # the README copy in the output directory got the tables of this run; the real one is untouched
    copy = (tmp_path / "README.md").read_text()
    assert f"Scale {engine['meta']['scale']}; seconds are the median of 2 interleaved rounds" in copy
    assert (ROOT / "README.md").read_text() == readme_before
    assert sorted(p.name for p in (ROOT / "benchmarks" / "results").iterdir()) == committed


def test_quick_never_writes_the_committed_results(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--quick", "--out-dir", str(ROOT / "benchmarks" / "results")])
    assert "never go to benchmarks/results" in capsys.readouterr().err


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--only", "engine,nosuch"])
    assert "nosuch" in capsys.readouterr().err

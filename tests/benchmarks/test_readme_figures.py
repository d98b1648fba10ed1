"""benchmarks.readme_figures: README tables rewritten from JSON, ``--check`` exit codes, and
the committed README against the committed JSON (drift)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import derive, readme_figures

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"

META = {"commit": "feedc0ffee123456", "dirty": False, "start_utc": "2031-05-06T07:08:09Z", "end_utc": "x",
        "cpu": "Imaginary CPU 9000", "cores": 96, "memory_gib": 512.0, "kernel": "Linux 9.9", "scale": 1.0,
        "repeat": 5, "threads": 2, "command": "python -m benchmarks.run"}


def _row(impl: str, seconds: float, verified: bool = True) -> dict:
    return {"impl": impl, "workload": "i4_zstd_read", "group": "i4_zstd", "op": "read", "status": "ok",
            "seconds": seconds, "min_s": seconds - 0.01, "max_s": seconds + 0.02, "bytes": 400_000_000,
            "peak_bytes": 401_000_000, "verified": verified, "check": "ok"}


def _results(tmp_path: Path) -> Path:
    d = tmp_path / "results"
    d.mkdir()
    rows = [_row("zarrflow", 0.2), _row("zarr2", 0.3), _row("tensorstore", 0.25), _row("h5py", 0.5, False),
            _row("codec", 0.1), _row("rawio", 0.05)]
    (d / "engine.json").write_text(json.dumps({"meta": META, "skipped": {}, "results": derive.with_limits(rows)}))
    filt = {"meta": {"shape": [2, 40, 40], "threads": 2, "repeat": 1, "run": META},
            "rows": [{"workload": "median2d_size3", "impl": "zarrflow", "seconds": 2.0, "peak_rss": 2 * 2**20,
                      "planned_peak": 2**20, "identical": True},
                     {"workload": "median2d_size3", "impl": "dask-image", "seconds": 8.0, "identical": True},
                     {"workload": "median2d_size3", "impl": "scipy-loop", "seconds": 6.0, "identical": True},
                     {"workload": "median2d_size3", "impl": "zarrflow-kernel", "seconds": 0.5, "identical": None}]}
    (d / "filters.json").write_text(json.dumps(filt))
    return d


README = """# x

text before
<!-- figures:engine:begin -->
| old | table |
<!-- figures:engine:end -->

middle
<!-- figures:filters:begin -->
old filters
<!-- figures:filters:end -->
<!-- figures:dask:begin -->
kept: no dask.json
<!-- figures:dask:end -->
after
"""


def _main(*args: str) -> int:
    return readme_figures.main(list(args))


def test_rewrite_then_check(tmp_path):
    results, readme = _results(tmp_path), tmp_path / "README.md"
    readme.write_text(README)
    base = ("--results", str(results), "--readme", str(readme))
    assert _main(*base, "--check") == 2  # dask.json missing and not allowed
    assert _main(*base, "--check", "--allow-missing") == 1  # differs
    assert readme.read_text() == README  # --check writes nothing
    assert _main(*base, "--allow-missing") == 0
    text = readme.read_text()
    assert "| old | table |" not in text and "old filters" not in text and "kept: no dask.json" in text
    assert text.startswith("# x\n\ntext before\n<!-- figures:engine:begin -->\n") and text.endswith("after\n")
    assert ("Measured 2031-05-06 (UTC) on 96 CPUs (Imaginary CPU 9000), 512.0 GiB, Linux 9.9, commit "
            "feedc0ffee. Scale 1.0; seconds are the median of 5 interleaved rounds") in text
    assert ("| i4_zstd_read | 0.2 (2,000) | 0.19–0.22 | 0.3 | — | 0.25 | 0.5 | 1.25x | 0.1 (codec) | 401 | "
            "MISMATCH: h5py |") in text
    assert "| median 3 x 3 per slice | 2.00 | 8.00 | 6.00 | 3.0x | 0.25 | 2 MiB (1) | yes |" in text
    assert _main(*base, "--check", "--allow-missing") == 0
    readme.write_text(text.replace("0.2 (2,000)", "0.1 (4,000)"))
    assert _main(*base, "--check", "--allow-missing") == 1


def test_unknown_block_is_an_error(tmp_path):
    results, readme = _results(tmp_path), tmp_path / "README.md"
    readme.write_text("<!-- figures:nosuch:begin -->\nx\n<!-- figures:nosuch:end -->\n")
    assert _main("--results", str(results), "--readme", str(readme), "--allow-missing") == 2


@pytest.mark.parametrize("name", list(readme_figures.FIGURES))
def test_committed_readme_matches_committed_json(name):
    """Drift: each README table equals what its committed JSON gives. Skipped only for a
    table whose JSON is not committed yet (the README block is then left as it is)."""
    body = readme_figures.FIGURES[name](RESULTS)
    if body is None:
        pytest.skip(f"no committed JSON for the {name!r} table under benchmarks/results")
    text = (ROOT / "README.md").read_text()
    block = f"<!-- figures:{name}:begin -->\n{body}\n<!-- figures:{name}:end -->"
    assert f"<!-- figures:{name}:begin -->" in text, f"README has no {name!r} block"
    assert block in text, f"README's {name!r} table differs from its JSON: run python -m benchmarks.readme_figures"


def test_chunk_cache_table(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    rows = [{**_row("zarrflow", 0.4), "workload": "f8_3d_points", "op": "points"},
            {**_row("zarrflow_cache", 0.01), "workload": "f8_3d_points", "op": "points"},
            {**_row("zarrflow", 0.02), "workload": "vindex_1000", "op": "vindex"},
            {**_row("zarrflow_cache", 0.01, verified=False), "workload": "vindex_1000", "op": "vindex"}]
    (d / "chunk_cache.json").write_text(json.dumps({"meta": META, "skipped": {}, "results": rows}))
    body = readme_figures.chunk_cache(d)
    assert "the cache (1 GiB) is filled by the warm-up round" in body
    assert "| f8_3d_points | 0.4 (0.39–0.42) | 0.01 (0–0.03) | 40.0x | 401 | all ok |" in body
    assert "| vindex_1000 |" in body and "MISMATCH or error" in body
    assert readme_figures.chunk_cache(tmp_path) is None  # no JSON: the README block is left as it is

"""benchmarks.dask_layer runs at a tiny scale, writes its two result files, and every
result it timed passed its check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask")

ROOT = Path(__file__).resolve().parents[2]


def test_dask_layer_runs_and_checks_its_results(tmp_path):
    out, raw = tmp_path / "dask.md", tmp_path / "dask.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.dask_layer", "--scale", "0.01", "--repeat", "1",
                           "--out", str(out), "--json", str(raw)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(raw.read_text())
    assert {"commit", "dirty", "start_utc", "end_utc", "versions", "cpu", "loadavg_before", "loadavg_after"} <= set(data["meta"])
    rows = data["results"]
    for key in ("read/f8_3d/zarrflow-direct", "read/f8_3d/zarrflow-dask", "read/i4_zstd/zarrflow-floor",
                "write/i4_zstd/zarrflow", "copy-raw/i4_zstd/zarrflow-copy_store",
                "copy-recode/i4_zstd/zarrflow-copy_all", "graph/100k_chunks/zarrflow"):
        assert rows[key]["ok"] is True, (key, rows[key])
    assert all(r.get("ok") is not False for r in rows.values())
    text = out.read_text()
    assert "Raw byte copies" in text and "Decode/re-encode copies" in text and "/ direct read" in text

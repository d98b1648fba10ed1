"""The engine report is rendered from the results JSON alone (no timing asserted)."""

from __future__ import annotations

import json
import platform

from benchmarks import derive, report


def _row(impl: str, workload: str, seconds: float, **kw) -> dict:
    return {"impl": impl, "workload": workload, "group": "i4_zstd", "op": workload.rsplit("_", 1)[1],
            "status": "ok", "seconds": seconds, "min_s": seconds * 0.9, "max_s": seconds * 1.2,
            "times": [seconds * 0.9, seconds, seconds * 1.2], "bytes": 400_000_000, "peak_bytes": 5_000_000,
            "verified": True, "check": "ok", "foreign_cpu": 0.0, **kw}


def _data() -> dict:
    meta = {"commit": "0123456789abcdef", "dirty": False, "start_utc": "2031-01-02T03:04:05Z",
            "end_utc": "2031-01-02T03:14:05Z", "command": "python -m benchmarks.run --scale 1",
            "cpu": "Imaginary CPU 9000", "cores": 96, "memory_gib": 512.0, "kernel": "Linux 9.9",
            "loadavg_before": [0.1, 0, 0], "loadavg_after": [0.2, 0, 0],
            "versions": {"main": {"executable": "/x/python", "python": "3.99", "zarrflow": "7.0"}},
            "scale": 1.0, "repeat": 3, "threads": 2}
    rows = [_row("zarrflow", "i4_zstd_read", 0.2), _row("h5py", "i4_zstd_read", 0.4),
            _row("codec", "i4_zstd_read", 0.1), _row("rawio", "i4_zstd_read", 0.05),
            _row("zarr3", "i4_zstd_read", 0.3, verified=False, check="crc32 differs")]
    return {"meta": meta, "skipped": {"zarr2": "not here"}, "results": derive.with_limits(rows)}


def test_markdown_comes_from_the_json_only():
    md = report.markdown(_data())
    assert "96 CPUs (Imaginary CPU 9000), 512.0 GiB, Linux 9.9" in md
    assert platform.release() not in md
    assert "from 2031-01-02T03:04:05Z to 2031-01-02T03:14:05Z, commit 0123456789" in md
    assert "| i4_zstd_read | zarrflow | 0.2 | 0.18–0.24 | 2,000 | 1.00 | 5.0 | 50% | ok |" in md
    assert "| i4_zstd_read | h5py | 0.4 | 0.36–0.48 | 1,000 | 2.00 | 5.0 | 25% | ok |" in md
    assert "| i4_zstd_read | zarr3 | 0.3 | 0.27–0.36 | 1,333 | 1.50 | 5.0 | 33% | MISMATCH |" in md
    assert "| i4_zstd_read | limit (codec) | 0.1 |" in md
    assert "`zarr2` skipped: not here" in md and "data check failed: crc32 differs" in md


def test_report_cli_rerenders_a_saved_json(tmp_path):
    js, out = tmp_path / "r.json", tmp_path / "r.md"
    report.write_json(str(js), _data())
    assert report.main([str(js), "--out", str(out)]) == 0
    assert out.read_text() == report.markdown(json.loads(js.read_text())) + "\n"

"""Figures derived from the children's raw results: the ``limit`` row, ratios, % of limit.

Seconds are the medians of the interleaved timed runs (``min_s``/``max_s`` their spread).

* ``limit`` = the slower (by median) of ``codec`` and ``rawio`` for a workload (perfect overlap of
  codec work and I/O: no engine can beat it on the same threads).
* ratio vs zarrflow = this row's seconds / zarrflow's seconds (> 1: zarrflow faster).
* % of limit = limit seconds / this row's seconds * 100, for full reads/writes of the
  engines only (100 % = as fast as the limit).
"""

from __future__ import annotations

from benchmarks.impls import IMPLS, ORDER

MB = 1e6


def ok(row: dict | None) -> bool:
    return bool(row) and row.get("status") == "ok"


def limit_row(codec: dict | None, rawio: dict | None) -> dict | None:
    """The derived ``limit`` result of one workload, if both limits ran."""
    if not (ok(codec) and ok(rawio)):
        return None
    slower = codec if codec["seconds"] >= rawio["seconds"] else rawio
    return {
        "impl": "limit", "workload": codec["workload"], "group": codec["group"], "op": codec["op"],
        "status": "ok", "seconds": slower["seconds"], "min_s": slower.get("min_s"), "max_s": slower.get("max_s"),
        "bytes": codec["bytes"],
        "bound": slower["impl"], "verified": codec["verified"] and rawio["verified"],
        "check": "ok" if codec["verified"] and rawio["verified"] else "limit check failed",
    }


def with_limits(results: list[dict]) -> list[dict]:
    """``results`` plus one ``limit`` row per workload where codec and rawio both ran."""
    by_key = {(r["workload"], r["impl"]): r for r in results}
    out = list(results)
    for wl in dict.fromkeys(r["workload"] for r in results):
        row = limit_row(by_key.get((wl, "codec")), by_key.get((wl, "rawio")))
        if row:
            out.append(row)
    return out


def figures(row: dict, zarrflow: dict | None, limit: dict | None, full: bool) -> dict:
    """Numbers of one table row (``None`` where not applicable)."""
    if not ok(row):
        return {"seconds": None, "mbps": None, "ratio": None, "peak_mb": None, "pct_limit": None}
    s = row["seconds"]
    is_engine = row["impl"] in IMPLS and IMPLS[row["impl"]].kind == "engine"
    return {
        "seconds": s,
        "mbps": row["bytes"] / MB / s if s > 0 else None,
        "ratio": s / zarrflow["seconds"] if ok(zarrflow) and zarrflow["seconds"] > 0 else None,
        "peak_mb": row["peak_bytes"] / MB if "peak_bytes" in row else None,
        "pct_limit": 100 * limit["seconds"] / s if full and is_engine and ok(limit) and s > 0 else None,
    }


def sort_key(row: dict) -> int:
    return ORDER.index(row["impl"]) if row["impl"] in ORDER else len(ORDER)

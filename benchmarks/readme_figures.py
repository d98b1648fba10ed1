"""Rewrite the README's benchmark tables from the committed raw JSON results.

    python -m benchmarks.readme_figures [--results benchmarks/results] [--readme README.md]
        [--check] [--allow-missing]

Each table sits between ``<!-- figures:NAME:begin -->`` and ``<!-- figures:NAME:end -->``
and is rebuilt from JSON alone: a line saying when (UTC date), on what machine and at
which commit it was measured (from the JSON's recorded metadata), then the table.

| NAME | JSON (under ``--results``) | written by |
|---|---|---|
| ``engine`` | ``engine.json`` | ``python -m benchmarks.run`` |
| ``engine_tmpfs`` | ``engine_tmpfs.json`` | ``benchmarks.run --workloads i4_small_chunks --workdir /dev/shm`` |
| ``dask`` | ``dask.json`` | ``python -m benchmarks.dask_layer`` |
| ``rechunk`` | ``rechunk.json``, ``rechunk_roomy.json`` | ``benchmarks.rechunk`` |
| ``filters`` | ``filters.json`` | ``python -m benchmarks.filters`` |
| ``chunk_cache`` | ``chunk_cache.json`` | ``benchmarks.run --impls zarrflow,zarrflow_cache`` |

``--check`` writes nothing and exits 1 when the README differs from what the JSON
gives. A block whose JSON is missing is left as it is; that is an error (exit 2)
unless ``--allow-missing``. Unknown markers are an error too.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import meta, report, workloads

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- figures:(?P<name>[\w-]+):begin -->\n(?P<body>.*?)<!-- figures:(?P=name):end -->",
                    re.S)
MiB = 2**20


def _load(results: Path, *names: str) -> list[dict] | None:
    paths = [results / n for n in names]
    if not all(p.exists() for p in paths):
        return None
    return [json.loads(p.read_text()) for p in paths]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


# ---- engine ---------------------------------------------------------------------------------------

_OTHERS = (("zarr2", "zarr 2.18 s"), ("zarr3", "zarr 3 s"), ("tensorstore", "tensorstore s"), ("h5py", "h5py s"))


def _ok(r: dict | None) -> bool:
    return bool(r) and r.get("status") == "ok" and r.get("seconds") is not None


def engine(results: Path, file: str = "engine.json") -> str | None:
    """The engine summary: medians of the interleaved rounds, one row per workload."""
    loaded = _load(results, file)
    if loaded is None:
        return None
    data = loaded[0]
    m, rows = data["meta"], data["results"]
    by = {(r["workload"], r["impl"]): r for r in rows}
    names = [n for n in workloads.NAMES if (n, "zarrflow") in by]
    header = ["workload", "zarrflow s (MB/s)", "zarrflow spread s", *(h for _, h in _OTHERS),
              "fastest other / zarrflow", "limit s (codec/io)", "zarrflow peak MB", "checks"]
    out = []
    for name in names:
        zf = by[(name, "zarrflow")]
        cells = [name, f"{report.seconds(zf.get('seconds'))} ({report.rate(zf['bytes'] / 1e6 / zf['seconds'])})"
                 if _ok(zf) else zf.get("status", "?"), report.spread(zf)]
        others = [by.get((name, impl)) for impl, _ in _OTHERS]
        cells += [report.seconds(r["seconds"]) if _ok(r) else (r or {}).get("status", "—") for r in others]
        fastest = min((r["seconds"] for r in others if _ok(r)), default=None)
        cells.append(f"{fastest / zf['seconds']:.2f}x" if fastest and _ok(zf) else "—")
        lim = by.get((name, "limit"))
        bound = {"rawio": "io"}.get((lim or {}).get("bound"), (lim or {}).get("bound"))
        cells.append(f"{report.seconds(lim['seconds'])} ({bound})" if _ok(lim) else "—")
        cells.append(f"{zf['peak_bytes'] / 1e6:.0f}" if _ok(zf) and "peak_bytes" in zf else "—")
        these = [r for r in rows if r["workload"] == name and r["impl"] != "limit"]
        bad = [r["impl"] for r in these if r.get("status") == "ok" and not r.get("verified")]
        cells.append("all ok" if not bad else "MISMATCH: " + ", ".join(bad))
        out.append(cells)
    where = f" Data on {m['workdir_fs']}." if m.get("workdir_fs") else ""
    head = (f"{meta.provenance_line(m)} Scale {m.get('scale')}; seconds are the median of {m.get('repeat')} "
            f"interleaved rounds after a warm-up round (spread: min–max), every result checked.{where}")
    return "\n".join([head, "", *_table(header, out)])


# ---- dask -----------------------------------------------------------------------------------------

def dask(results: Path) -> str | None:
    """zarrflow through Dask against dask over zarr 2.18 and 3: medians and spreads."""
    loaded = _load(results, "dask.json")
    if loaded is None:
        return None
    data = loaded[0]
    m, res, loads = data["meta"], data["results"], data["workloads"]

    def cell(key: str, base: float | None = None) -> str:
        r = res.get(key)
        if not r or "median" not in r:
            return "—" if not r else f"error: {r.get('error', '?')}"
        text = f"{r['median']:.3f} ({r['min']:.3f}–{r['max']:.3f})"
        if base:
            text += f" {r['median'] / base:.2f}x"
        return text + ("" if r.get("ok") else " **NOT CHECKED OK**")

    header = ["workload", "zarrflow via Dask s", "zarr 2.18 via Dask", "zarr 3 via Dask", "zarrflow direct (no Dask)"]
    out = []
    for name, w in loads.items():
        shape, dtype = w[0], w[2]
        mb = math.prod(shape) * np.dtype(dtype).itemsize / 1e6
        wz = res.get(f"write/{name}/zarrflow", {}).get("median")
        out.append([f"{name} write ({mb:,.0f} MB)", cell(f"write/{name}/zarrflow"),
                    cell(f"write/{name}/zarr2", wz), cell(f"write/{name}/zarr3", wz), ""])
        rz = res.get(f"read/{name}/zarrflow-dask", {}).get("median")
        out.append([f"{name} read", cell(f"read/{name}/zarrflow-dask"), cell(f"read/{name}/zarr2", rz),
                    cell(f"read/{name}/zarr3", rz), cell(f"read/{name}/zarrflow-direct")])
    head = (f"{meta.provenance_line(m)} Scale {m.get('scale')}; median (min–max) of {m.get('repeat')} "
            f"round-robin rounds, each run a fresh process, every result checked; x: the other's median / "
            f"zarrflow's (> 1: zarrflow faster).")
    return "\n".join([head, "", *_table(header, out)])


# ---- rechunk --------------------------------------------------------------------------------------

def _legacy_meta(raw: dict) -> dict:
    """A :mod:`benchmarks.meta` record for a results file written before it existed."""
    if "meta" in raw:
        return raw["meta"]
    machine = raw.get("machine", {})
    return {"commit": raw.get("git"), "cores": machine.get("cpus") or raw.get("meta", {}).get("cpus"),
            "start_utc": raw.get("date")}


def _mib(n: float) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / MiB:.0f} MiB"


def _workers(limit: str) -> str:
    return re.sub(r"^([\d.]+)\s*([KMGT]i?B)$", r"\1 \2", limit)


def rechunk(results: Path) -> str | None:
    """zarrflow.rechunk against rechunker and dask, tight and roomy workers."""
    loaded = _load(results, "rechunk.json", "rechunk_roomy.json")
    if loaded is None:
        return None
    header = ["case", "workers", "zarrflow s", "rechunker s", "dask tasks s", "dask p2p s",
              "zarrflow worker RSS growth"]
    out, heads = [], []
    for raw in loaded:
        heads.append(meta.provenance_line(_legacy_meta(raw)))
        for case in raw["cases"].values():
            rows = {r["tool"]: r for r in case["rows"]}
            zf = rows.get("zarrflow", {})
            cells = [f"{tuple(case['source_chunks'])} -> {tuple(case['target_chunks'])}",
                     _workers(raw["memory_limit"])]
            for tool in ("zarrflow", "rechunker", "dask-tasks", "dask-p2p"):
                r = rows.get(tool)
                if r is None:
                    cells.append("—")
                elif "error" in r:
                    cells.append(r["error"].split(":")[0].rsplit(".", 1)[-1])
                elif tool == "zarrflow" or "wall" not in zf:
                    cells.append(f"{r['wall']:.2f}")
                else:
                    cells.append(f"{r['wall']:.2f} ({r['wall'] / zf['wall']:.2f}x)")
            if "peak_rss" in zf:
                grown = max(p - b for p, b in zip(zf["peak_rss"], zf["baseline_rss"]))
                cells.append(f"{_mib(grown)} ({grown / (raw['max_mem'] * raw['threads']):.2f}x max_mem)")
            else:
                cells.append("—")
            out.append(cells)
    head = " ".join(dict.fromkeys(heads)) + " One run per tool; x: the tool's time / zarrflow's."
    return "\n".join([head, "", *_table(header, out)])


# ---- filters --------------------------------------------------------------------------------------

_FILTER_LABELS = {"median2d_size3": "median 3 x 3 per slice", "median2d_size5": "median 5 x 5 per slice",
                  "median3d_size3": "median 3 x 3 x 3"}


def filters(results: Path) -> str | None:
    """zarrflow's median filters against dask-image and a scipy loop."""
    loaded = _load(results, "filters.json")
    if loaded is None:
        return None
    raw = loaded[0]
    m = raw.get("meta", {})
    rows: dict[str, dict[str, dict]] = {}
    for r in raw["rows"]:
        if "impl" in r:
            rows.setdefault(r["workload"], {})[r["impl"]] = r
    header = ["workload", "zarrflow s", "dask-image s", "scipy loop s", "fastest other / zarrflow",
              "zarrflow / kernel-only limit", "zarrflow peak RSS (planned)", "identical"]
    out = []
    for name, by in rows.items():
        zf = by.get("zarrflow", {})

        def s(impl: str, by: dict = by) -> str:
            r = by.get(impl)
            return f"{r['seconds']:.2f}" if r and r.get("seconds") is not None else (r or {}).get("error", "—")

        others = [by[i]["seconds"] for i in ("dask-image", "scipy-loop") if by.get(i, {}).get("seconds")]
        fastest = f"{min(others) / zf['seconds']:.1f}x" if others and zf.get("seconds") else "—"
        kernel = by.get("zarrflow-kernel", {}).get("seconds")
        limit = f"{kernel / zf['seconds']:.2f}" if kernel and zf.get("seconds") else "—"
        peak = (f"{zf['peak_rss'] / MiB:.0f} MiB ({zf['planned_peak'] / MiB:.0f})"
                if zf.get("peak_rss") and zf.get("planned_peak") else "—")
        same = all(by[i].get("identical") for i in ("zarrflow", "dask-image", "scipy-loop") if i in by)
        out.append([_FILTER_LABELS.get(name, name), s("zarrflow"), s("dask-image"), s("scipy-loop"), fastest, limit,
                    peak, "yes" if same else "**NO**"])
    shape = " x ".join(str(n) for n in m.get("shape", []))
    head = (f"{meta.provenance_line(meta_of_filters(m))} Stack {shape}, {m.get('threads')} threads each, "
            f"best of {m.get('repeat')} run(s).")
    return "\n".join([head, "", *_table(header, out)])


def meta_of_filters(m: dict) -> dict:
    """The filters JSON's meta as a :mod:`benchmarks.meta` record (older files lack some fields)."""
    if "run" in m:
        return m["run"]
    return {"cores": m.get("cpus"), "start_utc": m.get("date")}


# ---- chunk cache ----------------------------------------------------------------------------------

def chunk_cache(results: Path) -> str | None:
    """Repeated reads with and without the opt-in decoded-chunk cache."""
    loaded = _load(results, "chunk_cache.json")
    if loaded is None:
        return None
    data = loaded[0]
    m, rows = data["meta"], data["results"]
    by = {(r["workload"], r["impl"]): r for r in rows}
    header = ["workload", "zarrflow s", "with LRUChunkCache s", "speed-up", "cache peak MB", "checks"]
    out = []
    for name in workloads.NAMES:
        plain, cached = by.get((name, "zarrflow")), by.get((name, "zarrflow_cache"))
        if plain is None or cached is None:
            continue
        both = _ok(plain) and _ok(cached)
        checks = "all ok" if both and plain.get("verified") and cached.get("verified") else "MISMATCH or error"
        out.append([name, f"{report.seconds(plain.get('seconds'))} ({report.spread(plain)})" if _ok(plain) else "error",
                    f"{report.seconds(cached.get('seconds'))} ({report.spread(cached)})" if _ok(cached) else "error",
                    f"{plain['seconds'] / cached['seconds']:.1f}x" if both else "—",
                    f"{cached['peak_bytes'] / 1e6:.0f}" if _ok(cached) and "peak_bytes" in cached else "—", checks])
    head = (f"{meta.provenance_line(m)} Scale {m.get('scale')}; median (min–max) of {m.get('repeat')} "
            "interleaved rounds; the cache (1 GiB) is filled by the warm-up round, so the timed rounds "
            "are repeated reads.")
    return "\n".join([head, "", *_table(header, out)])


#: name -> renderer (``None`` when its JSON is missing)
FIGURES: dict[str, Callable[[Path], str | None]] = {
    "engine": engine, "engine_tmpfs": lambda results: engine(results, "engine_tmpfs.json"), "dask": dask,
    "rechunk": rechunk, "filters": filters, "chunk_cache": chunk_cache,
}


def rewrite(text: str, results: Path) -> tuple[str, list[str], list[str]]:
    """``(new text, blocks left as they were for want of JSON, unknown block names)``."""
    missing: list[str] = []
    unknown: list[str] = []

    def sub(match: re.Match) -> str:
        name = match["name"]
        if name not in FIGURES:
            unknown.append(name)
            return match[0]
        body = FIGURES[name](results)
        if body is None:
            missing.append(name)
            return match[0]
        return f"<!-- figures:{name}:begin -->\n{body}\n<!-- figures:{name}:end -->"

    return MARKER.sub(sub, text), missing, unknown


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.readme_figures", description=__doc__.split("\n")[0])
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument("--check", action="store_true", help="exit 1 when the README differs from the JSON")
    p.add_argument("--allow-missing", action="store_true", help="a block without JSON is left as it is")
    args = p.parse_args(argv)
    text = args.readme.read_text()
    new, missing, unknown = rewrite(text, args.results)
    for name in missing:
        print(f"readme_figures: no JSON for {name!r} under {args.results}: block left as it is", file=sys.stderr)
    if unknown:
        print(f"readme_figures: unknown figure block(s) {unknown}; known: {list(FIGURES)}", file=sys.stderr)
        return 2
    if missing and not args.allow_missing:
        return 2
    if args.check:
        if new != text:
            print(f"readme_figures: {args.readme} differs from the JSON under {args.results}; run "
                  "`python -m benchmarks.readme_figures`", file=sys.stderr)
            return 1
        return 0
    if new != text:
        args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())

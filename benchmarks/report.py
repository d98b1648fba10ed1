"""Render results as markdown tables (one per workload group) and raw JSON.

Re-render saved runs without measuring again; with several files, later ones replace
the (workload, impl) results of earlier ones and the ``limit`` rows are derived anew,
e.g. a fresh zarrflow run against the stored baseline of the others::

    python -m benchmarks.report benchmarks/results/baseline_others.json zarrflow.json --out report.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform

from benchmarks import derive, workloads

#: Share of the CPUs taken by other processes above which a time is starred.
CONTENDED = 0.10

COLUMNS = ("workload", "impl", "seconds", "MB/s", "ratio vs zarrflow", "peak MB", "% of limit", "check")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(results: list[dict]) -> str:
    """CPU count and model, OS, and the versions each environment reported."""
    envs: dict[str, dict] = {}
    for r in results:
        if "env" in r:
            envs.setdefault(r["env"]["executable"], {}).update(r["env"])
    parts = [f"{os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}"]
    for env in envs.values():
        libs = ", ".join(f"{k} {env[k]}" for k in ("numpy", "numcodecs", "zarr", "tensorstore", "zarrflow")
                         if k in env)
        parts.append(f"Python {env['python']} at `{env['executable']}`: {libs}")
    return "; ".join(parts)


def _num(x: float | None, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _seconds(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def _check(row: dict) -> str:
    if row.get("status") != "ok":
        return row.get("status", "?")
    return "ok" if row.get("verified") else "MISMATCH"


def _table(group: str, names: list[str], rows: list[dict], scale: float) -> list[str]:
    wl0 = workloads.get(names[0], scale)
    lines = [f"### {group}: {wl0.describe_array()}", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * len(COLUMNS)) + "|"]
    for name in names:
        these = sorted((r for r in rows if r["workload"] == name), key=derive.sort_key)
        by_impl = {r["impl"]: r for r in these}
        full = workloads.get(name, scale).is_full
        for r in these:
            f = derive.figures(r, by_impl.get("zarrflow"), by_impl.get("limit"), full)
            impl = r["impl"] + (f" ({r['bound']})" if r["impl"] == "limit" else "")
            star = " *" if (r.get("foreign_cpu") or 0) > CONTENDED else ""
            cells = [name, impl, _seconds(f["seconds"]) + star, _rate(f["mbps"]),
                     _num(f["ratio"], ".2f"), _num(f["peak_mb"], ".1f"),
                     _num(f["pct_limit"], ".0f") + ("%" if f["pct_limit"] is not None else ""),
                     _check(r)]
            lines.append("| " + " | ".join(cells) + " |")
    stored = sorted((r for r in rows if r.get("op") == "write" and r.get("stored_bytes")
                     and r["workload"] in names), key=derive.sort_key)
    if stored:
        ratio = wl0.nbytes_array / stored[0]["stored_bytes"]
        sizes = ", ".join(f"{r['impl']} {r['stored_bytes'] / derive.MB:.4g}" for r in stored)
        lines += ["", f"Stored chunk bytes after the write (MB): {sizes} "
                      f"(uncompressed {wl0.nbytes_array / derive.MB:.4g} MB, ratio {ratio:.2f})."]
    return lines + [""]


def notes(results: list[dict], skipped: dict[str, str]) -> list[str]:
    """One line per unavailable implementation, failed run and failed check."""
    out = [f"- `{impl}` skipped: {why}" for impl, why in skipped.items()]
    for r in results:
        if r.get("status") == "error":
            out.append(f"- `{r['impl']}` on `{r['workload']}` failed: {r.get('error', '?')}")
        elif r.get("status") == "ok" and not r.get("verified"):
            out.append(f"- `{r['impl']}` on `{r['workload']}`: data check failed: {r.get('check')}")
    busy = [r for r in results if (r.get("foreign_cpu") or 0) > CONTENDED]
    if busy:
        shares = ", ".join(f"{r['impl']}/{r['workload']} {100 * r['foreign_cpu']:.0f}%" for r in busy)
        out.append(f"- `*`: other processes took over {100 * CONTENDED:.0f}% of the CPUs during the timed "
                   f"runs, so the time is likely pessimistic: {shares}")
    return out


def markdown(results: list[dict], meta: dict, skipped: dict[str, str]) -> str:
    """The whole report; ``results`` already include the derived ``limit`` rows."""
    lines = [
        "# zarrflow engine benchmarks", "",
        f"Machine: {meta.get('machine') or machine_line(results)}.", "",
        f"Run: `{meta['command']}` on {meta['date']}: scale {meta['scale']}, best of {meta['repeat']} "
        f"timed runs after one untimed warm-up, each (implementation, workload) in a fresh process; "
        f"limits on {meta['threads']} threads. MB = 10^6 bytes. Columns: see `benchmarks/README.md`.", "",
    ]
    extra = notes(results, skipped)
    if extra:
        lines += ["Notes:", "", *extra, ""]
    names = [n for n in workloads.NAMES if any(r["workload"] == n for r in results)]
    for group in workloads.GROUPS:
        in_group = [n for n in names if workloads.get(n, meta["scale"]).group == group]
        if in_group:
            lines += _table(group, in_group, results, meta["scale"])
    return "\n".join(lines)


def write_json(path: str, results: list[dict], meta: dict, skipped: dict[str, str]) -> None:
    with open(path, "w") as f:
        json.dump({"meta": meta, "skipped": skipped, "results": results}, f, indent=1)
        f.write("\n")


def merge(saved: list[dict]) -> tuple[list[dict], dict, dict[str, str]]:
    """Results, meta and skip notes of several saved runs, later runs taking precedence."""
    by_key: dict[tuple[str, str], dict] = {}
    skipped: dict[str, str] = {}
    for run in saved:
        for r in run["results"]:
            if r["impl"] != "limit":
                by_key[(r["workload"], r["impl"])] = r
        skipped.update(run.get("skipped", {}))
    results = derive.with_limits(list(by_key.values()))
    ran = {r["impl"] for r in results}
    skipped = {k: v for k, v in skipped.items() if k not in ran}
    meta = dict(saved[-1]["meta"])
    if len(saved) > 1:
        commands = [run["meta"]["command"] for run in saved]
        meta["command"] = (" + ".join(commands) if len(commands) <= 3 else
                           f"{len(commands)} runs merged, from {commands[0]} to {commands[-1]}")
        first, last = saved[0]["meta"]["date"], saved[-1]["meta"]["date"]
        meta["date"] = f"{first.split(' to ')[0]} to {last.split(' to ')[-1]}"
        meta["machine"] = ""  # re-derived from the merged results' environments
    return results, meta, skipped


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                description="Render the markdown report of saved --json files.")
    p.add_argument("json_files", nargs="+")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    saved = []
    for path in args.json_files:
        with open(path) as f:
            saved.append(json.load(f))
    results, meta, skipped = merge(saved)
    with open(args.out, "w") as f:
        f.write(markdown(results, meta, skipped) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

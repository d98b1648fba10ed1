"""Render the engine report (markdown) from the raw results JSON, and nothing else.

Everything printed comes from the JSON written by ``benchmarks.run``: the machine line
from its recorded metadata (:mod:`benchmarks.meta`), never from the machine rendering
it. Re-render a saved run::

    python -m benchmarks.report benchmarks/results/engine.json --out benchmarks/results/engine.md
"""

from __future__ import annotations

import argparse
import json

from benchmarks import derive, meta, workloads

#: Share of the CPUs taken by other processes above which a time is starred.
CONTENDED = 0.10

COLUMNS = ("workload", "impl", "median s", "spread s", "MB/s", "ratio vs zarrflow", "peak MB", "% of limit",
           "check")


def _num(x: float | None, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def rate(x: float | None) -> str:
    """MB/s as shown: thousands separators from 100 up, 3 significant digits below."""
    return "—" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def seconds(x: float | None) -> str:
    """Seconds with 3 significant digits."""
    return "—" if x is None else f"{x:.3g}"


def spread(row: dict) -> str:
    """``min-max`` of the timed runs."""
    if row.get("status") != "ok" or row.get("min_s") is None:
        return "—"
    return f"{row['min_s']:.3g}–{row['max_s']:.3g}"


def check(row: dict) -> str:
    """``ok``, ``MISMATCH`` or the status of a row that did not run."""
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
            cells = [name, impl, seconds(f["seconds"]) + star, spread(r), rate(f["mbps"]),
                     _num(f["ratio"], ".2f"), _num(f["peak_mb"], ".1f"),
                     _num(f["pct_limit"], ".0f") + ("%" if f["pct_limit"] is not None else ""),
                     check(r)]
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


def versions_line(m: dict) -> str:
    """The recorded package versions, per interpreter."""
    parts = []
    for label, v in (m.get("versions") or {}).items():
        libs = ", ".join(f"{k} {v[k]}" for k in meta.PACKAGES if v.get(k))
        parts.append(f"{label} (Python {v.get('python', '?')} at `{v.get('executable', '?')}`): {libs}")
    return "; ".join(parts)


def markdown(data: dict) -> str:
    """The whole report of a results JSON (``{"meta", "skipped", "results"}``, limits included)."""
    m, results, skipped = data["meta"], data["results"], data.get("skipped", {})
    load = m.get("loadavg_before"), m.get("loadavg_after")
    load_text = f", load average {load[0][0]:.2f} -> {load[1][0]:.2f}" if all(load) else ""
    lines = [
        "# zarrflow engine benchmarks", "",
        f"Machine: {meta.machine_line(m)}{load_text}.", "",
        f"Versions: {versions_line(m)}.", "",
        f"Run: `{m['command']}` from {m['start_utc']} to {m['end_utc']}, commit "
        f"{(m.get('commit') or '?')[:10]}{' (dirty)' if m.get('dirty') else ''}: scale {m['scale']}; per "
        f"workload one process per implementation, one untimed warm-up round, then {m['repeat']} timed "
        f"rounds visiting every implementation once each (interleaved); median and min–max of the "
        f"{m['repeat']} runs; limits on {m['threads']} threads. MB = 10^6 bytes. Columns: see "
        f"`benchmarks/README.md`.", "",
    ]
    extra = notes(results, skipped)
    if extra:
        lines += ["Notes:", "", *extra, ""]
    names = [n for n in workloads.NAMES if any(r["workload"] == n for r in results)]
    for group in workloads.GROUPS:
        in_group = [n for n in names if workloads.get(n, m["scale"]).group == group]
        if in_group:
            lines += _table(group, in_group, results, m["scale"])
    return "\n".join(lines)


def write_json(path: str, data: dict) -> None:
    """Write a results JSON (``{"meta", "skipped", "results"}``)."""
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                description="Render the markdown report of a saved results JSON.")
    p.add_argument("json_file")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    with open(args.json_file) as f:
        data = json.load(f)
    with open(args.out, "w") as f:
        f.write(markdown(data) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

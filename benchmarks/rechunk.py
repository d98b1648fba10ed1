"""Rechunking side by side: zarrflow.rechunk against rechunker (dask executor),
``dask.array.rechunk(...).to_zarr(...)`` (the tasks method) and dask's p2p rechunk,
each on a fresh LocalCluster with the same workers, threads and memory limit.

For every run: wall time, peak RSS of every worker process (sampled every 10 ms with
psutil, codec buffers included; the workers' RSS before the run is reported too), the
result checked against the source slab by slab, and for zarrflow the bytes its tasks
read and wrote against the planner's count. The limit is one decode + encode pass over
the data on the same cluster (``map_blocks`` of the identity into an array with the
source's chunks): a rechunk of S stages cannot beat S such passes.

Needs zarr-python 2 (rechunker does not run on zarr 3), so it runs in its own venv:

    python3 -m venv .venv-bench-rechunk
    .venv-bench-rechunk/bin/pip install "zarr>=2.18,<3" rechunker "dask[array]" distributed psutil
    .venv-bench-rechunk/bin/pip install -e .
    .venv-bench-rechunk/bin/python -m benchmarks.rechunk --size-gib 8   # the issue's size
    .venv-bench-rechunk/bin/python -m benchmarks.rechunk                # 1 GiB, 512 MiB per worker: results/rechunk.md
    .venv-bench-rechunk/bin/python -m benchmarks.rechunk --memory-limit 2GiB \
        --out benchmarks/results/rechunk_roomy.md                         # workers that can hold the whole array

Results: ``benchmarks/results/rechunk.md`` and ``rechunk.json`` (raw).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from benchmarks.meta import run_metadata

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ["zarrflow", "rechunker", "dask-tasks", "dask-p2p"]

CHILD = textwrap.dedent(
    """
    import json, os, sys, threading, time
    import psutil
    args = json.loads(sys.argv[1])
    import dask, distributed
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=args["workers"], threads_per_worker=args["threads"], processes=True,
                           memory_limit=args["memory_limit"], host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    pids = list(client.run(os.getpid).values())
    procs = [psutil.Process(p) for p in pids]
    baseline = [p.memory_info().rss for p in procs]
    peaks = list(baseline)
    stop = threading.Event()
    def sample():
        while not stop.is_set():
            for i, p in enumerate(procs):
                try:
                    peaks[i] = max(peaks[i], p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.01)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tool, src, dst, tmp = args["tool"], args["src"], args["dst"], args["tmp"]
    target, max_mem = tuple(args["target_chunks"]), args["max_mem"]
    extra = {}
    t0 = time.perf_counter()
    if tool == "zarrflow":
        import zarrflow
        plan = zarrflow.rechunk(zarrflow.open_array(src, mode="r"), target, max_mem, dst, temp_store=tmp)
        plan.execute()
        p = plan.plans[""]
        r = plan.report
        extra = {"stages": len(p.stages), "tasks": p.n_tasks, "planned_read": p.bytes_read,
                 "planned_written": p.bytes_written, "counted_read": r.bytes_read,
                 "counted_written": r.bytes_written, "projected_task_memory": p.peak_task_memory,
                 "plan": plan.describe()}
    elif tool == "limit":
        import zarrflow
        s = zarrflow.open_array(src, mode="r")
        d = zarrflow.open_array(dst, mode="w", shape=s.shape, chunks=s.chunks, dtype=s.dtype,
                                compressor=s.compressor)
        zarrflow.map_blocks(lambda x: x, s, d)
    elif tool == "rechunker":
        import zarr, rechunker
        plan = rechunker.rechunk(zarr.open_array(src, mode="r"), target, max_mem, dst, temp_store=tmp)
        plan.execute()
    elif tool in ("dask-tasks", "dask-p2p"):
        import dask.array as da
        x = da.from_zarr(src)
        y = x.rechunk(target, method="tasks" if tool == "dask-tasks" else "p2p")
        y.to_zarr(dst, overwrite=True)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    client.close()
    cluster.close()
    print(json.dumps({"wall": wall, "peak_rss": peaks, "baseline_rss": baseline, **extra}))
    """
)


def make_source(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> None:
    """A smooth field plus noise (compressible like real data), written slab by slab."""
    import zarrflow

    z = zarrflow.open_array(str(path), mode="w", shape=shape, chunks=chunks, dtype="f4")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:shape[1], 0:shape[2]].astype("f4")
    base = np.sin(x / 37.0) * np.cos(y / 53.0)
    for t in range(0, shape[0], max(1, chunks[0])):
        n = min(chunks[0], shape[0] - t)
        z[t:t + n] = base[None] + np.float32(t) / shape[0] + rng.standard_normal((n, *shape[1:]), dtype="f4") * 0.01


def check_same(src: Path, dst: Path) -> bool:
    """The result equals the source, slab of whole target chunks by slab."""
    import zarrflow

    a = zarrflow.open_array(str(src), mode="r")
    b = zarrflow.open_array(str(dst), mode="r")
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    step = max(1, (b.chunks[1] if b.ndim > 1 else 1))
    for i in range(0, a.shape[1], step):
        if not np.array_equal(a[:, i:i + step], b[:, i:i + step]):
            return False
    return True


def run_tool(python: str, tool: str, work: Path, src: Path, target: tuple[int, ...], max_mem: int,
             workers: int, threads: int, memory_limit: str) -> dict:
    dst, tmp = work / f"{tool}.zarr", work / f"{tool}-tmp.zarr"
    for p in (dst, tmp):
        shutil.rmtree(p, ignore_errors=True)
    args = {"tool": tool, "src": str(src), "dst": str(dst), "tmp": str(tmp), "target_chunks": list(target),
            "max_mem": max_mem, "workers": workers, "threads": threads, "memory_limit": memory_limit}
    proc = subprocess.run([python, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=3600)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        # the exception line, not the warnings printed while the cluster shut down
        errors = [line for line in lines if "Error" in line or "Killed" in line or "Exception" in line]
        return {"tool": tool, "error": (errors or lines or ["failed"])[-1].strip()[:300],
                "returncode": proc.returncode}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["tool"] = tool
    result["exact"] = check_same(src, dst) if tool != "limit" else None
    shutil.rmtree(dst, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=1.0, help="source size (the issue asks for 8)")
    parser.add_argument("--max-mem", default="64MiB", help="per task; the source is >= 16x this")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-limit", default="512MiB",
                        help="per worker, the same for every tool (default 8 x max_mem: the data does not fit)")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rechunk.md"))
    opts = parser.parse_args()
    started = time.time()
    from dask.utils import format_bytes, parse_bytes

    max_mem = parse_bytes(opts.max_mem)
    side = 1024
    depth = max(16, int(round(opts.size_gib * 2**30 / (side * side * 4))))
    shape = (depth, side, side)
    cases = {
        # name: (source chunks, target chunks)
        "maps_to_series": ((1, side, side), (depth, 64, 64)),
        "relatively_prime": ((3, side, side), (depth // 2 + 1, 61, 67)),
    }
    work = Path(opts.workdir or tempfile.mkdtemp(prefix="zf-rechunk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "node": platform.node(),
                           "load_before": os.getloadavg()},
               "shape": shape, "dtype": "f4", "nbytes": int(np.prod(shape)) * 4, "max_mem": max_mem,
               "workers": opts.workers, "threads": opts.threads, "memory_limit": opts.memory_limit,
               "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT).stdout.strip(),
               "versions": {}, "cases": {}}
    import dask
    import distributed

    results["versions"] = {"dask": dask.__version__, "distributed": distributed.__version__}
    try:
        import rechunker
        import zarr

        results["versions"].update({"rechunker": getattr(rechunker, "__version__", "?"), "zarr": zarr.__version__})
    except ImportError:
        pass
    for name, (a, b) in cases.items():
        src = work / f"src-{name}.zarr"
        make_source(src, shape, a)
        rows = []
        for tool in ["limit", *opts.tools.split(",")]:
            print(f"{name}: {tool} ...", flush=True)
            rows.append(run_tool(sys.executable, tool, work, src, b, max_mem, opts.workers, opts.threads,
                                 opts.memory_limit))
            print("   ", {k: v for k, v in rows[-1].items() if k != "plan"}, flush=True)
        results["cases"][name] = {"source_chunks": a, "target_chunks": b, "rows": rows}
        shutil.rmtree(src, ignore_errors=True)
    results["machine"]["load_after"] = os.getloadavg()
    results["meta"] = run_metadata(started, time.time(), loadavg_before=tuple(results["machine"]["load_before"]),
                                   argv=["-m", "benchmarks.rechunk", *sys.argv[1:]])
    out = Path(opts.out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.write_text(render(results, format_bytes))
    print(out.read_text())


def _load(results: dict) -> str:
    m = results["machine"]
    if "load_before" not in m:
        return "not recorded"
    return f"{m['load_before'][0]:.1f} before, {m.get('load_after', [float('nan')])[0]:.1f} after"


def render(results: dict, format_bytes) -> str:
    """The markdown table the README quotes."""
    nbytes = results["nbytes"]
    slots = results["threads"]
    lines = [
        "# Rechunking: zarrflow vs rechunker vs dask (generated by `python -m benchmarks.rechunk`)",
        "",
        f"Source {tuple(results['shape'])} f4 ({format_bytes(nbytes)}), max_mem {format_bytes(results['max_mem'])} "
        f"per task ({nbytes / results['max_mem']:.0f}x smaller than the data); LocalCluster of "
        f"{results['workers']} worker processes x {results['threads']} thread(s), memory limit "
        f"{results['memory_limit']} each; commit {results['git']}; {results['machine']['cpus']} CPUs, load average "
        f"{_load(results)}; "
        f"versions {results['versions']}.",
        "",
        "Peak RSS is the largest sampled RSS of any worker process (its RSS before the run in brackets); "
        "the budget is 1.2 x max_mem x threads above that. x = the tool's time / zarrflow's. "
        "limit = one decode+encode pass over the data on the same cluster.",
        "",
    ]
    for name, case in results["cases"].items():
        rows = {r["tool"]: r for r in case["rows"]}
        zf = rows.get("zarrflow", {})
        lines += [f"## {name}: chunks {tuple(case['source_chunks'])} -> {tuple(case['target_chunks'])}", "",
                  "| tool | wall s | MB/s (data / wall) | x vs zarrflow | peak worker RSS (before) | exact |",
                  "|---|---|---|---|---|---|"]
        for tool, r in rows.items():
            if "error" in r:
                lines.append(f"| {tool} | failed: {r['error'][:120]} | | | | |")
                continue
            ratio = r["wall"] / zf["wall"] if zf.get("wall") else float("nan")
            peak = max(r["peak_rss"])
            before = max(r["baseline_rss"])
            lines.append(f"| {tool} | {r['wall']:.2f} | {nbytes / 1e6 / r['wall']:.0f} | {ratio:.2f} | "
                         f"{format_bytes(peak)} ({format_bytes(before)}) | {r['exact']} |")
        if "wall" in zf and "wall" in rows.get("limit", {}):
            frac = rows["limit"]["wall"] * zf["stages"] / zf["wall"]
            grown = max(p - b for p, b in zip(zf["peak_rss"], zf["baseline_rss"]))
            lines += ["",
                      f"zarrflow: {zf['stages']} stage(s), {zf['tasks']} tasks; projected peak per task "
                      f"{format_bytes(zf['projected_task_memory'])}; worker RSS grew by at most "
                      f"{format_bytes(grown)} = {grown / (results['max_mem'] * slots):.2f} x max_mem x threads; "
                      f"bytes read {zf['counted_read'] / zf['planned_read']:.3f} x and written "
                      f"{zf['counted_written'] / zf['planned_written']:.3f} x the planner's count; "
                      f"{frac:.0%} of the limit ({zf['stages']} passes of {rows['limit']['wall']:.2f} s).",
                      "", "```", zf.get("plan", ""), "```"]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

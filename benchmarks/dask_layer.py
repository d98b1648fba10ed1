"""The Dask layer side by side, every result checked.

Reads: zarrflow's direct read (``z[:]``), ``to_dask(z).compute()``, the assembly floor
(dask's concatenation of already read blocks), ``dask.array.from_zarr`` over zarr 3
(this venv) and zarr 2.18 (.venv-zarr2, when it has dask); writes: ``from_dask`` and
``to_zarr`` (read back and compared); copies in two tables that never mix: raw byte
copies (zarrflow ``copy_store``, zarr 2.18 ``copy_store``, ``shutil.copytree``) and
decode/re-encode copies into other chunks (zarrflow ``copy_all(parallel=True)``,
``da.from_zarr(...).rechunk(...).to_zarr(...)`` over zarr 3 and 2.18); graph
construction for 100,000 chunks.

Every measurement is a fresh process; implementations run round-robin over
``--repeat`` rounds (a noisy neighbour hits all alike); rows give the median and the
min-max spread, and the peak RSS of the child (which includes the data it holds).

Run: ``python -m benchmarks.dask_layer --out benchmarks/results/dask.md --json
benchmarks/results/dask.json [--scale S] [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from pathlib import Path

from benchmarks.meta import run_metadata

ROOT = Path(__file__).resolve().parents[1]


def workloads(scale: float) -> dict:
    """name: (shape, chunks, dtype, compressor config, data kind) at ``scale`` (1.0: 800 / 400 MB)."""
    n = max(1000, int(10000 * scale ** 0.5) // 1000 * 1000)
    depth = max(1, round(100 * scale))
    return {
        "f8_3d": ((1000, 1000, depth), (1000, 1000, 1), "f8",
                  {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}, "random"),
        "i4_zstd": ((n, n), (1000, 1000), "i4", {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2},
                    "arange"),
    }


CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, zlib, shutil, os
    import numpy as np, numcodecs
    impl, op, src, dst, w, expected = json.loads(sys.argv[1])
    shape, chunks, dtype, comp, kind = tuple(w[0]), tuple(w[1]), w[2], w[3], w[4]
    compressor = numcodecs.get_codec(comp) if comp else None
    # imports and dask's thread pool warmed up untimed, for every implementation alike
    try:
        import dask.array as da
        da.ones(4, chunks=2).sum().compute()
    except ImportError:  # .venv-zarr2 may have no dask: its dask rows then report the error
        pass
    def data():
        if kind == 'random':
            return np.random.default_rng(1).random(shape).astype(dtype)
        return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    def crc(a):
        return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).reshape(-1))
    if impl.startswith('zarr2') or impl.startswith('zarr3'):
        import zarr
    if impl.startswith('zarr2'):  # .venv-zarr2 cannot import zarrflow: checks use zarr 2.18
        import zarr as zarrflow
    else:
        import zarrflow
    def peak_mb():  # VmHWM: this process's own high-water mark (ru_maxrss keeps the parent's across exec)
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out, extra = None, {}
    if op == 'write':
        import dask.array as da
        x = da.from_array(data(), chunks=chunks)
        t = time.perf_counter()
        if impl == 'zarrflow':
            zarrflow.from_dask(x, dst, chunks=chunks, compressor=compressor, overwrite=True)
        elif impl == 'zarr3':
            z = zarr.create_array(store=dst, shape=shape, chunks=chunks, dtype=dtype, compressors=compressor,
                                  zarr_format=2, overwrite=True)
            da.to_zarr(x, z)
        else:
            z = zarr.open(dst, mode='w', shape=shape, chunks=chunks, dtype=dtype, compressor=compressor)
            da.to_zarr(x, z)
        dt = time.perf_counter() - t
        out = zarrflow.open(dst, mode='r')[...]
    elif op == 'read':
        t = time.perf_counter()
        if impl == 'zarrflow-direct':
            out = zarrflow.open(src, mode='r')[...]
        elif impl == 'zarrflow-dask':
            out = zarrflow.to_dask(zarrflow.open(src, mode='r')).compute()
        elif impl == 'zarrflow-floor':  # the blocks read untimed; timed: dask's assembly of them
            import dask.threaded
            from dask.array.core import concatenate3
            x = zarrflow.to_dask(zarrflow.open(src, mode='r'))
            blocks = dask.threaded.get(dict(x.__dask_graph__()), x.__dask_keys__())
            t = time.perf_counter()
            out = concatenate3(blocks)
        else:
            import dask.array as da
            z = zarr.open(src, mode='r') if impl.startswith('zarr2') else zarr.open_array(src, mode='r', zarr_format=2)
            out = da.from_zarr(z).compute()
        dt = time.perf_counter() - t
    elif op == 'graph':
        z = zarrflow.open(dst, mode='w', shape=(10000, 10000), chunks=(100, 10), dtype='u1')
        t = time.perf_counter()
        x = zarrflow.to_dask(z)
        dt = time.perf_counter() - t
        ok = x.npartitions == 100000 and zarrflow.to_dask(z).name == x.name
        print(json.dumps({'seconds': dt, 'ok': bool(ok), 'peak_rss_mb': peak_mb()}))
        sys.exit(0)
    else:  # copies of the group at src (array 'x') into dst
        shutil.rmtree(dst, ignore_errors=True)
        t = time.perf_counter()
        if impl == 'zarrflow-copy_store':
            zarrflow.copy_store(zarrflow.DirectoryStore(src), zarrflow.DirectoryStore(dst), parallel=True, scheduler='threads')
        elif impl == 'zarr2-copy_store':
            zarr.copy_store(zarr.DirectoryStore(src), zarr.DirectoryStore(dst))
        elif impl == 'shutil-copytree':
            shutil.copytree(src, dst)
        elif impl == 'zarrflow-copy_all':
            zarrflow.copy_all(zarrflow.open_group(src, mode='r'), zarrflow.open_group(dst, mode='w'),
                              chunks=tuple(w[5]), parallel=True, scheduler='threads')
        else:
            import dask.array as da
            if impl.startswith('zarr3'):
                s = zarr.open_array(os.path.join(src, 'x'), mode='r', zarr_format=2)
                z = zarr.create_array(store=os.path.join(dst, 'x'), shape=shape, chunks=tuple(w[5]), dtype=dtype,
                                      compressors=compressor, zarr_format=2, overwrite=True)
            else:
                s = zarr.open(os.path.join(src, 'x'), mode='r')
                z = zarr.open(os.path.join(dst, 'x'), mode='w', shape=shape, chunks=tuple(w[5]), dtype=dtype,
                              compressor=compressor)
            da.from_zarr(s).rechunk(tuple(w[5])).to_zarr(z)
        dt = time.perf_counter() - t
        res = zarrflow.open(os.path.join(dst, 'x'), mode='r')
        extra['stored_chunks'] = tuple(res.chunks)
        out = res[...]
    ok = out is not None and tuple(out.shape) == shape and out.dtype == np.dtype(dtype) and crc(out) == expected
    print(json.dumps({'seconds': dt, 'ok': bool(ok), 'extra': extra,
                      'peak_rss_mb': peak_mb()}))
    """
)


def run_child(python: str, args: list) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([python, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _expected_crc(w: tuple) -> int:
    import numpy as np

    shape, _, dtype, _, kind = w[:5]
    a = (np.random.default_rng(1).random(shape).astype(dtype) if kind == "random"
         else np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape))
    return zlib.crc32(a.view(np.uint8).reshape(-1))


def _write_source(path: str, w: tuple, group: bool = False) -> None:
    import numcodecs
    import numpy as np

    import zarrflow

    shape, chunks, dtype, comp, kind = w[:5]
    a = (np.random.default_rng(1).random(shape).astype(dtype) if kind == "random"
         else np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape))
    if group:
        z = zarrflow.open_group(path, mode="w").create_dataset("x", shape=shape, chunks=chunks, dtype=dtype,
                                                               compressor=numcodecs.get_codec(comp))
    else:
        z = zarrflow.open(path, mode="w", shape=shape, chunks=chunks, dtype=dtype,
                          compressor=numcodecs.get_codec(comp))
    z[...] = a


def _summary(runs: list[dict]) -> dict:
    good = [r for r in runs if "error" not in r]
    errors = [r["error"] for r in runs if "error" in r]
    if not good:
        return {"error": errors[0] if errors else "no run"}
    secs = [r["seconds"] for r in good]
    return {"median": statistics.median(secs), "min": min(secs), "max": max(secs), "n": len(secs),
            "ok": all(r["ok"] for r in good), "peak_rss_mb": max(r["peak_rss_mb"] for r in good),
            "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/dask.md"))
    parser.add_argument("--json", default=str(ROOT / "benchmarks/results/dask.json"))
    parser.add_argument("--zarr2-python", default=os.environ.get("ZARRFLOW_ZARR2_PYTHON",
                                                                  str(ROOT / ".venv-zarr2/bin/python")),
                        help="zarr 2.18 interpreter (default: $ZARRFLOW_ZARR2_PYTHON or .venv-zarr2)")
    args = parser.parse_args(argv)
    started, load_before = time.time(), os.getloadavg()
    py2 = args.zarr2_python if os.path.exists(args.zarr2_python) else None
    loads = workloads(args.scale)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as work:
        # (section, workload, impl, op, python, src, dst)
        jobs = []
        for name, w in loads.items():
            src = os.path.join(work, f"{name}.zarr")
            _write_source(src, w)
            for impl in ("zarrflow-direct", "zarrflow-dask", "zarrflow-floor", "zarr3", "zarr2"):
                jobs.append(("read", name, impl, "read", src, ""))
            for impl in ("zarrflow", "zarr3", "zarr2"):
                jobs.append(("write", name, impl, "write", "", os.path.join(work, f"{name}-{impl}-out.zarr")))
        copy_w = (*loads["i4_zstd"], (500, 2000))
        copy_src = os.path.join(work, "copy-src.zarr")
        _write_source(copy_src, copy_w, group=True)
        for impl in ("zarrflow-copy_store", "zarr2-copy_store", "shutil-copytree"):
            jobs.append(("copy-raw", "i4_zstd", impl, "copy", copy_src, os.path.join(work, "copy-dst.zarr")))
        for impl in ("zarrflow-copy_all", "zarr3-dask", "zarr2-dask"):
            jobs.append(("copy-recode", "i4_zstd", impl, "copy", copy_src, os.path.join(work, "copy-dst.zarr")))
        jobs.append(("graph", "100k_chunks", "zarrflow", "graph", "", os.path.join(work, "graph.zarr")))
        crcs = {name: _expected_crc(w) for name, w in loads.items()}
        runs: dict[tuple, list] = {job: [] for job in jobs}
        for _ in range(args.repeat):  # round-robin: every implementation once per round
            for job in jobs:
                os.sync()  # no run reads pages still being written back by the one before
                section, name, impl, op, src, dst = job
                if impl.startswith("zarr2") and py2 is None:
                    runs[job].append({"error": "no zarr 2.18 interpreter"})
                    continue
                python = py2 if impl.startswith("zarr2") else sys.executable
                w = copy_w if section.startswith("copy") else loads.get(name, ((), (), "u1", None, ""))
                runs[job].append(run_child(python, [impl, op, src, dst, w, crcs.get(name, 0)]))
                if dst and op != "copy":
                    shutil.rmtree(dst, ignore_errors=True)
            print(f"round {_ + 1}/{args.repeat} done", flush=True)
        for job, got in runs.items():
            section, name, impl = job[:3]
            results[f"{section}/{name}/{impl}"] = {"section": section, "workload": name, "impl": impl,
                                                   **_summary(got), "runs": got}
    meta = {"scale": args.scale, "repeat": args.repeat,
            **run_metadata(started, time.time(), pythons={"zarr2": py2} if py2 else None,
                           loadavg_before=load_before, argv=["-m", "benchmarks.dask_layer", *(argv or sys.argv[1:])])}
    Path(args.json).write_text(json.dumps({"meta": meta, "workloads": {k: list(v) for k, v in loads.items()},
                                           "results": results}, indent=1, default=list) + "\n")
    text = render(meta, loads, results)
    Path(args.out).write_text(text)
    print(text)
    failed = [k for k, r in results.items() if r.get("ok") is False]
    if failed:
        print("RESULT CHECK FAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def _cell(r: dict) -> str:
    if "error" in r:
        return f"error: {r['error']} | | |"
    return (f"{r['median']:.3f} | {r['min']:.3f}-{r['max']:.3f} | {r['peak_rss_mb']:,.0f} | "
            f"{'yes' if r['ok'] else '**NO**'}")


def _versions(meta: dict) -> str:
    parts = []
    for label, v in meta["versions"].items():
        libs = ", ".join(f"{k} {v[k]}" for k in ("zarrflow", "numpy", "numcodecs", "dask", "zarr") if v.get(k))
        parts.append(f"{label} (Python {v.get('python')}): {libs}")
    return "; ".join(parts)


def render(meta: dict, loads: dict, results: dict) -> str:
    """The Markdown report: one table per section, ratios only within a section."""
    lines = ["# Dask layer benchmark", "",
             f"commit {meta['commit'][:10]}{' (dirty)' if meta['dirty'] else ''}, {meta['start_utc']} - "
             f"{meta['end_utc']}, scale {meta['scale']}, {meta['repeat']} rounds (round-robin, fresh process "
             f"each), {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB, kernel {meta['kernel']}, "
             f"load {meta['loadavg_before'][0]:.2f} -> {meta['loadavg_after'][0]:.2f}; versions {_versions(meta)}.", "",
             "Seconds: median and min-max; RSS: the child's peak (MB, with the data it holds); checked: the "
             "result's CRC32 equals the data written (writes and copies: read back with zarrflow).", ""]
    for name, w in loads.items():
        lines += [f"## Reads and writes: {name} {tuple(w[0])} {w[2]} in {tuple(w[1])} chunks, {w[3]}", "",
                  "| op | impl | median s | spread s | peak RSS MB | checked | / direct read |",
                  "|---|---|---|---|---|---|---|"]
        direct = results.get(f"read/{name}/zarrflow-direct", {}).get("median")
        for section in ("read", "write"):
            for r in results.values():
                if r["section"] != section or r["workload"] != name:
                    continue
                ratio = f"{r['median'] / direct:.2f}" if direct and "median" in r else ""
                lines.append(f"| {section} | {r['impl']} | {_cell(r)} | {ratio if section == 'read' else ''} |")
        lines.append("")
    lines += ["`zarrflow-floor`: dask's `concatenate3` of the already read blocks, the copy every "
              "`compute()` of a whole array makes; `zarr3`/`zarr2`: `dask.array.from_zarr(...).compute()`.", ""]
    for section, title in (("copy-raw", "Raw byte copies of the i4_zstd group (no decoding)"),
                           ("copy-recode", "Decode/re-encode copies of the i4_zstd group into (500, 2000) chunks")):
        lines += [f"## {title}", "", "| impl | median s | spread s | peak RSS MB | checked | / zarrflow |",
                  "|---|---|---|---|---|---|"]
        rows = [r for r in results.values() if r["section"] == section]
        base = next((r.get("median") for r in rows if r["impl"].startswith("zarrflow")), None)
        for r in rows:
            ratio = f"{r['median'] / base:.2f}" if base and "median" in r else ""
            lines.append(f"| {r['impl']} | {_cell(r)} | {ratio} |")
        lines.append("")
    g = results.get("graph/100k_chunks/zarrflow", {})
    lines += ["## Graph construction", "", "| what | median s | spread s | peak RSS MB | checked |", "|---|---|---|---|---|",
              f"| to_dask of 100,000 chunks | {_cell(g)} |", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

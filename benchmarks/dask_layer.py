"""The Dask layer side by side: zarrflow's to_dask/from_dask against dask.array's
from_zarr/to_zarr over zarr-python 3 (this venv) and zarr-python 2.18 (.venv-zarr2),
on the threaded scheduler, plus zarrflow's own non-Dask read (the graph's overhead)
and graph construction for 100,000 chunks.

Run: ``python -m benchmarks.dask_layer [--scale 1.0] [--out benchmarks/results/dask.md]``
Each measurement runs in a fresh process; seconds are the best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKLOADS = {
    # name: (shape, chunks, dtype, compressor config)
    "i4_zstd": ((10000, 10000), (1000, 1000), "i4", {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2}),
    "f8_3d": ((1000, 1000, 100), (1000, 1000, 1), "f8", {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}),
}

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, numcodecs, dask, dask.array as da
    impl, op, path, shape, chunks, dtype, comp, repeat = json.loads(sys.argv[1])
    shape, chunks = tuple(shape), tuple(chunks)
    compressor = numcodecs.get_codec(comp)
    def data():
        rng = np.random.default_rng(1)
        return rng.random(shape).astype(dtype) if dtype == 'f8' else np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    if impl.startswith('zarrflow'):
        import zarrflow as zarr
    else:
        import zarr
    best = None
    src = data() if op == 'write' else None
    x = da.from_array(src, chunks=chunks) if op == 'write' else None
    for _ in range(repeat):
        if op == 'write':
            t = time.perf_counter()
            if impl == 'zarrflow':
                zarr.from_dask(x, path, chunks=chunks, compressor=compressor, overwrite=True)
            elif impl == 'zarr3':
                z = zarr.create_array(store=path, shape=shape, chunks=chunks, dtype=dtype, compressors=compressor,
                                      zarr_format=2, overwrite=True)
                da.to_zarr(x, z)
            else:
                z = zarr.open(path, mode='w', shape=shape, chunks=chunks, dtype=dtype, compressor=compressor)
                da.to_zarr(x, z)
            dt = time.perf_counter() - t
        else:
            t = time.perf_counter()
            if impl == 'zarrflow':
                out = zarr.to_dask(zarr.open(path, mode='r')).compute(scheduler='threads')
            elif impl == 'zarrflow-direct':
                out = zarr.open(path, mode='r')[...]
            elif impl == 'zarrflow-sum':  # a reduction: blocks are read and summed, never concatenated
                out = np.empty(shape)
                total = zarr.to_dask(zarr.open(path, mode='r')).sum(dtype='f8').compute(scheduler='threads')
            elif impl == 'zarrflow-direct-sum':
                out = np.empty(shape)
                total = zarr.open(path, mode='r')[...].sum(dtype='f8')
            else:
                x = da.from_zarr(zarr.open(path, mode='r') if impl.startswith('zarr2') else
                                 zarr.open_array(path, mode='r', zarr_format=2))
                if impl.endswith('-sum'):
                    out = np.empty(shape)
                    total = x.sum(dtype='f8').compute(scheduler='threads')
                else:
                    out = x.compute(scheduler='threads')
            dt = time.perf_counter() - t
            assert out.shape == shape
        best = dt if best is None else min(best, dt)
    print(json.dumps(best))
    """
)


COPY_CHILD = textwrap.dedent(
    """
    import json, sys, time, shutil, os
    impl, src, dst, repeat = json.loads(sys.argv[1])
    if impl.startswith('zarrflow'):
        import zarrflow as zarr
    else:
        import zarr
    best = None
    for _ in range(repeat):
        shutil.rmtree(dst, ignore_errors=True)
        source = zarr.open_group(src, mode='r')
        t = time.perf_counter()
        if impl == 'zarrflow-store-serial':
            zarr.copy_store(source.store, zarr.DirectoryStore(dst), parallel=False)
        elif impl == 'zarrflow-store-parallel':
            zarr.copy_store(source.store, zarr.DirectoryStore(dst), parallel=True, scheduler='threads')
        elif impl == 'zarr2-store':
            zarr.copy_store(source.store, zarr.DirectoryStore(dst))
        else:
            dest = zarr.open_group(dst, mode='w')
            kw = {'chunks': (500, 2000)} if impl.endswith('rechunk') else {}
            if impl.startswith('zarrflow'):
                kw['parallel'] = 'parallel' in impl
                if kw['parallel']:
                    kw['scheduler'] = 'threads'
            zarr.copy_all(source, dest, **kw)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    print(json.dumps(best))
    """
)

COPY_IMPLS = ["zarrflow-parallel", "zarrflow-serial", "zarr2", "zarrflow-parallel-rechunk", "zarrflow-serial-rechunk",
              "zarr2-rechunk", "zarrflow-store-parallel", "zarrflow-store-serial", "zarr2-store"]


def copy_rows(work: str, python2: str, repeat: int) -> list[str]:
    """copy_all / copy_store of the i4_zstd array (in a group), serial and parallel,
    against zarr 2.18's (serial) copies."""
    import numcodecs
    import numpy as np

    import zarrflow

    src = os.path.join(work, "copy-src.zarr")
    shape, chunks, _, comp = WORKLOADS["i4_zstd"]
    g = zarrflow.open_group(src, mode="w")
    a = g.create_dataset("x", shape=shape, chunks=chunks, dtype="i4", compressor=numcodecs.get_codec(comp))
    a[...] = np.arange(np.prod(shape), dtype="i4").reshape(shape)
    nbytes = a.nbytes
    lines = ["", "## Copying the i4_zstd array (400 MB) between directory stores", "",
             "copy_all: `parallel` on the threaded scheduler vs serial; `-rechunk`: into (500, 2000) chunks "
             "(decode and re-encode); without it the parallel copy moves stored bytes. ratio = row's time / "
             "zarrflow-parallel's of the same kind.", "",
             "| impl | seconds | MB/s (decoded) | ratio |", "|---|---|---|---|"]
    results = {}
    for impl in COPY_IMPLS:
        python = python2 if impl.startswith("zarr2") else sys.executable
        secs = run_child(python, [impl, src, os.path.join(work, "copy-dst.zarr"), repeat], COPY_CHILD)
        results[impl] = secs
        print((impl, secs), flush=True)
    for impl in COPY_IMPLS:
        secs = results[impl]
        kind = "-rechunk" if impl.endswith("rechunk") else "-store" if "store" in impl else ""
        ref = results["zarrflow-" + ("store-parallel" if kind == "-store" else "parallel" + kind)]
        if isinstance(secs, str) or isinstance(ref, str):
            lines.append(f"| {impl} | {secs} | | |")
            continue
        lines.append(f"| {impl} | {secs:.3f} | {nbytes / secs / 1e6:,.0f} | {secs / ref:.2f} |")
    return lines


def run_child(python: str, args: list, code: str = CHILD) -> float | str:
    proc = subprocess.run([python, "-c", code, json.dumps(args)], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return "error: " + proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "error"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def graph_construction_seconds() -> float:
    import zarrflow

    with tempfile.TemporaryDirectory() as d:
        z = zarrflow.open(os.path.join(d, "g.zarr"), mode="w", shape=(10000, 10000), chunks=(100, 10), dtype="i4")
        t = time.perf_counter()
        x = zarrflow.to_dask(z)
        dt = time.perf_counter() - t
        assert x.npartitions == 100000
        return dt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/dask.md"))
    parser.add_argument("--zarr2-python", default=str(ROOT / ".venv-zarr2/bin/python"))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name, (shape, chunks, dtype, comp) in WORKLOADS.items():
            nbytes = int(__import__("numpy").prod(shape)) * (8 if dtype == "f8" else 4)
            for op in ("write", "read"):
                impls = ["zarrflow", "zarr3", "zarr2"] + (
                    ["zarrflow-direct", "zarrflow-sum", "zarr3-sum", "zarr2-sum", "zarrflow-direct-sum"]
                    if op == "read" else [])
                for impl in impls:
                    path = os.path.join(work, f"{name}-{impl if op == 'write' else 'zarrflow'}.zarr")
                    if op == "read" and impl.startswith(("zarr2", "zarr3")):
                        path = os.path.join(work, f"{name}-{impl[:5]}.zarr")  # each reads what it wrote
                    python = args.zarr2_python if impl.startswith("zarr2") else sys.executable
                    secs = run_child(python, [impl, op, path, shape, chunks, dtype, comp, args.repeat])
                    rows.append((f"{name}_{op}", impl, secs, nbytes))
                    print(rows[-1], flush=True)
        copy_lines = copy_rows(work, args.zarr2_python, args.repeat)
    graph = graph_construction_seconds()
    lines = ["# Dask layer benchmark", "",
             f"2 CPUs, threaded scheduler, best of {args.repeat}, fresh process per row. "
             "ratio = row's time / zarrflow's through Dask (> 1: zarrflow through Dask faster; "
             "`-sum` rows: / zarrflow-sum). `zarrflow-direct`: the engine's own read, no Dask; "
             "`-sum`: read and sum, so blocks are never concatenated into one array.", "",
             "| workload | impl | seconds | MB/s | ratio vs zarrflow |", "|---|---|---|---|---|"]
    base = {w: s for w, i, s, _ in rows if i == "zarrflow"}
    base.update({w + "-sum": s for w, i, s, _ in rows if i == "zarrflow-sum"})
    for w, impl, secs, nbytes in rows:
        if isinstance(secs, str):
            lines.append(f"| {w} | {impl} | {secs} | | |")
            continue
        ref = base.get(w + ("-sum" if impl.endswith("-sum") else ""), base.get(w))
        ratio = secs / ref if isinstance(ref, float) else float("nan")
        lines.append(f"| {w} | {impl} | {secs:.3f} | {nbytes / secs / 1e6:,.0f} | {ratio:.2f} |")
    lines += ["", f"Graph construction, to_dask of 100,000 chunks: {graph:.2f} s."]
    lines += copy_lines
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

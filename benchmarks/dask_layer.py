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
            else:
                out = da.from_zarr(zarr.open(path, mode='r') if impl == 'zarr2' else
                                   zarr.open_array(path, mode='r', zarr_format=2)).compute(scheduler='threads')
            dt = time.perf_counter() - t
            assert out.shape == shape
        best = dt if best is None else min(best, dt)
    print(json.dumps(best))
    """
)


def run_child(python: str, args: list) -> float | str:
    proc = subprocess.run([python, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, cwd=ROOT)
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
                impls = ["zarrflow", "zarr3", "zarr2"] + (["zarrflow-direct"] if op == "read" else [])
                for impl in impls:
                    path = os.path.join(work, f"{name}-{impl if op == 'write' else 'zarrflow'}.zarr")
                    if op == "read" and impl in ("zarr2", "zarr3"):
                        path = os.path.join(work, f"{name}-{impl}.zarr")  # each reads what it wrote
                    python = args.zarr2_python if impl == "zarr2" else sys.executable
                    secs = run_child(python, [impl, op, path, shape, chunks, dtype, comp, args.repeat])
                    rows.append((f"{name}_{op}", impl, secs, nbytes))
                    print(rows[-1], flush=True)
    graph = graph_construction_seconds()
    lines = ["# Dask layer benchmark", "",
             f"2 CPUs, threaded scheduler, best of {args.repeat}, fresh process per row. "
             "ratio = other's time / zarrflow's (> 1: zarrflow faster).", "",
             "| workload | impl | seconds | MB/s | ratio vs zarrflow |", "|---|---|---|---|---|"]
    base = {w: s for w, i, s, _ in rows if i == "zarrflow"}
    for w, impl, secs, nbytes in rows:
        if isinstance(secs, str):
            lines.append(f"| {w} | {impl} | {secs} | | |")
            continue
        ratio = base[w] / secs if impl == "zarrflow" else secs / base[w] if isinstance(base.get(w), float) else float("nan")
        lines.append(f"| {w} | {impl} | {secs:.3f} | {nbytes / secs / 1e6:,.0f} | {ratio:.2f} |")
    lines += ["", f"Graph construction, to_dask of 100,000 chunks: {graph:.2f} s."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Median filters of a uint16 image stack stored with one slice per chunk, side by side:
zarrflow.filters against dask-image (``dask_image.ndfilters.median_filter(...).to_zarr``,
over zarr-python 3) and a plain loop of ``scipy.ndimage.median_filter`` over slices
(zarr-python 3 I/O, a thread pool), all on the same number of threads; plus the
kernel-only limits (the kernel on in-memory data, same threads, no I/O).

Workloads: size 3 and size 5 slice by slice (``axes=(1, 2)``; dask-image has no
``axes=``, so ``size=(1, k, k)``), and a 3-D size 3. Every output is compared with
zarrflow's, slice by slice (identical or the run fails), and zarrflow's with scipy on
``--check`` slices. Each measurement runs in a fresh process; peak RSS is that
process's high-water mark above its start (``benchmarks/memory.py``).

The full size is the issue's: 1024 x 2048 x 2048 uint16 (8 GiB), ``--scale 1``.
``--scale`` shrinks the slice count (``--scale 0.015625``: 16 slices, 128 MiB).

Run: ``python -m benchmarks.filters [--scale 0.015625] [--threads 2] [--repeat 1]
[--out benchmarks/results/filters.md] [--json benchmarks/results/filters.json] [--workdir DIR]``
Needs ``.[test]`` plus dask-image (``pip install dask-image``; it brings no zarr 2).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.meta import run_metadata

ROOT = Path(__file__).resolve().parents[1]
FULL_SHAPE = (1024, 2048, 2048)
WORKLOADS = {  # name: (size, axes)
    "median2d_size3": (3, (1, 2)),
    "median2d_size5": (5, (1, 2)),
    "median3d_size3": (3, None),
}
IMPLS = ("zarrflow", "dask-image", "scipy-loop", "zarrflow-kernel", "scipy-kernel")
LOOP_SLAB = 4  # slices per job of the 3-D plain loop (plus one slice of halo on each side)


# --- data ----------------------------------------------------------------------------------


def make_source(path: str, shape: tuple[int, int, int]) -> None:
    """A smooth, noisy uint16 stack with salt and pepper (compresses like a real one),
    slice by slice, in a zarrflow array with one slice per chunk and Blosc lz4."""
    import numpy as np
    from numcodecs import Blosc

    import zarrflow

    z = zarrflow.open_array(path, mode="w", shape=shape, chunks=(1, *shape[1:]), dtype="u2",
                            compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE))
    rng = np.random.default_rng(0)
    _, ny, nx = shape
    y, x = np.ogrid[:ny, :nx]
    base = 20000 + 15000 * np.sin(x / nx * 6.0) * np.cos(y / ny * 4.0)
    for i in range(shape[0]):
        image = base * (0.8 + 0.4 * np.cos(i / shape[0] * 3.0)) + rng.normal(0, 800, (ny, nx))
        salt = rng.random((ny, nx))
        image[salt < 0.01] = 0
        image[salt > 0.99] = 65535
        z[i] = np.clip(image, 0, 65535).astype("u2")


# --- one measurement (child process) -----------------------------------------------------------


def _child(spec: dict) -> dict:
    import dask
    import numpy as np

    from benchmarks.memory import PeakRSS

    impl, src, out, threads = spec["impl"], spec["src"], spec["out"], spec["threads"]
    size, axes = WORKLOADS[spec["workload"]]
    try:
        import cv2

        cv2.setNumThreads(1)  # one core per thread, for every implementation
    except ImportError:
        pass
    _warm_imports(impl)  # imports are not timed
    data = job = None
    if impl.endswith("-kernel"):
        import zarrflow

        data = zarrflow.open_array(src, mode="r")[...]
        job = (_zarrflow_kernel if impl == "zarrflow-kernel" else _scipy_kernel)(data, size, axes, threads)
    meter = PeakRSS()
    meter.start()
    t = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=threads):
        if impl == "zarrflow":
            import zarrflow.filters as zf

            zf.median_filter(src, size, axes=axes, output=out, overwrite=True)
        elif impl == "dask-image":
            _dask_image(src, out, size, axes)
        elif impl == "scipy-loop":
            _scipy_loop(src, out, size, axes, threads)
        elif job is not None:
            job()
        else:
            raise ValueError(impl)
    seconds = time.perf_counter() - t
    peak = meter.stop()
    del data, job
    return {"seconds": seconds, "peak_rss": peak, "rss_method": meter.method, "numpy": np.__version__}


def _warm_imports(impl: str) -> None:
    import importlib

    names = {"zarrflow": ["zarrflow.filters", "zarrflow.graph.filter_tasks", "zarrflow.graph.ops"],
             "dask-image": ["dask.array", "dask_image.ndfilters", "zarr"],
             "scipy-loop": ["scipy.ndimage", "zarr"],
             "zarrflow-kernel": ["zarrflow.graph.kernels"], "scipy-kernel": ["scipy.ndimage"]}[impl]
    for name in names:
        importlib.import_module(name)
    # first calls initialise the libraries (OpenCV's dispatch, thread pools): not timed, for every row
    import numpy as np
    import scipy.ndimage as ndi

    tiny = np.zeros((3, 16, 16), dtype="u2")
    ndi.median_filter(tiny, 3)
    try:
        import cv2

        cv2.medianBlur(tiny[0], 3)
    except ImportError:
        pass


def _dask_image(src: str, out: str, size: int, axes) -> None:
    import dask.array as da
    import dask_image.ndfilters as nf
    from numcodecs import Blosc

    x = da.from_zarr(src)
    sizes = (1, size, size) if axes == (1, 2) else size
    nf.median_filter(x, size=sizes).to_zarr(out, overwrite=True, zarr_format=2,
                                            compressors=[Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)])


def _scipy_loop(src: str, out: str, size: int, axes, threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import scipy.ndimage as ndi
    import zarr
    from numcodecs import Blosc

    source = zarr.open_array(src, mode="r")
    n = source.shape[0]
    target = zarr.create_array(out, shape=source.shape, chunks=source.chunks, dtype=source.dtype, zarr_format=2,
                               compressors=[Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)], overwrite=True)

    def slice_job(i: int) -> None:
        target[i] = ndi.median_filter(source[i], size)

    def slab_job(a: int) -> None:  # 3-D: LOOP_SLAB slices plus a slice of halo each side
        b = min(a + LOOP_SLAB, n)
        lo, hi = max(a - 1, 0), min(b + 1, n)
        target[a:b] = ndi.median_filter(source[lo:hi], size)[a - lo: a - lo + b - a]

    with ThreadPoolExecutor(threads) as pool:
        if axes == (1, 2):
            list(pool.map(slice_job, range(n)))
        else:
            list(pool.map(slab_job, range(0, n, LOOP_SLAB)))


def _zarrflow_kernel(data, size: int, axes, threads: int):
    """zarrflow's kernel (graph/kernels.py, as its tasks call it) on in-memory slabs:
    returns the timed job (the output array and the 3-D halo padding are made first)."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from zarrflow.graph import kernels

    out = np.empty_like(data)
    n = data.shape[0]
    if axes == (1, 2):
        fp = np.ones((1, size, size), dtype=bool)

        def job(i: int) -> None:
            out[i:i + 1] = kernels.filter_block(data[i:i + 1], "rank", fp.size // 2, fp, (0, 0, 0), "reflect", 0,
                                                (False,) * 3)
        jobs = range(n)
    else:
        fp = np.ones((size,) * 3, dtype=bool)
        h = size // 2
        padded = np.take(data, kernels.extend_indices(n, h, h, "reflect"), axis=0)  # axis 0 halo, untimed cost
        slab = 16

        def job(a: int) -> None:
            b = min(a + slab, n)
            out[a:b] = kernels.filter_block(padded[a:b + 2 * h], "rank", fp.size // 2, fp, (0, 0, 0), "reflect", 0,
                                            (True, False, False))
        jobs = range(0, n, slab)
    out[...] = 0  # touch the output's pages before timing

    def run() -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(job, jobs))
    return run


def _scipy_kernel(data, size: int, axes, threads: int):
    """scipy.ndimage.median_filter on in-memory slices (slabs with halo for 3-D): the timed job."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import scipy.ndimage as ndi

    out = np.empty_like(data)
    n = data.shape[0]

    def slice_job(i: int) -> None:
        out[i] = ndi.median_filter(data[i], size)

    def slab_job(a: int) -> None:
        b = min(a + LOOP_SLAB, n)
        lo, hi = max(a - 1, 0), min(b + 1, n)
        out[a:b] = ndi.median_filter(data[lo:hi], size)[a - lo: a - lo + b - a]

    out[...] = 0

    def run() -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(slice_job if axes == (1, 2) else slab_job,
                          range(0, n, 1 if axes == (1, 2) else LOOP_SLAB)))
    return run


# --- checks ------------------------------------------------------------------------------------


def check_outputs(workdir: str, workload: str, impls: list[str], n_check: int) -> dict:
    """Every output equals zarrflow's, slice by slice; zarrflow's equals scipy on ``n_check`` slices."""
    import numpy as np
    import scipy.ndimage as ndi

    import zarrflow

    size, axes = WORKLOADS[workload]
    src = zarrflow.open_array(os.path.join(workdir, "src.zarr"), mode="r")
    ours = zarrflow.open_array(os.path.join(workdir, f"{workload}-zarrflow.zarr"), mode="r")
    result = {}
    for impl in impls:
        if impl == "zarrflow" or impl.endswith("-kernel"):
            continue
        other = zarrflow.open_array(os.path.join(workdir, f"{workload}-{impl}.zarr"), mode="r")
        result[impl] = all(np.array_equal(ours[i], other[i]) for i in range(src.shape[0]))
    n = src.shape[0]
    picks = sorted({int(i) for i in np.linspace(0, n - 1, min(n_check, n))})
    ok = True
    for i in picks:
        if axes == (1, 2):
            expected = ndi.median_filter(src[i], size)
        else:
            lo, hi = max(i - 1, 0), min(i + 2, n)
            expected = ndi.median_filter(src[lo:hi], size)[i - lo]
        ok &= bool(np.array_equal(ours[i], expected))
    result["zarrflow_vs_scipy"] = ok
    result["checked_slices"] = picks
    return result


def planned_bound(src_path: str, workload: str, threads: int) -> int:
    """zarrflow's planned peak: ``threads`` x (block with halo + kernel result + output) of its largest task."""
    import zarrflow
    import zarrflow.filters as zf
    from zarrflow.graph import filter_plan

    src = zarrflow.open_array(src_path, mode="r")
    size, axes = WORKLOADS[workload]
    _, tasks = zf.plan("median_filter", src, size, axes=axes)
    return threads * max(filter_plan.task_bytes(t, src.dtype.itemsize) for t in tasks)


# --- driver ------------------------------------------------------------------------------------


def run_child(spec: dict, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.filters", "--child", json.dumps(spec)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.filters", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the 1024 slices of 2048 x 2048 (default 1)")
    p.add_argument("--slice-size", type=int, default=FULL_SHAPE[1], help="slices are N x N (default 2048)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="timed runs per pair; the best is reported")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--impls", default=",".join(IMPLS))
    p.add_argument("--check", type=int, default=4, help="slices of zarrflow's output compared with scipy")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "filters.md"))
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "filters.json"))
    p.add_argument("--workdir", default=None, help="parent of the temporary data directory (removed at the end)")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0

    shape = (max(1, round(FULL_SHAPE[0] * args.scale)), args.slice_size, args.slice_size)
    workloads = [w for w in args.workloads.split(",") if w]
    impls = [i for i in args.impls.split(",") if i]
    workdir = tempfile.mkdtemp(prefix="zarrflow-bench-filters-", dir=args.workdir)
    nbytes = 2 * shape[0] * shape[1] * shape[2]
    rows, failed = [], False
    started = time.time()
    try:
        t = time.perf_counter()
        make_source(os.path.join(workdir, "src.zarr"), shape)
        print(f"source {shape} uint16 ({nbytes / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s", flush=True)
        for workload in workloads:
            for impl in impls:
                best = None
                for _ in range(args.repeat):
                    spec = {"impl": impl, "workload": workload, "threads": args.threads,
                            "src": os.path.join(workdir, "src.zarr"),
                            "out": os.path.join(workdir, f"{workload}-{impl}.zarr")}
                    r = run_child(spec, args.timeout)
                    if "error" in r:
                        best = r
                        failed = True
                        break
                    if best is None or r["seconds"] < best["seconds"]:
                        best = r
                row = {"workload": workload, "impl": impl, **best}
                rows.append(row)
                print(json.dumps(row), flush=True)
            checks = check_outputs(workdir, workload, impls, args.check)
            bound = planned_bound(os.path.join(workdir, "src.zarr"), workload, args.threads)
            for row in rows:
                if row["workload"] == workload:
                    row["identical"] = checks.get(row["impl"], checks["zarrflow_vs_scipy"]
                                                  if row["impl"] == "zarrflow" else None)
                    if row["impl"] == "zarrflow":
                        row["planned_peak"] = bound
            failed |= not all(v for k, v in checks.items() if k != "checked_slices")
            print(json.dumps({"workload": workload, "checks": checks, "planned_peak": bound}), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = {"loadavg": os.getloadavg(), "shape": shape, "nbytes": nbytes, "threads": args.threads, "repeat": args.repeat, "scale": args.scale,
            "cpus": os.cpu_count(), "python": sys.version.split()[0], "versions": _versions(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "python -m benchmarks.filters " + " ".join(argv if argv is not None else sys.argv[1:]),
            "run": run_metadata(started, time.time(), argv=["-m", "benchmarks.filters",
                                                             *(argv if argv is not None else sys.argv[1:])])}
    Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    Path(args.out).write_text(report(meta, rows))
    print(f"wrote {args.out} and {args.json}")
    return 1 if failed else 0


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "opencv-python-headless", "dask", "dask-image", "zarr", "numcodecs"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def report(meta: dict, rows: list[dict]) -> str:
    """The markdown report: per workload, seconds, MB/s, ratio to zarrflow, peak RSS, identical output."""
    mib = 2**20
    shape = meta["shape"]
    lines = [
        "# Median filters of an image stack",
        "",
        f"Stack {shape[0]} x {shape[1]} x {shape[2]} uint16 ({meta['nbytes'] / mib:,.0f} MiB; the issue's full size "
        f"is 1024 x 2048 x 2048 = 8 GiB, `--scale 1`), one slice per chunk, Blosc lz4; {meta['threads']} threads "
        f"for every implementation (OpenCV limited to 1 thread per call), best of {meta['repeat']}, a fresh process "
        f"per row, {meta['cpus']} CPUs shared with other work. Command: `{meta['command']}`.",
        "",
        "MB/s: input bytes per second. `x zarrflow`: the row's time / zarrflow's (> 1: zarrflow faster). "
        "`of limit`: zarrflow's throughput as a fraction of its kernel-only limit (`zarrflow-kernel`: the same "
        "kernel on in-memory data, same threads, no I/O, no Dask). Peak RSS: the process's high-water mark "
        "above its start (`-kernel` rows: besides the in-memory input and output). `identical`: every slice "
        "equals zarrflow's output (zarrflow's: equal to scipy.ndimage.median_filter on the checked slices).",
        "",
        "| workload | impl | seconds | MB/s | x zarrflow | of limit | peak RSS MiB | planned peak MiB | identical |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["workload"], r["impl"]): r for r in rows}
    for workload in dict.fromkeys(r["workload"] for r in rows):
        ours = by.get((workload, "zarrflow"), {})
        limit = by.get((workload, "zarrflow-kernel"), {})
        for r in (x for x in rows if x["workload"] == workload):
            if "error" in r:
                lines.append(f"| {workload} | {r['impl']} | error: {r['error']} | | | | | | |")
                continue
            ratio = r["seconds"] / ours["seconds"] if ours.get("seconds") else float("nan")
            of_limit = (f"{limit['seconds'] / r['seconds']:.2f}" if r["impl"] == "zarrflow" and limit.get("seconds")
                        else "")
            planned = f"{r['planned_peak'] / mib:,.0f}" if r.get("planned_peak") else ""
            ident = {True: "yes", False: "NO", None: ""}[r.get("identical")]
            lines.append(f"| {workload} | {r['impl']} | {r['seconds']:.2f} | {meta['nbytes'] / 1e6 / r['seconds']:,.0f} "
                         f"| {ratio:.2f} | {of_limit} | {r['peak_rss'] / mib:,.0f} | {planned} | {ident} |")
    lines += [
        "",
        "zarrflow's planned peak: threads x (input block with halo + the kernel's result of that shape + the "
        "output slab) for its largest task (`graph/filter_plan.task_bytes`); the tasks are slabs of whole output "
        "chunks of at most 32 MiB of output (`max_bytes`). The 3-D plain loop filters slabs of "
        f"{LOOP_SLAB} slices plus one slice of halo on each side. dask-image has no `axes=`: slice by slice is "
        "`size=(1, k, k)`, and it writes with `to_zarr` over zarr-python "
        f"{meta['versions'].get('zarr')} (Zarr v2 format, the same Blosc lz4).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + f"; Python {meta['python']}; "
        f"{meta['date']}" + (f"; load average at the end {meta['loadavg'][0]:.1f} on {meta['cpus']} CPUs"
                             if meta.get("loadavg") else "") + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

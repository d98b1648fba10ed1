"""Measure one (implementation, workload) pair in this fresh process; print JSON.

    python -m benchmarks.child --impl zarr2 --workload f8_3d_read --scale 0.05 \\
        --repeat 3 --workdir /tmp/x

The parent (``benchmarks.run``) starts one such process per pair, so imports and
memory of one measurement never leak into another. Steps:

1. ``setup``: import the engine, generate the data, pre-write arrays for read
   workloads (untimed, before the memory baseline).
2. One untimed warm-up run, then ``--repeat`` timed runs (``time.perf_counter``
   around the operation only); the reported time is the best one.
3. Peak RSS above the baseline taken just before the first run, over all runs
   (see :mod:`benchmarks.memory`), and the CPU share other processes took during
   the timed runs (see :mod:`benchmarks.contention`).
4. ``verify`` the last run (untimed): reads against numpy, writes by decoding
   the directory with numcodecs alone (see :mod:`benchmarks.checks`).

The result is the last stdout line, prefixed with :data:`MARKER`.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import traceback

from benchmarks import impls, workloads
from benchmarks.contention import ForeignCPU
from benchmarks.impls.base import ImplUnavailable
from benchmarks.memory import PeakRSS

MARKER = "__BENCH_RESULT__ "


def measure(runner, repeat: int) -> dict:
    """Run the protocol above on a :class:`~benchmarks.impls.base.Runner`."""
    runner.setup()
    gc.collect()
    mem = PeakRSS()
    mem.start()
    warm = 1 if runner.warmup else 0
    times: list[float] = []
    foreign = ForeignCPU()
    result = None
    for i in range(warm + repeat):
        result = None  # free the previous run's output before the next run
        runner.before_each()
        gc.collect()
        if i >= warm:
            foreign.enter()
        t0 = time.perf_counter()
        result = runner.run()
        elapsed = time.perf_counter() - t0
        if i >= warm:
            foreign.leave()
            times.append(elapsed)
    peak = mem.stop()
    ok, message = runner.verify(result)
    return {
        "seconds": min(times), "times": times, "warmup_runs": warm,
        "peak_bytes": peak, "baseline_rss_bytes": mem.baseline, "mem_method": mem.method,
        "foreign_cpu": foreign.fraction(), "verified": ok, "check": message, **runner.extra(),
    }


def environment(impl: str) -> dict:
    """Interpreter and library versions seen by this child."""
    import numcodecs
    import numpy

    env = {"python": platform.python_version(), "executable": sys.executable,
           "numpy": numpy.__version__, "numcodecs": numcodecs.__version__}
    try:
        env.update(impls.versions(impl))
    except Exception:
        pass
    return env


def run_one(impl: str, workload: str, scale: float, repeat: int, workdir: str, threads: int) -> dict:
    wl = workloads.get(workload, scale)
    out = {"impl": impl, "workload": workload, "group": wl.group, "op": wl.op,
           "scale": scale, "shape": list(wl.shape), "chunks": list(wl.chunks),
           "dtype": wl.dtype, "bytes": wl.bytes_moved()}
    runner = None
    try:
        runner = impls.make_runner(impl, wl, workdir, threads=threads)
        out.update(measure(runner, repeat), status="ok")
    except ImplUnavailable as exc:
        out.update(status="unavailable", error=str(exc))
    except Exception as exc:
        out.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(limit=8))
    finally:
        if runner is not None:
            runner.close()
    if out["status"] != "unavailable":
        out["env"] = environment(impl)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", required=True, choices=list(impls.IMPLS))
    p.add_argument("--workload", required=True, choices=list(workloads.NAMES))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workdir", required=True, help="empty directory for this measurement's files")
    p.add_argument("--threads", type=int, default=2, help="threads of the codec/rawio limits")
    args = p.parse_args(argv)
    res = run_one(args.impl, args.workload, args.scale, max(1, args.repeat), args.workdir, args.threads)
    sys.stdout.write("\n" + MARKER + json.dumps(res) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

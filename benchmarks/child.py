"""One (implementation, workload) pair in this fresh process, driven over stdin/stdout.

    python -m benchmarks.child --serve --impl zarr2 --workload f8_3d_read --scale 0.05 \\
        --workdir /tmp/x [--threads 2]

The parent (``benchmarks.run``) starts one such process per implementation of a
workload and interleaves their runs. Protocol (every line the child writes for the
parent starts with :data:`MARKER`; anything else on stdout is ignored):

1. The child sets up, untimed: imports the engine, generates the data, pre-writes the
   array of a read workload, computes the expected digest. Then it prints
   ``MARKER READY`` (or one JSON result with ``status`` ``unavailable``/``error``,
   and exits).
2. It reads commands, one a line, and answers each with one JSON line:

   * ``warmup``: one untimed run -> ``{"cmd": "warmup", "seconds": s, "verified": ...}``
   * ``run``: one timed run -> ``{"cmd": "run", "seconds": s, "started_at": t, "verified": ...,
     "check": ...}`` (``started_at``: ``time.time()`` at its start, to audit the interleaving).
     Reads are checked after every run (shape, dtype and CRC-32 against numpy's
     result; the limits: decoded chunks against the originals); writes answer
     ``"verified": null`` until ``finish``.
   * ``finish`` -> the pair's result: the write check of the last run (the directory
     decoded with numcodecs alone and compared), ``peak_bytes`` (the highest run's
     ``VmHWM`` above the RSS after setup, the high-water reset before each run; see
     :class:`benchmarks.memory.PeakOverRuns`), ``foreign_cpu`` over the timed runs,
     implementation extras and versions; then the child exits.

Only the operation is inside ``time.perf_counter()``; ``before_each`` (a fresh empty
array for a write) and ``gc.collect()`` come before it, the check after it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import traceback

from benchmarks import impls, workloads
from benchmarks.contention import ForeignCPU
from benchmarks.impls.base import ImplUnavailable
from benchmarks.memory import PeakOverRuns

MARKER = "__BENCH__ "
READY = "READY"


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


def _error(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=8)}


class Session:
    """The runner of one pair and what its runs measured so far."""

    def __init__(self, impl: str, workload: str, scale: float, workdir: str, threads: int):
        self.impl = impl
        self.wl = workloads.get(workload, scale)
        self.base = {"impl": impl, "workload": workload, "group": self.wl.group, "op": self.wl.op,
                     "scale": scale, "shape": list(self.wl.shape), "chunks": list(self.wl.chunks),
                     "dtype": self.wl.dtype, "bytes": self.wl.bytes_moved()}
        self.runner = impls.make_runner(impl, self.wl, workdir, threads=threads)
        self.mem = PeakOverRuns()
        self.foreign = ForeignCPU()
        self.last = None
        self.checks: list[tuple[bool, str]] = []
        self.runs = 0

    def setup(self) -> None:
        self.runner.setup()
        gc.collect()
        self.mem.start()

    def one_run(self, timed: bool) -> dict:
        """One run (timed or warm-up); reads are checked right after it."""
        self.last = None  # free the previous output before the next run
        self.runner.before_each()
        gc.collect()
        os.sync()  # the previous run's (or another child's) writes are on disk before this one starts
        self.mem.before_run()
        if timed:
            self.foreign.enter()
        started_at = time.time()
        t0 = time.perf_counter()
        result = self.runner.run()
        elapsed = time.perf_counter() - t0
        if timed:
            self.foreign.leave()
        self.mem.after_run()
        self.runs += 1
        answer = {"cmd": "run" if timed else "warmup", "seconds": elapsed, "started_at": started_at,
                  "verified": None, "check": None}
        if self.wl.is_write:
            self.last = result
        else:
            ok, message = self.runner.verify(result)
            self.checks.append((ok, message))
            answer.update(verified=ok, check=message)
        del result
        return answer

    def finish(self) -> dict:
        """The pair's result after its runs (writes checked here)."""
        out = {**self.base, "status": "ok", "peak_bytes": self.mem.peak_bytes(),
               "baseline_rss_bytes": self.mem.baseline, "mem_method": self.mem.method,
               "foreign_cpu": self.foreign.fraction()}
        if self.runs == 0:
            out.update(verified=False, check="no run")
        elif self.wl.is_write:
            ok, message = self.runner.verify(self.last)
            out.update(verified=ok, check=message)
        else:
            bad = [m for ok, m in self.checks if not ok]
            out.update(verified=not bad, check=bad[0] if bad else "ok",
                       checks_passed=len(self.checks) - len(bad), checks_run=len(self.checks))
        out.update(self.runner.extra())
        return out


def _emit(obj) -> None:
    sys.stdout.write(MARKER + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    sys.stdout.flush()


def serve(impl: str, workload: str, scale: float, workdir: str, threads: int) -> int:
    """Set up, say READY, answer commands until ``finish`` or end of input."""
    try:
        session = Session(impl, workload, scale, workdir, threads)
        session.setup()
    except ImplUnavailable as exc:
        _emit({"impl": impl, "workload": workload, "status": "unavailable", "error": str(exc)})
        return 0
    except Exception as exc:
        _emit({"impl": impl, "workload": workload, "status": "error", **_error(exc)})
        return 0
    _emit(READY)
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd in ("warmup", "run"):
                try:
                    _emit(session.one_run(timed=cmd == "run"))
                except Exception as exc:
                    _emit({"cmd": cmd, **_error(exc)})
            elif cmd == "finish":
                try:
                    res = session.finish()
                except Exception as exc:
                    res = {**session.base, "status": "error", **_error(exc)}
                res["env"] = environment(impl)
                _emit(res)
                return 0
            elif cmd:
                _emit({"cmd": cmd, "error": f"unknown command {cmd!r}"})
    finally:
        session.runner.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--serve", action="store_true", required=True, help="answer commands on stdin (the only mode)")
    p.add_argument("--impl", required=True, choices=list(impls.IMPLS))
    p.add_argument("--workload", required=True, choices=list(workloads.NAMES))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--workdir", required=True, help="empty directory for this pair's files")
    p.add_argument("--threads", type=int, default=2, help="threads of the codec/rawio limits")
    args = p.parse_args(argv)
    return serve(args.impl, args.workload, args.scale, args.workdir, args.threads)


if __name__ == "__main__":
    sys.exit(main())

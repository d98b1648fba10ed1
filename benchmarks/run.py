"""Run the benchmarks side by side and write the report.

    python -m benchmarks.run [--impls zarrflow,zarr2,zarr3,tensorstore,codec,rawio]
        [--workloads NAMES|GROUPS] [--scale 1.0] [--repeat 3]
        [--out benchmarks/results/engine.md] [--json results.json]
        [--zarr2-python PATH] [--workdir DIR]

Each (implementation, workload) pair runs in a fresh ``python -m benchmarks.child``
process, one at a time; ``zarr2`` runs under the zarr 2.18 venv's Python, the others
under this interpreter. Unavailable implementations are skipped with a note. Exit
status 1 when a run failed or a data check did not pass (the report is written anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import derive, impls, report, setup_oracles, workloads
from benchmarks.child import MARKER

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "engine.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--impls", default=",".join(impls.DEFAULT_IMPLS),
                   help="comma-separated implementations (default: all)")
    p.add_argument("--workloads", default="", help=f"comma-separated workloads or groups "
                   f"(default: all). Groups: {', '.join(workloads.GROUPS)}")
    p.add_argument("--scale", type=float, default=1.0, help="size factor (0.02 runs in seconds)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per pair; best is reported")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default: %(default)s)")
    p.add_argument("--json", type=Path, default=None, help="also write raw results as JSON here")
    p.add_argument("--zarr2-python", type=Path, default=None,
                   help="Python of a zarr 2.18 venv (default: $ZARRFLOW_ZARR2_PYTHON or .venv-zarr2, "
                        "created by benchmarks.setup_oracles when missing)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the temporary data directory goes (default: the system temp dir)")
    p.add_argument("--threads", type=int, default=2, help="threads of the codec/rawio limits")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per child process")
    args = p.parse_args(argv)
    if args.scale <= 0 or args.repeat < 1 or args.threads < 1:
        p.error("--scale must be > 0, --repeat and --threads >= 1")
    try:
        args.impl_names = impls.parse(args.impls)
        args.workload_names = workloads.select(args.workloads)
    except ValueError as exc:
        p.error(str(exc))
    return args


def zarr2_python(explicit: Path | None) -> Path:
    """The zarr 2.18 interpreter; RuntimeError saying why when there is none."""
    chosen = explicit or (Path(os.environ["ZARRFLOW_ZARR2_PYTHON"])
                          if os.environ.get("ZARRFLOW_ZARR2_PYTHON") else None)
    if chosen is None:
        return setup_oracles.ensure_zarr2_python()
    if not setup_oracles.imports_zarr2(chosen):
        raise RuntimeError(f"{chosen} does not import zarr 2.x")
    return chosen


def run_child(python: str, impl: str, workload: str, args: argparse.Namespace, workdir: str) -> dict:
    """Start one child process and return its result (an error result if it died)."""
    cmd = [python, "-m", "benchmarks.child", "--impl", impl, "--workload", workload,
           "--scale", repr(args.scale), "--repeat", str(args.repeat), "--workdir", workdir,
           "--threads", str(args.threads)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    base = {"impl": impl, "workload": workload, "group": workloads.get(workload, args.scale).group,
            "op": workloads.get(workload, args.scale).op, "status": "error"}
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timed out after {args.timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    return {**base, "error": f"child exited {proc.returncode} without a result: {proc.stderr[-1500:]}"}


def _progress(i: int, n: int, r: dict) -> None:
    if r["status"] == "ok":
        msg = (f"{r['seconds']:.4g} s, peak {r['peak_bytes'] / 1e6:.1f} MB, "
               f"{'ok' if r['verified'] else 'DATA MISMATCH: ' + r['check']}")
        if (r.get("foreign_cpu") or 0) > report.CONTENDED:
            msg += f" (other processes took {100 * r['foreign_cpu']:.0f}% of the CPUs)"
    else:
        msg = f"{r['status']}: {r.get('error', '')}"
    print(f"[{i}/{n}] {r['impl']:<11} {r['workload']:<22} {msg}", file=sys.stderr, flush=True)


def run_all(args: argparse.Namespace, workdir: str, skipped: dict[str, str]) -> list[dict]:
    """Every (workload, implementation) pair, in order, one child at a time."""
    pythons = {impl: sys.executable for impl in args.impl_names}
    if "zarr2" in pythons:
        try:
            pythons["zarr2"] = str(zarr2_python(args.zarr2_python))
        except RuntimeError as exc:
            skipped["zarr2"] = str(exc)
    results: list[dict] = []
    pairs = [(w, i) for w in args.workload_names for i in args.impl_names]
    for n, (wl, impl) in enumerate(pairs, 1):
        if impl in skipped:
            continue
        child_dir = tempfile.mkdtemp(prefix=f"{impl}-{wl}-", dir=workdir)
        try:
            r = run_child(pythons[impl], impl, wl, args, child_dir)
        finally:
            shutil.rmtree(child_dir, ignore_errors=True)
        _progress(n, len(pairs), r)
        if r["status"] == "unavailable":
            skipped[impl] = r["error"]
        else:
            results.append(r)
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="zarrflow-bench-", dir=args.workdir)
    skipped: dict[str, str] = {}
    started = time.time()
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        results = derive.with_limits(run_all(args, workdir, skipped))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = {"command": "python -m benchmarks.run " + shlex.join(argv),
            "date": date,
            "scale": args.scale, "repeat": args.repeat, "threads": args.threads,
            "elapsed_s": round(time.time() - started, 1), "cpu_count": os.cpu_count(),
            "cpu_model": report.cpu_model(), "machine": report.machine_line(results)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.markdown(results, meta, skipped) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report.write_json(str(args.json), results, meta, skipped)
    for impl, why in skipped.items():
        print(f"note: {impl} skipped: {why}", file=sys.stderr)
    print(f"report: {args.out}", file=sys.stderr)
    bad = [r for r in results if r["status"] != "ok" or not r.get("verified")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

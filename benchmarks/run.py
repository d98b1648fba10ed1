"""Run the engine benchmarks interleaved and write the report (``--all``: every benchmark).

    python -m benchmarks.run [--impls zarrflow,zarr2,zarr3,tensorstore,h5py,codec,rawio]
        [--workloads NAMES|GROUPS] [--scale 1.0] [--repeat 5]
        [--out benchmarks/results/engine.md] [--json benchmarks/results/engine.json]
        [--zarr2-python PATH] [--workdir DIR]
    python -m benchmarks.run --all [--quick] [--only NAME,...] [--out-dir DIR]   # see benchmarks.suite

For each workload in turn, one ``python -m benchmarks.child --serve`` process per
implementation sets up (one after another), then one warm-up round and ``--repeat``
timed rounds visit every implementation once each (see :mod:`benchmarks.interleave`);
only the children of one workload are alive at a time. ``zarr2`` runs under the zarr
2.18 venv's Python, the others under this interpreter. Unavailable implementations are
skipped with a note. The raw results go to the JSON file and the markdown is rendered
from it. Exit status 1 when a run failed or a data check did not pass (the report is
written anyway).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import derive, impls, report, setup_oracles, workloads
from benchmarks.interleave import ChildFailed, ServedChild, interleave, summarize
from benchmarks.meta import filesystem_of, run_metadata

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "engine.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--impls", default=",".join(impls.DEFAULT_IMPLS),
                   help="comma-separated implementations (default: all)")
    p.add_argument("--workloads", default="", help=f"comma-separated workloads or groups "
                   f"(default: all). Groups: {', '.join(workloads.GROUPS)}")
    p.add_argument("--scale", type=float, default=1.0, help="size factor (0.02 runs in seconds)")
    p.add_argument("--repeat", type=int, default=5,
                   help="timed rounds after one warm-up round; the median and min-max are reported")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default: %(default)s)")
    p.add_argument("--json", type=Path, default=None,
                   help="raw results (default: --out with the suffix .json); the report is rendered from them")
    p.add_argument("--zarr2-python", type=Path, default=None,
                   help="Python of a zarr 2.18 venv (default: $ZARRFLOW_ZARR2_PYTHON or .venv-zarr2, "
                        "created by benchmarks.setup_oracles when missing)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the temporary data directory goes (default: the system temp dir)")
    p.add_argument("--threads", type=int, default=2, help="threads of the codec/rawio limits")
    p.add_argument("--baseline-tree", type=Path, default=None,
                   help="a checkout of an earlier zarrflow (e.g. `git worktree add /tmp/base REV`): adds "
                        "the implementation zarrflow_base, zarrflow imported from there, for before/after tables")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per child answer")
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


def _start(python: str, impl: str, workload: str, args: argparse.Namespace, workdir: str) -> ServedChild:
    cmd = [python, "-m", "benchmarks.child", "--serve", "--impl", impl, "--workload", workload,
           "--scale", repr(args.scale), "--workdir", workdir, "--threads", str(args.threads)]
    first = [getattr(args, "baseline_shim", None)] if impl == "zarrflow_base" else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (*first, str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    return ServedChild(cmd, env, str(REPO_ROOT), args.timeout)


def baseline_shim(tree: Path, workdir: str) -> tuple[str, dict]:
    """A directory holding only ``zarrflow`` (a link to ``tree``'s package), put first on
    ``zarrflow_base`` children's path so they import the earlier engine but this
    checkout's benchmarks; and what to record of that tree (its path and commit)."""
    package = tree.resolve() / "zarrflow"
    if not (package / "__init__.py").exists():
        raise SystemExit(f"--baseline-tree {tree}: no zarrflow package there")
    shim = os.path.join(workdir, "baseline-path")
    os.makedirs(shim)
    os.symlink(package, os.path.join(shim, "zarrflow"))
    proc = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    return shim, {"tree": str(tree.resolve()), "commit": proc.stdout.strip() or None}


def _base(impl: str, workload: str, scale: float) -> dict:
    wl = workloads.get(workload, scale)
    return {"impl": impl, "workload": workload, "group": wl.group, "op": wl.op, "status": "error"}


def _progress(r: dict) -> None:
    if r["status"] == "ok":
        msg = (f"median {r['seconds']:.4g} s ({r['min_s']:.4g}-{r['max_s']:.4g}), "
               f"peak {r['peak_bytes'] / 1e6:.1f} MB, "
               f"{'ok' if r['verified'] else 'DATA MISMATCH: ' + r['check']}")
        if (r.get("foreign_cpu") or 0) > report.CONTENDED:
            msg += f" (other processes took {100 * r['foreign_cpu']:.0f}% of the CPUs)"
    else:
        msg = f"{r['status']}: {r.get('error', '')}"
    print(f"  {r['impl']:<18} {r['workload']:<22} {msg}", file=sys.stderr, flush=True)


def run_workload(wl: str, impl_names: list[str], pythons: dict[str, str], args: argparse.Namespace,
                 workdir: str, skipped: dict[str, str]) -> list[dict]:
    """Every implementation of one workload: children set up one after another, then
    interleaved rounds; only this workload's children are alive meanwhile."""
    children: dict[str, ServedChild] = {}
    results: dict[str, dict] = {}
    try:
        for impl in impl_names:
            if impl in skipped:
                continue
            child = _start(pythons[impl], impl, wl, args, tempfile.mkdtemp(prefix=f"{impl}-", dir=workdir))
            try:
                failed = child.wait_ready()
            except ChildFailed as exc:
                failed = {**_base(impl, wl, args.scale), "error": f"setup: {exc}"}
            if failed is None:
                children[impl] = child
                continue
            child.kill()
            if failed.get("status") == "unavailable":
                skipped[impl] = failed.get("error", "unavailable")
            else:
                results[impl] = {**_base(impl, wl, args.scale), **failed, "status": "error"}

        def fail(impl: str, why: str) -> None:
            results[impl] = {**_base(impl, wl, args.scale), "error": why}

        answers, orders = interleave(children, args.repeat, fail)
        for impl, child in children.items():
            if impl in results:
                continue
            try:
                res = child.send("finish")
            except ChildFailed as exc:
                results[impl] = {**_base(impl, wl, args.scale), "error": f"finish: {exc}"}
                continue
            results[impl] = {**res, **summarize(answers[impl]), "round_orders": orders}
    finally:
        for child in children.values():
            child.close()
    out = [results[i] for i in impl_names if i in results]
    for r in out:
        _progress(r)
    return out


def run_all(args: argparse.Namespace, workdir: str, skipped: dict[str, str]) -> tuple[list[dict], dict]:
    """Every workload in turn, its implementations interleaved; (results, interpreters)."""
    pythons = {impl: sys.executable for impl in args.impl_names}
    if "zarr2" in pythons:
        try:
            pythons["zarr2"] = str(zarr2_python(args.zarr2_python))
        except RuntimeError as exc:
            skipped["zarr2"] = str(exc)
    results: list[dict] = []
    for n, wl in enumerate(args.workload_names, 1):
        print(f"[{n}/{len(args.workload_names)}] {wl}", file=sys.stderr, flush=True)
        wl_dir = tempfile.mkdtemp(prefix=f"{wl}-", dir=workdir)
        try:
            results += run_workload(wl, args.impl_names, pythons, args, wl_dir, skipped)
        finally:
            shutil.rmtree(wl_dir, ignore_errors=True)
    used = {"zarr2": pythons["zarr2"]} if "zarr2" in pythons and "zarr2" not in skipped else {}
    return results, used


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--all" in argv:
        from benchmarks import suite

        return suite.main([a for a in argv if a != "--all"])
    args = parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="zarrflow-bench-", dir=args.workdir)
    workdir_parent = os.path.dirname(workdir)
    skipped: dict[str, str] = {}
    baseline = None
    if args.baseline_tree is not None:
        args.baseline_shim, baseline = baseline_shim(args.baseline_tree, workdir)
        if "zarrflow_base" not in args.impl_names:
            args.impl_names = ["zarrflow_base", *args.impl_names]
    started, load_before = time.time(), os.getloadavg()
    try:
        raw, pythons = run_all(args, workdir, skipped)
        results = derive.with_limits(raw)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = {**run_metadata(started, time.time(), pythons=pythons, loadavg_before=load_before,
                           argv=["-m", "benchmarks.run", *argv]),
            "scale": args.scale, "repeat": args.repeat, "threads": args.threads, "warmup_rounds": 1,
            "protocol": "interleaved", "workdir_fs": filesystem_of(workdir_parent),
            **({"baseline": baseline} if baseline else {})}
    data = {"meta": meta, "skipped": skipped, "results": results}
    json_path = args.json or args.out.with_suffix(".json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    report.write_json(str(json_path), data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.markdown(data) + "\n")
    for impl, why in skipped.items():
        print(f"note: {impl} skipped: {why}", file=sys.stderr)
    print(f"report: {args.out} (raw: {json_path})", file=sys.stderr)
    bad = [r for r in results if r["status"] != "ok" or not r.get("verified")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

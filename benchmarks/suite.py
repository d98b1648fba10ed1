"""Every benchmark in one command: ``python -m benchmarks.run --all [--quick] [--only A,B] [--out-dir DIR]``.

Runs each benchmark script below as its own process, one after another, each writing
its raw JSON (with :func:`benchmarks.meta.run_metadata`) and its markdown into the
output directory, then ``benchmarks.readme_figures`` to rewrite the README tables from
those JSON files. A full run writes into ``benchmarks/results/`` and rewrites
``README.md``; ``--quick`` (tiny scales and counts, minutes in all: for testing the
plumbing) writes into a fresh temporary directory unless ``--out-dir`` is given, never
into ``benchmarks/results/``, and rewrites a copy of the README in that directory.
``--out-dir`` pointing at ``benchmarks/results`` with ``--quick`` is refused.

A benchmark whose requirements are missing (SLURM daemons, the rechunk venv in a
quick run) is recorded as skipped with the reason; ``suite.json`` in the output
directory lists what ran, its exit status, seconds and command. Exit status 1 when a
benchmark failed (a skipped one does not count).
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import setup_oracles
from benchmarks.meta import run_metadata

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class Bench:
    """One benchmark script: its arguments (full and quick) and the files it writes."""

    name: str
    module: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    #: ``{out}`` in an argument is replaced by the output directory
    outputs: tuple[str, ...]
    python: str = "main"  # 'main' | 'rechunk'
    timeout_s: float = 4 * 3600
    #: why it cannot run here (None: it can), checked before running
    missing: Callable[[bool], str | None] = lambda quick: None


def _no_slurm(_quick: bool) -> str | None:
    need = [b for b in ("slurmctld", "slurmd", "munged", "sbatch") if shutil.which(b) is None]
    return f"SLURM daemons not installed ({', '.join(need)} missing)" if need else None


def _no_rechunk_venv(quick: bool) -> str | None:
    if setup_oracles.imports_rechunker(setup_oracles.venv_python(setup_oracles.RECHUNK_VENV)):
        return None
    if quick:
        return (f"{setup_oracles.RECHUNK_VENV.name} missing (a full run creates it; or run "
                "`python -m benchmarks.setup_oracles --rechunk`)")
    try:
        setup_oracles.ensure_rechunk_python()
    except RuntimeError as exc:
        return str(exc)
    return None


_SMALL_CHUNKS = ("--workloads", "i4_small_chunks", "--workdir", "/dev/shm")


def _no_tmpfs(_quick: bool) -> str | None:
    return None if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else "no writable /dev/shm"


_ENGINE_QUICK = ("--scale", "0.005", "--repeat", "2", "--workloads", "f8_3d_write,i4_zstd_read,i4_zstd_vindex")
_DURABILITY = ("--impls", "zarrflow,zarrflow_durable,tensorstore,tensorstore_nosync",
               "--workloads", "f8_3d_write,i4_small_chunks_write")

#: repeated reads with and without the opt-in decoded-chunk cache
_CHUNK_CACHE = ("--impls", "zarrflow,zarrflow_cache",
                "--workloads", "f8_3d_points,f8_3d_slice_x,vindex_1000,oindex_100rows,i4_zstd_vindex,i4_zstd_oindex")

BENCHES: tuple[Bench, ...] = (
    Bench("engine", "benchmarks.run", ("--repeat", "5"), _ENGINE_QUICK,
          ("--out", "{out}/engine.md", "--json", "{out}/engine.json")),
    # the small-chunk group again with its files in memory (tmpfs): the engine's per-chunk cost
    # without the disk's file-creation time, which varies several-fold between runs here
    Bench("engine_tmpfs", "benchmarks.run", (*_SMALL_CHUNKS, "--repeat", "5"), (*_SMALL_CHUNKS, "--scale", "0.02", "--repeat", "2"),
          ("--out", "{out}/engine_tmpfs.md", "--json", "{out}/engine_tmpfs.json"), missing=_no_tmpfs),
    Bench("dask", "benchmarks.dask_layer", ("--repeat", "5"), ("--scale", "0.01", "--repeat", "1"),
          ("--out", "{out}/dask.md", "--json", "{out}/dask.json")),
    Bench("filters", "benchmarks.filters", ("--scale", "0.015625"),
          ("--scale", "0.002", "--slice-size", "40", "--workloads", "median2d_size3,median3d_size3"),
          ("--out", "{out}/filters.md", "--json", "{out}/filters.json")),
    Bench("rechunk", "benchmarks.rechunk", (), ("--size-gib", "0.0625", "--max-mem", "32MiB", "--memory-limit",
                                                "256MiB", "--tools", "zarrflow,rechunker"),
          ("--out", "{out}/rechunk.md"), python="rechunk", missing=_no_rechunk_venv),
    Bench("rechunk_roomy", "benchmarks.rechunk", ("--memory-limit", "2GiB"),
          ("--size-gib", "0.0625", "--max-mem", "32MiB", "--memory-limit", "512MiB", "--tools", "zarrflow"),
          ("--out", "{out}/rechunk_roomy.md"), python="rechunk", missing=_no_rechunk_venv),
    Bench("cluster", "benchmarks.cluster_overhead", (), ("--size-mib", "8", "--max-mem", "1MiB", "--repeat", "1"),
          ("--out", "{out}/cluster.md"), missing=_no_slurm),
    Bench("durability", "benchmarks.run", (*_DURABILITY, "--scale", "0.25", "--repeat", "5"),
          (*_DURABILITY, "--scale", "0.005", "--repeat", "2"), ("--out", "{out}/durability.md", "--json", "{out}/durability.json")),
    Bench("chunk_cache", "benchmarks.run", (*_CHUNK_CACHE, "--repeat", "5"), (*_CHUNK_CACHE, "--scale", "0.005", "--repeat", "2"),
          ("--out", "{out}/chunk_cache.md", "--json", "{out}/chunk_cache.json")),
    Bench("crash_consistency", "benchmarks.crash_consistency", ("--kills", "500"), ("--kills", "4", "--steps", "10"),
          ("--out", "{out}/crash_consistency.md", "--json", "{out}/crash_consistency.json")),
    Bench("lock_recovery", "benchmarks.lock_recovery", ("--repeat", "5"), ("--repeat", "1", "--give-up", "15"),
          ("--out", "{out}/lock_recovery.md", "--json", "{out}/lock_recovery.json")),
    Bench("s3_read", "benchmarks.s3_read", ("--repeat", "5"), ("--repeat", "1"),
          ("--out", "{out}/s3.md", "--json", "{out}/s3.json")),
)

NAMES: tuple[str, ...] = tuple(b.name for b in BENCHES)


def command(bench: Bench, out_dir: Path, quick: bool) -> list[str]:
    """The command line of one benchmark (its interpreter first)."""
    python = (str(setup_oracles.venv_python(setup_oracles.RECHUNK_VENV)) if bench.python == "rechunk"
              else sys.executable)
    args = [a.replace("{out}", str(out_dir)) for a in (*(bench.quick if quick else bench.full), *bench.outputs)]
    return [python, "-m", bench.module, *args]


def run_bench(bench: Bench, out_dir: Path, quick: bool) -> dict:
    """Run one benchmark (or record why it was skipped)."""
    why = bench.missing(quick)
    if why:
        print(f"== {bench.name}: skipped: {why}", file=sys.stderr, flush=True)
        return {"name": bench.name, "status": "skipped", "reason": why}
    cmd = command(bench, out_dir, quick)
    print(f"== {bench.name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    t0 = time.time()
    log = out_dir / f"{bench.name}.log"
    with open(log, "w") as f:
        try:
            rc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                                timeout=bench.timeout_s).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    row = {"name": bench.name, "status": "ok" if rc == 0 else "failed", "rc": rc,
           "seconds": round(time.time() - t0, 1), "command": cmd, "log": log.name}
    if rc:
        row["log_tail"] = log.read_text()[-1500:]
        print(f"   failed (exit {rc}); log: {log}", file=sys.stderr, flush=True)
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run --all", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny scales and counts (tests the plumbing)")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(NAMES)}")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="where results go (default: benchmarks/results, or a temporary directory with --quick)")
    args = p.parse_args(argv)
    args.names = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    if args.quick and args.out_dir is not None and args.out_dir.resolve() == RESULTS.resolve():
        p.error("--quick results never go to benchmarks/results")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    out_dir = args.out_dir or (Path(tempfile.mkdtemp(prefix="zarrflow-bench-quick-")) if args.quick else RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    rows = [run_bench(b, out_dir, args.quick) for b in BENCHES if b.name in args.names]
    from benchmarks import readme_figures

    if out_dir.resolve() == RESULTS.resolve():
        readme = ROOT / "README.md"
    else:  # never touch the committed README from a quick or redirected run
        readme = out_dir / "README.md"
        shutil.copyfile(ROOT / "README.md", readme)
    figures_rc = readme_figures.main(["--results", str(out_dir), "--readme", str(readme), "--allow-missing"])
    meta = run_metadata(started, time.time(), argv=["-m", "benchmarks.run", "--all", *argv])
    record = {"meta": meta, "quick": args.quick, "benchmarks": rows, "readme": str(readme),
              "readme_figures_rc": figures_rc}
    suite_json = out_dir / "suite.json"
    if suite_json.exists() and set(args.names) != set(NAMES):
        # a partial run (--only) keeps the record of the benchmarks it did not run
        try:
            earlier = json.loads(suite_json.read_text())
        except ValueError:
            earlier = {}
        ran = {r["name"] for r in rows}
        kept = [{**r, "from_run": r.get("from_run") or earlier.get("meta", {}).get("start_utc")}
                for r in earlier.get("benchmarks", []) if r.get("name") not in ran]
        record["benchmarks"] = [*kept, *rows]
    suite_json.write_text(json.dumps(record, indent=1) + "\n")
    for r in rows:
        print(f"{r['name']:<18} {r['status']:<8} {r.get('seconds', '')} {r.get('reason', '')}", file=sys.stderr)
    print(f"results in {out_dir}; README figures rewritten in {readme}", file=sys.stderr)
    return 1 if any(r["status"] == "failed" for r in rows) or figures_rc else 0


if __name__ == "__main__":
    sys.exit(main())

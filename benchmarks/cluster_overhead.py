"""The cost of going through SLURM: the same rechunk on a LocalCluster and on SLURM.

Three ways to run one ``zarrflow.rechunk`` with the same workers (W worker processes x 1
thread, 1 GiB memory limit each), all on this machine:

- ``local``: ``open_cluster`` of ``kind: local`` (a LocalCluster on 127.0.0.1);
- ``slurm``: ``open_cluster`` of ``kind: slurm``: dask-jobqueue submits W one-core worker
  jobs to a real single-node SLURM (``tests/cluster/slurm_daemons.py`` starts munged,
  slurmctld and slurmd under a temporary directory, as the tests do);
- ``slurm-batch``: ``sbatch cluster/slurm/zarrflow-batch.sbatch rechunk ...`` with
  ``--ntasks=W``: scheduler, workers and the ``zarrflow rechunk`` client all inside one
  job; timed from ``sbatch`` to the job's end (so it includes every Python start-up).

For the first two the phases are timed apart: start (cluster up, W workers connected),
run (``execute()``), stop (cluster closed, jobs cancelled); MB/s is the source's bytes
over the run time; peak RSS is the largest worker RSS, sampled every 20 ms with psutil.
Every result is checked against the source (exact) before its time is reported.

    python -m benchmarks.cluster_overhead                 # the committed run (2 workers, 64 MiB)
    python -m benchmarks.cluster_overhead --workers 4 --size-mib 512 --repeat 3

Results: ``benchmarks/results/cluster.md`` and ``cluster.json``. The 16-core machine was
not lent to this task, so there is no 1-to-16-worker scaling table; the figures are from
the 2-core development machine, where SLURM's daemons share the cores with the workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.meta import run_metadata

ROOT = Path(__file__).resolve().parents[1]
BATCH = ROOT / "cluster" / "slurm" / "zarrflow-batch.sbatch"


def make_source(path: Path, size_mib: int) -> tuple[int, ...]:
    """A (T, 256, 256) float32 array in (1, 256, 256) chunks (maps), blosc-compressed."""
    import zarrflow

    t = max(1, size_mib * 2**20 // (256 * 256 * 4))
    z = zarrflow.open_array(str(path), mode="w", shape=(t, 256, 256), chunks=(1, 256, 256), dtype="f4")
    rng = np.random.default_rng(0)
    for i in range(0, t, 64):
        n = min(64, t - i)
        z[i:i + n] = rng.standard_normal((n, 256, 256), dtype="f4").round(2)
    return z.shape


def check_same(src: Path, dst: Path, target_chunks: tuple[int, ...]) -> bool:
    import zarrflow

    a, b = zarrflow.open_array(str(src), mode="r"), zarrflow.open_array(str(dst), mode="r")
    if b.chunks != target_chunks or a.shape != b.shape:
        return False
    step = 64
    return all(np.array_equal(a[i:i + step], b[i:i + step]) for i in range(0, a.shape[0], step))


class PeakRSS:
    """Samples the RSS of the given pids until stopped; ``peak`` is the largest seen."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in self.procs:
                try:
                    self.peak = max(self.peak, p.memory_info().rss)
                except Exception:  # a worker that exited
                    pass
            time.sleep(0.02)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cluster_text(kind: str, workers: int, work: Path) -> str:
    if kind == "local":
        return (f"kind: local\nworkers: {workers}\nwait_for_workers: {workers}\n"
                f"cluster: {{threads_per_worker: 1, memory_limit: 1GiB, local_directory: {work / 'spill'}}}\n")
    return "\n".join([
        "kind: slurm", f"workers: {workers}", f"wait_for_workers: {workers}", "timeout: 120s", "cluster:",
        "  cores: 1", "  processes: 1", "  memory: 1GiB", "  walltime: '00:30:00'", "  queue: debug",
        "  interface: lo", f"  local_directory: {work / 'spill'}", f"  log_directory: {work / 'logs'}",
        "  scheduler_options: {host: 127.0.0.1, dashboard_address: '127.0.0.1:0'}",
        "  worker_extra_args: [--dashboard-address, '127.0.0.1:0']", ""])


def run_client_driven(kind: str, workers: int, work: Path, src: Path, target: tuple[int, ...],
                      max_mem: str, slurm=None) -> dict:
    import zarrflow
    from zarrflow.graph.cluster_session import open_cluster
    from zarrflow.graph.cluster_spec import parse_cluster_spec

    work.mkdir(parents=True, exist_ok=True)
    dst, tmp = work / f"{kind}.zarr", work / f"{kind}-tmp.zarr"
    spec = parse_cluster_spec(cluster_text(kind, workers, work))
    t0 = time.perf_counter()
    session_cm = open_cluster(spec)
    session = session_cm.__enter__()
    try:
        t1 = time.perf_counter()
        pids = list(session.client.run(os.getpid).values())
        plan = zarrflow.rechunk(zarrflow.open_array(str(src), mode="r"), target, max_mem, str(dst),
                                temp_store=str(tmp))
        with PeakRSS(pids) as rss:
            t2 = time.perf_counter()
            plan.execute()
            t3 = time.perf_counter()
    finally:
        session_cm.__exit__(None, None, None)
        if kind == "slurm":
            slurm.wait_for_no_jobs(60)  # stopped = the worker jobs have left squeue
    t4 = time.perf_counter()
    ok = check_same(src, dst, target)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"start_s": t1 - t0, "plan_s": t2 - t1, "run_s": t3 - t2, "stop_s": t4 - t3, "total_s": t4 - t0, "tasks": plan.n_tasks,
            "peak_worker_rss": rss.peak, "exact": ok}


def run_batch(slurm, workers: int, work: Path, src: Path, target: tuple[int, ...], max_mem: str) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    dst, tmp = work / "batch.zarr", work / "batch-tmp.zarr"
    env = {**slurm.env(), "ZARRFLOW_PYTHON": sys.executable, "ZARRFLOW_JOB_DIR": str(work / "job"),
           "ZARRFLOW_DASK_INTERFACE": "lo", "ZARRFLOW_DASHBOARD": "127.0.0.1:0",
           "ZARRFLOW_DASHBOARD_WORKER": "127.0.0.1:0", "ZARRFLOW_LOCAL_DIRECTORY": str(work / "spill"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    out = subprocess.run(["sbatch", "--parsable", f"--ntasks={workers}", "--cpus-per-task=1", "--mem-per-cpu=1G",
                          "--time=00:30:00", f"--output={work / 'batch.out'}", f"--chdir={work}", str(BATCH),
                          "rechunk", str(src), str(dst), "--chunks", ",".join(map(str, target)), "--max-mem",
                          max_mem, "--temp", str(tmp), "--no-progress"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip().split(";")[0]
    while (state := slurm.job_state(out)) in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING"):
        time.sleep(0.05)
    t1 = time.perf_counter()
    log = (work / "batch.out").read_text()
    ok = state == "COMPLETED" and check_same(src, dst, target)
    summary = json.loads(log.strip().splitlines()[-1]) if state == "COMPLETED" else {}
    shutil.rmtree(dst, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"total_s": t1 - t0, "state": state, "tasks": summary.get("tasks_run"), "exact": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--max-mem", default="8MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cluster.md"))
    parser.add_argument("--render", metavar="JSON", help="only rewrite --out from a results JSON")
    args = parser.parse_args()
    started = time.time()
    if args.render:
        from zarrflow.graph.rechunk_plan import format_bytes

        Path(args.out).write_text(render(json.loads(Path(args.render).read_text()), format_bytes))
        return

    import dask
    import dask_jobqueue
    import distributed

    from tests.cluster.slurm_daemons import Slurm
    from zarrflow.graph.rechunk_plan import format_bytes

    work = Path(tempfile.mkdtemp(prefix="zf-cluster-bench-"))
    try:
        src = work / "source.zarr"
        shape = make_source(src, args.size_mib)
        target = (shape[0], 32, 32)
        nbytes = int(np.prod(shape)) * 4
        rows: dict[str, list[dict]] = {"local": [], "slurm": [], "slurm-batch": []}
        with Slurm(work / "slurm") as slurm:
            slurm_version = slurm.run("sinfo", "-V").stdout.strip()
            saved = os.environ.get("SLURM_CONF")
            os.environ["SLURM_CONF"] = str(slurm.conf)
            os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
            try:
                for i in range(args.repeat):
                    for kind in ("local", "slurm"):
                        rows[kind].append(run_client_driven(kind, args.workers, work / f"{kind}{i}", src, target,
                                                            args.max_mem, slurm))
                    rows["slurm-batch"].append(run_batch(slurm, args.workers, work / f"batch{i}", src, target,
                                                         args.max_mem))
                    slurm.wait_for_no_jobs(60)
            finally:
                if saved is None:
                    os.environ.pop("SLURM_CONF", None)
                else:
                    os.environ["SLURM_CONF"] = saved
        if not all(r["exact"] for rs in rows.values() for r in rs):
            raise SystemExit(f"a result differs from the source: {rows}")
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
        results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "node": platform.node()},
                   "versions": {"dask": dask.__version__, "distributed": distributed.__version__,
                                "dask_jobqueue": dask_jobqueue.__version__,
                                "slurm": slurm_version},
                   "git": git, "workers": args.workers, "shape": shape, "target_chunks": target, "nbytes": nbytes,
                   "max_mem": args.max_mem, "repeat": args.repeat, "rows": rows,
                   "meta": run_metadata(started, time.time(), argv=["-m", "benchmarks.cluster_overhead",
                                                                     *sys.argv[1:]])}
        out = Path(args.out)
        out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        out.write_text(render(results, format_bytes))
        print(out.read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(results: dict, format_bytes) -> str:
    med = lambda rows, key: statistics.median(r[key] for r in rows)
    rows = results["rows"]
    nbytes = results["nbytes"]
    lines = [
        "# Cluster overhead: the same rechunk on a LocalCluster and through SLURM",
        "",
        f"Source {tuple(results['shape'])} float32 ({format_bytes(nbytes)}), chunks (1, 256, 256) -> "
        f"{tuple(results['target_chunks'])}, max_mem {results['max_mem']}; {results['workers']} workers x 1 thread, "
        f"1 GiB limit each, in every row. Median of {results['repeat']} runs; every result checked exact against "
        f"the source. Machine: {results['machine']['cpus']} CPUs ({results['machine']['node']}), single-node SLURM "
        f"on the same cores; commit {results['git']}; versions {results['versions']}.",
        "",
        "start: cluster up and all workers connected; plan: `rechunk()` (same in both); rechunk: `execute()`; "
        "stop: cluster closed (and, for SLURM, its jobs gone from squeue); total: all of it. Rechunk: median "
        "(fastest-slowest).",
        "",
        "| run | start (s) | plan (s) | rechunk (s) | stop (s) | total (s) | rechunk MB/s | peak worker RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("local", "slurm"):
        r = rows[kind]
        spread = f" ({min(x['run_s'] for x in r):.2f}-{max(x['run_s'] for x in r):.2f})"
        lines.append(f"| {kind} (open_cluster) | {med(r, 'start_s'):.2f} | {med(r, 'plan_s'):.2f} | "
                     f"{med(r, 'run_s'):.2f}{spread} | "
                     f"{med(r, 'stop_s'):.2f} | {med(r, 'total_s'):.2f} | {nbytes / 1e6 / med(r, 'run_s'):.0f} | "
                     f"{format_bytes(max(x['peak_worker_rss'] for x in r))} |")
    b = rows["slurm-batch"]
    lines.append(f"| slurm-batch (sbatch to job end) | | | | | {med(b, 'total_s'):.2f} "
                 f"({min(x['total_s'] for x in b):.2f}-{max(x['total_s'] for x in b):.2f}) | | |")
    local, slurm = rows["local"], rows["slurm"]
    lines += [
        "",
        f"Ratios, SLURM / local: rechunk {med(slurm, 'run_s') / med(local, 'run_s'):.2f}x, start "
        f"{med(slurm, 'start_s') / med(local, 'start_s'):.2f}x, total {med(slurm, 'total_s') / med(local, 'total_s'):.2f}x; "
        f"the batch job end to end: {med(b, 'total_s') / med(local, 'total_s'):.2f}x the local total.",
        "",
        "Once connected, a worker in a SLURM job is the same `dask worker` process as a LocalCluster's; what SLURM "
        "adds is at the start (sbatch, placement, one Python start-up per job) and the stop (scancel, then the "
        "jobs leaving squeue). The batch row also pays for the scheduler's and the client's start-up inside the "
        "job. On this machine (2 cores shared with other work) the rechunk itself was not slower through SLURM; "
        "the runs' spread is in the table. The 16-core machine was not lent to this task: there is no 1-to-16-worker scaling table here.",
        "",
        "Regenerate: `python -m benchmarks.cluster_overhead` (needs slurmctld, slurmd, slurm-client, munge and "
        "dask-jobqueue).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

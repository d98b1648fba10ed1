"""Time to recovery when a lock holder dies: zarrflow's leases vs distributed's locks.

A task on one worker of a ``distributed.LocalCluster`` (2 worker processes on
127.0.0.1, with nannies) takes a lock and hangs; the worker process is SIGKILLed; a
second writer (the client) is already waiting for the same lock. Measured: seconds
from the SIGKILL until the second writer holds the lock, for

- ``zarrflow DistributedSynchronizer``: the leased locks of ``zarrflow.graph``
  (released when the scheduler sees the dead holder's client disconnect);
- ``distributed.Lock``: a lease-based semaphore, released when the lease times out
  (``distributed.scheduler.locks.lease-timeout``, 30 s by default, checked every
  ``lease-validation-interval``, 10 s);
- ``distributed.MultiLock`` (what zarrflow used before): never released; the
  waiter gives up after ``--give-up`` seconds.

Each run checks that the second writer did get the lock (or, for MultiLock, that it
did not). Run::

    python -m benchmarks.lock_recovery [--repeat 5] [--out benchmarks/results/lock_recovery.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "lock_recovery.md"


def hold_forever(kind: str, name: str, marker: str) -> None:
    """Take the lock ``name`` of ``kind`` on a worker, record it in ``marker``, hang."""
    if kind == "zarrflow":
        import zarrflow

        lock = zarrflow.DistributedSynchronizer(prefix=name)["k"]
    elif kind == "Lock":
        from distributed import Lock

        lock = Lock(name)
    else:
        from distributed import MultiLock

        lock = MultiLock([name])
    assert lock.acquire(timeout=30)
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)


def one_run(client, kind: str, give_up: float, tmp: str) -> float | None:
    """Seconds from the holder's SIGKILL until the waiter holds the lock (None: never)."""
    from distributed import Lock, MultiLock

    import zarrflow

    name = f"bench-{uuid.uuid4().hex[:8]}"
    marker = os.path.join(tmp, name)
    workers = sorted(client.scheduler_info()["workers"])
    holder = client.submit(hold_forever, kind, name, marker, workers=[workers[0]], pure=False,
                           allow_other_workers=False)
    deadline = time.monotonic() + 60
    while not (os.path.exists(marker) and Path(marker).read_text()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the holder never took the lock: {holder.status} on {workers[0]} of {workers}")
        time.sleep(0.01)
    pid = int(Path(marker).read_text())
    with client.as_current():  # distributed.Lock finds its client this way
        if kind == "zarrflow":
            lock = zarrflow.DistributedSynchronizer(client, prefix=name, lease_timeout=None)["k"]
        elif kind == "Lock":
            lock = Lock(name)
        else:
            lock = MultiLock([name], client=client)
        assert not lock.acquire(timeout=0.5)  # held by the task
        os.kill(pid, signal.SIGKILL)  # a worker of the cluster this script started
        killed = time.monotonic()
        got = lock.acquire(timeout=give_up)
        elapsed = time.monotonic() - killed
        if got:
            lock.release()
    deadline = time.monotonic() + 120  # the scheduler drops the killed worker, the nanny restarts it
    while True:
        try:
            pids = client.run(os.getpid, on_error="ignore")
        except Exception:  # a worker going away mid-call: ask again
            pids = {}
        if len(pids) >= 2 and pid not in pids.values():
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the killed worker was not replaced: {pids}")
        time.sleep(0.1)
    return elapsed if got else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lock_recovery", description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of the zarrflow lock (distributed's: 1 each)")
    p.add_argument("--give-up", type=float, default=60.0, help="seconds the waiter waits at most")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--json", type=Path, default=None, help="raw results and run metadata (default: none)")
    args = p.parse_args(argv)
    started = time.time()
    import dask
    import distributed

    import zarrflow

    local = zarrflow.cluster.local

    rows = []
    with tempfile.TemporaryDirectory(prefix="zarrflow-locks-") as tmp:
        client = local(n_workers=2, threads_per_worker=1, processes=True, set_as_default=False)
        try:
            for kind, n in (("zarrflow", args.repeat), ("Lock", 1), ("MultiLock", 1)):
                times = [one_run(client, kind, args.give_up, tmp) for _ in range(n)]
                print(kind, times, flush=True)
                rows.append((kind, times))
        finally:
            client.close()
    lease = dask.config.get("distributed.scheduler.locks.lease-timeout")
    interval = dask.config.get("distributed.scheduler.locks.lease-validation-interval")
    lines = ["# Time to recovery when a lock holder's worker is SIGKILLed", "",
             f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python "
             f"{platform.python_version()}, distributed {distributed.__version__} (lease-timeout {lease}, "
             f"lease-validation-interval {interval}).", "",
             f"Run: `python -m benchmarks.lock_recovery --repeat {args.repeat} --give-up {args.give_up:g}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: a LocalCluster of 2 worker processes "
             "(with nannies) on 127.0.0.1; a task takes the lock and hangs, its worker is SIGKILLed, the client "
             "is waiting for the same lock.", "",
             "| lock | runs | seconds from SIGKILL to the waiter holding the lock | ratio vs zarrflow |",
             "|---|---|---|---|"]
    base = statistics.median([t for t in rows[0][1] if t is not None])
    for kind, times in rows:
        done = [t for t in times if t is not None]
        parts = [", ".join(f"{t:.3f}" for t in done)] if done else []
        if len(done) < len(times):
            parts.append(f"never in {len(times) - len(done)} run(s) (gave up after {args.give_up:g} s)")
        shown = "; ".join(parts)
        ratio = f"{statistics.median(done) / base:,.0f}x" if done else "∞"
        lines.append(f"| {kind} | {len(times)} | {shown} | {ratio if kind != 'zarrflow' else '1'} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    ok = all(t is not None for t in rows[0][1]) and rows[2][1] == [None]
    if args.json:
        import json

        from benchmarks.meta import run_metadata

        meta = {**run_metadata(started, time.time(), argv=["-m", "benchmarks.lock_recovery",
                                                            *(sys.argv[1:] if argv is None else argv)]),
                "repeat": args.repeat, "give_up_s": args.give_up, "lease_timeout": str(lease),
                "lease_validation_interval": str(interval)}
        args.json.write_text(json.dumps({"meta": meta, "results": {kind: times for kind, times in rows},
                                         "ok": ok}, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

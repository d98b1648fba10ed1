"""Task functions of the lease tests (tests/graph/test_lock_leases.py), importable on the
workers of a command-line cluster (its processes get the repository on PYTHONPATH).

``hold_then_hang``: the half-done read-modify-write of a holder that dies. Under the
lock of chunk ``'0'`` it reads the chunk, adds 100 and starts the write; on its first
run it then hangs inside the chunk write, after the temporary file is written and
before it is moved into place (``os.replace``), until the test SIGKILLs its worker.
Dask reruns it elsewhere; a rerun writes normally.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

import zarrflow
from zarrflow.core.sync import hold
from zarrflow.graph.sync import DistributedSynchronizer

#: Bounds every wait inside a task (a broken test must not hang a worker forever).
TASK_DEADLINE = 120.0


def _sync(prefix: str, timeout: float | None, lease_timeout: float | None) -> DistributedSynchronizer:
    return DistributedSynchronizer(prefix=prefix, timeout=timeout, lease_timeout=lease_timeout)


def hold_then_hang(path: str, prefix: str, marker: str, lease_timeout: float | None) -> int:
    """Add 100 to chunk '0' of the array at ``path`` under its lock; the first run
    (which creates ``marker``) hangs inside the chunk's rename; returns the pid."""
    sync = _sync(prefix, 60, lease_timeout)
    z = zarrflow.open_array(path, mode="r+", synchronizer=sync)
    first = False
    try:
        open(marker, "x").close()
        first = True
    except FileExistsError:
        pass
    with hold(sync, ["0"]):
        old = z[0:4]
        if first:
            real = os.replace

            def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
                if str(src).endswith(".partial"):
                    Path(marker).write_text(f"{os.getpid()} {src}")  # holding, temp file written
                    time.sleep(TASK_DEADLINE)  # ... until SIGKILLed
                    raise TimeoutError("hold_then_hang was never killed")
                real(src, dst, *args, **kwargs)

            os.replace = replace
        z[0:4] = old + 100
    return os.getpid()


def increment_chunk0(path: str, prefix: str, timeout: float, lease_timeout: float | None) -> float:
    """Add 1 to chunk '0' under its lock (SynchronizerError after ``timeout`` s of
    waiting); returns the wall-clock time at which the lock was granted."""
    sync = _sync(prefix, timeout, lease_timeout)
    z = zarrflow.open_array(path, mode="r+", synchronizer=sync)
    with hold(sync, ["0"]):
        granted = time.time()
        z[0:4] = z[0:4] + 1
    return granted


def hold_until_gate(path: str, prefix: str, marker: str, gate: str, lease_timeout: float) -> str:
    """Take chunk '0''s lock, record ``marker`` (our pid), wait for the file ``gate``,
    then release: the release raises SynchronizerError when the lease expired meanwhile."""
    sync = _sync(prefix, 60, lease_timeout)
    lock = sync["0"]
    with lock:
        Path(marker).write_text(str(os.getpid()))
        deadline = time.monotonic() + TASK_DEADLINE
        while not os.path.exists(gate):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gate {gate} was never opened")
            time.sleep(0.01)
    return "released"


def lock_state(dask_scheduler: Any = None) -> dict[str, Any]:
    """The lease plugin's state on the scheduler (``client.run_on_scheduler``)."""
    plugin = dask_scheduler.plugins.get("zarrflow-lease-locks")
    return {} if plugin is None else plugin.state()


def expected_after(base: np.ndarray, *adds: int) -> np.ndarray:
    """``base`` with ``sum(adds)`` added to its first chunk (items 0-3)."""
    out = base.copy()
    out[0:4] += sum(adds)
    return out

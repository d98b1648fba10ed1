"""Scenarios shared by the synchronizer tests: what each writer (a thread, a process
or a Dask task) does, and the exact result every scenario must end with.

Kept free of pytest and dask so that spawned processes and cluster workers import it
quickly. Every function here opens the array itself (by path, or from the object
it is given) and touches nothing else.

The *disjoint* scenario: the array is cut into runs of ``RUN`` items over chunks of
``CHUNK`` items (the two do not divide each other, so most chunks hold runs of two or
three writers); run ``j`` belongs to writer ``j % n_writers``. In round ``r`` every
writer writes ``round_value(r, w)`` into each of its runs. Writers are released
together each round (a barrier), and each checks its own runs after everyone has
written, so a lost update shows in the very round it happens.

The *increment* scenario: each writer adds 1 to ``n`` random rectangles (seeded by
writer id, not chunk aligned) through the atomic region update; the final array
equals the count of rectangles covering each item.
"""

from __future__ import annotations

import os
import queue
import time
from typing import Any

import numpy as np

import zarrflow

RUN = 37
CHUNK = 100


# --- disjoint, non-aligned writers --------------------------------------------------------


def disjoint_shape(n_writers: int, runs_per_writer: int) -> tuple[int]:
    """Length of an array holding ``runs_per_writer`` runs for each writer."""
    return (n_writers * runs_per_writer * RUN,)


def runs_of(writer: int, n_writers: int, length: int) -> list[slice]:
    """The runs owned by ``writer``."""
    return [slice(j * RUN, (j + 1) * RUN) for j in range(length // RUN) if j % n_writers == writer]


def round_value(rnd: int, writer: int) -> int:
    """What ``writer`` writes in round ``rnd`` (unique per round and writer, never 0)."""
    return rnd * 64 + writer + 1


def expected_disjoint(n_writers: int, length: int, rnd: int) -> np.ndarray:
    """The whole array after every writer finished round ``rnd``."""
    out = np.zeros(length, dtype="i4")
    for w in range(n_writers):
        for s in runs_of(w, n_writers, length):
            out[s] = round_value(rnd, w)
    return out


def disjoint_writer(z: Any, writer: int, n_writers: int, rounds: int, barrier: Any) -> int:
    """Run the disjoint scenario as ``writer``; returns how many of its runs were found
    wrong after the round that wrote them (0 when no update was lost)."""
    runs = runs_of(writer, n_writers, z.shape[0])
    lost = 0
    for rnd in range(rounds):
        barrier.wait()
        value = round_value(rnd, writer)
        for s in runs:
            z[s] = value
        barrier.wait()
        for s in runs:
            if not np.all(z[s] == value):
                lost += 1
    return lost


def disjoint_process(path: str, sync_path: str | None, writer: int, n_writers: int, rounds: int,
                     barrier: Any, results: Any) -> None:
    """A process of the disjoint scenario: opens the array by path, reports
    ``(writer, lost)`` (or ``(writer, repr(error))``) on ``results``."""
    try:
        sync = zarrflow.ProcessSynchronizer(sync_path) if sync_path else None
        z = zarrflow.open_array(path, mode="r+", synchronizer=sync)
        results.put((writer, disjoint_writer(z, writer, n_writers, rounds, barrier)))
    except BaseException as exc:
        barrier.abort()
        results.put((writer, repr(exc)))


# --- overlapping increments ------------------------------------------------------------------


def increment_regions(writer: int, n: int, shape: tuple[int, ...]) -> list[tuple[slice, ...]]:
    """``n`` random non-empty rectangles of ``shape`` for ``writer`` (deterministic)."""
    rng = np.random.default_rng(1000 + writer)
    regions = []
    for _ in range(n):
        sel = []
        for size in shape:
            a, b = sorted(rng.integers(0, size + 1, size=2))
            if a == b:
                a, b = (a - 1, a) if a > 0 else (0, 1)
            sel.append(slice(int(a), int(b)))
        regions.append(tuple(sel))
    return regions


def expected_increments(n_writers: int, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """The array after every writer applied all its increments."""
    out = np.zeros(shape, dtype="i4")
    for w in range(n_writers):
        for sel in increment_regions(w, n, shape):
            out[sel] += 1
    return out


def _plus_one(block: np.ndarray) -> np.ndarray:
    return block + 1


def increment_writer(z: Any, writer: int, n: int, how: str = "update") -> None:
    """Add 1 to each of ``writer``'s regions: through ``z.update`` or ``z.locked``."""
    for sel in increment_regions(writer, n, z.shape):
        if how == "update":
            z.update(sel, _plus_one)
        elif how == "locked":
            with z.locked(sel):
                z[sel] = z[sel] + 1
        else:
            raise ValueError(how)


def increment_process(path: str, sync_path: str, writer: int, n: int, how: str, results: Any) -> None:
    """A process of the increment scenario; reports ``(writer, None)`` or an error."""
    try:
        z = zarrflow.open_array(path, mode="r+", synchronizer=zarrflow.ProcessSynchronizer(sync_path))
        increment_writer(z, writer, n, how)
        results.put((writer, None))
    except BaseException as exc:
        results.put((writer, repr(exc)))


# --- attributes --------------------------------------------------------------------------------


def attrs_writer(z: Any, writer: int, n: int) -> None:
    """Set attribute ``w{writer}`` ``n`` times (last value ``n - 1``)."""
    for i in range(n):
        z.attrs[f"w{writer}"] = i


def attrs_process(path: str, sync_path: str, writer: int, n: int, results: Any) -> None:
    """A process setting its own attribute ``n`` times."""
    try:
        z = zarrflow.open_array(path, mode="r+", synchronizer=zarrflow.ProcessSynchronizer(sync_path))
        attrs_writer(z, writer, n)
        results.put((writer, None))
    except BaseException as exc:
        results.put((writer, repr(exc)))


# --- process helpers -----------------------------------------------------------------------------


def run_processes(ctx: Any, target: Any, arg_lists: list[tuple], results: Any, timeout: float) -> dict[int, Any]:
    """Start one process per argument tuple, wait at most ``timeout`` seconds for all
    of them, and return ``{writer: result}``. A process still running at the deadline
    is killed and reported as ``'timeout'`` (a hang fails the test, it never blocks it)."""
    procs = [ctx.Process(target=target, args=args, daemon=True) for args in arg_lists]
    for p in procs:
        p.start()
    deadline = time.monotonic() + timeout
    got: dict[int, Any] = {}
    while len(got) < len(procs) and time.monotonic() < deadline:
        try:
            writer, result = results.get(timeout=max(0.01, min(1.0, deadline - time.monotonic())))
        except queue.Empty:  # check whether everything died
            if not any(p.is_alive() for p in procs) and results.empty():
                break
            continue
        got[writer] = result
    for i, p in enumerate(procs):
        p.join(timeout=max(0.0, deadline - time.monotonic()) + 1)
        if p.is_alive():
            p.kill()
            p.join()
            got.setdefault(i, "timeout")
        elif i not in got:
            got[i] = f"exited with code {p.exitcode} without a result"
    return got


def pid() -> int:
    """This process's id (to check that work really ran in several processes)."""
    return os.getpid()


# --- write-once rows (for writers that cannot share a barrier, e.g. cluster tasks) -----------------


def write_once_shape(n_writers: int, runs_per_writer: int, rounds: int) -> tuple[int, int]:
    """One row per round, each row cut into runs as in the disjoint scenario."""
    return (rounds, n_writers * runs_per_writer * RUN)


def write_once_writer(z: Any, writer: int, n_writers: int) -> int:
    """Write ``round_value(r, writer)`` into ``writer``'s runs of every row ``r``. No
    item is written twice, so any lost update anywhere shows in the final array.
    Returns the process id (to show the work was spread over processes)."""
    runs = runs_of(writer, n_writers, z.shape[1])
    for rnd in range(z.shape[0]):
        for s in runs:
            z[rnd, s] = round_value(rnd, writer)
    return os.getpid()


def expected_write_once(n_writers: int, shape: tuple[int, int]) -> np.ndarray:
    """The array after every writer finished."""
    return np.stack([expected_disjoint(n_writers, shape[1], r) for r in range(shape[0])])

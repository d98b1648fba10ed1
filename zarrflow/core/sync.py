"""Synchronizers: locks per store key, so concurrent writers never lose an update.

``synchronizer[key]`` is a lock (zarr 2's interface). The engine takes the locks of
every chunk a write touches, in sorted key order (no deadlock between writers that
overlap), and holds them for the whole write, so a multi-chunk write is atomic
against other writers. :func:`hold` is that one way of taking several locks; a
synchronizer may offer ``lock_many(keys)`` to take them all at once (the
distributed one takes them all at once on the scheduler, as leases).

``ThreadSynchronizer`` guards threads of one process. ``ProcessSynchronizer`` guards
processes sharing a filesystem, with one lock file per key under its path (and a
thread lock per key, since file locks do not exclude threads of one process).

**A dead holder never wedges a chunk.** The lock files hold ``fcntl`` locks, which the
kernel drops when the holding process dies however it dies (SIGKILL, OOM killer), so
the next writer gets the lock as soon as the holder is gone: there is no lease to wait
out (tests/core/test_sync_kill.py). Whatever the holder had half written never lands:
chunks are replaced whole (a temporary file moved into place). On network
filesystems this holds as far as their lock manager honours ``fcntl`` locks (NFSv4
releases a dead client's locks after its lease period, typically 90 s).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import fasteners

from zarrflow.errors import SynchronizerError

_held = threading.local()


def _held_keys(sync: Any) -> set[str]:
    table = getattr(_held, "table", None)
    if table is None:
        table = _held.table = {}
    return table.setdefault(id(sync), set())


@contextlib.contextmanager
def hold(synchronizer: Any, keys: Iterable[str]) -> Iterator[None]:
    """Hold the locks of ``keys``: all at once through ``synchronizer.lock_many(keys)``
    when it has that method, else one by one in sorted order. Keys this thread
    already holds through the same synchronizer are skipped (nesting never deadlocks)."""
    if synchronizer is None:
        yield
        return
    held = _held_keys(synchronizer)
    todo = sorted(set(keys) - held)
    if not todo:
        yield
        return
    multi = getattr(synchronizer, "lock_many", None)
    with contextlib.ExitStack() as stack:
        if callable(multi):
            stack.enter_context(multi(todo))
        else:
            for key in todo:
                stack.enter_context(synchronizer[key])
        held.update(todo)
        try:
            yield
        finally:
            held.difference_update(todo)


class _LockTable:
    """Lazily created locks by key, behind one mutex."""

    def __init__(self, factory: Any):
        self._factory = factory
        self._mutex = threading.Lock()
        self._locks: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        with self._mutex:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = self._factory(key)
            return lock


class ThreadSynchronizer:
    """Locks for the threads of one process: ``sync[key]`` is a ``threading.Lock``.

    Pickles to a fresh synchronizer (locks cannot cross processes; use
    ProcessSynchronizer or the distributed one there).
    """

    def __init__(self) -> None:
        self._table = _LockTable(lambda key: threading.Lock())

    def __getitem__(self, key: str) -> threading.Lock:
        return self._table.get(key)

    def __reduce__(self):
        return (type(self), ())

    def __repr__(self) -> str:
        return "ThreadSynchronizer()"


class _ProcessLock:
    """A per-key thread lock, then the key's file lock: excludes threads and processes."""

    def __init__(self, thread_lock: threading.Lock, file_lock: fasteners.InterProcessLock, key: str):
        self._thread_lock = thread_lock
        self._file_lock = file_lock
        self.key = key

    def acquire(self) -> bool:
        self._thread_lock.acquire()
        try:
            if not self._file_lock.acquire():
                raise SynchronizerError(f"could not lock {self._file_lock.path!r} for key {self.key!r}")
        except BaseException:
            self._thread_lock.release()
            raise
        return True

    def release(self) -> None:
        try:
            self._file_lock.release()
        finally:
            self._thread_lock.release()

    def __enter__(self) -> _ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


_PROCESS_TABLES: dict[tuple[int, str], _LockTable] = {}
_PROCESS_TABLES_MUTEX = threading.Lock()


class ProcessSynchronizer:
    """Locks shared by processes on one filesystem: a lock file per key under ``path``.

    The directory is created, and a lock is taken and released once, when the
    synchronizer is made: a path that cannot hold working file locks fails here with
    :class:`SynchronizerError`, not later as silent corruption. Pickles as its path.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.path.abspath(os.fspath(path))
        # One lock per key per process, shared by every synchronizer on this path: file
        # locks never exclude threads of one process, and closing any handle on a lock
        # file drops the process's lock, so separate instances must not hold their own.
        with _PROCESS_TABLES_MUTEX:
            key = (os.getpid(), self.path)
            table = _PROCESS_TABLES.get(key)
            if table is None:  # first synchronizer on this path in this process
                self._check()
                table = _PROCESS_TABLES[key] = _LockTable(self._make_lock)
        self._table = table

    def _lock_file(self, key: str) -> str:
        # keys may hold '/' (nested chunks, member paths): flatten, keeping them unique
        name = key.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
        return os.path.join(self.path, name + ".lock")

    def _make_lock(self, key: str) -> _ProcessLock:
        return _ProcessLock(threading.Lock(), fasteners.InterProcessLock(self._lock_file(key)), key)

    def _check(self) -> None:
        try:
            os.makedirs(self.path, exist_ok=True)
            # a probe of this process's own, so a busy directory is not mistaken for a broken one
            probe_path = os.path.join(self.path, f".zarrflow-probe-{os.getpid()}.lock")
            probe = fasteners.InterProcessLock(probe_path)
            if not probe.acquire(blocking=False):
                raise SynchronizerError(f"could not take a test lock under {self.path!r}")
            probe.release()
            os.remove(probe_path)
        except SynchronizerError:
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            raise SynchronizerError(
                f"ProcessSynchronizer needs a writable directory with working file locks; "
                f"{self.path!r} failed: {exc}"
            ) from exc

    def __getitem__(self, key: str) -> _ProcessLock:
        return self._table.get(key)

    def __reduce__(self):
        return (type(self), (self.path,))

    def __repr__(self) -> str:
        return f"ProcessSynchronizer({self.path!r})"

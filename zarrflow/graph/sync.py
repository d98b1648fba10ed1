"""``DistributedSynchronizer``: chunk locks held by a Dask scheduler.

Workers of one Dask cluster may run on different machines, so neither thread locks
nor file locks guard them. This synchronizer asks the cluster's scheduler for the
locks instead, and plugs into the engine's synchronizer interface
(``synchronizer[key]`` is a lock; ``synchronizer.lock_many(keys)`` takes several at once,
which ``zarrflow.core.sync.hold`` prefers)::

    from distributed import Client
    from zarrflow.graph.sync import DistributedSynchronizer

    client = Client(...)
    z = zarrflow.open_array("data.zarr", mode="r+", synchronizer=DistributedSynchronizer(client))
    # ship z (or the synchronizer) to tasks: it pickles without the client and finds
    # the worker's client when a task first takes a lock

Every lock is a ``distributed.MultiLock`` on the scheduler, a single key's lock
included. ``distributed.Lock`` is a semaphore in a different scheduler extension, so
a ``Lock('x')`` and a ``MultiLock(['x'])`` do not exclude each other; using MultiLock
for both forms keeps ``sync[key]`` and ``sync.lock_many(keys)`` mutually exclusive.

Lock names are ``f"{prefix}:{key}"``. Keys are store keys relative to the store
root, so two arrays in different stores that share a key share a lock (only extra
waiting, never a lost update); give them different prefixes to avoid that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from distributed import Client, MultiLock, get_client

from zarrflow.errors import SynchronizerError


class DistributedLock:
    """A lock over one or more names held by the Dask scheduler (all at once).

    A context manager, and ``acquire``/``release`` like ``threading.Lock``. One
    object serves one holder at a time; ``DistributedSynchronizer`` hands out a new
    one per request.
    """

    def __init__(self, synchronizer: DistributedSynchronizer, names: list[str]):
        self.synchronizer = synchronizer
        self.names = names
        self._lock: MultiLock | None = None
        self._holding = False

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take every name's lock; False when ``blocking`` is False or ``timeout`` (s)
        passed before all of them were free."""
        if self._holding:
            raise RuntimeError(f"{self!r} is already held by this object")
        if not self.names:  # nothing to lock
            self._holding = True
            return True
        lock = MultiLock(self.names, client=self.synchronizer.client)
        got = lock.acquire(timeout=timeout) if blocking else lock.acquire(blocking=False)
        if got:
            self._lock, self._holding = lock, True
        return bool(got)

    def release(self) -> None:
        """Give every name's lock back to the scheduler."""
        if not self._holding:
            raise RuntimeError(f"{self!r} is not held")
        lock, self._lock, self._holding = self._lock, None, False
        if lock is not None:
            lock.release()

    def locked(self) -> bool:
        """True while this object holds its locks."""
        return self._holding

    def __enter__(self) -> DistributedLock:
        timeout = self.synchronizer.timeout
        if not self.acquire(timeout=timeout):
            raise SynchronizerError(
                f"timed out after {timeout} s waiting for the scheduler's locks {self.names}"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __reduce__(self):
        return (type(self), (self.synchronizer, self.names))

    def __repr__(self) -> str:
        return f"DistributedLock({self.names!r})"


class DistributedSynchronizer:
    """Locks per store key, held by the scheduler of a Dask cluster.

    Parameters
    ----------
    client:
        The ``distributed.Client`` to talk to the scheduler through. None (the
        default) finds one when a lock is first taken: the worker's client inside a
        task, the default client elsewhere (``distributed.get_client()``).
    prefix:
        Prefix of the scheduler lock names (``f"{prefix}:{key}"``).
    timeout:
        Seconds to wait for a lock before raising ``SynchronizerError``; None (the
        default) waits as long as it takes.

    ``sync[key]`` is a lock for one key; ``sync.lock_many(keys)`` is one lock over many,
    taken atomically by the scheduler (no deadlock whatever the order). Pickles
    without its client (a client cannot travel), so it can be shipped to workers.
    """

    def __init__(self, client: Client | None = None, prefix: str = "zarrflow", *,
                 timeout: float | None = None):
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be None or >= 0 seconds, got {timeout!r}")
        self._client = client
        self.prefix = prefix
        self.timeout = timeout

    @property
    def client(self) -> Client:
        """The client used to reach the scheduler (found lazily, see the class docs)."""
        if self._client is None:
            try:
                self._client = get_client()
            except ValueError as exc:
                raise SynchronizerError(
                    "DistributedSynchronizer found no Dask client: pass client=, create a "
                    "distributed.Client first, or use it inside a task on a worker"
                ) from exc
        return self._client

    def name(self, key: str) -> str:
        """The scheduler's lock name for store key ``key``."""
        return f"{self.prefix}:{key}"

    def __getitem__(self, key: str) -> DistributedLock:
        return DistributedLock(self, [self.name(key)])

    def lock_many(self, keys: Iterable[str]) -> DistributedLock:
        """One lock over every key in ``keys``, acquired all at once by the scheduler."""
        return DistributedLock(self, [self.name(k) for k in sorted(set(keys))])

    def __getstate__(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._client = None
        self.prefix = state["prefix"]
        self.timeout = state["timeout"]

    def __repr__(self) -> str:
        return f"DistributedSynchronizer(prefix={self.prefix!r})"


__all__ = ["DistributedLock", "DistributedSynchronizer"]

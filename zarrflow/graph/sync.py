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

Every lock is a lease on the scheduler, held by this package's scheduler plugin
(:mod:`zarrflow.graph.lease_locks`, registered by the first lock a client takes): a
single key's lock and a multi-key lock are the same kind, so ``sync[key]`` and
``sync.lock_many(keys)`` exclude each other, and a multi-key lock is taken all at once
(first come, first served per name: no deadlock, no starvation).

**A dead holder never wedges a chunk.** A lease is released without its holder:

- at once when the holder's process dies (SIGKILL, OOM killer, a crash): the
  scheduler sees its client's connection close (measured on 127.0.0.1: the next writer
  held the lock 0.03-0.11 s after the SIGKILL, where ``distributed.Lock`` took 38 s and
  ``distributed.MultiLock`` never released it; ``benchmarks/lock_recovery.py``);
- when the holder's worker is removed from the cluster (e.g. after
  ``distributed.scheduler.worker-ttl`` without a heartbeat: a machine that vanished);
- ``lease_timeout`` s (default 30) after the holder's last heartbeat (it sends one
  every ``lease_timeout / 5`` s while it holds), plus at most 0.25 s: a holder that is
  alive but frozen, or cut off. A holder whose lease expired this way raises
  :class:`SynchronizerError` when it releases, since another writer may have taken
  the chunks meanwhile. ``lease_timeout=None`` never expires a lease (only a
  disconnection releases it).

A half-done write of a dead holder never lands: each chunk is replaced whole (a
temporary file moved into place on local disks, one PUT per object on object
stores), so the next holder reads either the old chunk or the new one.

Lock names are ``f"{prefix}:{key}"``. Keys are store keys relative to the store
root, so two arrays in different stores that share a key share a lock (only extra
waiting, never a lost update); give them different prefixes to avoid that.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterable
from typing import Any

from distributed import Client, get_client, get_worker

from zarrflow.errors import SynchronizerError
from zarrflow.graph.lease_locks import LeaseLocks

logger = logging.getLogger("zarrflow.graph.sync")

#: Seconds without a heartbeat after which a holder's lease expires, by default.
DEFAULT_LEASE_TIMEOUT = 30.0

_registered: set[str] = set()  # ids of clients that registered the plugin
_registered_mutex = threading.Lock()


def _ensure_plugin(client: Client) -> None:
    """Register the lease-lock plugin on the client's scheduler (once per client)."""
    if client.id in _registered:
        return
    with _registered_mutex:
        if client.id not in _registered:
            client.register_plugin(LeaseLocks())
            _registered.add(client.id)


def _worker_address() -> str | None:
    """The address of the worker running this code, None outside a worker."""
    try:
        return get_worker().address
    except ValueError:
        return None


async def _heartbeat(client: Client, lock: DistributedLock, lease_id: str, interval: float) -> None:
    """Refresh ``lease_id`` every ``interval`` s while ``lock`` holds it (on the client's loop)."""
    while True:
        await asyncio.sleep(interval)
        if lock._lease != lease_id:
            return
        try:
            lost = await client.scheduler.zarrflow_lock_refresh(lease_ids=[lease_id])
        except (OSError, EnvironmentError, RuntimeError, TimeoutError) as exc:  # a blip: the next beat tries again
            logger.warning("heartbeat of the locks %s failed: %s", lock.names, exc)
            continue
        if lost:
            lock._lost = True
            return


class DistributedLock:
    """A leased lock over one or more names held by the Dask scheduler (all at once).

    A context manager, and ``acquire``/``release`` like ``threading.Lock``. One
    object serves one holder at a time; ``DistributedSynchronizer`` hands out a new
    one per request.
    """

    def __init__(self, synchronizer: DistributedSynchronizer, names: list[str]):
        self.synchronizer = synchronizer
        self.names = names
        self._lease: str | None = None
        self._holding = False
        self._lost = False

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take every name's lock; False when ``blocking`` is False or ``timeout`` (s)
        passed before all of them were free."""
        if self._holding:
            raise RuntimeError(f"{self!r} is already held by this object")
        if not self.names:  # nothing to lock
            self._holding = True
            return True
        sync = self.synchronizer
        client = sync.client
        _ensure_plugin(client)
        lease_id = uuid.uuid4().hex
        got = client.sync(
            client.scheduler.zarrflow_lock_acquire, names=self.names, lease_id=lease_id,
            holder_client=client.id, worker=_worker_address(), timeout=timeout if blocking else 0,
            lease_timeout=sync.lease_timeout,
        )
        if got:
            self._lease, self._holding, self._lost = lease_id, True, False
            if sync.lease_timeout is not None:
                client.loop.add_callback(_heartbeat, client, self, lease_id, sync.lease_timeout / 5)
        return bool(got)

    def release(self) -> None:
        """Give every name's lock back to the scheduler; SynchronizerError when the
        lease had expired meanwhile (another writer may have held the names)."""
        if not self._holding:
            raise RuntimeError(f"{self!r} is not held")
        lease, self._lease, self._holding = self._lease, None, False
        if lease is None:
            return
        client = self.synchronizer.client
        held = client.sync(client.scheduler.zarrflow_lock_release, lease_id=lease)
        if not held or self._lost:
            raise SynchronizerError(
                f"the lease of the scheduler's locks {self.names} expired before they were released "
                f"(no heartbeat for {self.synchronizer.lease_timeout} s): another writer may have "
                f"written these chunks meanwhile"
            )

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
    lease_timeout:
        Seconds after the last heartbeat of a holder at which its lease expires
        (default 30; heartbeats go every ``lease_timeout / 5`` s). None: a lease
        never expires; it is still released when its holder's process dies or its
        worker leaves the cluster. See the module docstring for the times to recovery.

    ``sync[key]`` is a lock for one key; ``sync.lock_many(keys)`` is one lock over many,
    taken atomically by the scheduler (no deadlock whatever the order). Pickles
    without its client (a client cannot travel), so it can be shipped to workers.
    """

    def __init__(self, client: Client | None = None, prefix: str = "zarrflow", *,
                 timeout: float | None = None, lease_timeout: float | None = DEFAULT_LEASE_TIMEOUT):
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be None or >= 0 seconds, got {timeout!r}")
        if lease_timeout is not None and not lease_timeout > 0:
            raise ValueError(f"lease_timeout must be None or > 0 seconds, got {lease_timeout!r}")
        self._client = client
        self.prefix = prefix
        self.timeout = timeout
        self.lease_timeout = lease_timeout

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
        return {"prefix": self.prefix, "timeout": self.timeout, "lease_timeout": self.lease_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._client = None
        self.prefix = state["prefix"]
        self.timeout = state["timeout"]
        self.lease_timeout = state.get("lease_timeout", DEFAULT_LEASE_TIMEOUT)

    def __repr__(self) -> str:
        return f"DistributedSynchronizer(prefix={self.prefix!r})"


__all__ = ["DEFAULT_LEASE_TIMEOUT", "DistributedLock", "DistributedSynchronizer"]

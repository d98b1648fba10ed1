"""Leased chunk locks on a Dask scheduler: a dead holder never wedges a chunk.

``distributed.MultiLock`` (what :class:`~zarrflow.graph.sync.DistributedSynchronizer`
used first) keeps a lock until its holder releases it, so a worker that dies holding
one (OOM killer, walltime, pre-emption) blocks that chunk for good. This scheduler
plugin keeps the same all-at-once multi-name locks, but every grant is a *lease*
tied to its holder:

- **the holder's client disconnects** (its process died: SIGKILL, OOM, a crash; the
  scheduler sees the TCP connection close) -> its leases are released at once and
  its pending requests are dropped;
- **the holder's worker leaves the cluster** (removed by the scheduler, e.g. after
  ``distributed.scheduler.worker-ttl`` without a heartbeat) -> the same;
- **the holder stops refreshing** (the client side sends a heartbeat every
  ``lease_timeout / 5`` s while it holds) -> the lease expires ``lease_timeout`` s
  after its last refresh (checked every :data:`CHECK_INTERVAL` s). A holder whose lease
  expired learns it when it releases (the release answers ``False``).

Requests are served first come, first served per name: a request is granted when
none of its names is held and no earlier waiting request wants any of them, so a big
multi-chunk request is never starved by a stream of small ones, and taking all names
at once can never deadlock.

The plugin is registered by the first lock a client takes (``idempotent``: one per
scheduler, whoever registers it); the scheduler must be able to import zarrflow, as
workers must. Handlers: ``zarrflow_lock_acquire``, ``zarrflow_lock_release``,
``zarrflow_lock_refresh``, ``zarrflow_lock_state``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin
from tornado.ioloop import PeriodicCallback

__all__ = ["CHECK_INTERVAL", "PLUGIN_NAME", "LeaseLocks"]

logger = logging.getLogger("zarrflow.graph.lease_locks")

#: Name of the plugin on the scheduler.
PLUGIN_NAME = "zarrflow-lease-locks"
#: Seconds between the scheduler's checks for expired leases.
CHECK_INTERVAL = 0.25


@dataclass
class _Request:
    """One acquire request: waiting for, or holding, its names."""

    lease_id: str
    names: tuple[str, ...]
    client: str | None
    worker: str | None
    lease_timeout: float | None
    last_seen: float = field(default_factory=time.monotonic)
    event: asyncio.Event | None = None  # set when granted or dropped (waiting requests only)
    granted: bool = False


class LeaseLocks(SchedulerPlugin):
    """The scheduler side of leased multi-name locks (see the module docstring)."""

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self) -> None:
        self.holders: dict[str, str] = {}  # name -> lease id
        self.leases: dict[str, _Request] = {}  # lease id -> granted request
        self.waiting: dict[str, _Request] = {}  # lease id -> waiting request (arrival order)
        self.expired = 0  # leases released because their holder stopped refreshing
        self.dropped = 0  # leases released because their client or worker left
        self._check: PeriodicCallback | None = None

    # --- plugin hooks -------------------------------------------------------------------

    def start(self, scheduler: Any) -> None:
        """Install the handlers and the periodic expiry check."""
        scheduler.handlers.update({
            "zarrflow_lock_acquire": self.acquire,
            "zarrflow_lock_release": self.release,
            "zarrflow_lock_refresh": self.refresh,
            "zarrflow_lock_state": self.state,
        })
        self._check = PeriodicCallback(self.expire, CHECK_INTERVAL * 1000)
        self._check.start()

    async def close(self) -> None:
        """Stop the expiry check."""
        if self._check is not None:
            self._check.stop()

    def remove_client(self, scheduler: Any, client: str) -> None:
        """The client's connection closed: release what it held, drop what it waits for."""
        self._drop(lambda r: r.client == client, f"client {client} disconnected")

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        """The worker left the cluster: release what its tasks held."""
        self._drop(lambda r: r.worker == worker, f"worker {worker} left")

    # --- handlers -----------------------------------------------------------------------

    async def acquire(self, names: list[str], lease_id: str, holder_client: str | None = None,
                      worker: str | None = None, timeout: float | None = None,
                      lease_timeout: float | None = None) -> bool:
        """Take every name in ``names`` at once for the client ``holder_client`` (on
        ``worker``); False after ``timeout`` s (0: do not wait)."""
        request = _Request(lease_id, tuple(sorted(set(names))), holder_client, worker, lease_timeout)
        if lease_id in self.leases or lease_id in self.waiting:
            raise ValueError(f"lease id {lease_id!r} is already in use")
        if self._free(request.names, before=None):
            self._grant(request)
            return True
        if timeout is not None and timeout <= 0:
            return False
        request.event = asyncio.Event()
        self.waiting[lease_id] = request
        try:
            if timeout is None:
                await request.event.wait()
            else:
                await asyncio.wait_for(request.event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        except asyncio.CancelledError:  # the requester went away: give back what it got
            if request.granted:
                self.release(lease_id)
            raise
        finally:
            if not request.granted and self.waiting.pop(lease_id, None) is not None:
                self._wake()  # requests queued behind this one may go now
        return request.granted

    def release(self, lease_id: str) -> bool:
        """Release a lease; False when it was no longer held (it expired or was dropped)."""
        request = self.leases.pop(lease_id, None)
        if request is None:
            return False
        for name in request.names:
            if self.holders.get(name) == lease_id:
                del self.holders[name]
        self._wake()
        return True

    def refresh(self, lease_ids: list[str]) -> list[str]:
        """Heartbeat of the holder of ``lease_ids``; returns those no longer held."""
        now = time.monotonic()
        lost = []
        for lease_id in lease_ids:
            request = self.leases.get(lease_id)
            if request is None:
                lost.append(lease_id)
            else:
                request.last_seen = now
        return lost

    def state(self) -> dict[str, Any]:
        """What is held and waited for (for tests and diagnostics)."""
        return {
            "held": dict(self.holders),
            "waiting": [list(r.names) for r in self.waiting.values()],
            "expired": self.expired,
            "dropped": self.dropped,
        }

    # --- internals ----------------------------------------------------------------------

    def _free(self, names: tuple[str, ...], before: str | None) -> bool:
        """True when no name is held and no request waiting ahead of ``before`` (all
        waiting requests when None) wants one of them."""
        if any(n in self.holders for n in names):
            return False
        wanted = set(names)
        for lease_id, waiter in self.waiting.items():
            if lease_id == before:
                break
            if wanted.intersection(waiter.names):
                return False
        return True

    def _grant(self, request: _Request) -> None:
        request.granted = True
        request.last_seen = time.monotonic()
        self.leases[request.lease_id] = request
        for name in request.names:
            self.holders[name] = request.lease_id

    def _wake(self) -> None:
        """Grant every waiting request that is now first in line for all of its names."""
        for lease_id, waiter in list(self.waiting.items()):
            if self._free(waiter.names, before=lease_id):
                del self.waiting[lease_id]
                self._grant(waiter)
                assert waiter.event is not None
                waiter.event.set()

    def _drop(self, match: Any, why: str) -> None:
        for lease_id, request in list(self.waiting.items()):
            if match(request):
                del self.waiting[lease_id]
                assert request.event is not None
                request.event.set()  # its acquire answers False (nobody is listening)
        gone = [lease_id for lease_id, request in self.leases.items() if match(request)]
        for lease_id in gone:
            logger.warning("zarrflow lock lease %s on %s released: %s", lease_id,
                           list(self.leases[lease_id].names), why)
            self.dropped += 1
            self.release(lease_id)
        self._wake()

    def expire(self) -> None:
        """Release leases whose holder has not refreshed them within their lease timeout."""
        now = time.monotonic()
        for lease_id, request in list(self.leases.items()):
            if request.lease_timeout is not None and now - request.last_seen > request.lease_timeout:
                logger.warning("zarrflow lock lease %s on %s expired: no heartbeat for %.1f s",
                               lease_id, list(request.names), now - request.last_seen)
                self.expired += 1
                self.release(lease_id)

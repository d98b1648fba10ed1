"""RedisStore in the shared store suite, against a real ``redis-server``.

One server per test session (per xdist worker): started on first use by
:func:`redis_endpoint`, on 127.0.0.1 and a free port, and stopped when the test
process exits. Each store gets its own random key prefix, so cases never see each
other's keys. Without ``redis-server`` on PATH (or the ``redis`` package) the cases
skip, saying why; with ``ZARRFLOW_REQUIRE_SERVICES=1`` they fail instead.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.storage.cases import StoreCase
from tests.storage.redis_server import RedisServer, RedisServerError, find_redis_server
from zarrflow.storage import Store

_lock = threading.Lock()
_server: RedisServer | None = None


def services_required() -> bool:
    """True when ZARRFLOW_REQUIRE_SERVICES=1: a missing service fails instead of skipping."""
    return os.environ.get("ZARRFLOW_REQUIRE_SERVICES", "") == "1"


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when services are required."""
    if services_required():
        pytest.fail(f"{reason} (ZARRFLOW_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def redis_endpoint() -> tuple[str, int]:
    """``(host, port)`` of the session's redis-server, started on first call."""
    global _server
    if importlib.util.find_spec("redis") is None:
        unavailable("RedisStore needs the 'redis' package (pip install 'redis>=4')")
    if find_redis_server() is None:
        unavailable("redis-server is not on PATH (apt-get install -y redis-server)")
    with _lock:
        if _server is None or not _server.running:
            server = RedisServer()
            try:
                server.start()
            except RedisServerError as exc:
                unavailable(f"could not start redis-server: {exc}")
            atexit.register(server.stop)
            _server = server
        assert _server.port is not None
        return _server.host, _server.port


def make_redis_store(tmp: Path | None = None, **kwargs: object) -> Store:
    """An empty RedisStore on the session server under a fresh random prefix."""
    from zarrflow.storage.redis import RedisStore

    host, port = redis_endpoint()
    return RedisStore(f"zarrflow-test-{uuid.uuid4().hex[:12]}", host=host, port=port, **kwargs)


def _read_only(store: Store) -> Store:
    from zarrflow.storage.redis import RedisStore

    kw = dict(store._kwargs)  # type: ignore[attr-defined]
    return RedisStore(store.prefix, store.dimension_separator, read_only=True, **kw)  # type: ignore[attr-defined]


CASES: list[StoreCase] = [
    StoreCase("redis", make=make_redis_store, read_only=_read_only),
]

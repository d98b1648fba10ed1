"""RedisStore beyond the conformance suite: arrays on it, round trips, failures.

Runs against a real ``redis-server`` (see ``cases_redis.py``); skipped without one
unless ZARRFLOW_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import zarrflow as zarr
from tests.storage.cases_redis import make_redis_store, redis_endpoint, unavailable
from tests.storage.redis_server import (
    RedisServer,
    RedisServerError,
    find_redis_server,
    free_port,
)
from zarrflow.core.chunk_io import FETCH_BATCH
from zarrflow.errors import StoreError
from zarrflow.storage.lru import LRUStoreCache


@pytest.fixture(scope="session")
def shared_endpoint() -> tuple[str, int]:
    """The session's redis-server (skips or fails as the cases do when there is none)."""
    return redis_endpoint()


@pytest.fixture
def private_server(shared_endpoint: tuple[str, int]) -> Iterator[RedisServer]:
    """A redis-server of this test's own (stats and shutdowns touch no other test)."""
    if find_redis_server() is None:  # pragma: no cover - shared_endpoint skipped already
        unavailable("redis-server is not on PATH")
    server = RedisServer()
    try:
        server.start()
    except RedisServerError as exc:  # pragma: no cover
        unavailable(f"could not start redis-server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def store(shared_endpoint: tuple[str, int]) -> Iterator[zarr.storage.Store]:
    s = make_redis_store()
    yield s
    s.clear()
    s.close()


def private_store(server: RedisServer, prefix: str = "zarr", **kwargs: object):  # type: ignore[no-untyped-def]
    from zarrflow.storage.redis import RedisStore

    return RedisStore(prefix, host=server.host, port=server.port, **kwargs)


def command_calls(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Calls per command since the last CONFIG RESETSTAT, from INFO commandstats."""
    stats = store.client.info("commandstats")
    return {name[len("cmdstat_"):]: int(v["calls"]) for name, v in stats.items()}


# --- zarr on redis --------------------------------------------------------------------------


def test_group_and_array_round_trip(store) -> None:  # type: ignore[no-untyped-def]
    root = zarr.group(store=store)
    z = root.zeros("foo/bar", shape=(200, 300), chunks=(50, 70), dtype="i4")
    data = np.arange(200 * 300, dtype="i4").reshape(200, 300)
    z[:] = data
    z.attrs["units"] = "m"
    root.create_group("baz").array("text", np.array(["a", "bb", "ccc"]), chunks=2)

    again = zarr.open_group(pickle.loads(pickle.dumps(store)), mode="r")  # same server, same prefix
    np.testing.assert_array_equal(again["foo/bar"][:], data)
    np.testing.assert_array_equal(again["foo/bar"][17:133, 5:250:3], data[17:133, 5:250:3])
    assert again["foo/bar"].attrs["units"] == "m"
    assert list(again["baz/text"][:]) == ["a", "bb", "ccc"]
    assert sorted(again.group_keys()) == ["baz", "foo"]
    assert store.listdir("foo/bar")[:3] == [".zarray", ".zattrs", "0.0"]
    assert len(store.listdir("foo/bar")) == 2 + 4 * 5

    z[10:20, 10:20] = -1  # partial-chunk read-modify-write
    data[10:20, 10:20] = -1
    np.testing.assert_array_equal(again["foo/bar"][:], data)

    # an array pickles with its store's parameters only, and reads the same data
    clone = pickle.loads(pickle.dumps(again["foo/bar"]))
    np.testing.assert_array_equal(clone[:], data)


def test_dimension_separator_default(shared_endpoint: tuple[str, int]) -> None:
    store = make_redis_store(dimension_separator="/")  # type: ignore[arg-type]
    try:
        z = zarr.zeros((4, 4), chunks=(2, 2), store=store)
        z[:] = 1
        assert "0/0" in store and "1/1" in store
        assert pickle.loads(pickle.dumps(store)).dimension_separator == "/"
    finally:
        store.clear()


def test_full_read_is_one_mget_per_batch(private_server: RedisServer) -> None:
    store = private_store(private_server)
    z = zarr.zeros((40, 25), chunks=(4, 5), dtype="i2", store=store, path="small")  # 10 x 5 = 50 chunks
    z[:] = 7
    big = zarr.zeros(FETCH_BATCH * 2 + 10, chunks=1, dtype="u1", store=store, path="big")
    big[:] = 3
    z = zarr.open_array(store, path="small", mode="r")
    big = zarr.open_array(store, path="big", mode="r")

    store.client.config_resetstat()
    assert (z[:] == 7).all()
    calls = command_calls(store)
    assert calls.get("mget") == 1
    assert "get" not in calls  # no per-chunk GETs

    store.client.config_resetstat()
    assert (big[:] == 3).all()
    calls = command_calls(store)
    assert calls.get("mget") == 3  # ceil((2 * 1024 + 10) / 1024)
    assert "get" not in calls

    store.client.config_resetstat()
    z2 = zarr.open_array(store, path="small", mode="r+")
    store.client.config_resetstat()
    z2[:] = 9  # whole chunks: one batched write, no reads of chunks
    calls = command_calls(store)
    assert "mget" not in calls and "get" not in calls
    assert calls.get("mset", 0) + calls.get("set", 0) >= 1


def test_listing_uses_scan_not_keys(private_server: RedisServer) -> None:
    store = private_store(private_server)
    store.setitems({f"a/{i}": b"x" for i in range(2500)} | {"b": b"y"})
    store.client.config_resetstat()
    assert len(store) == 2501
    assert store.listdir() == ["a", "b"]
    assert len(store.keys_under("a")) == 2500
    assert store.getsize("a") == 2500
    store.rmdir("a")
    assert list(store) == ["b"]
    calls = command_calls(store)
    assert "keys" not in calls
    assert calls["scan"] >= 5


def test_batches_are_single_commands(private_server: RedisServer) -> None:
    store = private_store(private_server)
    store.client.config_resetstat()
    store.setitems({f"k{i}": bytes([i]) for i in range(100)})
    assert len(store.getitems([f"k{i}" for i in range(150)])) == 100
    store.delitems([f"k{i}" for i in range(150)])
    assert len(store) == 0
    calls = command_calls(store)
    assert calls["mset"] == 1 and calls["mget"] == 1 and calls["del"] == 1
    assert "set" not in calls and "get" not in calls


def test_clear_only_touches_own_prefix(private_server: RedisServer) -> None:
    a = private_store(private_server, "a")
    b = private_store(private_server, "a:b")  # a prefix that extends "a:"'s keyspace
    star = private_store(private_server, "a*")  # glob characters are matched literally
    a["k"] = b"1"
    b["k"] = b"2"
    star["k"] = b"3"
    a.client.set("unrelated", b"4")
    assert list(star) == ["k"]
    star.clear()
    assert a.client.get("a*:k") is None and a["k"] == b"1" and b["k"] == b"2"
    b.clear()
    assert a.client.get("a:b:k") is None
    assert a["k"] == b"1" and a.client.get("unrelated") == b"4"
    a.clear()
    assert a.client.get("unrelated") == b"4"
    assert a.client.dbsize() == 1


def test_keys_stored_under_prefix(private_server: RedisServer) -> None:
    store = private_store(private_server, "myprefix")
    store["foo/.zarray"] = b"{}"
    assert store.client.get("myprefix:foo/.zarray") == b"{}"
    assert store.getsize("foo/.zarray") == 2


def test_pickles_as_parameters(private_server: RedisServer) -> None:
    store = private_store(private_server, "p", db=2, socket_timeout=3)
    store["k"] = b"v" * 1000
    blob = pickle.dumps(store)
    assert len(blob) < 300
    clone = pickle.loads(blob)
    assert clone == store and clone["k"] == b"v" * 1000
    assert clone.endpoint == f"redis://127.0.0.1:{private_server.port}/2"
    assert clone != private_store(private_server, "p", db=3)
    assert clone != private_store(private_server, "q", db=2)
    assert "p" in repr(clone) and str(private_server.port) in repr(clone)


def test_decode_responses_rejected(shared_endpoint: tuple[str, int]) -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        make_redis_store(decode_responses=True)  # type: ignore[arg-type]


# --- failures ----------------------------------------------------------------------------------


def test_server_stopped_mid_use(private_server: RedisServer) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    store = private_store(private_server, retry=Retry(NoBackoff(), 1))
    z = zarr.zeros(100, chunks=10, dtype="f8", store=store)
    z[:] = 1.5
    endpoint = f"127.0.0.1:{private_server.port}"
    private_server.stop()

    calls = [
        ("0", lambda: store["0"]),
        ("new", lambda: store.__setitem__("new", b"1")),
        ("0", lambda: store.__delitem__("0")),
        ("0", lambda: store.getitems(["0", "1"])),
        ("a", lambda: store.setitems({"a": b"1"})),
        ("", lambda: store.listdir()),
        ("x", lambda: store.rmdir("x")),
        ("0", lambda: store.getsize("0")),
    ]
    for key, call in calls:
        with pytest.raises(StoreError) as info:
            call()
        message = str(info.value)
        assert endpoint in message and repr(key) in message, message
        assert isinstance(info.value, OSError)
        assert type(info.value.__cause__).__module__.startswith("redis")
    with pytest.raises(StoreError, match=endpoint):
        z[:]
    with pytest.raises(StoreError):
        "0" in store  # noqa: B015 - a lookup that cannot reach the server is an error, not False
    store.close()


def test_unreachable_port_is_a_clear_error() -> None:
    pytest.importorskip("redis")
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from zarrflow.storage.redis import RedisStore

    port = free_port()  # nothing listens there
    store = RedisStore("zarr", host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))  # connects lazily
    with pytest.raises(StoreError) as info:
        store["foo/.zarray"]
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "'foo/.zarray'" in message
    assert "refused" in message.lower()
    with pytest.raises(StoreError, match=str(port)):
        zarr.open_group(store, mode="r")


def test_redis_imported_lazily() -> None:
    code = "import sys, zarrflow, zarrflow.storage.redis; assert 'redis' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- with the LRU cache in front ------------------------------------------------------------------


def test_lru_cache_over_redis_fetches_misses_in_one_mget(private_server: RedisServer) -> None:
    store = private_store(private_server)
    z = zarr.zeros((30, 30), chunks=(10, 10), dtype="i4", store=store)
    z[:] = np.arange(900).reshape(30, 30)
    cache = LRUStoreCache(store, max_size=2**20)
    assert cache.supports_concurrent_getitems is True
    zc = zarr.open_array(cache, mode="r")
    cache.hits = cache.misses = 0
    store.client.config_resetstat()
    first = zc[:]
    assert command_calls(store).get("mget") == 1
    store.client.config_resetstat()
    np.testing.assert_array_equal(zc[:], first)
    assert command_calls(store).get("mget") is None  # all hits
    assert cache.hits == 9 and cache.misses == 9

"""LRUStoreCache beyond the conformance suite: hits and misses, eviction, invalidation,
write-through, batching, pickling and threads."""

from __future__ import annotations

import pickle
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import zarrflow as zarr
from tests.threads import run_threads
from zarrflow.storage import DirectoryStore, KVStore, MemoryStore
from zarrflow.storage.lru import LRUStoreCache


class CountingStore(MemoryStore):
    """A MemoryStore that counts the calls reaching it (a stand-in for a slow store)."""

    def __init__(self, *args: Any, batched: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Counter[str] = Counter()
        self.batches: list[list[str]] = []
        self.supports_concurrent_getitems = batched

    def __reduce__(self) -> Any:  # pragma: no cover - not pickled here
        raise TypeError("not picklable")

    def __getitem__(self, key: str) -> bytes:
        self.calls["getitem"] += 1
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.calls["contains"] += 1
        return super().__contains__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self.calls["iter"] += 1
        return super().__iter__()

    def listdir(self, path: str = "") -> list[str]:
        self.calls["listdir"] += 1
        return super().listdir(path)

    def getitems(self, keys: Sequence[str]) -> dict[str, bytes]:
        self.calls["getitems"] += 1
        self.batches.append(list(keys))
        return super().getitems(keys)


# --- the tutorial pattern ---------------------------------------------------------------------


@pytest.mark.parametrize("batched", [False, True], ids=["per-key", "batched"])
def test_tutorial_first_read_misses_second_read_hits(batched: bool) -> None:
    remote = CountingStore(batched=batched)
    src = zarr.group(store=remote)
    src.create_dataset("foo/bar/baz", data=np.frombuffer(b"Hello from the cloud!", dtype="S1"), chunks=(7,))

    cache = LRUStoreCache(remote, max_size=2**28)
    root = zarr.group(store=cache)
    z = root["foo/bar/baz"]
    cache.hits = cache.misses = 0
    remote.calls.clear()

    assert z[:].tobytes() == b"Hello from the cloud!"  # first access: from the store
    assert (cache.hits, cache.misses) == (0, 3)
    fetched = dict(remote.calls)
    assert fetched == ({"getitems": 1} if batched else {"getitem": 3})

    assert z[:].tobytes() == b"Hello from the cloud!"  # second access: from the cache
    assert (cache.hits, cache.misses) == (3, 3)
    assert dict(remote.calls) == fetched  # the store was not asked again


def test_group_listing_is_cached() -> None:
    remote = CountingStore()
    root = zarr.group(store=remote)
    root.zeros("a", shape=10)
    root.zeros("b", shape=10)
    cache = LRUStoreCache(remote, max_size=None)
    remote.calls.clear()
    assert cache.listdir() == [".zgroup", "a", "b"]
    assert cache.listdir() == [".zgroup", "a", "b"]
    assert "a/.zarray" in cache and "a/.zarray" in cache
    assert "nope" not in cache and "nope" not in cache
    assert list(cache) == list(cache) == [".zgroup", "a/.zarray", "b/.zarray"]
    assert len(cache) == 3
    assert remote.calls == Counter({"listdir": 1, "contains": 2, "iter": 1})


# --- eviction -------------------------------------------------------------------------------------


def test_evicts_least_recently_used() -> None:
    remote = CountingStore({"a": b"aaaa", "b": b"bbbb", "c": b"cccc", "d": b"dddd"})
    cache = LRUStoreCache(remote, max_size=8)  # room for two values
    cache["a"], cache["b"]  # cache a, b
    assert cache.current_size == 8
    cache["a"]  # a is now the most recently used
    cache["c"]  # evicts b
    remote.calls.clear()
    cache["a"], cache["c"]
    assert remote.calls["getitem"] == 0  # both still cached
    cache["b"]  # evicted: fetched again, evicting the least recently used (a)
    assert remote.calls["getitem"] == 1
    cache["c"]
    assert remote.calls["getitem"] == 1
    cache["a"]
    assert remote.calls["getitem"] == 2
    assert cache.current_size == 8
    assert list(cache._values_cache) == ["c", "a"]  # LRU first


def test_value_larger_than_max_size_is_not_cached() -> None:
    remote = CountingStore({"big": b"x" * 100, "small": b"y"})
    cache = LRUStoreCache(remote, max_size=10)
    cache["small"]
    for _ in range(3):
        assert cache["big"] == b"x" * 100
    assert remote.calls["getitem"] == 4 and cache.misses == 4
    assert cache.current_size == 1  # the small value was not evicted for nothing
    cache["big"] = b"z" * 50  # a big write is not cached either
    assert cache.current_size == 1 and cache["big"] == b"z" * 50


def test_unbounded_and_zero_sizes() -> None:
    remote = CountingStore({f"k{i}": bytes(1000) for i in range(50)})
    unbounded = LRUStoreCache(remote, max_size=None)
    unbounded.getitems(list(remote))
    assert unbounded.current_size == 50_000
    nothing = LRUStoreCache(remote, max_size=0)
    nothing["k0"], nothing["k0"]
    assert nothing.current_size == 0 and nothing.misses == 2
    with pytest.raises(ValueError, match="max_size"):
        LRUStoreCache(remote, max_size=-1)


# --- writes and invalidation ------------------------------------------------------------------------


def test_writes_go_through_and_update_the_cache() -> None:
    remote = CountingStore()
    cache = LRUStoreCache(remote, max_size=None)
    assert cache.listdir() == []
    cache["a/0"] = b"1"
    assert remote["a/0"] == b"1"
    remote.calls.clear()
    assert cache["a/0"] == b"1" and cache.hits == 1  # served from the cache
    assert cache.listdir() == ["a"]  # a new key invalidated the listing
    cache["a/0"] = bytearray(b"2")
    assert cache["a/0"] == b"2" and type(cache["a/0"]) is bytes
    cache.setitems({"a/1": b"3", "b": memoryview(b"4")})
    assert remote.getitems(["a/1", "b"]) == {"a/1": b"3", "b": b"4"}
    assert cache["b"] == b"4" and remote.calls["getitem"] == 0  # written values are cached
    del cache["a/0"]
    assert "a/0" not in remote and "a/0" not in cache
    with pytest.raises(KeyError):
        cache["a/0"]
    cache.delitems(["a/1", "missing"])
    assert "a/1" not in cache and list(cache) == ["b"]
    cache["x/y/z"] = b"5"
    cache.rmdir("x")
    assert "x/y/z" not in cache and cache.listdir() == ["b"]
    cache["p/q"] = b"6"
    cache.rename("p", "r")
    assert "p/q" not in cache and cache["r/q"] == b"6"
    cache.clear()
    assert len(remote) == 0 and len(cache) == 0 and cache.current_size == 0


def test_invalidate() -> None:
    remote = CountingStore({"a": b"1", "d/x": b"2"})
    cache = LRUStoreCache(remote, max_size=None)
    assert cache["a"] == b"1" and cache.listdir() == ["a", "d"] and list(cache) == ["a", "d/x"]
    assert cache.listdir("d") == ["x"] and "d/y" not in cache
    remote["a"] = b"changed"  # behind the cache's back
    remote["d/y"] = b"3"
    assert cache["a"] == b"1"  # stale until invalidated
    assert cache.listdir() == ["a", "d"] and cache.listdir("d") == ["x"] and "d/y" not in cache

    cache.invalidate_keys()
    assert cache.listdir("d") == ["x", "y"] and "d/y" in cache
    assert cache["a"] == b"1"  # values kept
    cache.invalidate_values()
    assert cache["a"] == b"changed"
    remote["a"] = b"again"
    del remote["d/x"]
    cache.invalidate()
    assert cache["a"] == b"again" and cache.listdir("d") == ["y"] and "d/x" not in cache
    assert cache.current_size == len(b"again")


def test_getitems_fetches_only_misses_in_one_call() -> None:
    remote = CountingStore({f"c/{i}": bytes([i]) for i in range(10)}, batched=True)
    cache = LRUStoreCache(remote, max_size=None)
    assert cache.supports_concurrent_getitems is True
    cache["c/0"], cache["c/1"]
    got = cache.getitems(["c/0", "c/1", "c/2", "c/3", "missing"])
    assert got == {"c/0": b"\x00", "c/1": b"\x01", "c/2": b"\x02", "c/3": b"\x03"}
    assert remote.batches == [["c/2", "c/3", "missing"]]
    assert cache.getitems(["c/2", "c/3"]) == {"c/2": b"\x02", "c/3": b"\x03"}
    assert remote.calls["getitems"] == 1
    assert cache.getitems([]) == {}


def test_fetch_racing_a_write_does_not_cache_stale_data() -> None:
    started, release = threading.Event(), threading.Event()

    class Slow(MemoryStore):
        def __getitem__(self, key: str) -> bytes:
            value = super().__getitem__(key)
            if key == "k" and not started.is_set():
                started.set()
                release.wait(5)
            return value

    cache = LRUStoreCache(Slow({"k": b"old"}), max_size=None)
    reader = threading.Thread(target=lambda: cache["k"])
    reader.start()
    assert started.wait(5)
    cache["k"] = b"new"  # while the reader holds b"old"
    release.set()
    reader.join(5)
    assert cache["k"] == b"new"


# --- identity, pickling, plain mappings -----------------------------------------------------------------


def test_pickle_drops_cache_contents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = LRUStoreCache(DirectoryStore(tmp_path / "d"), max_size=2**20)
    cache["a"] = b"x" * 5000
    cache["a"]
    blob = pickle.dumps(cache)
    assert len(blob) < 300
    clone = pickle.loads(blob)
    assert clone == cache and clone.max_size == 2**20
    assert clone.hits == clone.misses == 0 and clone.current_size == 0
    assert clone["a"] == b"x" * 5000 and clone.misses == 1
    assert hash(clone) == hash(cache)
    assert clone != LRUStoreCache(DirectoryStore(tmp_path / "d"), max_size=10)
    assert "DirectoryStore" in repr(clone)


def test_plain_mapping_is_wrapped() -> None:
    d: dict[str, bytes] = {}
    cache = LRUStoreCache(d, max_size=100)
    assert isinstance(cache.store, KVStore)
    cache["k"] = b"v"
    assert d == {"k": b"v"}
    with pytest.raises(TypeError):
        LRUStoreCache(42, max_size=1)  # type: ignore[arg-type]


def test_flags_follow_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mem = LRUStoreCache(MemoryStore(dimension_separator="/"), max_size=None)
    assert mem.is_persistent is False and mem.dimension_separator == "/"
    disk = LRUStoreCache(DirectoryStore(tmp_path / "d", read_only=True), max_size=None)
    assert disk.is_persistent is True and disk.read_only is True
    z = zarr.zeros((4, 4), chunks=(2, 2), store=mem)
    z[:] = 1
    assert "0/0" in mem.store


# --- threads --------------------------------------------------------------------------------------------


def test_thread_safety_with_evictions() -> None:
    n_threads, n_keys, rounds = 8, 64, 30
    remote = MemoryStore({f"k{i}": bytes([i % 256]) * (i + 1) for i in range(n_keys)})
    cache = LRUStoreCache(remote, max_size=600)  # far less than the ~2 kB of values: constant eviction
    barrier = threading.Barrier(n_threads)

    def work(t: int) -> None:
        barrier.wait()
        rng = np.random.default_rng(t)
        for _ in range(rounds):
            for i in rng.integers(0, n_keys, 16):
                assert cache[f"k{i}"] == bytes([i % 256]) * (i + 1)
            keys = [f"k{i}" for i in rng.integers(0, n_keys, 8)]
            got = cache.getitems(keys)
            assert all(got[k] == remote[k] for k in keys)
            cache[f"t{t}"] = bytes([t]) * 10  # each thread writes its own key
            assert cache[f"t{t}"] == bytes([t]) * 10
            cache.listdir()
            if rng.random() < 0.1:
                cache.invalidate_values()

    run_threads(work, n_threads)
    assert cache.current_size <= 600
    assert cache.current_size == sum(len(v) for v in cache._values_cache.values())
    assert cache.hits + cache.misses == n_threads * rounds * (16 + 8 + 1)
    assert sorted(cache.listdir()) == sorted([f"k{i}" for i in range(n_keys)] + [f"t{t}" for t in range(n_threads)])

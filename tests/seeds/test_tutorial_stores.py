"""The storage alternatives of the Zarr v2 tutorial (seeds/zarr-v2-tutorial.txt), run
with ``import zarrflow as zarr``: ZipStore, DBMStore, LMDBStore, SQLiteStore, N5Store.

The tutorial's DBM example uses bsddb3's B-tree, which is not installable today; the
standard library's dbm stands in (the ``open=`` argument is the same hook).
"""

from __future__ import annotations

import dbm.dumb

import numpy as np
import pytest

import zarrflow as zarr
from tests.seeds.text import squash

ALL_42 = squash(
    "array([[42, 42, 42, ..., 42, 42, 42], [42, 42, 42, ..., 42, 42, 42], [42, 42, 42, ..., 42, 42, 42], ..., "
    "[42, 42, 42, ..., 42, 42, 42], [42, 42, 42, ..., 42, 42, 42], [42, 42, 42, ..., 42, 42, 42]], dtype=int32)"
)


def test_zip_store(in_tmp_cwd):
    store = zarr.ZipStore("data/example.zip", mode="w")
    root = zarr.group(store=store)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    store.close()
    store = zarr.ZipStore("data/example.zip", mode="r")
    root = zarr.group(store=store)
    z = root["foo/bar"]
    assert squash(repr(z[:])) == ALL_42
    store.close()


@pytest.mark.parametrize("kind", ["dbm", "lmdb", "sqlite"])
def test_database_stores(in_tmp_cwd, kind):
    if kind == "dbm":
        store = zarr.DBMStore("data/example.bdb", open=dbm.dumb.open)
    elif kind == "lmdb":
        pytest.importorskip("lmdb")
        store = zarr.LMDBStore("data/example.lmdb")
    else:
        store = zarr.SQLiteStore("data/example.sqldb")
    root = zarr.group(store=store, overwrite=True)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    store.close()
    reopened = {"dbm": lambda: zarr.DBMStore("data/example.bdb", open=dbm.dumb.open),
                "lmdb": lambda: zarr.LMDBStore("data/example.lmdb"),
                "sqlite": lambda: zarr.SQLiteStore("data/example.sqldb")}[kind]()
    assert squash(repr(zarr.group(store=reopened)["foo/bar"][:])) == ALL_42
    reopened.close()


def test_n5_store(in_tmp_cwd):
    store = zarr.N5Store("data/example.n5")
    root = zarr.group(store=store)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    assert (in_tmp_cwd / "data/example.n5/foo/bar/attributes.json").is_file()
    root = zarr.open("data/example.n5", mode="w")
    assert isinstance(root.store, zarr.N5Store)
    root.zeros("baz", shape=10, chunks=5, dtype="i4")[:] = 7
    assert zarr.open("data/example.n5", mode="r")["baz"][:].tolist() == [7] * 10


def test_lru_store_cache_serves_the_second_read():
    store = zarr.MemoryStore()
    root = zarr.group(store=store)
    z = root.zeros("foo/bar/baz", shape=(21,), chunks=(7,), dtype="S1")
    z[:] = np.frombuffer(b"Hello from the cloud!", dtype="S1")
    cache = zarr.LRUStoreCache(store, max_size=2**28)
    z = zarr.group(store=cache)["foo/bar/baz"]
    assert z[:].tobytes() == b"Hello from the cloud!"
    misses = cache.misses
    assert z[:].tobytes() == b"Hello from the cloud!"
    assert cache.misses == misses and cache.hits > 0

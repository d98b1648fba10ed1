"""FSStore over S3, end to end, against a local moto server (127.0.0.1 only).

The server is session-scoped (``s3_server``); every test gets a fresh bucket.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto")

import zarrflow
from tests.storage.s3_server import (  # noqa: F401 - s3_server is a fixture
    S3Server,
    free_port,
    fresh_bucket,
    s3_server,
    storage_options,
)
from zarrflow.errors import ReadOnlyError, StoreError
from zarrflow.storage.fsstore import FSStore

#: Fail fast where nothing answers: no botocore retries, short connect timeout.
FAST_FAIL = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1, "read_timeout": 2}}


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return fresh_bucket(s3_server)


@pytest.fixture
def opts(s3_server: S3Server) -> dict[str, Any]:
    return s3_server.storage_options()


def s3fs_of(opts: dict[str, Any]) -> Any:
    import s3fs

    return s3fs.S3FileSystem(**opts)


def test_group_array_write_read_list(bucket: str, opts: dict[str, Any]) -> None:
    url = f"s3://{bucket}/data.zarr"
    g = zarrflow.open_group(FSStore(url, **opts), mode="w")
    g.attrs["title"] = "moto"
    sub = g.create_group("sub")
    a = sub.create_dataset("a", shape=(50, 60), chunks=(10, 20), dtype="i4", fill_value=-1)
    data = np.arange(3000, dtype="i4").reshape(50, 60)
    a[:] = data
    a[5:15, 7] = 0  # partial chunks: read-modify-write
    data[5:15, 7] = 0

    again = zarrflow.open_group(FSStore(url, mode="r", **opts), mode="r")
    assert again.attrs["title"] == "moto"
    assert list(again.group_keys()) == ["sub"]
    assert list(again["sub"].array_keys()) == ["a"]
    np.testing.assert_array_equal(again["sub/a"][:], data)
    np.testing.assert_array_equal(again["sub/a"][12:31, 19:41], data[12:31, 19:41])

    store = FSStore(url, **opts)
    assert store.listdir() == [".zattrs", ".zgroup", "sub"]
    assert len(store.listdir("sub/a")) == 1 + 5 * 3
    assert store.getsize("sub/a", recursive=True) == sum(len(store[k]) for k in store.keys_under("sub/a"))
    # the objects are where zarr puts them
    fs = s3fs_of(opts)
    assert fs.cat_file(f"{bucket}/data.zarr/sub/a/0.0")
    assert {"sub/a/0.0", "sub/a/4.2", ".zgroup"} <= set(store)


def test_read_is_one_batched_round(bucket: str, opts: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    store = FSStore(f"s3://{bucket}/x", **opts)
    z = zarrflow.zeros((100, 100), chunks=(10, 10), dtype="u2", store=store)
    z[:] = 3
    calls: list[int] = []
    cat = store.fs.cat
    cat_file = store.fs.cat_file

    def spy(paths, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(paths))
        return cat(paths, **kw)

    def no_single(*a, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("one request per chunk")

    out = zarrflow.open_array(store, mode="r")
    monkeypatch.setattr(store.fs, "cat", spy)
    monkeypatch.setattr(store.fs, "cat_file", no_single)
    assert (out[:] == 3).all()
    assert calls == [100]  # all 100 chunks in one concurrent round
    monkeypatch.setattr(store.fs, "cat_file", cat_file)


def test_consolidated_metadata(bucket: str, opts: dict[str, Any]) -> None:
    url = f"s3://{bucket}/c.zarr"
    store = FSStore(url, **opts)
    g = zarrflow.open_group(store, mode="w")
    g.create_group("a").zeros("x", shape=(10,), chunks=(5,), dtype="f4")[:] = 1.5
    g.create_dataset("y", data=np.arange(8), chunks=(4,))
    zarrflow.consolidate_metadata(store)
    assert ".zmetadata" in store
    cg = zarrflow.open_consolidated(FSStore(url, mode="r", **opts), mode="r")
    assert sorted(cg.group_keys()) == ["a"]
    np.testing.assert_array_equal(cg["a/x"][:], np.full(10, 1.5, "f4"))
    np.testing.assert_array_equal(cg["y"][:], np.arange(8))


def test_overwrite_and_delete(bucket: str, opts: dict[str, Any]) -> None:
    url = f"s3://{bucket}/o.zarr"
    store = FSStore(url, **opts)
    g = zarrflow.open_group(store, mode="w")
    g.zeros("z", shape=(20,), chunks=(5,), dtype="i8")[:] = np.arange(20)
    g.zeros("z", shape=(6,), chunks=(3,), dtype="f8", overwrite=True)[:] = 2.0
    assert store.listdir("z") == [".zarray", "0", "1"]  # old chunks are gone
    np.testing.assert_array_equal(zarrflow.open_group(FSStore(url, **opts))["z"][:], np.full(6, 2.0))
    store.delitems(["z/0", "z/1", "z/7"])  # one bulk delete; missing keys are ignored
    assert store.listdir("z") == [".zarray"]
    np.testing.assert_array_equal(g["z"][:], np.zeros(6))  # fill value again
    del g["z"]
    assert "z" not in g and store.listdir() == [".zgroup"]
    store["k"] = b"1"
    store.delitems(["k", "never-there"])
    assert list(store) == [".zgroup"]
    store.rmdir()
    assert list(store) == []


def test_simplecache_chain_reads(bucket: str, opts: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"s3://{bucket}/sc.zarr"
    z = zarrflow.open_group(FSStore(url, **opts), mode="w").zeros("a", shape=(30,), chunks=(10,), dtype="i2")
    z[:] = np.arange(30)
    zarrflow.consolidate_metadata(FSStore(url, **opts))
    cached = FSStore(
        f"simplecache::{url}", mode="r", s3=opts, simplecache={"cache_storage": str(tmp_path / "cache")}
    )
    np.testing.assert_array_equal(zarrflow.open_consolidated(cached, mode="r")["a"][:], np.arange(30))
    assert any((tmp_path / "cache").iterdir())  # bytes went through the local cache
    with pytest.raises(KeyError):
        cached["a/99"]
    assert pickle.loads(pickle.dumps(cached))["a/0"] == cached["a/0"]


def test_pickle_reaches_same_bucket(bucket: str, opts: dict[str, Any]) -> None:
    store = FSStore(f"s3://{bucket}/p", **opts)
    blob = pickle.dumps(store)
    store["k"] = b"v"
    clone = pickle.loads(blob)
    assert clone == store and clone["k"] == b"v"
    assert opts["secret"] not in repr(store)


def test_read_only_store_refuses_writes(bucket: str, opts: dict[str, Any]) -> None:
    url = f"s3://{bucket}/ro.zarr"
    zarrflow.open_group(FSStore(url, **opts), mode="w").zeros("z", shape=(4,), chunks=(2,), dtype="u1")[:] = 5
    ro = FSStore(url, mode="r", **opts)
    z = zarrflow.open_group(ro, mode="r")["z"]
    with pytest.raises(ReadOnlyError):
        z[:] = 1
    with pytest.raises(ReadOnlyError, match=rf"s3://{bucket}/ro.zarr.*'z/0'"):
        ro["z/0"] = b"x"
    with pytest.raises(ReadOnlyError):
        ro.rmdir("z")
    np.testing.assert_array_equal(z[:], [5, 5, 5, 5])


def test_missing_bucket(s3_server: S3Server, opts: dict[str, Any]) -> None:
    url = "s3://zf-no-such-bucket/x.zarr"
    store = FSStore(url, **opts)
    with pytest.raises(StoreError, match=r"zf-no-such-bucket/x\.zarr.*bucket does not exist") as info:
        zarrflow.open_group(store, mode="w")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(StoreError, match=r"'a/0'.*bucket does not exist"):
        store.setitems({"a/0": b"1", "a/1": b"2"})
    with pytest.raises(StoreError, match=r"'\.zarray'.*bucket does not exist"):
        store[".zarray"]
    with pytest.raises(StoreError, match="bucket does not exist"):
        store.getitems(["a/0"])
    with pytest.raises(StoreError, match="bucket does not exist"):
        store.listdir()
    assert not s3fs_of(opts).exists("zf-no-such-bucket")  # nothing was created


def test_unreachable_endpoint() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = FSStore("s3://bucket/x.zarr", **storage_options(dead, **FAST_FAIL), skip_instance_cache=True)
    t0 = time.monotonic()
    with pytest.raises(StoreError, match=r"s3://bucket/x\.zarr.*'\.zgroup'.*(Connect|connect)") as info:
        store[".zgroup"]
    assert info.value.__cause__ is not None
    with pytest.raises(StoreError, match=r"'a/0'"):
        store.getitems(["a/0", "a/1"])
    with pytest.raises(StoreError, match=r"'a/0'"):
        store["a/0"] = b"1"
    assert time.monotonic() - t0 < 30


@pytest.fixture(scope="module")
def auth_server() -> Iterator[S3Server]:
    """A second moto server that checks credentials (ours are unknown to it)."""
    with S3Server(env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as server:
        yield server


def test_wrong_credentials(auth_server: S3Server) -> None:
    store = FSStore("s3://bucket/x.zarr", **auth_server.storage_options(), skip_instance_cache=True)
    with pytest.raises(StoreError, match=r"'\.zgroup'.*permission denied") as info:
        store[".zgroup"]
    assert isinstance(info.value.__cause__, PermissionError)
    with pytest.raises(StoreError, match=r"'a/0'.*permission denied"):
        store.setitems({"a/0": b"1", "b": b"2"})
    with pytest.raises(StoreError, match="permission denied"):
        zarrflow.open_group(store, mode="r")


def test_open_group_with_url(bucket: str, opts: dict[str, Any]) -> None:
    g = zarrflow.open_group(f"s3://{bucket}/x", mode="w", storage_options=opts)
    g.zeros("a", shape=(4,), chunks=(2,), dtype="i4")[:] = 9
    again = zarrflow.open_group(f"s3://{bucket}/x", mode="r", storage_options=opts)
    assert isinstance(again.store, FSStore)
    np.testing.assert_array_equal(again["a"][:], [9, 9, 9, 9])

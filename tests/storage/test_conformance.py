"""The conformance suite every store runs (design habit #4).

Stores come from ``STORE_CASES`` in ``conftest.py``; a new store adds one entry
there and gets every test here. Tests that need a capability (erasable, listable,
persistent) read the store's flags rather than its class.
"""

from __future__ import annotations

import contextlib
import pickle
import warnings
from collections.abc import Callable, Iterator, MutableMapping

import numpy as np
import pytest

from tests.threads import run_threads
from zarrflow.errors import InvalidKeyError, ReadOnlyError
from zarrflow.storage import (
    DirectoryStore,
    FSStore,
    KVStore,
    MemoryStore,
    Store,
    contains_array,
    contains_group,
    ensure_bytes,
    getsize,
    listdir,
    normalize_store_arg,
    rename,
    rmdir,
)

BAD_KEYS = [
    "",
    ".",
    "..",
    "../x",
    "a/../b",
    "a/./b",
    "a/..",
    "..\\x",
    "/abs",
    "\\abs",
    "//server/share",
    "C:\\x",
    "C:/x",
    "x\x00y",
]
NON_STR_KEYS = [1, b"key", None, ("a",), 1.5]


def fill(store: Store, items: dict[str, bytes]) -> None:
    """Write ``items`` one by one."""
    for k, v in items.items():
        store[k] = v


def needs_erasable(store: Store) -> None:
    """Skip the calling test on a store that cannot delete keys (``is_erasable``);
    such stores run ``test_not_erasable_refuses_deletes`` instead."""
    if not store.is_erasable():
        pytest.skip(f"{type(store).__name__} cannot delete keys")


@contextlib.contextmanager
def overwriting(store: Store) -> Iterator[None]:
    """Overwrite keys quietly: append-only stores (zip) warn on every overwrite."""
    with warnings.catch_warnings():
        if not store.is_erasable():
            warnings.simplefilter("ignore", UserWarning)
        yield


# --- mapping semantics -------------------------------------------------------------------


def test_flags_are_booleans(store: Store) -> None:
    for method in ("is_readable", "is_writeable", "is_listable", "is_erasable"):  # zarr 2's methods
        assert isinstance(getattr(store, method)(), bool), method
    for flag in (
        "is_persistent",
        "supports_concurrent_getitems",
        "supports_multiprocess_writes",
        "supports_rename",
        "read_only",
    ):
        assert isinstance(getattr(store, flag), bool), flag
    assert store.read_only is False
    assert store.dimension_separator in (None, ".", "/")
    assert isinstance(store, MutableMapping)


def test_empty_store(store: Store) -> None:
    assert len(store) == 0
    assert list(store) == []
    assert "foo" not in store
    with pytest.raises(KeyError):
        store["foo"]
    assert store.get("foo") is None
    assert store.listdir() == []
    assert store.getsize() == 0


def test_set_get_overwrite_delete(store: Store) -> None:
    store["foo"] = b"bar"
    assert store["foo"] == b"bar"
    assert type(store["foo"]) is bytes
    assert "foo" in store
    assert len(store) == 1
    with overwriting(store):
        store["foo"] = b"baz"
    assert store["foo"] == b"baz"
    assert len(store) == 1
    needs_erasable(store)
    del store["foo"]
    assert "foo" not in store
    assert len(store) == 0
    with pytest.raises(KeyError):
        del store["foo"]
    with pytest.raises(KeyError):
        store["foo"]


def test_mutable_mapping_methods(store: Store) -> None:
    store.update({"a": b"1", "b/c": b"2"})
    assert dict(store.items()) == {"a": b"1", "b/c": b"2"}
    assert sorted(store.values()) == [b"1", b"2"]
    assert store.setdefault("a", b"9") == b"1"
    if store.is_erasable():
        assert store.pop("a") == b"1"
        assert store.pop("a", None) is None
    assert store.pop("missing", None) is None
    assert store.get("b/c") == b"2"
    store.clear()
    assert len(store) == 0 and list(store) == []


def test_missing_key_error_names_key(store: Store) -> None:
    with pytest.raises(KeyError) as info:
        store["some/missing/key"]
    assert "some/missing/key" in str(info.value)


def test_empty_value(store: Store) -> None:
    store["empty"] = b""
    assert store["empty"] == b""
    assert "empty" in store
    assert store.getsize("empty") == 0


def test_large_value_roundtrip(store: Store) -> None:
    value = bytes(range(256)) * (256 * 1024)  # 64 MiB
    assert len(value) == 64 * 2**20
    store["big/0.0"] = value
    got = store["big/0.0"]
    assert len(got) == len(value) and got == value
    assert store.getsize("big") == len(value)


@pytest.mark.parametrize(
    "value",
    [
        bytearray(b"hello"),
        memoryview(b"hello world"),
        np.arange(10, dtype="<i4"),
        np.arange(12, dtype="<f8").reshape(3, 4),
        np.arange(24, dtype="<i2").reshape(4, 6)[:, ::2],  # not contiguous
        np.arange(12, dtype="<f8").reshape(3, 4).T,  # Fortran-ordered
        memoryview(np.arange(6, dtype="<u2").reshape(2, 3)),
        np.array(["2020-01-01", "2021-06-30"], dtype="<M8[D]"),
        np.zeros(0, dtype="u1"),
    ],
    ids=["bytearray", "memoryview", "ndarray", "ndarray-2d", "strided", "fortran", "mv-2d", "datetime", "empty"],
)
def test_buffer_values_stored_as_bytes(store: Store, value: object) -> None:
    expected = np.asarray(value).tobytes() if not isinstance(value, (bytes, bytearray)) else bytes(value)
    store["v"] = value
    got = store["v"]
    assert type(got) is bytes
    assert got == expected
    assert store.getitems(["v"]) == {"v": expected}


def test_stored_value_is_a_copy(store: Store) -> None:
    buf = bytearray(b"abc")
    store["k"] = buf
    buf[0] = ord("z")
    assert store["k"] == b"abc"


@pytest.mark.parametrize("value", ["text", [1, 2, 3], 42, np.array([1, "a"], dtype=object), object()])
def test_non_bytes_values_rejected(store: Store, value: object) -> None:
    with pytest.raises(TypeError):
        store["k"] = value
    assert "k" not in store
    assert len(store) == 0


def test_dot_prefixed_names(store: Store) -> None:
    keys = [".zarray", ".zattrs", "foo/.zgroup", "foo/bar/.zarray", "a.b", "..x", "x..", "...", "foo/...y"]
    fill(store, {k: k.encode() for k in keys})
    for k in keys:
        assert store[k] == k.encode()
    assert sorted(store) == sorted(keys)
    assert store.listdir() == sorted([".zarray", ".zattrs", "foo", "a.b", "..x", "x..", "..."])
    assert store.listdir("foo") == ["...y", ".zgroup", "bar"]


def test_nested_keys_and_sorted_iteration(store: Store) -> None:
    items = {"a/b/c": b"1", "a/b/d": b"2", "a/e": b"3", "f": b"4", "a.g": b"5", "z/0/0": b"6"}
    fill(store, items)
    assert list(store) == sorted(items)
    assert list(store.keys()) == sorted(items)
    assert len(store) == len(items)
    assert dict(store) == items


def test_key_normalisation(store: Store) -> None:
    store["a//b"] = b"1"
    assert store["a/b"] == b"1"
    store["c\\d"] = b"2"
    assert store["c/d"] == b"2"
    store["e/"] = b"3"
    assert store["e"] == b"3"
    assert sorted(store) == ["a/b", "c/d", "e"]


# --- bad keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_rejected(store: Store, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store[key] = b"x"
    with pytest.raises(InvalidKeyError):
        store[key]
    with pytest.raises(InvalidKeyError):
        del store[key]
    with pytest.raises(InvalidKeyError):
        store.setitems({"good": b"1", key: b"x"})
    assert key not in store
    assert len(store) == 0


@pytest.mark.parametrize("key", NON_STR_KEYS, ids=repr)
def test_non_str_keys_rejected(store: Store, key: object) -> None:
    with pytest.raises(TypeError) as info:
        store[key] = b"x"  # type: ignore[index]
    assert repr(key) in str(info.value)
    with pytest.raises(TypeError):
        store[key]  # type: ignore[index]
    assert key not in store
    assert len(store) == 0


@pytest.mark.parametrize("path", ["..", "a/../b", "./a"])
def test_bad_paths_rejected_by_hierarchy_methods(store: Store, path: str) -> None:
    store["a/b"] = b"1"
    for call in (store.listdir, store.rmdir, store.getsize):
        with pytest.raises(InvalidKeyError):
            call(path)
    assert store["a/b"] == b"1"


# --- hierarchy -----------------------------------------------------------------------------

TREE = {
    ".zgroup": b"{}",
    "a/.zarray": b"{...}",
    "a/0.0": b"12345",
    "a/0.1": b"678",
    "b/.zgroup": b"{}",
    "b/c/.zarray": b"{..}",
    "b/c/0/0": b"1234567",
    "b/c/1/0": b"89",
}


def test_listdir(store: Store) -> None:
    fill(store, TREE)
    assert store.listdir() == [".zgroup", "a", "b"]
    assert store.listdir("") == store.listdir(None)  # type: ignore[arg-type]
    assert store.listdir("a") == [".zarray", "0.0", "0.1"]
    assert store.listdir("/a/") == [".zarray", "0.0", "0.1"]
    assert store.listdir("b") == [".zgroup", "c"]
    assert store.listdir("b/c") == [".zarray", "0", "1"]
    assert store.listdir("b/c/0") == ["0"]
    assert store.listdir("missing") == []
    assert store.listdir("a/0.0") == []  # a key, not a directory
    assert listdir(store, "a") == store.listdir("a")


def test_keys_under(store: Store) -> None:
    fill(store, TREE)
    assert store.keys_under("b") == ["b/.zgroup", "b/c/.zarray", "b/c/0/0", "b/c/1/0"]
    assert store.keys_under("") == sorted(TREE)
    assert store.keys_under("nothing") == []


def test_rmdir_subtree(store: Store) -> None:
    needs_erasable(store)
    fill(store, TREE)
    store.rmdir("b/c")
    assert sorted(store) == [".zgroup", "a/.zarray", "a/0.0", "a/0.1", "b/.zgroup"]
    assert store.listdir("b") == [".zgroup"]
    store.rmdir("b")
    assert store.listdir() == [".zgroup", "a"]
    store.rmdir("missing")  # no error
    rmdir(store, "a")
    assert list(store) == [".zgroup"]


def test_rmdir_root_clears(store: Store) -> None:
    fill(store, TREE)
    store.rmdir()
    assert len(store) == 0 and store.listdir() == []
    store["again"] = b"1"  # still usable
    assert list(store) == ["again"]


def test_getsize(store: Store) -> None:
    fill(store, TREE)
    total = sum(map(len, TREE.values()))
    # zarr 2's count: the value at the key, else the values directly under the path
    assert store.getsize() == 2
    assert store.getsize("a/0.0") == 5
    assert store.getsize("a") == 5 + 5 + 3
    assert store.getsize("b") == 2
    assert store.getsize("b/c") == 4
    assert store.getsize("b/c/0") == 7  # its one value, b/c/0/0, sits directly in it
    assert store.getsize("b/c/0/0") == 7
    assert store.getsize("missing") == 0
    assert getsize(store, "b/c") == 4
    # recursive=True (zarrflow's extension) counts everything under the path
    assert store.getsize(recursive=True) == total
    assert store.getsize("b", recursive=True) == 2 + 4 + 7 + 2
    assert store.getsize("b/c", recursive=True) == 4 + 7 + 2
    assert store.getsize("a/0.0", recursive=True) == 5
    assert store.getsize("missing", recursive=True) == 0


def test_delete_prunes_empty_directories(store: Store) -> None:
    needs_erasable(store)
    store["x/y/z"] = b"1"
    store["w"] = b"2"
    del store["x/y/z"]
    assert store.listdir() == ["w"]


def test_rename_key(store: Store) -> None:
    needs_erasable(store)
    fill(store, {"a/0": b"1", "b": b"2"})
    store.rename("a/0", "c/d/0")
    assert sorted(store) == ["b", "c/d/0"]
    assert store["c/d/0"] == b"1"
    store.rename("c/d/0", "b")  # overwrites a key
    assert dict(store) == {"b": b"1"}


def test_rename_prefix(store: Store) -> None:
    needs_erasable(store)
    fill(store, TREE)
    store.rename("b", "x/y")
    assert store.listdir() == [".zgroup", "a", "x"]
    assert store.listdir("x/y/c") == [".zarray", "0", "1"]
    assert store["x/y/c/0/0"] == b"1234567"
    rename(store, "x/y/c", "b/c")
    assert store.keys_under("b") == ["b/c/.zarray", "b/c/0/0", "b/c/1/0"]


def test_rename_merges_into_existing_prefix(store: Store) -> None:
    needs_erasable(store)
    fill(store, {"src/k1": b"new", "src/sub/k2": b"2", "dst/k1": b"old", "dst/k3": b"3"})
    store.rename("src", "dst")
    assert dict(store) == {"dst/k1": b"new", "dst/sub/k2": b"2", "dst/k3": b"3"}


def test_rename_errors(store: Store) -> None:
    store["a/b"] = b"1"
    with pytest.raises(KeyError):
        store.rename("missing", "x")
    for src, dst in [("a", "a"), ("a", "a/b/c"), ("a/b", "a"), ("", "x"), ("a", "")]:
        with pytest.raises(InvalidKeyError):
            store.rename(src, dst)
    with pytest.raises(InvalidKeyError):
        store.rename("a", "../x")
    assert dict(store) == {"a/b": b"1"}


def test_contains_array_and_group(store: Store) -> None:
    fill(store, TREE)
    assert contains_group(store) and not contains_array(store)
    assert contains_array(store, "a") and not contains_group(store, "a")
    assert contains_array(store, "/b/c/") and contains_group(store, "b")
    assert not contains_array(store, "missing") and not contains_group(store, "missing")


# --- batches --------------------------------------------------------------------------------


def test_getitems_setitems_delitems(store: Store) -> None:
    store.setitems({"a/0": b"0", "a/1": memoryview(b"1"), "a/2": np.frombuffer(b"2", "u1")})
    assert store.getitems(["a/0", "a/2", "missing", "a/1"]) == {"a/0": b"0", "a/2": b"2", "a/1": b"1"}
    assert all(type(v) is bytes for v in store.getitems(list(store)).values())
    assert store.getitems([]) == {}
    store.setitems({})
    needs_erasable(store)
    store.delitems(["a/0", "missing", "a/2"])
    assert list(store) == ["a/1"]
    store.delitems([])
    store.setitems({"a/1": b"one"})
    assert store["a/1"] == b"one"


def test_setitems_with_bad_value_stores_nothing(store: Store) -> None:
    with pytest.raises(TypeError):
        store.setitems({"a": b"1", "b": "not bytes"})
    assert len(store) == 0


# --- modes, identity, persistence ------------------------------------------------------------


def test_read_only_rejects_writes_and_keeps_data(
    store: Store, read_only: Callable[[Store], Store]
) -> None:
    fill(store, TREE)
    ro = read_only(store)
    assert ro.read_only is True
    writes: list[Callable[[], object]] = [
        lambda: ro.__setitem__("a/0.0", b"new"),
        lambda: ro.__setitem__("new", b"new"),
        lambda: ro.__delitem__("a/0.0"),
        lambda: ro.setitems({"n": b"1"}),
        lambda: ro.delitems(["a/0.0"]),
        lambda: ro.rmdir("a"),
        lambda: ro.rmdir(),
        lambda: ro.rename("a", "z"),
        lambda: ro.clear(),
        lambda: ro.pop("a/0.0"),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError) as info:
            write()
        assert isinstance(info.value, PermissionError)
    with pytest.raises(ReadOnlyError, match="a/0.0"):
        ro["a/0.0"] = b"x"
    assert dict(ro) == TREE
    assert dict(store) == TREE
    assert ro.listdir("a") == [".zarray", "0.0", "0.1"]
    assert ro.getitems(["a/0.0"]) == {"a/0.0": b"12345"}


def test_equality(store: Store, reopen: Callable[[Store], Store]) -> None:
    store["k"] = b"v"
    assert store == store
    assert store == reopen(store)
    assert store != MemoryStore({"other": b"1"})
    assert store != {"k": b"v"}


def test_pickle_roundtrip(store: Store) -> None:
    fill(store, {"a/0": b"x" * 10_000, ".zgroup": b"{}"})
    blob = pickle.dumps(store)
    clone = pickle.loads(blob)
    assert type(clone) is type(store)
    assert dict(clone) == dict(store)
    assert clone.dimension_separator == store.dimension_separator
    assert clone.read_only == store.read_only
    if store.is_persistent:
        assert len(blob) < 300  # parameters only
        store["later"] = b"1"  # same data: visible through the clone
        if getattr(store, "supports_concurrent_handles", True):
            assert clone["later"] == b"1"
        clone.close()
    else:
        assert len(blob) > 10_000  # data travels with the store
        store["later"] = b"1"  # an independent copy
        assert "later" not in clone


def test_close_and_reopen(store: Store, reopen: Callable[[Store], Store]) -> None:
    fill(store, TREE)
    store.close()
    again = reopen(store)
    if store.is_persistent:
        assert dict(again) == TREE
    again.close()


def test_context_manager(store: Store, reopen: Callable[[Store], Store]) -> None:
    with store as s:
        assert s is store
        s["k"] = b"v"
    if store.is_persistent:  # closed on exit: the data are there when reopened
        again = reopen(store)
        assert again["k"] == b"v"
        again.close()


def test_not_erasable_refuses_deletes(store: Store) -> None:
    if store.is_erasable():
        pytest.skip("the store can delete keys")
    fill(store, TREE)
    refusals: list[tuple[str, Callable[[], object]]] = [
        ("a/0.0", lambda: store.__delitem__("a/0.0")),
        ("a/0.0", lambda: store.pop("a/0.0")),
        ("a/0.0", lambda: store.delitems(["missing", "a/0.0"])),
        ("b/c", lambda: store.rmdir("b/c")),
        ("b", lambda: store.rename("b", "z")),
    ]
    for key, refuse in refusals:
        with pytest.raises(NotImplementedError, match=key):
            refuse()
        assert dict(store) == TREE
    with pytest.raises(KeyError):
        del store["missing"]
    with pytest.raises(KeyError):
        store.rename("missing", "x")
    store.delitems(["missing"])  # nothing to delete: no error
    store.rmdir("missing")
    assert dict(store) == TREE


def test_thread_safety_smoke(store: Store) -> None:
    n_threads, n_keys = 8, 40

    def work(t: int) -> None:
        for i in range(n_keys):
            key = f"t{t}/{i}"
            value = f"{t}-{i}".encode() * 10
            store[key] = value
            assert store[key] == value
        assert len(store.getitems([f"t{t}/{i}" for i in range(n_keys)])) == n_keys
        store.listdir()

    run_threads(work, n_threads)
    assert len(store) == n_threads * n_keys
    assert store.listdir() == sorted(f"t{t}" for t in range(n_threads))


def _write_keys_in_a_process(store: Store, writer: int, n_keys: int) -> int:
    """Runs in another process, on a pickled copy of the store."""
    for i in range(n_keys):
        store[f"w{writer}/{i}"] = f"{writer}-{i}".encode() * 100
    store.setitems({f"batch/w{writer}-{i}": b"x" * i for i in range(n_keys)})
    return n_keys


def test_multiprocess_writers_lose_nothing(store: Store) -> None:
    """Stores that claim ``supports_multiprocess_writes`` (the Dask layer lets worker
    processes write them at once) keep every key written by concurrent processes."""
    if not store.supports_multiprocess_writes:
        pytest.skip(f"{type(store).__name__} does not take writes from several processes at once")
    import concurrent.futures
    import multiprocessing

    n_writers, n_keys = 3, 30
    store["before"] = b"kept"
    with concurrent.futures.ProcessPoolExecutor(n_writers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_write_keys_in_a_process, [store] * n_writers, range(n_writers), [n_keys] * n_writers))
    assert done == [n_keys] * n_writers
    fresh = pickle.loads(pickle.dumps(store))
    for handle in (store, fresh):
        assert handle["before"] == b"kept"
        for w in range(n_writers):
            assert handle.getitems([f"w{w}/{i}" for i in range(n_keys)]) == {
                f"w{w}/{i}": f"{w}-{i}".encode() * 100 for i in range(n_keys)}
        assert sorted(handle.listdir("batch")) == sorted(f"w{w}-{i}" for w in range(n_writers) for i in range(n_keys))
    if fresh is not store:
        fresh.close()


# --- store-independent helpers ------------------------------------------------------------------


def test_ensure_bytes() -> None:
    b = b"abc"
    assert ensure_bytes(b) is b
    assert ensure_bytes(bytearray(b"abc")) == b"abc"
    assert ensure_bytes(np.arange(3, dtype="u1")) == b"\x00\x01\x02"
    with pytest.raises(TypeError, match="str"):
        ensure_bytes("abc")


def test_free_functions_accept_plain_mappings() -> None:
    d = {"a/.zarray": b"{}", "a/0": b"123", "g/.zgroup": b"{}"}
    assert listdir(d) == ["a", "g"]
    assert getsize(d, "a") == 5
    assert contains_array(d, "a") and contains_group(d, "g")
    rename(d, "a", "b")
    assert sorted(d) == ["b/.zarray", "b/0", "g/.zgroup"]
    rmdir(d, "b")
    assert d == {"g/.zgroup": b"{}"}


def test_normalize_store_arg(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(normalize_store_arg(None), MemoryStore)
    kv = normalize_store_arg(None, default=lambda: KVStore(dict()))
    assert isinstance(kv, KVStore) and type(kv.mapping) is dict
    ms = MemoryStore()
    assert normalize_store_arg(ms, mode="r") is ms
    d: dict[str, bytes] = {}
    wrapped = normalize_store_arg(d)
    assert isinstance(wrapped, KVStore) and wrapped.mapping is d
    wrapped["k"] = b"v"
    assert d == {"k": b"v"}
    assert normalize_store_arg(d, mode="r").read_only

    ds = normalize_store_arg(str(tmp_path / "x.zarr"))
    assert isinstance(ds, DirectoryStore) and ds.path == str(tmp_path / "x.zarr")
    assert not ds.read_only
    assert normalize_store_arg(tmp_path / "y", mode="r").read_only  # os.PathLike
    via_url = normalize_store_arg(f"file://{tmp_path}/z")  # an fsspec URL: an FSStore, as in zarr 2
    assert isinstance(via_url, FSStore) and via_url.path == str(tmp_path / "z") and not via_url.read_only
    assert normalize_store_arg(f"file://{tmp_path}/z", mode="r").read_only
    import fsspec

    via_map = normalize_store_arg(fsspec.get_mapper(f"file://{tmp_path}/m"))  # an FSMap: an FSStore on its fs
    assert isinstance(via_map, FSStore) and via_map.path == str(tmp_path / "m")
    via_map["k"] = b"v"
    assert (tmp_path / "m" / "k").read_bytes() == b"v"
    assert normalize_store_arg({}, zarr_version=2) == KVStore({})
    with pytest.raises(ValueError, match="zarr_version"):
        normalize_store_arg({}, zarr_version=3)

    assert isinstance(normalize_store_arg("s3://bucket/x"), FSStore)  # no request is made yet
    with pytest.raises(ValueError, match="storage_options"):
        normalize_store_arg(str(tmp_path / "w"), storage_options={"anon": True})
    with pytest.raises(ValueError, match="mode"):
        normalize_store_arg(None, mode="q")
    with pytest.raises(TypeError, match="builtins.int"):
        normalize_store_arg(42)
    with pytest.raises(TypeError, match="list"):
        normalize_store_arg([1, 2])

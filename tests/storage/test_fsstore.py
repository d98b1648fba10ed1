"""FSStore specifics over ``memory://`` and ``file://`` (the shared suite runs too:
``cases_fsspec.py``). S3 end to end lives in ``test_s3.py``."""

from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest

import zarrflow
from zarrflow.errors import ReadOnlyError, StoreError
from zarrflow.storage.fsstore import FSStore


@pytest.fixture
def url() -> str:
    return f"memory://zf-{uuid.uuid4().hex}/root"


class Spy:
    """Counts calls of one filesystem method (patched on the instance)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fs: object, name: str) -> None:
        self.calls: list[tuple] = []
        original = getattr(fs, name)

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(fs, name, wrapper)


# --- batching ----------------------------------------------------------------------------


def test_capabilities(url: str) -> None:
    store = FSStore(url)
    assert store.supports_concurrent_getitems is True
    assert store.is_persistent is True
    assert store.key_separator == "."
    assert store.read_only is False
    assert FSStore(url, mode="r").read_only is True


def test_array_read_is_one_batched_cat(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FSStore(url)
    z = zarrflow.zeros((40, 40), chunks=(10, 10), dtype="i4", store=store)
    data = np.arange(1600, dtype="i4").reshape(40, 40)
    z[:] = data
    cat = Spy(monkeypatch, store.fs, "cat")
    again = zarrflow.open_array(store, mode="r")
    np.testing.assert_array_equal(again[:], data)
    assert len(cat.calls) == 1  # one batched call for all 16 chunks
    assert len(cat.calls[0][0]) == 16


def test_array_write_is_one_pipe(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FSStore(url)
    z = zarrflow.zeros((40, 40), chunks=(10, 10), dtype="i4", store=store)
    pipe = Spy(monkeypatch, store.fs, "pipe")
    z[:] = 7
    assert len(pipe.calls) == 1
    assert len(pipe.calls[0][0]) == 16
    assert sorted(store.listdir()) == [".zarray"] + sorted(f"{i}.{j}" for i in range(4) for j in range(4))


def test_getitems_maps_keys_back_and_skips_missing(url: str) -> None:
    store = FSStore(url, normalize_keys=True)
    store.setitems({"A/0": b"a", "b": b"b"})
    assert store.getitems(["A/0", "a/0", "missing", "B"]) == {"A/0": b"a", "a/0": b"a", "B": b"b"}
    assert store.getitems([]) == {}


def test_glob_characters_in_keys(url: str) -> None:
    store = FSStore(url)
    store.setitems({"x[1]": b"1", "y*": b"2"})
    assert store.getitems(["x[1]", "y*", "z?"]) == {"x[1]": b"1", "y*": b"2"}
    store.delitems(["x[1]", "y*"])
    assert list(store) == []


# --- keys --------------------------------------------------------------------------------


def test_normalize_keys_lower_cases(url: str) -> None:
    store = FSStore(url, normalize_keys=True)
    store["Foo/BAR"] = b"1"
    assert list(store) == ["foo/bar"]
    assert store["FOO/bar"] == b"1"
    assert "fOo/BaR" in store
    assert store.listdir("FOO") == ["bar"]
    del store["FOO/BAR"]
    assert len(store) == 0


def test_key_separator_sets_array_default(url: str) -> None:
    store = FSStore(url, key_separator="/")
    assert store.dimension_separator == "/" and store.key_separator == "/"
    z = zarrflow.zeros((4, 4), chunks=(2, 2), dtype="u1", store=store)
    z[:] = 1
    assert '"dimension_separator": "/"' in store[".zarray"].decode()
    assert store.listdir("0") == ["0", "1"]
    assert FSStore(url, dimension_separator="/").dimension_separator == "/"
    with pytest.raises(ValueError):
        FSStore(url, key_separator="-")


# --- errors and modes ------------------------------------------------------------------------


def test_read_only_mode_refuses_writes(url: str) -> None:
    FSStore(url)["a/0"] = b"x"
    ro = FSStore(url, mode="r")
    with pytest.raises(ReadOnlyError, match="a/1"):
        ro["a/1"] = b"y"
    with pytest.raises(ReadOnlyError, match="memory://"):
        ro.setitems({"a/1": b"y"})
    with pytest.raises(ReadOnlyError):
        ro.delitems(["a/0"])
    with pytest.raises(ReadOnlyError):
        ro.rmdir("a")
    assert dict(ro) == {"a/0": b"x"}
    g = zarrflow.open_group(FSStore(url + "g"), mode="w")
    g.zeros("z", shape=(4,), chunks=(2,), dtype="i1")
    z = zarrflow.open_group(FSStore(url + "g", mode="r"), mode="r")["z"]
    with pytest.raises(ReadOnlyError):
        z[:] = 1


def test_backend_errors_become_store_errors(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FSStore(url)
    store["k"] = b"v"

    def denied(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Access Denied")

    for name in ("cat_file", "pipe_file", "pipe", "info", "find", "ls"):
        monkeypatch.setattr(store.fs, name, denied)
    with pytest.raises(StoreError, match=r"memory://.*'k'.*permission denied") as info:
        store["k"]
    assert isinstance(info.value.__cause__, PermissionError)
    assert not isinstance(info.value, KeyError)
    with pytest.raises(StoreError, match="'k'"):
        store["k"] = b"w"
    with pytest.raises(StoreError, match="'a', 'b'"):
        store.setitems({"a": b"1", "b": b"2"})
    with pytest.raises(StoreError, match="'k'"):
        "k" in store  # noqa: B015 - a lookup that fails is an error, not False
    with pytest.raises(StoreError):
        list(store)
    with pytest.raises(StoreError):
        store.listdir()


def test_getitems_raises_for_errors_other_than_missing(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FSStore(url)

    def cat(paths, on_error="raise"):  # type: ignore[no-untyped-def]
        return {paths[0]: b"ok", paths[1]: FileNotFoundError(paths[1]), paths[2]: OSError("boom")}

    monkeypatch.setattr(store.fs, "cat", cat)  # (a permanent error: transient ones are retried, tests/storage/test_retry.py)
    with pytest.raises(StoreError, match=r"'c'.*OSError: boom") as info:
        store.getitems(["a", "b", "c"])
    assert type(info.value.__cause__) is OSError


def test_explicit_exceptions_read_as_missing(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FSStore(url, exceptions=(PermissionError,))

    def denied(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("no")

    monkeypatch.setattr(store.fs, "cat_file", denied)
    with pytest.raises(KeyError):
        store["k"]  # zarr 2 behaviour, opted in


def test_missing_key_is_key_error(url: str) -> None:
    store = FSStore(url)
    with pytest.raises(KeyError, match="nope"):
        store["nope"]
    with pytest.raises(KeyError):
        del store["nope"]
    assert store.get("nope") is None


def test_fs_argument(url: str) -> None:
    fs = fsspec.filesystem("memory")
    path = url[len("memory://") :]
    store = FSStore(path, fs=fs)
    store["k"] = b"v"
    assert FSStore(url)["k"] == b"v"
    assert pickle.loads(pickle.dumps(store))["k"] == b"v"
    with pytest.raises(ValueError, match="storage_options"):
        FSStore(path, fs=fs, anon=True)


def test_create_and_check(tmp_path: Path) -> None:
    root = tmp_path / "made"
    FSStore(f"file://{root}", create=True)
    assert root.is_dir()
    FSStore(f"file://{root}", check=True)
    assert list(root.iterdir()) == []  # the probe is removed
    with pytest.raises(StoreError, match="missing"):
        FSStore(f"file://{tmp_path}/missing", check=True)


def test_pickle_keeps_parameters(url: str) -> None:
    store = FSStore(url, normalize_keys=True, key_separator="/", mode="r")
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store
    assert (clone.normalize_keys, clone.dimension_separator, clone.mode) == (True, "/", "r")
    assert url in repr(store)


def test_local_writes_are_atomic_and_prune(tmp_path: Path) -> None:
    store = FSStore(f"file://{tmp_path}/s")
    store.setitems({"a/b/0": b"1", "a/b/1": b"2"})
    assert sorted(os.listdir(tmp_path / "s" / "a" / "b")) == ["0", "1"]  # no temp files left
    (tmp_path / "s" / "a" / "b" / ".0.dead.partial").write_bytes(b"torn")  # a crashed write
    assert store.listdir("a/b") == ["0", "1"]
    assert list(store) == ["a/b/0", "a/b/1"]
    os.remove(tmp_path / "s" / "a" / "b" / ".0.dead.partial")
    store.delitems(["a/b/0", "a/b/1"])
    assert store.listdir() == []  # emptied directories are pruned
    assert os.listdir(tmp_path / "s") == []
    store.rmdir()
    assert store.listdir() == []


def test_group_roundtrip_over_file_url(tmp_path: Path) -> None:
    store = FSStore(f"file://{tmp_path}/g.zarr")
    g = zarrflow.open_group(store, mode="w")
    a = g.create_dataset("x", shape=(30, 30), chunks=(7, 7), dtype="f8")
    data = np.random.default_rng(0).random((30, 30))
    a[:] = data
    a[3:9, 5] = -1
    data[3:9, 5] = -1
    again = zarrflow.open_group(FSStore(f"file://{tmp_path}/g.zarr", mode="r"), mode="r")
    np.testing.assert_array_equal(again["x"][:], data)
    # the same files a DirectoryStore reads
    np.testing.assert_array_equal(zarrflow.open_group(str(tmp_path / "g.zarr"), mode="r")["x"][:], data)


# --- zarr 2.18 behaviour (issue 10) ------------------------------------------------------------


def test_errors_reported_under_the_filesystems_own_path_spelling_are_raised() -> None:
    """memory:// answers fs.cat under '/x/0': a broken value there must raise, not vanish."""
    store = FSStore(f"memory://{uuid.uuid4().hex}")
    g = zarrflow.open_group(store, mode="w")
    x = g.create_dataset("x", data=[1, 2, 3])
    store.fs.store[store.fs._strip_protocol(store._fs_path("x/0"))] = None  # not a file object
    assert store.getitems(["missing"], contexts={}) == {}
    with pytest.raises(StoreError, match="x/0"):
        store.getitems(["x/0"], contexts={})
    with pytest.raises(StoreError):
        x[...]


def test_read_only_refuses_even_an_empty_setitems(url: str) -> None:
    with pytest.raises(ReadOnlyError):
        FSStore(url, mode="r").setitems({})


def test_local_key_under_a_value_is_key_blocked(tmp_path: Path) -> None:
    from zarrflow.errors import KeyBlockedError

    store = FSStore(f"file://{tmp_path}/s")
    store["a/b"] = b"aaa"
    with pytest.raises(KeyBlockedError, match="'a/b'") as info:
        store["a/b/c"] = b"xxx"
    assert isinstance(info.value, KeyError)
    assert dict(store) == {"a/b": b"aaa"}
    store["r/s/t"] = b"t"
    del store["r/s"]  # a "directory" of keys goes with everything under it, as in zarr 2
    assert "r/s/t" not in store and list(store) == ["a/b"]
    with pytest.raises(KeyError):
        del store["r/s"]


def test_file_url_with_storage_options_is_an_fsstore(tmp_path: Path) -> None:
    g = zarrflow.open_group(f"file://{tmp_path}/g", mode="w", storage_options={"auto_mkdir": True})
    assert isinstance(g.store, FSStore) and g.store.storage_options == {"auto_mkdir": True}
    g.create_dataset("data", shape=(8,))[:4] = [0, 1, 2, 3]
    assert sorted(os.listdir(tmp_path / "g")) == [".zgroup", "data"]
    back = zarrflow.open_group(f"file://{tmp_path}/g", mode="r")
    assert back["data"][:].tolist() == [0, 1, 2, 3, 0, 0, 0, 0]
    with pytest.raises(PermissionError):
        back["data"][:] = 1
    mapper = fsspec.get_mapper(str(tmp_path / "m"))
    assert zarrflow.create(4, store=mapper).store.map is mapper


def test_a_filesystem_that_cannot_list_raises_not_implemented(monkeypatch: pytest.MonkeyPatch) -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    store = FSStore(f"memory://{uuid.uuid4().hex}")
    store["a/.zarray"] = b"{}"
    monkeypatch.delattr(MemoryFileSystem, "ls")
    with pytest.raises(NotImplementedError, match="does not support"):
        store.listdir("a")

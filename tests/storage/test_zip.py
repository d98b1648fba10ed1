"""ZipStore specifics: modes, append-only entries, closing, rollback, zarr 2 interop."""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrflow
from zarrflow.errors import InvalidKeyError, ReadOnlyError, StoreError
from zarrflow.storage import DirectoryStore, MemoryStore
from zarrflow.storage.zip import ZipStore

# --- the tutorial ---------------------------------------------------------------------------


def test_tutorial_zip_group(tmp_path: Path) -> None:
    path = tmp_path / "data" / "example.zip"
    path.parent.mkdir()
    store = ZipStore(path, mode="w")
    root = zarrflow.group(store=store)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    store.close()

    store = ZipStore(path, mode="r")
    root = zarrflow.group(store=store)
    z = root["foo/bar"]
    out = z[:]
    assert out.dtype == np.dtype("i4") and out.shape == (1000, 1000)
    assert (out == 42).all()
    store.close()


def test_tutorial_copy_store_into_zip(tmp_path: Path) -> None:
    store1 = DirectoryStore(tmp_path / "example.zarr")
    root = zarrflow.group(store1, overwrite=True)
    root.create_dataset("foo/bar/baz", data=np.arange(100), chunks=(50,))
    root.create_dataset("spam", data=np.arange(100, 200), chunks=(30,))
    store2 = ZipStore(tmp_path / "example.zip", mode="w")
    log = io.StringIO()
    n_copied, n_skipped, _ = zarrflow.copy_store(store1, store2, log=log)
    assert (n_copied, n_skipped) == (11, 0)
    new_root = zarrflow.group(store2)
    np.testing.assert_array_equal(new_root["foo/bar/baz"][:], np.arange(100))
    store2.close()  # zip stores need to be closed
    with ZipStore(tmp_path / "example.zip", mode="r") as again:
        np.testing.assert_array_equal(zarrflow.group(again)["spam"][:], np.arange(100, 200))


def test_context_manager_closes_and_writes_directory(tmp_path: Path) -> None:
    with ZipStore(tmp_path / "array.zip", mode="w") as store:
        z = zarrflow.zeros((10, 10), chunks=(5, 5), store=store)
        z[...] = 42
    with pytest.raises(StoreError, match="closed"):
        store["x"]
    with zipfile.ZipFile(tmp_path / "array.zip") as zf:
        assert zf.testzip() is None
        assert sorted(zf.namelist()) == [".zarray", "0.0", "0.1", "1.0", "1.1"]


# --- append-only entries ---------------------------------------------------------------------


def test_second_write_warns_and_reads_last(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    store["k"] = b"first"
    with pytest.warns(UserWarning, match="Duplicate name: 'k'"):
        store["k"] = b"second"
    assert store["k"] == b"second"
    assert list(store) == ["k"] and len(store) == 1
    assert store.getsize("k") == len(b"second")
    store.close()
    with ZipStore(tmp_path / "s.zip", mode="r") as again:
        assert again["k"] == b"second"
        assert list(again) == ["k"]


def test_array_rewrite_warns(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    z = zarrflow.zeros(100, chunks=10, store=store)
    z[...] = 42
    with pytest.warns(UserWarning, match="Duplicate name"):
        z[...] = 7
    np.testing.assert_array_equal(z[:], 7)
    store.close()


def test_delete_refused_and_nothing_changes(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    store.setitems({"a/0": b"0", "a/1": b"1"})
    before = dict(store)
    with pytest.raises(NotImplementedError, match="'a/0'") as info:
        del store["a/0"]
    assert str(tmp_path) in str(info.value)
    with pytest.raises(NotImplementedError, match="'a'"):
        store.rmdir("a")
    with pytest.raises(NotImplementedError, match="'a'"):
        store.rename("a", "b")
    assert dict(store) == before
    assert store.is_erasable() is False


def test_clear_and_rmdir_root_start_a_new_file(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="a")
    store["a"] = b"1"
    store.rmdir()
    assert list(store) == []
    store["b"] = b"2"
    store.close()
    with ZipStore(tmp_path / "s.zip", mode="r") as again:
        assert dict(again) == {"b": b"2"}


def test_overwrite_group_on_empty_zip(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    root = zarrflow.group(store=store, overwrite=True)
    root.zeros("x", shape=4, chunks=2, dtype="u1")[:] = 3
    store.close()
    with ZipStore(tmp_path / "s.zip", mode="r") as again:
        np.testing.assert_array_equal(zarrflow.group(again)["x"][:], [3, 3, 3, 3])


def test_getsize_counts_uncompressed_bytes(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w", compression=zipfile.ZIP_DEFLATED)
    store["a/0"] = b"x" * 1000
    store["a/b/1"] = b"y" * 500
    assert store.getsize("a/0") == 1000
    assert store.getsize("a") == 1000  # zarr 2's count: a/b/1 is one level deeper
    assert store.getsize("a", recursive=True) == 1500
    assert store.getsize() == 0 and store.getsize(recursive=True) == 1500
    store.close()
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        assert zf.getinfo("a/0").compress_type == zipfile.ZIP_DEFLATED
        assert zf.getinfo("a/0").compress_size < 1000


def test_foreign_zip_with_directory_entries(tmp_path: Path) -> None:
    path = tmp_path / "foreign.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("arr/", b"")
        zf.writestr("arr/.zarray", b"{}")
        zf.writestr("arr/0", b"abc")
    with ZipStore(path, mode="r") as store:
        assert list(store) == ["arr/.zarray", "arr/0"]
        assert store.listdir() == ["arr"] and store.listdir("arr") == [".zarray", "0"]
        assert "arr" not in store
        with pytest.raises(KeyError):
            store["arr"]


# --- modes and bad inputs ----------------------------------------------------------------------


def test_read_only_mode_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.zip"
    with ZipStore(path, mode="w") as store:
        store["a"] = b"1"
    before = path.read_bytes()
    ro = ZipStore(path, mode="r")
    assert ro.read_only
    with pytest.raises(ReadOnlyError, match="new/key") as info:
        ro["new/key"] = b"x"
    assert str(path) in str(info.value)
    for write in (lambda: ro.setitems({"b": b"2"}), ro.clear, lambda: ro.rmdir(), lambda: ro.__delitem__("a")):
        with pytest.raises(ReadOnlyError):
            write()
    assert dict(ro) == {"a": b"1"}
    ro.flush()  # no-op
    ro.close()
    assert path.read_bytes() == before


def test_missing_file_in_read_mode(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing.zip") as info:
        ZipStore(tmp_path / "missing.zip", mode="r")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert list(tmp_path.iterdir()) == []


def test_bad_mode_and_existing_file_in_x_mode(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        ZipStore(tmp_path / "s.zip", mode="r+")
    assert list(tmp_path.iterdir()) == []
    with ZipStore(tmp_path / "s.zip", mode="x") as store:
        store["a"] = b"1"
    before = (tmp_path / "s.zip").read_bytes()
    with pytest.raises(StoreError, match="s.zip"):
        ZipStore(tmp_path / "s.zip", mode="x")
    assert (tmp_path / "s.zip").read_bytes() == before


def test_not_a_zip_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.zip"
    path.write_bytes(b"just some text, not a zip")
    with pytest.raises(StoreError, match="not a Zip file"):
        ZipStore(path, mode="a")
    with pytest.raises(StoreError, match="notes.zip"):
        ZipStore(path, mode="r")
    assert path.read_bytes() == b"just some text, not a zip"


def test_closed_store_raises_clear_errors(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    store["a"] = b"1"
    store.close()
    store.close()  # idempotent
    store.flush()  # nothing to flush
    for call in (
        lambda: store["a"],
        lambda: store.__setitem__("b", b"2"),
        lambda: list(store),
        lambda: len(store),
        lambda: "a" in store,
        lambda: store.listdir(),
        lambda: store.getitems(["a"]),
        lambda: store.getsize(),
    ):
        with pytest.raises(StoreError, match="closed"):
            call()
    with ZipStore(tmp_path / "s.zip", mode="r") as again:
        assert dict(again) == {"a": b"1"}


def test_bad_keys_write_nothing(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    for key in ["../x", "/abs", "a/../b", ""]:
        with pytest.raises(InvalidKeyError):
            store[key] = b"x"
    with pytest.raises(TypeError):
        store.setitems({"ok": b"1", "bad": "text"})
    store.close()
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        assert zf.namelist() == []


# --- pickling ----------------------------------------------------------------------------------


def test_pickle_reopens_in_append_mode(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w", dimension_separator="/")
    store["a"] = b"1"
    clone = pickle.loads(pickle.dumps(store))
    assert clone.mode == "a" and clone == store and clone.dimension_separator == "/"
    assert dict(clone) == {"a": b"1"}  # not truncated
    clone.close()
    store.close()

    ro = ZipStore(tmp_path / "s.zip", mode="r")
    ro_clone = pickle.loads(pickle.dumps(ro))
    assert ro_clone.mode == "r" and ro_clone.read_only
    ro_clone.close()
    ro.close()


def test_array_pickle_is_small(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "s.zip", mode="w")
    z = zarrflow.zeros(1000, chunks=100, dtype="i8", store=store)
    z[:] = np.arange(1000)
    blob = pickle.dumps(z)
    assert len(blob) < 1000
    z2 = pickle.loads(blob)
    np.testing.assert_array_equal(z2[:], np.arange(1000))
    z2.store.close()
    store.close()


# --- torn writes ---------------------------------------------------------------------------------


class _FailingFile:
    """Wraps the zip's file: the next ``write`` stores half its data, then fails."""

    def __init__(self, f: Any, exc: BaseException) -> None:
        self._f = f
        self._exc: BaseException | None = exc

    def write(self, data: Any) -> int:
        if self._exc is not None and len(memoryview(data)) > 100:
            exc, self._exc = self._exc, None
            view = memoryview(data)
            self._f.write(view[: len(view) // 2])
            raise exc
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


@pytest.mark.parametrize(
    "exc", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=["enospc", "interrupt"]
)
def test_torn_write_is_rolled_back(tmp_path: Path, zarr2: Any, exc: BaseException) -> None:
    path = tmp_path / "s.zip"
    store = ZipStore(path, mode="w")
    store["keep"] = b"kept value"
    store["0.0"] = b"old value"
    real = store.zf.fp
    store.zf.fp = _FailingFile(real, exc)
    expected = StoreError if isinstance(exc, OSError) else KeyboardInterrupt
    with pytest.raises(expected), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        store.setitems({"0.0": b"new value" * 100, "new": b"n" * 1000})
    store.zf.fp = real
    assert store["0.0"] == b"old value"
    assert "new" not in store and sorted(store) == ["0.0", "keep"]
    store["after"] = b"still writable"
    store.close()
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    got = zarr2.run(
        "s = zarr.ZipStore(path, mode='r'); result = {k: s[k].decode() for k in s}; s.close()", path=str(path)
    )
    assert got == {"0.0": "old value", "after": "still writable", "keep": "kept value"}


# --- zarr 2.18 interop -----------------------------------------------------------------------------


def test_zarr2_reads_zarrflow_zip(tmp_path: Path, zarr2: Any) -> None:
    path = tmp_path / "ours.zip"
    with ZipStore(path, mode="w") as store:
        root = zarrflow.group(store=store)
        root.attrs["title"] = "ours"
        z = root.zeros("foo/bar", shape=(20, 30), chunks=(7, 8), dtype="f8")
        z[:] = np.arange(600.0).reshape(20, 30)
    got = zarr2.run(
        """
        store = zarr.ZipStore(path, mode='r')
        root = zarr.open_group(store, mode='r')
        result = {'title': root.attrs['title'], 'data': root['foo/bar'][:], 'keys': sorted(store)}
        store.close()
        """,
        path=str(path),
    )
    np.testing.assert_array_equal(np.array(got["data"]), np.arange(600.0).reshape(20, 30))  # type: ignore[index]
    assert got["title"] == "ours"  # type: ignore[index]
    assert ".zgroup" in got["keys"] and "foo/bar/2.3" in got["keys"]  # type: ignore[index]


def test_zarrflow_reads_zarr2_zip(tmp_path: Path, zarr2: Any) -> None:
    path = tmp_path / "theirs.zip"
    zarr2.run(
        """
        store = zarr.ZipStore(path, mode='w')
        root = zarr.group(store=store)
        z = root.zeros('a/b', shape=(10, 10), chunks=(3, 4), dtype='i2')
        z[:] = np.arange(100, dtype='i2').reshape(10, 10)
        root.create_group('g').attrs['x'] = 1
        store.close()
        """,
        path=str(path),
    )
    with ZipStore(path, mode="r") as store:
        root = zarrflow.group(store=store)
        np.testing.assert_array_equal(root["a/b"][:], np.arange(100, dtype="i2").reshape(10, 10))
        assert root["g"].attrs["x"] == 1
        assert store.listdir() == [".zgroup", "a", "g"]
    # appending to a zarr 2 zip keeps its entries
    with ZipStore(path, mode="a") as store:
        zarrflow.group(store=store).zeros("c", shape=3, dtype="u1")[:] = 5
    got = zarr2.run(
        "s = zarr.ZipStore(path, mode='r'); result = zarr.open_group(s, mode='r')['c'][:]; s.close()", path=str(path)
    )
    assert got == [5, 5, 5]


def test_memory_source_copy(tmp_path: Path) -> None:
    src = MemoryStore({"a/.zarray": b"{}", "a/0": b"123"})
    with ZipStore(tmp_path / "s.zip", mode="w") as dst:
        dst.setitems(dict(src))
    with ZipStore(tmp_path / "s.zip", mode="r") as again:
        assert dict(again) == dict(src)

"""DirectoryStore specifics: disk layout, atomic writes, root confinement, OS errors."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

import zarrflow.storage.directory as directory_module
import zarrflow.storage.local_files as local_files  # where values are written
from zarrflow.errors import (
    FSPathExistNotDir,
    InvalidKeyError,
    ReadOnlyError,
    StoreError,
)
from zarrflow.storage import DirectoryStore, NestedDirectoryStore

TEMP_NAME = ".0.0.0123456789abcdef0123456789abcdef.partial"


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` as a '/'-joined relative path, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


# --- construction -------------------------------------------------------------------------


def test_path_is_absolute_and_created_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = DirectoryStore("data/example.zarr")
    assert store.path == str(tmp_path / "data" / "example.zarr")
    assert not (tmp_path / "data").exists()
    assert list(store) == [] and store.listdir() == [] and store.getsize() == 0
    assert "x" not in store
    with pytest.raises(KeyError):
        store["x"]
    store.rmdir()
    assert not (tmp_path / "data").exists()
    store["x"] = b"1"
    assert (tmp_path / "data" / "example.zarr" / "x").read_bytes() == b"1"


def test_read_only_store_creates_nothing(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "ro", read_only=True)
    with pytest.raises(ReadOnlyError, match="ro"):
        store["x"] = b"1"
    assert not (tmp_path / "ro").exists()


def test_existing_file_path_raises(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"not a directory")
    with pytest.raises(FSPathExistNotDir, match="file") as info:
        DirectoryStore(target)
    assert isinstance(info.value, NotADirectoryError)


def test_dimension_separator_arguments(tmp_path: Path) -> None:
    assert DirectoryStore(tmp_path).dimension_separator is None
    assert DirectoryStore(tmp_path, dimension_separator="/").dimension_separator == "/"
    assert NestedDirectoryStore(tmp_path).dimension_separator == "/"
    assert NestedDirectoryStore(tmp_path, dimension_separator=None).dimension_separator == "/"
    with pytest.raises(ValueError, match="NestedDirectoryStore"):
        NestedDirectoryStore(tmp_path, dimension_separator=".")
    with pytest.raises(ValueError, match="dimension_separator"):
        DirectoryStore(tmp_path, dimension_separator="-")


def test_pickle_is_small_and_equal(tmp_path: Path) -> None:
    for store in (
        DirectoryStore(tmp_path / "a"),
        DirectoryStore(tmp_path / "a", normalize_keys=True, read_only=True),
        NestedDirectoryStore(tmp_path / "a"),
    ):
        blob = pickle.dumps(store)
        clone = pickle.loads(blob)
        assert len(blob) < 150
        assert clone == store and hash(clone) == hash(store)
        assert (clone.normalize_keys, clone.read_only, clone.dimension_separator) == (
            store.normalize_keys,
            store.read_only,
            store.dimension_separator,
        )
    assert DirectoryStore(tmp_path / "a") != DirectoryStore(tmp_path / "b")
    assert DirectoryStore(tmp_path / "a") != NestedDirectoryStore(tmp_path / "a")
    assert repr(DirectoryStore(tmp_path / "a")) == f"DirectoryStore({str(tmp_path / 'a')!r})"


# --- layout ---------------------------------------------------------------------------------


def test_nested_layout_on_disk(tmp_path: Path) -> None:
    store = NestedDirectoryStore(tmp_path / "s")
    store["arr/.zarray"] = b"{}"
    store["arr/0/0"] = b"a"
    store["arr/0/1"] = b"b"
    store["arr/1/0"] = b"c"
    root = tmp_path / "s"
    assert (root / "arr" / "0").is_dir()
    assert (root / "arr" / "0" / "0").read_bytes() == b"a"
    assert files_under(root) == ["arr/.zarray", "arr/0/0", "arr/0/1", "arr/1/0"]
    assert store.listdir("arr") == [".zarray", "0", "1"]


def test_flat_layout_on_disk(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["arr/0.0"] = b"a"
    assert (tmp_path / "s" / "arr" / "0.0").is_file()


def test_reading_a_directory_is_a_key_error(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store["a/b"] = b"1"
    with pytest.raises(KeyError):
        store["a"]
    assert "a" not in store
    assert store.getitems(["a", "a/b"]) == {"a/b": b"1"}


def test_delete_directory_prefix_removes_tree(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["g/a/0"] = b"1"
    store["g/a/1"] = b"2"
    store["h"] = b"3"
    del store["g"]
    assert list(store) == ["h"]
    assert not (tmp_path / "s" / "g").exists()


def test_key_and_directory_cannot_share_a_name(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store["a"] = b"1"
    with pytest.raises(StoreError, match="'a/b'"):
        store["a/b"] = b"2"
    assert store["a"] == b"1"


def test_normalize_keys_lower_cases(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s", normalize_keys=True)
    store["FOO/Bar"] = b"1"
    assert files_under(tmp_path / "s") == ["foo/bar"]
    assert store["foo/bar"] == b"1" and store["Foo/BAR"] == b"1"
    assert "FOO/BAR" in store
    assert store.listdir("FOO") == ["bar"]


def test_clear_keeps_root(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["a/b"] = b"1"
    store["c"] = b"2"
    store.clear()
    assert (tmp_path / "s").is_dir() and list((tmp_path / "s").iterdir()) == []


# --- atomic writes ---------------------------------------------------------------------------


def test_failed_replace_keeps_old_value_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["arr/0.0"] = b"old"

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(local_files.os, "replace", failing_replace)
    with pytest.raises(StoreError, match="arr/0.0") as info:
        store["arr/0.0"] = b"new"
    assert isinstance(info.value.__cause__, OSError)
    monkeypatch.undo()
    assert store["arr/0.0"] == b"old"
    assert os.listdir(tmp_path / "s" / "arr") == ["0.0"]


class _HalfWriter:
    """A file wrapper whose write stores half the data, then fails (disk full)."""

    def __init__(self, f: Any, exc: BaseException) -> None:
        self._f = f
        self._exc = exc

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._f.write(view[: len(view) // 2])
        self._f.flush()
        raise self._exc

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *args: object) -> None:
        self._f.close()


@pytest.mark.parametrize(
    "exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()], ids=["enospc", "interrupt"]
)
def test_torn_write_leaves_old_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["0.0"] = b"old value"

    def half_open(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = open(path, mode, *args, **kwargs)
        return _HalfWriter(f, exc) if "b" in mode and ("w" in mode or "x" in mode) else f

    monkeypatch.setattr(local_files, "open", half_open, raising=False)
    with pytest.raises(type(exc)):
        store["0.0"] = b"new value that is long" * 1000
    monkeypatch.undo()
    assert store["0.0"] == b"old value"
    assert os.listdir(tmp_path / "s") == ["0.0"]


def test_temp_files_are_invisible(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["arr/.zarray"] = b"{}"
    store["arr/0.0"] = b"abc"
    (tmp_path / "s" / TEMP_NAME).write_bytes(b"partial root")
    (tmp_path / "s" / "arr" / TEMP_NAME).write_bytes(b"partial chunk")
    assert list(store) == ["arr/.zarray", "arr/0.0"]
    assert len(store) == 2
    assert store.listdir() == ["arr"]
    assert store.listdir("arr") == [".zarray", "0.0"]
    assert store.getsize("arr") == 5
    assert store.keys_under("arr") == ["arr/.zarray", "arr/0.0"]
    # a key that merely ends in ".partial" is an ordinary key
    store["notes.partial"] = b"x"
    assert "notes.partial" in store and "notes.partial" in store.listdir()
    store.clear()
    assert list((tmp_path / "s").iterdir()) == []


# --- confinement to the root -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/tmp/escape", "..\\escape"])
def test_escaping_keys_write_nothing(tmp_path: Path, key: str) -> None:
    store = DirectoryStore(tmp_path / "s")
    with pytest.raises(InvalidKeyError):
        store[key] = b"x"
    assert files_under(tmp_path) == []


def test_symlink_out_of_root_is_refused_for_writes(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"precious")
    root = tmp_path / "s"
    root.mkdir()
    os.symlink(outside, root / "link")
    store = DirectoryStore(root)

    with pytest.raises(InvalidKeyError, match="outside"):
        store["link/new"] = b"x"
    with pytest.raises(InvalidKeyError):
        store["link/victim"] = b"overwritten"
    with pytest.raises(InvalidKeyError):
        del store["link/victim"]
    with pytest.raises(InvalidKeyError):
        store.setitems({"link/deep/x": b"x"})
    store["a"] = b"1"
    with pytest.raises(InvalidKeyError):
        store.rename("a", "link/a")
    assert sorted(os.listdir(outside)) == ["victim"]
    assert (outside / "victim").read_bytes() == b"precious"

    # reads follow links (a legitimate layout); removing the link leaves its target
    assert store["link/victim"] == b"precious"
    store.rmdir("link")
    assert not (root / "link").exists() and (outside / "victim").read_bytes() == b"precious"


def test_rmdir_root_does_not_follow_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"precious")
    root = tmp_path / "s"
    root.mkdir()
    os.symlink(outside, root / "link")
    store = DirectoryStore(root)
    store["k"] = b"1"
    store.rmdir()
    assert os.listdir(root) == []
    assert (outside / "victim").read_bytes() == b"precious"


def test_symlinked_store_root_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    store = DirectoryStore(tmp_path / "alias")
    store["a/b"] = b"1"
    assert (real / "a" / "b").read_bytes() == b"1"
    del store["a/b"]
    assert list(store) == []


# --- OS errors ------------------------------------------------------------------------------------


def test_permission_denied_on_read_is_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["arr/0.0"] = b"1"
    target = os.path.join(store.path, "arr", "0.0")
    real_open = os.open

    def denied(path: Any, *args: Any, **kwargs: Any) -> Any:  # root ignores chmod: deny this one file
        if os.fspath(path) == target:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(directory_module.os, "open", denied)
    with pytest.raises(StoreError) as info:
        store["arr/0.0"]
    assert "arr/0.0" in str(info.value) and store.path in str(info.value)
    assert "Permission denied" in str(info.value)
    assert isinstance(info.value.__cause__, PermissionError)


def test_permission_denied_on_write_is_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DirectoryStore(tmp_path / "s")

    def denied(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", dst)

    monkeypatch.setattr(local_files.os, "replace", denied)
    with pytest.raises(StoreError, match="cannot write 'k'") as info:
        store["k"] = b"1"
    assert isinstance(info.value.__cause__, PermissionError)
    monkeypatch.undo()
    assert list(store) == [] and files_under(tmp_path / "s") == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions")
def test_real_permission_denied(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "s")
    store["d/k"] = b"1"
    os.chmod(tmp_path / "s" / "d" / "k", 0)
    os.chmod(tmp_path / "s" / "d", 0o500)
    try:
        with pytest.raises(StoreError):
            store["d/k"]
        with pytest.raises(StoreError):
            store["d/new"] = b"2"
    finally:
        os.chmod(tmp_path / "s" / "d", 0o700)
        os.chmod(tmp_path / "s" / "d" / "k", 0o600)


@pytest.mark.parametrize("cls", [DirectoryStore, NestedDirectoryStore])
def test_hierarchy_levels_as_zarr2(tmp_path: Path, cls: type) -> None:
    """zarr 2's hierarchical-store rules: a key under a value is a KeyError (KeyBlockedError
    naming both keys, nothing written); a value replaces a "directory" of keys."""
    from zarrflow.errors import KeyBlockedError

    store = cls(str(tmp_path / "s"))
    store["a/b"] = b"aaa"
    with pytest.raises(KeyBlockedError, match="'a/b'.*holds a value") as info:
        store["a/b/c"] = b"xxx"
    assert isinstance(info.value, KeyError)
    with pytest.raises(KeyError):
        del store["a/b/c"]
    assert dict(store) == {"a/b": b"aaa"}
    store["x/y/z"] = b"xxx"
    store["x/y"] = b"yyy"
    assert store["x/y"] == b"yyy" and "x/y/z" not in store
    with pytest.raises(ValueError):  # FSPathExistNotDir is a ValueError, as in zarr 2
        cls(str(tmp_path / "s" / "a" / "b"))


def test_keys_fast_walks_like_zarr2(tmp_path: Path) -> None:
    def walker(_path: str):
        yield from [("root/", ["d1"], [".zgroup"]), ("root/d1", [], [".zarray"])]

    assert set(DirectoryStore._keys_fast("root/", walker=walker)) == {".zgroup", "d1/.zarray"}
    store = DirectoryStore(str(tmp_path))
    store["g/.zgroup"] = b"{}"
    assert list(DirectoryStore._keys_fast(str(tmp_path))) == ["g/.zgroup"]

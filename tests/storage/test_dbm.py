"""DBMStore specifics: open functions and flags, closing, pickling, zarr 2 interop."""

from __future__ import annotations

import dbm
import dbm.dumb
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrflow
from zarrflow.errors import InvalidKeyError, ReadOnlyError, StoreError
from zarrflow.storage.dbm import DBMStore


def files_of(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}


def test_tutorial_style_group(tmp_path: Path) -> None:
    store = DBMStore(tmp_path / "example.db", open=dbm.dumb.open)
    root = zarrflow.group(store=store, overwrite=True)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    store.close()
    with DBMStore(tmp_path / "example.db", flag="r", open=dbm.dumb.open) as again:
        out = zarrflow.group(store=again)["foo/bar"][:]
        assert out.shape == (1000, 1000) and (out == 42).all()


def test_default_open_is_dbm_open(tmp_path: Path) -> None:
    with DBMStore(tmp_path / "default.db") as store:
        assert store.open is dbm.open
        store["a/b"] = b"1"
    with DBMStore(tmp_path / "default.db", flag="r") as again:  # whichdb finds the same module
        assert dict(again) == {"a/b": b"1"}


def test_keys_are_utf8(tmp_path: Path) -> None:
    with DBMStore(tmp_path / "s.db", open=dbm.dumb.open) as store:
        store["grüße/0.0"] = b"1"
        assert list(store) == ["grüße/0.0"]
        assert store.listdir() == ["grüße"]
    with dbm.dumb.open(str(tmp_path / "s.db"), "r") as raw:
        assert list(raw.keys()) == ["grüße/0.0".encode()]


def test_flag_n_starts_empty_and_pickles_as_c(tmp_path: Path) -> None:
    with DBMStore(tmp_path / "s.db", open=dbm.dumb.open) as store:
        store["old"] = b"1"
    store = DBMStore(tmp_path / "s.db", flag="n", open=dbm.dumb.open)
    assert list(store) == []
    store["new"] = b"2"
    clone = pickle.loads(pickle.dumps(store))
    assert clone.flag == "c" and dict(clone) == {"new": b"2"}  # 'c': the copy does not clobber
    assert clone == store
    clone.close()
    store.close()


def test_pickle_is_parameters(tmp_path: Path) -> None:
    store = DBMStore(tmp_path / "s.db", open=dbm.dumb.open, write_lock=False, dimension_separator="/")
    store["a"] = b"x" * 10_000
    blob = pickle.dumps(store)
    assert len(blob) < 300
    clone = pickle.loads(blob)
    assert (clone.open, clone.write_lock, clone.dimension_separator) == (dbm.dumb.open, False, "/")
    assert clone["a"] == b"x" * 10_000
    clone.close()
    store.close()


def test_read_only_flag_refuses_writes(tmp_path: Path) -> None:
    with DBMStore(tmp_path / "s.db", open=dbm.dumb.open) as store:
        store["a"] = b"1"
    before = files_of(tmp_path)
    ro = DBMStore(tmp_path / "s.db", flag="r", open=dbm.dumb.open)
    assert ro.read_only
    with pytest.raises(ReadOnlyError, match="new") as info:
        ro["new"] = b"x"
    assert str(tmp_path / "s.db") in str(info.value)
    for write in (lambda: ro.__delitem__("a"), lambda: ro.rmdir(), lambda: ro.setitems({"b": b"2"})):
        with pytest.raises(ReadOnlyError):
            write()
    ro.flush()
    ro.close()
    assert files_of(tmp_path) == before


def test_missing_file_with_read_flag(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing.db") as info:
        DBMStore(tmp_path / "missing.db", flag="r", open=dbm.dumb.open)
    assert info.value.__cause__ is not None
    with pytest.raises(StoreError, match="missing.db"):
        DBMStore(tmp_path / "missing.db", flag="r")  # dbm.open: "db file doesn't exist"
    assert list(tmp_path.iterdir()) == []


def test_bad_flag(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flag"):
        DBMStore(tmp_path / "s.db", flag="q")
    assert list(tmp_path.iterdir()) == []


def test_closed_store_raises_clear_errors(tmp_path: Path) -> None:
    store = DBMStore(tmp_path / "s.db", open=dbm.dumb.open)
    store["a"] = b"1"
    store.close()
    store.close()
    store.flush()
    for call in (lambda: store["a"], lambda: store.__setitem__("b", b"2"), lambda: list(store), lambda: "a" in store):
        with pytest.raises(StoreError, match="closed"):
            call()
    with DBMStore(tmp_path / "s.db", flag="r", open=dbm.dumb.open) as again:
        assert dict(again) == {"a": b"1"}


def test_bad_keys_and_values_write_nothing(tmp_path: Path) -> None:
    with DBMStore(tmp_path / "s.db", open=dbm.dumb.open) as store:
        for key in ["../x", "/abs", ""]:
            with pytest.raises(InvalidKeyError):
                store[key] = b"x"
        with pytest.raises(TypeError):
            store.setitems({"ok": b"1", "bad": "text"})
        assert len(store) == 0


def test_zarr2_reads_zarrflow_dbm(tmp_path: Path, zarr2: Any) -> None:
    path = str(tmp_path / "ours.db")
    with DBMStore(path, open=dbm.dumb.open) as store:
        root = zarrflow.group(store=store)
        root.zeros("x/y", shape=(9, 9), chunks=(4, 4), dtype="u2")[:] = np.arange(81).reshape(9, 9)
    got = zarr2.run(
        """
        import dbm.dumb, warnings
        warnings.simplefilter('ignore')
        store = zarr.DBMStore(path, flag='r', open=dbm.dumb.open)
        result = zarr.open_group(store, mode='r')['x/y'][:]
        store.close()
        """,
        path=path,
    )
    np.testing.assert_array_equal(np.array(got), np.arange(81).reshape(9, 9))


def test_zarrflow_reads_zarr2_dbm(tmp_path: Path, zarr2: Any) -> None:
    path = str(tmp_path / "theirs.db")
    zarr2.run(
        """
        import dbm.dumb, warnings
        warnings.simplefilter('ignore')
        store = zarr.DBMStore(path, open=dbm.dumb.open)
        root = zarr.group(store=store, overwrite=True)
        root.zeros('a', shape=(5,), chunks=(2,), dtype='f4')[:] = [1, 2, 3, 4, 5]
        store.close()
        """,
        path=path,
    )
    with DBMStore(path, flag="r", open=dbm.dumb.open) as store:
        np.testing.assert_array_equal(zarrflow.group(store=store)["a"][:], [1, 2, 3, 4, 5])

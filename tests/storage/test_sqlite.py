"""SQLiteStore specifics: zarr 2's table, SQL listing, transactions, zarr 2 interop."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrflow
from tests.threads import run_threads
from zarrflow.errors import InvalidKeyError, ReadOnlyError, StoreError
from zarrflow.storage.sqlite import SQLiteStore


def test_tutorial_group(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "example.sqldb")
    root = zarrflow.group(store=store, overwrite=True)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    store.close()
    with SQLiteStore(tmp_path / "example.sqldb", read_only=True) as again:
        out = zarrflow.group(store=again)["foo/bar"][:]
        assert (out == 42).all() and out.shape == (1000, 1000)


def test_table_is_zarr2s(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        store["a/0"] = b"\x00\x01"
    con = sqlite3.connect(tmp_path / "s.sqldb")
    (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE name = 'zarr'").fetchone()
    assert sql == "CREATE TABLE zarr(k TEXT PRIMARY KEY, v BLOB)"
    assert con.execute("SELECT k, v FROM zarr").fetchall() == [("a/0", b"\x00\x01")]
    con.close()


def test_like_wildcards_and_case_in_keys(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        store.setitems({"a_b/x": b"1", "aXb/y": b"22", "a%/z": b"333", "A_B/w": b"4444", "a_b.q": b"5"})
        assert store.listdir("a_b") == ["x"]
        assert store.listdir("a%") == ["z"]
        assert store.getsize("a_b") == 1
        assert store.keys_under("A_B") == ["A_B/w"]
        store.rmdir("a_b")
        assert list(store) == sorted(["A_B/w", "a%/z", "a_b.q", "aXb/y"])
        store.rename("a%", "c")
        assert list(store) == sorted(["A_B/w", "a_b.q", "aXb/y", "c/z"])


def test_non_ascii_keys(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        store.setitems({"grüße/ä": b"1", "grüße/b/c": b"22", "z": b"3"})
        assert store.listdir() == ["grüße", "z"]
        assert store.listdir("grüße") == ["b", "ä"]
        assert store.getsize("grüße") == 1  # zarr 2 counts the values directly under it
        assert store.getsize("grüße", recursive=True) == 3


def test_setitems_is_one_transaction(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        store["a"] = b"old"
        with pytest.raises(TypeError):
            store.setitems({"a": b"new", "b": "text"})
        assert dict(store) == {"a": b"old"}
        # a failure part way through the statement rolls everything back
        con = sqlite3.connect(tmp_path / "s.sqldb")
        con.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON zarr WHEN NEW.k = 'fail' BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
        con.commit()
        con.close()
        with pytest.raises(StoreError, match="boom") as info:
            store.setitems({"a": b"new", "b": b"2", "fail": b"3"})
        assert isinstance(info.value.__cause__, sqlite3.Error)
        assert dict(store) == {"a": b"old"}
        assert not store.db.in_transaction


def test_other_connection_sees_committed_writes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqldb")
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store
    store.setitems({f"k{i}": b"v" for i in range(10)})
    assert len(clone) == 10
    clone.close()
    store.close()


def test_threads_share_one_connection(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqldb")

    def work(t: int) -> None:
        store.setitems({f"t{t}/{i}": bytes([t, i]) for i in range(50)})
        assert store.getitems([f"t{t}/{i}" for i in range(50)]) == {f"t{t}/{i}": bytes([t, i]) for i in range(50)}

    run_threads(work, 6)
    assert len(store) == 300
    store.close()


def test_getitems_many_keys(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        store.setitems({f"c/{i}": str(i).encode() for i in range(1200)})
        keys = [f"c/{i}" for i in range(0, 1300, 1)]
        got = store.getitems(keys + ["c/5"])
        assert len(got) == 1200 and got["c/1199"] == b"1199"


def test_memory_database(tmp_path: Path) -> None:
    store = SQLiteStore(":memory:")
    assert store.is_persistent is False and store.path == ":memory:"
    store["a"] = b"1"
    assert dict(store) == {"a": b"1"}
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(store)
    store.close()


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        store["a"] = b"1"
    before = (tmp_path / "s.sqldb").read_bytes()
    with SQLiteStore(tmp_path / "s.sqldb", read_only=True) as ro:
        with pytest.raises(ReadOnlyError, match="'b'") as info:
            ro["b"] = b"2"
        assert str(tmp_path / "s.sqldb") in str(info.value)
        for write in (lambda: ro.rmdir(), lambda: ro.rename("a", "c"), lambda: ro.delitems(["a"])):
            with pytest.raises(ReadOnlyError):
                write()
        assert dict(ro) == {"a": b"1"}
        clone = pickle.loads(pickle.dumps(ro))
        assert clone.read_only
        clone.close()
    assert (tmp_path / "s.sqldb").read_bytes() == before


def test_missing_file_read_only(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing.sqldb") as info:
        SQLiteStore(tmp_path / "missing.sqldb", read_only=True)
    assert isinstance(info.value.__cause__, sqlite3.Error)
    assert list(tmp_path.iterdir()) == []


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqldb"
    path.write_bytes(b"plain text, not sqlite" * 100)
    with pytest.raises(StoreError, match="notes.sqldb"):
        SQLiteStore(path)
    assert path.read_bytes() == b"plain text, not sqlite" * 100


def test_closed_store_raises_clear_errors(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqldb")
    store["a"] = b"1"
    store.close()
    store.close()
    calls = (lambda: store["a"], lambda: store.__setitem__("b", b"2"), lambda: list(store), lambda: store.listdir())
    for call in calls:
        with pytest.raises(StoreError, match="closed"):
            call()


def test_bad_keys_write_nothing(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqldb") as store:
        for key in ["../x", "/abs", "", "a/./b"]:
            with pytest.raises(InvalidKeyError):
                store.setitems({"ok": b"1", key: b"x"})
        assert len(store) == 0


def test_zarr2_reads_zarrflow_sqlite(tmp_path: Path, zarr2: Any) -> None:
    path = str(tmp_path / "ours.sqldb")
    with SQLiteStore(path) as store:
        root = zarrflow.group(store=store)
        root.attrs["n"] = 3
        root.zeros("g/x", shape=(5, 5), chunks=(2, 2), dtype="f4")[:] = np.arange(25, dtype="f4").reshape(5, 5)
    got = zarr2.run(
        """
        import warnings
        warnings.simplefilter('ignore')
        store = zarr.SQLiteStore(path)
        root = zarr.open_group(store, mode='r')
        result = {'n': root.attrs['n'], 'x': root['g/x'][:], 'ls': zarr.storage.listdir(store, 'g')}
        store.close()
        """,
        path=path,
    )
    np.testing.assert_array_equal(np.array(got["x"]), np.arange(25).reshape(5, 5))  # type: ignore[index]
    assert got["n"] == 3 and got["ls"] == [".zgroup", "x"]  # type: ignore[index]


def test_zarrflow_reads_zarr2_sqlite(tmp_path: Path, zarr2: Any) -> None:
    path = str(tmp_path / "theirs.sqldb")
    zarr2.run(
        """
        import warnings
        warnings.simplefilter('ignore')
        store = zarr.SQLiteStore(path)
        root = zarr.group(store=store, overwrite=True)
        root.zeros('a', shape=(4, 4), chunks=(2, 2), dtype='u1')[:] = 9
        store.close()
        """,
        path=path,
    )
    with SQLiteStore(path) as store:
        root = zarrflow.group(store=store)
        np.testing.assert_array_equal(root["a"][:], np.full((4, 4), 9, "u1"))
        root["a"][0, 0] = 1  # and write back, for zarr 2 to read
    got = zarr2.run(
        "import warnings; warnings.simplefilter('ignore')\n"
        "s = zarr.SQLiteStore(path); result = zarr.open_group(s)['a'][0, :2]",
        path=path,
    )
    assert got == [1, 9]

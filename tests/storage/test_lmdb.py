"""LMDBStore specifics: defaults, one environment per process, transactions, zarr 2 interop."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrflow
from zarrflow.errors import InvalidKeyError, ReadOnlyError, StoreError
from zarrflow.storage.lmdb import LMDBStore  # importable without lmdb

lmdb = pytest.importorskip("lmdb")


@pytest.fixture
def zarr2_lmdb(zarr2: Any) -> Any:
    """The zarr 2.18 oracle, skipped when its venv lacks lmdb (tests/oracles installs zarr only)."""
    if not zarr2.run("import importlib.util; result = importlib.util.find_spec('lmdb') is not None"):
        pytest.skip("the zarr 2.18 oracle venv has no lmdb: .venv-zarr2/bin/pip install lmdb")
    return zarr2


def test_tutorial_group(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "example.lmdb")
    root = zarrflow.group(store=store, overwrite=True)
    z = root.zeros("foo/bar", shape=(1000, 1000), chunks=(100, 100), dtype="i4")
    z[:] = 42
    store.close()
    with LMDBStore(tmp_path / "example.lmdb", readonly=True) as again:
        out = zarrflow.group(store=again)["foo/bar"][:]
        assert (out == 42).all() and out.shape == (1000, 1000)


def test_zarrflow_imports_without_lmdb() -> None:
    code = (
        "import sys; sys.modules['lmdb'] = None\n"
        "import zarrflow, zarrflow.storage.lmdb as m\n"
        "try:\n    m.LMDBStore('x')\nexcept ImportError as e:\n    print('IMPORT', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "IMPORT LMDBStore needs the 'lmdb' package" in out


def test_defaults_match_zarr2(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "s") as store:
        assert store.kwargs["map_size"] == 2**40
        assert store.kwargs["sync"] is False and store.kwargs["meminit"] is False
        assert store.db.info()["map_size"] == 2**40


def test_handles_in_one_process_share_the_environment(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "s")
    clone = pickle.loads(pickle.dumps(store))
    ro = LMDBStore(tmp_path / "s", readonly=True)
    assert clone.db is store.db and ro.db is store.db
    store["a"] = b"1"
    assert clone["a"] == b"1" and ro["a"] == b"1"
    store.close()
    assert clone["a"] == b"1"  # still open through the others
    clone.close()
    ro.close()
    with pytest.raises(StoreError, match="closed"):
        ro["a"]


def test_read_only_first_then_writer_is_refused(tmp_path: Path) -> None:
    LMDBStore(tmp_path / "s").close()
    ro = LMDBStore(tmp_path / "s", readonly=True)
    with pytest.raises(StoreError, match="read-only"):
        LMDBStore(tmp_path / "s")
    ro.close()
    LMDBStore(tmp_path / "s").close()


def test_pickle_is_small_and_keeps_kwargs(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "s", buffers=False, map_size=2**30, dimension_separator="/")
    blob = pickle.dumps(store)
    assert len(blob) < 300
    clone = pickle.loads(blob)
    assert clone.buffers is False and clone.kwargs["map_size"] == 2**30 and clone.dimension_separator == "/"
    clone.close()
    store.close()


def test_setitems_is_one_transaction(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "s") as store:
        store["a"] = b"old"
        with pytest.raises(InvalidKeyError, match="511"):
            store.setitems({"a": b"new", "k" * 600: b"x"})
        assert dict(store) == {"a": b"old"}
        with pytest.raises(TypeError):
            store.setitems({"a": b"new", "b": "text"})
        assert dict(store) == {"a": b"old"}


def test_map_full_is_store_error_and_nothing_written(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "s", map_size=2**20) as store:
        store["small"] = b"1"
        with pytest.raises(StoreError, match="big") as info:
            store.setitems({"a": b"2", "big": b"x" * 2**21})
        assert isinstance(info.value.__cause__, lmdb.Error)
        assert dict(store) == {"small": b"1"}


def test_listdir_skips_subtrees(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "s") as store:
        store.setitems({f"arr/{i}/{j}": b"x" for i in range(20) for j in range(20)})
        store.setitems({"arr/.zarray": b"{}", "arr.x": b"1", "arr/0.5": b"2"})
        assert store.listdir("arr") == sorted([".zarray", "0.5"] + [str(i) for i in range(20)])
        assert store.listdir() == ["arr", "arr.x"]
        store.rename("arr", "moved")
        assert store.listdir() == ["arr.x", "moved"] and len(store.keys_under("moved")) == 402


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "s") as store:
        store["a"] = b"1"
    with LMDBStore(tmp_path / "s", readonly=True) as ro:
        with pytest.raises(ReadOnlyError, match="'b'") as info:
            ro["b"] = b"2"
        assert str(tmp_path / "s") in str(info.value)
        assert dict(ro) == {"a": b"1"}


def test_missing_directory_read_only(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing") as info:
        LMDBStore(tmp_path / "missing", readonly=True)
    assert isinstance(info.value.__cause__, lmdb.Error)
    assert list(tmp_path.iterdir()) == []


def test_closed_store_raises_clear_errors(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "s")
    store["a"] = b"1"
    store.close()
    store.close()
    for call in (lambda: store["a"], lambda: store.__setitem__("b", b"2"), lambda: list(store), lambda: len(store)):
        with pytest.raises(StoreError, match="closed"):
            call()


def test_zarr2_reads_zarrflow_lmdb(tmp_path: Path, zarr2_lmdb: Any) -> None:
    path = str(tmp_path / "ours.lmdb")
    with LMDBStore(path) as store:
        zarrflow.group(store=store).zeros("x", shape=(6, 6), chunks=(4, 4), dtype="i8")[:] = np.arange(36).reshape(6, 6)
    got = zarr2_lmdb.run(
        """
        import warnings
        warnings.simplefilter('ignore')
        store = zarr.LMDBStore(path)
        result = zarr.open_group(store, mode='r')['x'][:]
        store.close()
        """,
        path=path,
    )
    np.testing.assert_array_equal(np.array(got), np.arange(36).reshape(6, 6))


def test_zarrflow_reads_zarr2_lmdb(tmp_path: Path, zarr2_lmdb: Any) -> None:
    path = str(tmp_path / "theirs.lmdb")
    zarr2_lmdb.run(
        """
        import warnings
        warnings.simplefilter('ignore')
        store = zarr.LMDBStore(path)
        root = zarr.group(store=store, overwrite=True)
        root.zeros('a/b', shape=(7,), chunks=(3,), dtype='i4')[:] = np.arange(7)
        store.close()
        """,
        path=path,
    )
    with LMDBStore(path, readonly=True) as store:
        np.testing.assert_array_equal(zarrflow.group(store=store)["a/b"][:], np.arange(7))

"""copy_store_parallel: same keys, bytes, counts and log lines as the serial
copy_store, on threads, processes and a LocalCluster; metadata written last."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask")

import zarrflow
from tests.storage.s3_server import fresh_bucket, s3_server  # noqa: F401 - s3_server is a fixture
from zarrflow.copying import copy_store
from zarrflow.errors import CopyError
from zarrflow.format import is_metadata_key
from zarrflow.graph import copy as gcopy
from zarrflow.graph.copy import copy_store_parallel
from zarrflow.storage import DirectoryStore, FSStore


def make_source(path) -> DirectoryStore:
    store = DirectoryStore(str(path))
    root = zarrflow.group(store=store, overwrite=True)
    root.attrs["title"] = "source"
    a = root.create_dataset("dot", shape=(20, 9), chunks=(4, 4), dtype="i4", dimension_separator=".")
    a[...] = np.arange(180, dtype="i4").reshape(20, 9)
    a.attrs["units"] = "m"
    sub = root.create_group("sub/deeper")
    sub.attrs["level"] = 2
    b = sub.create_dataset("slash", shape=(7, 6, 5), chunks=(3, 2, 5), dtype="f8", dimension_separator="/")
    b[...] = np.linspace(0, 1, 210).reshape(7, 6, 5)
    c = root.create_dataset("partly", shape=(30,), chunks=(4,), dtype="u1", fill_value=7)
    c[:10] = 1  # some chunks never written
    return store


def contents(store, path: str = "") -> dict[str, bytes]:
    prefix = path + "/" if path else ""
    return {k[len(prefix):]: bytes(store[k]) for k in store.keys_under(path)}


@pytest.fixture
def source(tmp_path):
    return make_source(tmp_path / "src.zarr")


def test_copy_equals_source_and_serial(scheduler, source, tmp_path):
    serial_log, parallel_log = [], []
    expected = copy_store(source, DirectoryStore(str(tmp_path / "serial.zarr")), log=serial_log.append)
    dest = DirectoryStore(str(tmp_path / "dst.zarr"))
    got = copy_store_parallel(source, dest, batch=3, log=parallel_log.append, **scheduler.kwargs)
    assert got == expected
    assert got[0] == len(source.keys_under("")) and got[1] == 0
    assert sorted(parallel_log[:-1]) == sorted(serial_log[:-1]) and parallel_log[-1] == serial_log[-1]
    assert contents(dest) == contents(source)
    copied = zarrflow.open_group(str(tmp_path / "dst.zarr"), mode="r")
    np.testing.assert_array_equal(copied["sub/deeper/slash"][...], np.linspace(0, 1, 210).reshape(7, 6, 5))
    assert copied.attrs["title"] == "source" and copied["dot"].attrs["units"] == "m"


def test_paths_and_selection_match_serial(source, tmp_path):
    kw = {"source_path": "sub", "dest_path": "moved/here", "excludes": [r"\.zattrs$", "slash/1"],
          "includes": "slash/1/0"}
    expected_log, got_log = [], []
    d1, d2 = DirectoryStore(str(tmp_path / "a.zarr")), DirectoryStore(str(tmp_path / "b.zarr"))
    expected = copy_store(source, d1, log=expected_log.append, **kw)
    got = copy_store_parallel(source, d2, log=got_log.append, scheduler="threads", batch=2, **kw)
    assert got == expected and got_log == expected_log  # key order kept: metadata are listed first/in place
    assert contents(d2) == contents(d1)
    assert any(k.startswith("moved/here/deeper/slash/1/0") for k in d2.keys_under(""))


def test_if_exists(source, tmp_path):
    dest = DirectoryStore(str(tmp_path / "dst.zarr"))
    n = copy_store_parallel(source, dest, scheduler="threads")
    total = n[0]
    before = contents(dest)
    dest["dot/0.0"] = b"changed"
    with pytest.raises(CopyError, match="exists in destination"):
        copy_store_parallel(source, dest, scheduler="threads")
    assert dest["dot/0.0"] == b"changed"  # nothing written on 'raise'
    log = []
    assert copy_store_parallel(source, dest, if_exists="skip", scheduler="threads", log=log.append) == (0, total, 0)
    assert dest["dot/0.0"] == b"changed" and log[-1] == f"all done: 0 copied, {total} skipped, 0 bytes copied"
    del dest["partly/.zarray"]
    n_c, n_s, _ = copy_store_parallel(source, dest, if_exists="skip", scheduler="threads")
    assert (n_c, n_s) == (1, total - 1) and "partly/.zarray" in dest
    assert copy_store_parallel(source, dest, if_exists="replace", scheduler="threads") == n
    assert contents(dest) == before
    with pytest.raises(ValueError, match="if_exists"):
        copy_store_parallel(source, dest, if_exists="skip_initialized")


def test_counts_equal_serial_with_skips(source, tmp_path):
    d1, d2 = DirectoryStore(str(tmp_path / "a.zarr")), DirectoryStore(str(tmp_path / "b.zarr"))
    for d in (d1, d2):
        copy_store(source, d, source_path="sub")
        d["sub/deeper/slash/0/0/0"] = b"x"
    assert (copy_store_parallel(source, d2, if_exists="skip", scheduler="threads")
            == copy_store(source, d1, if_exists="skip"))
    assert contents(d1) == contents(d2)


def test_dry_run_writes_nothing(source, tmp_path):
    dest = DirectoryStore(str(tmp_path / "dst.zarr"))
    log = []
    n_c, n_s, n_b = copy_store_parallel(source, dest, dry_run=True, log=log.append, scheduler="threads")
    assert (n_c, n_s, n_b) == copy_store(source, {}, dry_run=True)
    assert n_c == len(source.keys_under("")) and n_b == 0
    assert list(dest.keys_under("")) == []
    assert log[-1] == f"dry run: {n_c:,} copied, 0 skipped"


def test_metadata_written_after_every_chunk(source, tmp_path, monkeypatch):
    dest = DirectoryStore(str(tmp_path / "dst.zarr"))
    order = []
    real = gcopy.copy_keys

    def spy(src, dst, pairs):
        order.append([d for _, d in pairs])
        return real(src, dst, pairs)

    monkeypatch.setattr(gcopy, "copy_keys", spy)
    copy_store_parallel(source, dest, batch=4, scheduler="threads")
    *chunk_batches, last = order
    assert all(not is_metadata_key(k) for b in chunk_batches for k in b)
    assert all(len(b) <= 4 for b in chunk_batches)
    assert sorted(last) == sorted(k for k in source.keys_under("") if is_metadata_key(k))


def test_memory_destination_refused_on_processes(source):
    with pytest.raises(ValueError, match="memory"):
        copy_store_parallel(source, zarrflow.MemoryStore(), scheduler="processes")
    dest = zarrflow.MemoryStore()
    assert copy_store_parallel(source, dest, scheduler="threads")[0] == len(source.keys_under(""))
    assert contents(dest) == contents(source)


def test_local_to_s3_and_back(s3_server, tmp_path):
    store = DirectoryStore(str(tmp_path / "small.zarr"))
    root = zarrflow.group(store=store)
    root.attrs["k"] = 1
    a = root.create_dataset("x", shape=(10, 4), chunks=(3, 4), dtype="i2", dimension_separator="/")
    a[...] = np.arange(40, dtype="i2").reshape(10, 4)
    url = f"s3://{fresh_bucket(s3_server)}/copy.zarr"
    remote = FSStore(url, **s3_server.storage_options())
    up = copy_store_parallel(store, remote, scheduler="threads", batch=2)
    assert up == copy_store(store, {})
    back = DirectoryStore(str(tmp_path / "back.zarr"))
    assert copy_store_parallel(FSStore(url, mode="r", **s3_server.storage_options()), back,
                               scheduler="threads") == up
    assert contents(back) == contents(store)

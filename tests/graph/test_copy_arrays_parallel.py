"""copy / copy_all / copy_store with ``parallel=``: the same counts, log lines and
destination as the serial copies, on every scheduler; stored bytes copied as they
are when the encodings agree, decoded and re-encoded otherwise; arrays created by a
failed copy removed again; stores worker processes cannot write refused (explicit)
or copied serially (implicit, while a client is active)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask")

import zarrflow
from tests.graph.test_copy_parallel import contents, make_source
from tests.storage.s3_server import fresh_bucket, s3_server  # noqa: F401 - s3_server is a fixture
from zarrflow.copying import parallel_requested
from zarrflow.errors import ChunkDecodeError, CopyError
from zarrflow.graph import tasks
from zarrflow.graph.copy import ParallelArrayCopy
from zarrflow.storage import DirectoryStore, FSStore, ZipStore

SLASH = np.linspace(0, 1, 210).reshape(7, 6, 5)


@pytest.fixture
def source(tmp_path):
    make_source(tmp_path / "src.zarr")
    return zarrflow.open_group(str(tmp_path / "src.zarr"), mode="r")


def new_group(tmp_path, name):
    return zarrflow.open_group(str(tmp_path / name), mode="w")


def chunk_values(store) -> list[bytes]:
    """The stored chunk values, sorted: equal when the same chunks travelled as bytes
    (keys may differ: the copies create arrays with '.' separators, as zarr 2)."""
    return sorted(v for k, v in contents(store).items() if not k.rpartition("/")[2].startswith(".z"))


def assert_same_hierarchy(a, b):
    assert sorted(a.keys()) == sorted(b.keys())
    assert a.attrs.asdict() == b.attrs.asdict()
    for name, member in a.items():
        other = b[name]
        if isinstance(member, zarrflow.Array):
            assert isinstance(other, zarrflow.Array)
            assert (member.shape, member.dtype, member.chunks) == (other.shape, other.dtype, other.chunks)
            assert member.attrs.asdict() == other.attrs.asdict()
            np.testing.assert_array_equal(member[...], other[...])
        else:
            assert_same_hierarchy(member, other)


@pytest.mark.parametrize("create_kws", [{}, {"order": "F"}, {"compressor": None}],
                         ids=["bytes", "reorder", "recompress"])
def test_copy_all_equals_serial(scheduler, source, tmp_path, create_kws):
    serial_log, parallel_log = [], []
    serial = new_group(tmp_path, "serial.zarr")
    parallel = new_group(tmp_path, "parallel.zarr")
    kws = dict(create_kws)
    expected = zarrflow.copy_all(source, serial, log=serial_log.append, **kws)
    got = zarrflow.copy_all(source, parallel, log=parallel_log.append, parallel=True, **kws, **scheduler.kwargs)
    assert got == expected
    assert parallel_log == serial_log
    if create_kws:  # decoded and re-encoded: what the serial copy writes, key for key
        assert contents(parallel.store) == contents(serial.store)
    else:  # stored bytes: the source's chunks as they are (keys renamed to '.'-separated, as
        # zarr 2's copy creates arrays); never-written chunks stay unwritten
        got, written = contents(parallel.store), contents(serial.store)
        assert set(got) <= set(written)
        assert chunk_values(parallel.store) == chunk_values(source.store) != []
    assert_same_hierarchy(source, parallel)


def test_equal_encodings_copy_stored_bytes_renaming_keys(source, tmp_path):
    dest = new_group(tmp_path, "d.zarr")
    plan = ParallelArrayCopy(scheduler="threads")
    ds = dest.create_dataset("dot", shape=(20, 9), chunks=(4, 4), dtype="i4", compressor=source["dot"].compressor,
                             fill_value=source["dot"].fill_value, dimension_separator="/")
    assert plan.add(source["dot"], ds) == "bytes"
    assert plan.recode == [] and len(plan.raw) == 1
    pairs = plan.raw[0][2]
    assert ("dot/0.1", "dot/0/1") in pairs and len(pairs) == source["dot"].nchunks_initialized
    plan.run()
    src_store = source.store
    for s_key, d_key in pairs:
        assert bytes(dest.store[d_key]) == bytes(src_store[s_key])
    np.testing.assert_array_equal(ds[...], source["dot"][...])


def test_rechunked_copy_equals_serial(scheduler, source, tmp_path):
    serial, parallel = new_group(tmp_path, "s.zarr"), new_group(tmp_path, "p.zarr")
    serial_log, parallel_log = [], []
    expected = zarrflow.copy(source["dot"], serial, log=serial_log.append, chunks=(5, 3))
    got = zarrflow.copy(source["dot"], parallel, log=parallel_log.append, chunks=(5, 3), parallel=True,
                        **scheduler.kwargs)
    assert got == expected and parallel_log == serial_log
    assert contents(parallel.store) == contents(serial.store)
    np.testing.assert_array_equal(parallel["dot"][...], source["dot"][...])


def test_different_encodings_recode_one_writer_per_chunk(source, tmp_path):
    dest = new_group(tmp_path, "d.zarr")
    ds = dest.create_dataset("slash", shape=SLASH.shape, chunks=(2, 4, 5), dtype="f8")
    plan = ParallelArrayCopy(scheduler="threads", task_bytes=2 * 4 * 5 * 8)  # one chunk per task
    assert plan.add(source["sub/deeper/slash"], ds) == "recode"
    regions = [r for _, _, r in plan.recode]
    assert len(regions) == ds.nchunks  # slabs of whole destination chunks, one writer each
    for region in regions:
        assert all(s.start % c == 0 for s, c in zip(region, ds.chunks))
    plan.run()
    np.testing.assert_array_equal(ds[...], SLASH)


def test_fill_value_or_dtype_change_is_recoded(source, tmp_path):
    dest = new_group(tmp_path, "d.zarr")
    zarrflow.copy(source["partly"], dest, parallel=True, scheduler="threads", fill_value=9)
    expected = source["partly"][...].copy()
    np.testing.assert_array_equal(dest["partly"][...], expected)  # unwritten chunks read 7, as in the source
    assert dest["partly"].fill_value == 9


def test_progress_bar_on_local_scheduler(source, tmp_path, capsys):
    zarrflow.copy_all(source, new_group(tmp_path, "d.zarr"), parallel=True, progress=True, scheduler="threads")
    out = capsys.readouterr().out
    assert "[" in out and "100%" in out and "Completed" in out


def test_conflict_midway_changes_nothing_like_serial(source, tmp_path):
    serial, parallel = new_group(tmp_path, "s.zarr"), new_group(tmp_path, "p.zarr")
    for g in (serial, parallel):
        g.zeros("partly", shape=3)  # copy_all would meet it after 'dot' and 'sub'
    before = contents(serial.store)
    with pytest.raises(CopyError, match="'partly' already exists"):
        zarrflow.copy_all(source, serial)
    with pytest.raises(CopyError, match="'partly' already exists"):
        zarrflow.copy_all(source, parallel, parallel=True, scheduler="threads")
    assert contents(serial.store) == before  # every conflict is found before the first write
    assert contents(parallel.store) == contents(serial.store)


def test_failed_data_copy_removes_the_arrays_it_created(tmp_path):
    src = zarrflow.open_group(str(tmp_path / "src.zarr"), mode="w")
    a = src.create_dataset("a", shape=(8,), chunks=(4,), dtype="i4")
    a[...] = np.arange(8)
    src.store["a/1"] = b"garbage, not blosc"
    dest = new_group(tmp_path, "d.zarr")
    dest.ones("keep", shape=2)
    before = contents(dest.store)
    with pytest.raises(ChunkDecodeError, match="a/1"):
        zarrflow.copy_all(src, dest, parallel=True, scheduler="threads", chunks=(8,))  # recode: decodes
    assert contents(dest.store) == before


@pytest.mark.filterwarnings("ignore:Duplicate name")  # a ZipStore appends a new .zattrs: zip's own behaviour
@pytest.mark.parametrize("kind", ["memory", "zip"])
def test_stores_workers_cannot_write_are_refused_explicitly(source, tmp_path, kind):
    store = zarrflow.MemoryStore() if kind == "memory" else ZipStore(str(tmp_path / "d.zip"), mode="w")
    dest = zarrflow.group(store=store)
    dest.attrs["keep"] = 1
    before = contents(store)
    match = "memory" if kind == "memory" else "ZipStore.*one process at a time"
    with pytest.raises(ValueError, match=match):
        zarrflow.copy_all(source, dest, parallel=True, scheduler="processes", without_attrs=True)
    assert contents(store) == before  # the arrays it had created are gone again
    assert zarrflow.copy_all(source, dest, parallel=True, scheduler="threads") == zarrflow.copy_all(
        source, new_group(tmp_path, "ref.zarr"))
    assert dest.attrs.asdict() == {"keep": 1, "title": "source"}
    assert sorted(dest.keys()) == sorted(source.keys())
    assert_same_hierarchy(source["sub"], dest["sub"])
    np.testing.assert_array_equal(dest["dot"][...], source["dot"][...])
    if kind == "zip":
        store.close()


def test_active_client_copies_in_parallel_or_serially_when_it_must(source, tmp_path, cluster_client):
    with cluster_client.as_current():
        assert parallel_requested(None)
        dest = new_group(tmp_path, "d.zarr")
        assert zarrflow.copy_all(source, dest) == zarrflow.copy_all(source, new_group(tmp_path, "ref.zarr"),
                                                                    parallel=False)
        assert_same_hierarchy(source, dest)
        memory = zarrflow.group(store=zarrflow.MemoryStore())  # workers cannot write it: serial fallback
        zarrflow.copy_all(source, memory)
        assert_same_hierarchy(source, memory)
    assert not parallel_requested(None) or parallel_requested(False) is False


def test_copy_store_parallel_flag_delegates(tmp_path):
    store = make_source(tmp_path / "src.zarr")
    log_s, log_p = [], []
    dest = DirectoryStore(str(tmp_path / "d.zarr"))
    assert zarrflow.copy_store(store, dest, parallel=True, scheduler="threads", log=log_p.append) == \
        zarrflow.copy_store(store, {}, log=log_s.append)
    assert sorted(log_p) == sorted(log_s)
    assert contents(dest) == contents(store)


def test_copy_tasks_are_idempotent(source, tmp_path):
    dest = new_group(tmp_path, "d.zarr")
    ds = dest.create_dataset("slash", shape=SLASH.shape, chunks=(2, 4, 5), dtype="f8")
    src_ref = tasks.layout_of(source["sub/deeper/slash"])
    dst_ref = tasks.layout_of(ds)
    region = (slice(0, 2), slice(0, 6), slice(0, 5))
    tasks.copy_region(src_ref, dst_ref, region)
    first = contents(dest.store)
    tasks.copy_region(src_ref, dst_ref, region)
    assert contents(dest.store) == first


def test_local_to_s3_to_local_with_copy_all(s3_server, source, tmp_path):
    url = f"s3://{fresh_bucket(s3_server)}/hierarchy.zarr"
    remote = zarrflow.open_group(FSStore(url, **s3_server.storage_options()), mode="w")
    up = zarrflow.copy_all(source, remote, parallel=True, scheduler="threads", progress=False)
    assert up == zarrflow.copy_all(source, new_group(tmp_path, "ref.zarr"))
    back = new_group(tmp_path, "back.zarr")
    remote_r = zarrflow.open_group(FSStore(url, mode="r", **s3_server.storage_options()), mode="r")
    assert zarrflow.copy_all(remote_r, back, parallel=True, scheduler="processes") == up
    assert_same_hierarchy(source, back)
    assert chunk_values(back.store) == chunk_values(source.store)  # same encodings: the very bytes came back


def test_copy_store_with_an_active_client(tmp_path, cluster_client):
    """Implicitly parallel while a client is active (seen by how a conflict is met:
    the parallel copy finds it before writing anything), serial into stores worker
    processes cannot write (a dict)."""
    store = make_source(tmp_path / "src.zarr")
    with cluster_client.as_current():
        dest = DirectoryStore(str(tmp_path / "d.zarr"))
        dest["sub/deeper/.zattrs"] = b"{}"  # a conflict late in key order
        with pytest.raises(CopyError, match="sub/deeper/.zattrs"):
            zarrflow.copy_store(store, dest)
        assert list(dest.keys()) == ["sub/deeper/.zattrs"]  # parallel: nothing written first
        plain = {}
        assert zarrflow.copy_store(store, plain) == zarrflow.copy_store(store, {}, parallel=False)
        assert contents(zarrflow.KVStore(plain)) == contents(store)

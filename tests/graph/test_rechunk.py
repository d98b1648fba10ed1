"""``zarrflow.rechunk``: results equal the source exactly, on every store that takes
parallel writes and every scheduler; resume after a kill; bad input writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numcodecs import Blosc, Delta, Zlib

pytest.importorskip("dask")

import zarrflow
from tests.storage.s3_server import fresh_bucket, s3_server  # noqa: F401 - s3_server is a fixture
from zarrflow.errors import ContainsArrayError, RechunkPlanError
from zarrflow.graph.rechunk_records import RECORD_DIR
from zarrflow.storage import FSStore, MemoryStore, N5Store, NestedDirectoryStore

REPO = Path(__file__).resolve().parents[2]


def source_array(store, data, chunks, **kw):
    z = zarrflow.open_array(store, mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype, **kw)
    z[...] = data
    return z


def snapshot(path: Path) -> dict[str, bytes]:
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# --- results ---------------------------------------------------------------------------


def test_array_two_stages_with_attributes_and_cleanup(tmp_path):
    data = np.random.default_rng(0).random((60, 40, 30)).astype("f4")
    src = source_array(str(tmp_path / "src.zarr"), data, (1, 40, 30), fill_value=-1.0)
    src.attrs.update({"units": "K", "_ARRAY_DIMENSIONS": ["time", "y", "x"]})
    plan = zarrflow.rechunk(src, (60, 5, 5), "64kB", str(tmp_path / "dst.zarr"), temp_store=str(tmp_path / "tmp"))
    text = repr(plan)
    assert "stage 1" in text and "stage 2" in text and "per task" in text
    assert len(plan.plans[""].stages) == 2
    assert not (tmp_path / "dst.zarr").exists()  # planning writes nothing
    out = plan.execute()
    assert out.chunks == (60, 5, 5)
    assert out.fill_value == -1.0 and out.dtype == data.dtype
    assert out.attrs.asdict() == {"units": "K", "_ARRAY_DIMENSIONS": ["time", "y", "x"]}
    np.testing.assert_array_equal(out[...], data)
    assert not any(name.startswith(".zarrflow") for name in os.listdir(tmp_path / "dst.zarr"))
    assert os.listdir(tmp_path / "tmp") == []  # intermediates removed
    report = plan.report
    assert report.tasks_skipped == 0 and report.tasks_run == plan.n_tasks
    # bytes the tasks counted equal the planner's count (every chunk exists)
    assert report.bytes_read == plan.plans[""].bytes_read
    assert report.bytes_written == plan.plans[""].bytes_written


def test_dimension_names_and_whole_axis(tmp_path):
    data = np.arange(24 * 10, dtype="i2").reshape(24, 10)
    src = source_array(MemoryStore(), data, (1, 10))
    src.attrs["_ARRAY_DIMENSIONS"] = ["time", "x"]
    out = zarrflow.rechunk(src, {"time": -1}, "1MB", MemoryStore()).execute()
    assert out.chunks == (24, 10)
    np.testing.assert_array_equal(out[...], data)


def test_target_options_change_the_encoding(tmp_path):
    data = np.arange(1000, dtype="i8").reshape(10, 100)
    src = source_array(MemoryStore(), data, (1, 100))
    out = zarrflow.rechunk(src, (10, 10), "1MB", str(tmp_path / "t.zarr"),
                           target_options={"compressor": Zlib(level=1), "filters": [Delta(dtype="i8")]}).execute()
    assert out.compressor == Zlib(level=1) and out.filters == [Delta(dtype="i8")]
    np.testing.assert_array_equal(out[...], data)
    # zarr-python reads what rechunk wrote
    zarr = pytest.importorskip("zarr")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "t.zarr"), mode="r")[...], data)


def test_none_copies_unchanged_with_stored_bytes(tmp_path):
    data = np.arange(100, dtype="u1").reshape(10, 10)
    src = source_array(str(tmp_path / "s.zarr"), data, (3, 3))
    out = zarrflow.rechunk(src, None, "1MB", str(tmp_path / "t.zarr")).execute()
    assert out.chunks == (3, 3)
    for key in src.layout.stored_chunk_keys():
        assert (tmp_path / "t.zarr" / key).read_bytes() == (tmp_path / "s.zarr" / key).read_bytes()


def test_uninitialised_chunks_stay_uninitialised(tmp_path):
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="w", shape=(20, 20), chunks=(5, 20), dtype="i4",
                              fill_value=7)
    src[0:5] = 1  # only the first chunk row is written
    out = zarrflow.rechunk(src, (20, 5), "1MB", str(tmp_path / "t.zarr")).execute()
    expected = np.full((20, 20), 7, dtype="i4")
    expected[0:5] = 1
    np.testing.assert_array_equal(out[...], expected)
    assert out.nchunks_initialized == 4  # every (20, 5) chunk holds part of the written row
    empty = zarrflow.open_array(str(tmp_path / "e.zarr"), mode="w", shape=(20, 20), chunks=(5, 5), dtype="i4")
    out = zarrflow.rechunk(empty, (10, 10), "1MB", str(tmp_path / "te.zarr")).execute()
    assert out.nchunks_initialized == 0
    np.testing.assert_array_equal(out[...], 0)


def test_group_with_nested_arrays(tmp_path):
    root = zarrflow.open_group(str(tmp_path / "g.zarr"), mode="w")
    root.attrs["title"] = "era"
    a = np.arange(400, dtype="f8").reshape(20, 20)
    b = np.arange(20, dtype="i4")
    root.create_dataset("t2m", data=a, chunks=(1, 20))
    sub = root.create_group("sub")
    sub.attrs["kind"] = "nested"
    sub.create_dataset("lat", data=b, chunks=(5,))
    plan = zarrflow.rechunk(root, {"t2m": (20, 2), "sub/lat": None}, "1MB", str(tmp_path / "out.zarr"),
                            temp_store=str(tmp_path / "tmp.zarr"))
    out = plan.execute()
    assert isinstance(out, zarrflow.Group)
    assert out.attrs["title"] == "era" and out["sub"].attrs["kind"] == "nested"
    assert out["t2m"].chunks == (20, 2) and out["sub/lat"].chunks == (5,)
    np.testing.assert_array_equal(out["t2m"][...], a)
    np.testing.assert_array_equal(out["sub/lat"][...], b)


def test_edge_chunks_zero_d_one_d_and_empty(tmp_path):
    cases = [
        (np.arange(37, dtype="i4"), (5,), (7,)),
        (np.array(3.5), (), ()),
        (np.zeros((0, 7), dtype="f4"), (3, 3), (2, 7)),
        (np.arange(7 * 11 * 13, dtype="u2").reshape(7, 11, 13), (2, 11, 13), (7, 3, 4)),
    ]
    for i, (data, a, b) in enumerate(cases):
        src = source_array(MemoryStore(), data, a if a else True)
        out = zarrflow.rechunk(src, b, "1MB", MemoryStore(), temp_store=MemoryStore()).execute()
        assert out.chunks == (b if b else ()), i
        np.testing.assert_array_equal(out[...], data)


def test_object_structured_and_filtered_arrays():
    import warnings

    from numcodecs import VLenUTF8

    strings = np.array([f"s{i}" * (i % 4) for i in range(60)], dtype=object).reshape(6, 10)
    structured = np.zeros((20, 5), dtype=[("a", "i4"), ("b", "f8", (2,))])
    structured["a"] = np.arange(100).reshape(20, 5)
    ints = np.arange(200, dtype="i8").reshape(20, 10)
    cases = [(strings, {"object_codec": VLenUTF8()}, (6, 2)), (structured, {}, (20, 1)),
             (ints, {"filters": [Delta(dtype="i8")]}, (20, 1))]
    for data, kw, target in cases:
        z = zarrflow.open_array(MemoryStore(), mode="w", shape=data.shape, chunks=(1, data.shape[1]),
                                dtype=data.dtype, **kw)
        z[...] = data
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = zarrflow.rechunk(z, target, "10kB", MemoryStore(), temp_store=MemoryStore()).execute()
        assert out.filters == z.filters and out.chunks == target
        np.testing.assert_array_equal(out[...], data)


DTYPES = ["i1", "u2", ">i4", "f4", "<f8", "c8", "bool", "M8[s]", "m8[ms]", "S3", "U2"]


@st.composite
def rechunk_cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 14)) for _ in range(ndim))
    a = tuple(draw(st.integers(1, n + 2)) for n in shape)
    b = tuple(draw(st.integers(1, n + 2)) for n in shape)
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    order = draw(st.sampled_from("CF"))
    compressor = draw(st.sampled_from([None, Blosc(cname="lz4", shuffle=Blosc.SHUFFLE), Zlib(level=1)]))
    budget_factor = draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**16))
    return shape, a, b, dtype, order, compressor, budget_factor, seed


def random_data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 100, size=shape)
    if dtype.kind == "S":
        return raw.astype("S3")
    if dtype.kind == "U":
        return raw.astype("U2")
    if dtype.kind in "Mm":
        return raw.astype("i8").astype(dtype)
    if dtype.kind == "c":
        return (raw + 1j * rng.integers(0, 9, size=shape)).astype(dtype)
    return raw.astype(dtype)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rechunk_cases())
def test_random_rechunks_equal_the_source(case):
    shape, a, b, dtype, order, compressor, factor, seed = case
    data = random_data(shape, dtype, seed)
    src = source_array(MemoryStore(), data, a, order=order, compressor=compressor)
    from zarrflow.graph.rechunk_plan import minimum_memory

    mem = minimum_memory(src.chunks, b, dtype.itemsize, shape=shape) * factor
    plan = zarrflow.rechunk(src, b, mem, MemoryStore(), temp_store=MemoryStore())
    for p in plan.plans.values():
        assert all(s.task_memory <= mem for s in p.stages)
    out = plan.execute(scheduler="threads")
    assert out.chunks == b and out.order == order and out.dtype == dtype
    np.testing.assert_array_equal(out[...], data)


@pytest.mark.parametrize("kind", ["nested", "n5", "fsspec-file"])
def test_other_stores(tmp_path, kind):
    data = np.arange(30 * 20, dtype="i4").reshape(30, 20)
    if kind == "nested":
        make = lambda name: NestedDirectoryStore(str(tmp_path / name))
    elif kind == "n5":
        make = lambda name: N5Store(str(tmp_path / (name + ".n5")))
    else:
        make = lambda name: FSStore(str(tmp_path / name))
    src = source_array(make("src"), data, (1, 20))
    out = zarrflow.rechunk(src, (30, 2), "4kB", make("dst"), temp_store=make("tmp")).execute()
    np.testing.assert_array_equal(out[...], data)
    assert out.chunks == (30, 2)


def test_every_scheduler(scheduler, tmp_path):
    data = np.arange(40 * 30, dtype="f8").reshape(40, 30)
    src = source_array(str(tmp_path / "s.zarr"), data, (1, 30))
    plan = zarrflow.rechunk(src, (40, 3), "16kB", str(tmp_path / "t.zarr"), temp_store=str(tmp_path / "x.zarr"))
    out = plan.execute(**scheduler.kwargs)
    np.testing.assert_array_equal(out[...], data)
    assert plan.report.bytes_read == plan.plans[""].bytes_read


def test_s3_to_s3(s3_server):
    bucket = fresh_bucket(s3_server)
    opts = s3_server.storage_options()
    data = np.arange(24 * 16, dtype="i4").reshape(24, 16)
    src = source_array(FSStore(f"s3://{bucket}/src.zarr", **opts), data, (1, 16))
    plan = zarrflow.rechunk(src, (24, 2), "8kB", f"s3://{bucket}/dst.zarr", temp_store=f"s3://{bucket}/tmp",
                            storage_options=opts)
    out = plan.execute(scheduler="processes")
    np.testing.assert_array_equal(out[...], data)
    reread = zarrflow.open_array(FSStore(f"s3://{bucket}/dst.zarr", **opts), mode="r")
    assert reread.chunks == (24, 2)
    np.testing.assert_array_equal(reread[...], data)
    fs = FSStore(f"s3://{bucket}/tmp", **opts)
    assert list(fs.keys()) == []


# --- resume ----------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import os, signal, sys
    import dask
    from dask.callbacks import Callback
    import zarrflow
    src, dst, tmp, kill_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    class KillAfter(Callback):
        done = 0
        def _posttask(self, key, result, dsk, state, id):
            if isinstance(key, tuple) and str(key[0]).startswith("zarrflow-rechunk-"):
                KillAfter.done += 1
                if KillAfter.done >= kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)

    plan = zarrflow.rechunk(zarrflow.open_array(src, mode="r"), (128, 8, 8), "200kB", dst, temp_store=tmp)
    print(len(plan.plans[""].stages), plan.n_tasks, flush=True)
    with KillAfter():
        plan.execute(scheduler="synchronous")
""")


def make_stack(tmp_path):
    data = np.random.default_rng(1).integers(0, 1000, size=(128, 64, 64)).astype("i4")
    source_array(str(tmp_path / "s.zarr"), data, (1, 64, 64))
    return data


@pytest.mark.parametrize("kill_after", [3, 20])  # 16 tasks in stage 1, 32 in stage 2
def test_resume_after_sigkill(tmp_path, kill_after):
    data = make_stack(tmp_path)
    args = [str(tmp_path / n) for n in ("s.zarr", "t.zarr", "x.zarr")]
    proc = subprocess.run([sys.executable, "-c", CHILD, *args, str(kill_after)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    n_stages, n_tasks = map(int, proc.stdout.split())
    assert n_stages == 2 and n_tasks > kill_after
    assert (tmp_path / "t.zarr" / RECORD_DIR / "plan.json").exists()
    # a fresh plan of the same rechunk resumes it; a different one is refused
    with pytest.raises(ValueError, match="unfinished rechunk of a different plan"):
        zarrflow.rechunk(zarrflow.open_array(args[0], mode="r"), (128, 4, 4), "200kB", args[1], temp_store=args[2])
    plan = zarrflow.rechunk(zarrflow.open_array(args[0], mode="r"), (128, 8, 8), "200kB", args[1],
                            temp_store=args[2])
    assert plan.resuming and "resuming" in repr(plan)
    out = plan.execute()
    np.testing.assert_array_equal(out[...], data)
    assert plan.report.tasks_skipped == kill_after
    assert plan.report.tasks_run == n_tasks - kill_after
    assert not (tmp_path / "t.zarr" / RECORD_DIR).exists()
    assert os.listdir(tmp_path / "x.zarr") == []


def test_resume_after_kill_at_a_random_time(tmp_path):
    """A threaded run killed while tasks are writing: the rerun finishes exactly."""
    data = make_stack(tmp_path)
    args = [str(tmp_path / n) for n in ("s.zarr", "t.zarr", "x.zarr")]
    child = CHILD.replace('scheduler="synchronous"', 'scheduler="threads"')
    proc = subprocess.Popen([sys.executable, "-c", child, *args, "100000"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE)
    records = tmp_path / "t.zarr" / RECORD_DIR / "0" / "1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if records.exists() and len(os.listdir(records)) >= 2:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    plan = zarrflow.rechunk(zarrflow.open_array(args[0], mode="r"), (128, 8, 8), "200kB", args[1],
                            temp_store=args[2])
    out = plan.execute()
    np.testing.assert_array_equal(out[...], data)


def test_resume_after_worker_kill_on_a_local_cluster(cluster_client, tmp_path):
    """A worker process SIGKILLed mid-stage: dask reruns its tasks elsewhere (they are
    idempotent) and the result is exact."""
    data = make_stack(tmp_path)
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="r")
    plan = zarrflow.rechunk(src, (128, 8, 8), "200kB", str(tmp_path / "t.zarr"), temp_store=str(tmp_path / "x.zarr"))
    pids = list(cluster_client.run(os.getpid).values())
    records = tmp_path / "t.zarr" / RECORD_DIR / "0" / "1"
    import threading

    killed = []

    def killer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if records.exists() and len(os.listdir(records)) >= 2:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.002)

    thread = threading.Thread(target=killer)
    thread.start()
    with cluster_client.as_current():
        out = plan.execute()
    thread.join()
    assert killed, "the worker was not killed while the stage ran"
    np.testing.assert_array_equal(out[...], data)


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("chunks,match", [
    ((10,), "has 1 dimensions but the array has 2"),
    ((10, 0), "chunk lengths must be ints >= 1"),
    ((10, -3), "chunk lengths must be ints >= 1"),
    ((10, 2.5), "chunk lengths must be ints >= 1"),
    ({"time": 3}, "without _ARRAY_DIMENSIONS"),
])
def test_bad_chunks_write_nothing(tmp_path, chunks, match):
    src = source_array(str(tmp_path / "s.zarr"), np.zeros((10, 10)), (1, 10))
    before = snapshot(tmp_path)
    with pytest.raises((ValueError, TypeError), match=match):
        zarrflow.rechunk(src, chunks, "1MB", str(tmp_path / "t.zarr"), temp_store=str(tmp_path / "x"))
    assert snapshot(tmp_path) == before


def test_budget_too_small_names_the_smallest(tmp_path):
    src = source_array(str(tmp_path / "s.zarr"), np.zeros((100, 100)), (1, 100))
    with pytest.raises(RechunkPlanError, match=r"the smallest max_mem that works is (\d+)") as info:
        zarrflow.rechunk(src, (100, 1), 1000, str(tmp_path / "t.zarr"))
    need = int(info.value.args[0].split("works is ")[1].split()[0])
    assert not (tmp_path / "t.zarr").exists()
    out = zarrflow.rechunk(src, (100, 1), need, str(tmp_path / "t.zarr"), max_stages=1).execute()
    np.testing.assert_array_equal(out[...], 0)


@pytest.mark.parametrize("bad", [0, -5, "lots", None])
def test_bad_max_mem(tmp_path, bad):
    src = source_array(MemoryStore(), np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError):
        zarrflow.rechunk(src, (4, 4), bad, MemoryStore())


def test_needs_a_temp_store(tmp_path):
    src = source_array(str(tmp_path / "s.zarr"), np.zeros((64, 32, 32), dtype="f4"), (1, 32, 32))
    with pytest.raises(ValueError, match="give a temp_store"):
        zarrflow.rechunk(src, (64, 2, 2), "96kB", str(tmp_path / "t.zarr"))
    assert not (tmp_path / "t.zarr").exists()
    # one stage, reading the source several times, when asked
    out = zarrflow.rechunk(src, (64, 2, 2), "96kB", str(tmp_path / "t.zarr"), max_stages=1).execute()
    np.testing.assert_array_equal(out[...], 0)


def test_existing_target_needs_overwrite(tmp_path):
    data = np.arange(16, dtype="i4").reshape(4, 4)
    src = source_array(str(tmp_path / "s.zarr"), data, (1, 4))
    old = source_array(str(tmp_path / "t.zarr"), np.ones((3, 3)), (3, 3))
    old.attrs["keep"] = True
    before = snapshot(tmp_path / "t.zarr")
    with pytest.raises(ContainsArrayError, match="overwrite=True"):
        zarrflow.rechunk(src, (4, 1), "1MB", str(tmp_path / "t.zarr"))
    assert snapshot(tmp_path / "t.zarr") == before
    out = zarrflow.rechunk(src, (4, 1), "1MB", str(tmp_path / "t.zarr"), overwrite=True).execute()
    np.testing.assert_array_equal(out[...], data)
    assert "keep" not in out.attrs


def test_same_store_refused(tmp_path):
    store = MemoryStore()
    src = source_array(store, np.zeros((4, 4)), (1, 4))
    with pytest.raises(ValueError, match="source's store"):
        zarrflow.rechunk(src, (4, 1), "1MB", store)
    path = str(tmp_path / "s.zarr")
    src = source_array(path, np.zeros((4, 4)), (1, 4))
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="source's store"):
        zarrflow.rechunk(src, (4, 1), "1MB", path)
    with pytest.raises(ValueError, match="temp_store must differ"):
        zarrflow.rechunk(src, (4, 1), "1MB", str(tmp_path / "t"), temp_store=path)
    assert snapshot(tmp_path) == before


def test_bad_options_and_group_targets(tmp_path):
    src = source_array(MemoryStore(), np.zeros((4, 4)), (1, 4))
    with pytest.raises(ValueError, match=r"may not set \['chunks'\]"):
        zarrflow.rechunk(src, (4, 1), "1MB", MemoryStore(), target_options={"chunks": (2, 2)})
    with pytest.raises(ValueError, match="unknown creation arguments"):
        zarrflow.rechunk(src, (4, 1), "1MB", MemoryStore(), target_options={"compresor": None})
    root = zarrflow.group(MemoryStore())
    root.zeros("a", shape=(4, 4), chunks=(1, 4))
    with pytest.raises(ValueError, match=r"names arrays \['b'\]"):
        zarrflow.rechunk(root, {"b": (4, 1)}, "1MB", MemoryStore())
    with pytest.raises(TypeError, match="dict"):
        zarrflow.rechunk(root, (4, 1), "1MB", MemoryStore())


def test_memory_target_refused_on_processes():
    src = source_array(MemoryStore(), np.zeros((4, 4)), (1, 4))
    plan = zarrflow.rechunk(src, (4, 1), "1MB", MemoryStore())
    with pytest.raises(ValueError, match="lost"):
        plan.execute(scheduler="processes")


def test_record_is_json(tmp_path):
    """The plan record holds the plan (what a resumed run compares)."""
    src = source_array(str(tmp_path / "s.zarr"), np.zeros((8, 8)), (1, 8))
    plan = zarrflow.rechunk(src, (8, 1), "1MB", str(tmp_path / "t.zarr"))
    doc = plan.document()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["jobs"][0]["plan"]["target_chunks"] == [8, 1]

"""Synchronizers: concurrent writers (threads, processes) lose no update.

The scenarios (what each writer does, the exact expected arrays) live in
``tests/core/sync_workers.py`` so spawned processes import them without pytest.
Processes are started with the 'spawn' method (fork with live threads is unsafe)
and every process test has a deadline: a hang fails the test instead of blocking it.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import pickle
import threading
from pathlib import Path

import fasteners
import numcodecs
import numpy as np
import pytest

import zarrflow
from tests.core import sync_workers as sw
from tests.threads import run_threads
from zarrflow.core.sync import hold
from zarrflow.errors import SynchronizerError
from zarrflow.storage import DirectoryStore, MemoryStore

N_THREADS = 8
N_PROCS = 4
ROUNDS = 200
REPEATS = 20
RUNS_PER_WRITER = 2  # 8 writers x 2 runs x 37 items over 100-item chunks: 6 chunks, 2-4 writers each
PROCESS_TIMEOUT = 120  # seconds: far above a healthy run, bounds a hang

SPAWN = multiprocessing.get_context("spawn")


def disjoint_thread_run(sync) -> tuple[int, np.ndarray]:
    """One run of the disjoint scenario with 8 threads; returns (runs lost, final array)."""
    shape = sw.disjoint_shape(N_THREADS, RUNS_PER_WRITER)
    z = zarrflow.zeros(shape, chunks=sw.CHUNK, dtype="i4", store=MemoryStore(), synchronizer=sync)
    barrier = threading.Barrier(N_THREADS)
    lost = [0] * N_THREADS

    def writer(w: int) -> None:
        lost[w] = sw.disjoint_writer(z, w, N_THREADS, ROUNDS, barrier)

    run_threads(writer, N_THREADS)
    return sum(lost), z[...]


# --- threads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("repeat", range(REPEATS))
def test_disjoint_nonaligned_threads_exact(repeat):
    lost, final = disjoint_thread_run(zarrflow.ThreadSynchronizer())
    assert lost == 0
    np.testing.assert_array_equal(final, sw.expected_disjoint(N_THREADS, final.shape[0], ROUNDS - 1))


def test_disjoint_nonaligned_threads_without_synchronizer_loss_rate(record_property, capsys):
    """Without a synchronizer the same scenario may lose writes. Measured, not asserted:
    how often depends on the machine and the GIL's switching."""
    n_runs = 3
    runs_total = N_THREADS * RUNS_PER_WRITER * ROUNDS * n_runs
    lost = sum(disjoint_thread_run(None)[0] for _ in range(n_runs))
    rate = lost / runs_total
    record_property("unsynchronized_lost_runs", lost)
    record_property("unsynchronized_loss_rate", rate)
    with capsys.disabled():
        print(f"\n[sync] without a synchronizer: {lost} of {runs_total} run writes lost ({rate:.2%})")


@pytest.mark.parametrize("how", ["update", "locked"])
def test_overlapping_increments_threads_exact(how):
    shape, n = (50, 70), 200
    sync = zarrflow.ThreadSynchronizer()
    z = zarrflow.zeros(shape, chunks=(16, 16), dtype="i4", store=MemoryStore(), synchronizer=sync)
    run_threads(lambda w: sw.increment_writer(z, w, n, how), N_THREADS)
    np.testing.assert_array_equal(z[...], sw.expected_increments(N_THREADS, n, shape))


def test_overlapping_increments_threads_separate_array_objects():
    """Each thread opens its own Array on the same store; one shared synchronizer."""
    shape, n = (120,), 200
    store = MemoryStore()
    sync = zarrflow.ThreadSynchronizer()
    zarrflow.zeros(shape, chunks=(13,), dtype="i4", store=store)
    run_threads(lambda w: sw.increment_writer(zarrflow.Array(store, synchronizer=sync), w, n), N_THREADS)
    np.testing.assert_array_equal(zarrflow.Array(store)[...], sw.expected_increments(N_THREADS, n, shape))


def test_multichunk_write_is_atomic_against_readers_under_lock():
    """A write spanning chunks holds all their locks: a reader taking the same locks
    through ``locked`` sees either none or all of it, never a mix."""
    sync = zarrflow.ThreadSynchronizer()
    z = zarrflow.zeros(1000, chunks=100, dtype="i4", store=MemoryStore(), synchronizer=sync)
    stop = threading.Event()
    torn: list[np.ndarray] = []

    def reader() -> None:
        while not stop.is_set():
            with z.locked(slice(50, 950)):
                a = z[50:950]
            if len(np.unique(a)) != 1:
                torn.append(a)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for v in range(1, 200):
            z[50:950] = v
    finally:
        stop.set()
        t.join(timeout=60)
    assert not torn


def test_locked_is_reentrant_for_the_holding_thread():
    """Writes inside ``locked`` by the thread that holds the locks do not deadlock."""
    sync = zarrflow.ThreadSynchronizer()
    z = zarrflow.zeros(100, chunks=10, dtype="i4", store=MemoryStore(), synchronizer=sync)
    with z.locked(slice(5, 55)):
        z[5:55] = 3
        z[0:100] = z[0:100] + 1  # touches locked and unlocked chunks
        z.attrs["x"] = 1
    expected = np.ones(100, dtype="i4")
    expected[5:55] = 4
    np.testing.assert_array_equal(z[...], expected)


def test_locked_without_synchronizer_refuses():
    z = zarrflow.zeros(10, chunks=5, dtype="i4", store=MemoryStore())
    with pytest.raises(SynchronizerError), z.locked(slice(0, 3)):
        pass
    with pytest.raises(SynchronizerError):
        z.update(slice(0, 3), lambda a: a + 1)
    np.testing.assert_array_equal(z[...], 0)


def test_update_on_read_only_array_writes_nothing():
    store = MemoryStore()
    zarrflow.zeros(10, chunks=5, dtype="i4", store=store)
    z = zarrflow.Array(store, read_only=True, synchronizer=zarrflow.ThreadSynchronizer())
    with pytest.raises(zarrflow.errors.ReadOnlyError):
        z.update(slice(0, 3), lambda a: a + 1)
    np.testing.assert_array_equal(zarrflow.Array(store)[...], 0)


def test_hold_takes_locks_in_sorted_order_and_skips_held():
    order: list[str] = []

    class Recording:
        def __getitem__(self, key):
            lock = threading.Lock()

            class L:
                def __enter__(self_inner):
                    order.append(key)
                    lock.acquire()

                def __exit__(self_inner, *exc):
                    lock.release()

            return L()

    sync = Recording()
    with hold(sync, ["b", "a", "c", "a"]):
        with hold(sync, ["c", "d"]):  # 'c' is held by this thread already
            pass
    assert order == ["a", "b", "c", "d"]


def test_hold_uses_the_synchronizers_multi_lock():
    calls: list[list[str]] = []

    class Multi:
        def __getitem__(self, key):
            raise AssertionError("hold must use lock_many() when the synchronizer has it")

        def lock_many(self, keys):
            calls.append(list(keys))
            return threading.Lock()

    sync = Multi()
    z = zarrflow.zeros(100, chunks=10, dtype="i4", store=MemoryStore(), synchronizer=sync)
    z[5:25] = 1
    z.update(slice(0, 11), lambda a: a + 1)
    assert calls == [["0", "1", "2"], ["0", "1"]]


def test_attribute_updates_from_threads_lose_no_key(tmp_path):
    """8 threads, each with its own Array object, set their own attribute 50 times."""
    store = DirectoryStore(str(tmp_path / "a.zarr"))
    zarrflow.zeros(10, chunks=5, store=store)
    sync = zarrflow.ThreadSynchronizer()
    n = 50
    run_threads(lambda w: sw.attrs_writer(zarrflow.Array(store, synchronizer=sync), w, n), N_THREADS)
    assert zarrflow.Array(store).attrs.asdict() == {f"w{w}": n - 1 for w in range(N_THREADS)}


def test_attribute_updates_alongside_chunk_writes(tmp_path):
    """Attribute writers and chunk writers share one synchronizer without deadlock."""
    store = DirectoryStore(str(tmp_path / "a.zarr"))
    sync = zarrflow.ThreadSynchronizer()
    z = zarrflow.zeros(120, chunks=13, dtype="i4", store=store, synchronizer=sync)

    def writer(w: int) -> None:
        if w % 2:
            sw.attrs_writer(zarrflow.Array(store, synchronizer=sync), w, 50)
        else:
            sw.increment_writer(z, w, 50)

    run_threads(writer, N_THREADS)
    assert zarrflow.Array(store).attrs.asdict() == {f"w{w}": 49 for w in range(1, N_THREADS, 2)}
    expected = sum(sw.expected_increments(w + 1, 50, (120,)) - sw.expected_increments(w, 50, (120,))
                   for w in range(0, N_THREADS, 2))
    np.testing.assert_array_equal(z[...], expected)


# --- processes -------------------------------------------------------------------------------


def _disjoint_processes(tmp_path: Path, sync_path: str | None, rounds: int, compressor=None):
    path = str(tmp_path / "a.zarr")
    shape = sw.disjoint_shape(N_PROCS, RUNS_PER_WRITER)
    kwargs = {} if compressor is None else {"compressor": compressor}
    zarrflow.open_array(path, mode="w", shape=shape, chunks=sw.CHUNK, dtype="i4", **kwargs)
    barrier, results = SPAWN.Barrier(N_PROCS), SPAWN.Queue()
    args = [(path, sync_path, w, N_PROCS, rounds, barrier, results) for w in range(N_PROCS)]
    got = sw.run_processes(SPAWN, sw.disjoint_process, args, results, PROCESS_TIMEOUT)
    return got, zarrflow.open_array(path, mode="r")[...]


def test_disjoint_nonaligned_processes_exact(tmp_path):
    got, final = _disjoint_processes(tmp_path, str(tmp_path / "sync"), ROUNDS)
    assert got == {w: 0 for w in range(N_PROCS)}
    np.testing.assert_array_equal(final, sw.expected_disjoint(N_PROCS, final.shape[0], ROUNDS - 1))


@pytest.mark.parametrize("how", ["update", "locked"])
def test_overlapping_increments_processes_exact(tmp_path, how):
    shape, n = (50, 70), 200
    path = str(tmp_path / "a.zarr")
    zarrflow.open_array(path, mode="w", shape=shape, chunks=(16, 16), dtype="i4", fill_value=0)
    results = SPAWN.Queue()
    args = [(path, str(tmp_path / "sync"), w, n, how, results) for w in range(N_PROCS)]
    got = sw.run_processes(SPAWN, sw.increment_process, args, results, PROCESS_TIMEOUT)
    assert got == {w: None for w in range(N_PROCS)}
    np.testing.assert_array_equal(zarrflow.open_array(path, mode="r")[...],
                                  sw.expected_increments(N_PROCS, n, shape))


def test_attribute_updates_from_processes_lose_no_key(tmp_path):
    path = str(tmp_path / "a.zarr")
    zarrflow.open_array(path, mode="w", shape=10, chunks=5)
    results = SPAWN.Queue()
    n = 30
    args = [(path, str(tmp_path / "sync"), w, n, results) for w in range(N_PROCS)]
    got = sw.run_processes(SPAWN, sw.attrs_process, args, results, PROCESS_TIMEOUT)
    assert got == {w: None for w in range(N_PROCS)}
    assert zarrflow.open_array(path, mode="r").attrs.asdict() == {f"w{w}": n - 1 for w in range(N_PROCS)}


@pytest.mark.parametrize("shuffle", [numcodecs.Blosc.SHUFFLE, numcodecs.Blosc.BITSHUFFLE])
def test_blosc_multiprocess_no_hang(tmp_path, shuffle):
    """Blosc-compressed writes from several processes while the parent has used blosc
    (its global thread pool) too: everything finishes in bounded time, data exact."""
    numcodecs.blosc.use_threads = True
    numcodecs.Blosc(cname="lz4", shuffle=shuffle).encode(np.arange(1 << 20, dtype="i4"))  # parent's pool
    compressor = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=shuffle)
    got, final = _disjoint_processes(tmp_path, str(tmp_path / "sync"), 50, compressor=compressor)
    assert got == {w: 0 for w in range(N_PROCS)}
    np.testing.assert_array_equal(final, sw.expected_disjoint(N_PROCS, final.shape[0], 49))
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="r")
    assert z.compressor.codec_id == "blosc"


# --- the ProcessSynchronizer itself ---------------------------------------------------------------


def test_process_synchronizer_lock_files_are_lazy_and_per_key(tmp_path):
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(30, 30), chunks=(10, 10),
                            dtype="i4", synchronizer=sync)
    before = {p.name for p in (tmp_path / "sync").iterdir() if not p.name.startswith(".")}
    assert before == set()
    z[5:15, 0:5] = 1  # partial chunks (0, 0) and (1, 0)
    after = {p.name for p in (tmp_path / "sync").iterdir() if not p.name.startswith(".")}
    assert len(after) == 2
    assert all(name.endswith(".lock") for name in after)


def test_process_synchronizer_keys_with_slashes_do_not_collide(tmp_path):
    """Nested chunk keys and member paths hold '/': each key still gets its own lock."""
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
    keys = ["a/0/0", "a/0.0", "a%2F0/0", "a/0%2F0"]
    for k in keys:
        with sync[k]:
            pass
    files = [p for p in (tmp_path / "sync").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(files) == len(keys)


def test_process_synchronizers_on_one_path_exclude_threads_of_one_process(tmp_path):
    """Threads that each make their own ProcessSynchronizer on the same path (each
    opens the array by path) still exclude each other. POSIX file locks do not
    exclude threads of one process, and closing any descriptor of a lock file drops
    the process's lock on it, so instances on one path must share their locks."""
    path, shape, n = str(tmp_path / "a.zarr"), (120,), 100
    zarrflow.open_array(path, mode="w", shape=shape, chunks=13, dtype="i4", fill_value=0)

    def writer(w: int) -> None:
        sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
        sw.increment_writer(zarrflow.open_array(path, mode="r+", synchronizer=sync), w, n)

    run_threads(writer, N_THREADS)
    np.testing.assert_array_equal(zarrflow.open_array(path, mode="r")[...],
                                  sw.expected_increments(N_THREADS, n, shape))


def test_process_synchronizer_excludes_threads_of_one_process(tmp_path):
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
    inside = []
    overlap = []

    def body(w: int) -> None:
        for _ in range(200):
            with sync["k"]:
                inside.append(w)
                if len(inside) > 1:
                    overlap.append(True)
                inside.pop()

    run_threads(body, N_THREADS)
    assert not overlap


def test_thread_synchronizer_pickles_to_a_fresh_one():
    sync = zarrflow.ThreadSynchronizer()
    lock = sync["k"]
    lock.acquire()
    try:
        clone = pickle.loads(pickle.dumps(sync))
        assert isinstance(clone, zarrflow.ThreadSynchronizer)
        assert clone["k"].acquire(timeout=1)  # a new lock, not the held one
        clone["k"].release()
    finally:
        lock.release()
    assert sync["k"] is sync["k"]


def test_process_synchronizer_pickles_as_its_path(tmp_path):
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
    clone = pickle.loads(pickle.dumps(sync))
    assert isinstance(clone, zarrflow.ProcessSynchronizer)
    assert clone.path == sync.path
    assert len(pickle.dumps(sync)) < 500


def test_array_with_process_synchronizer_pickles(tmp_path):
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=100, chunks=10, dtype="i4",
                            synchronizer=sync)
    z[:] = np.arange(100)
    clone = pickle.loads(pickle.dumps(z))
    assert isinstance(clone.synchronizer, zarrflow.ProcessSynchronizer)
    assert clone.synchronizer.path == sync.path
    clone.update(slice(5, 15), lambda a: a * 2)
    expected = np.arange(100)
    expected[5:15] *= 2
    np.testing.assert_array_equal(z[...], expected)


def test_array_with_thread_synchronizer_pickles(tmp_path):
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=100, chunks=10, dtype="i4",
                            synchronizer=zarrflow.ThreadSynchronizer())
    clone = pickle.loads(pickle.dumps(z))
    assert isinstance(clone.synchronizer, zarrflow.ThreadSynchronizer)


# --- synchronizers reach every node ---------------------------------------------------------------


def test_constructors_keep_the_synchronizer(tmp_path):
    sync = zarrflow.ThreadSynchronizer()
    path = str(tmp_path / "a.zarr")
    assert zarrflow.open_array(path, mode="w", shape=10, chunks=5, synchronizer=sync).synchronizer is sync
    assert zarrflow.open_array(path, mode="r+", synchronizer=sync).synchronizer is sync
    assert zarrflow.Array(DirectoryStore(path), synchronizer=sync).synchronizer is sync
    assert zarrflow.zeros(10, chunks=5, synchronizer=sync).synchronizer is sync
    assert zarrflow.create(10, chunks=5, synchronizer=sync).synchronizer is sync


def test_groups_pass_the_synchronizer_to_members(tmp_path):
    sync = zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))
    store = DirectoryStore(str(tmp_path / "g.zarr"))
    g = zarrflow.group(store=store, synchronizer=sync)
    made = [
        g.create_dataset("a", shape=10, chunks=5),
        g.zeros("b", shape=10, chunks=5),
        g.require_dataset("c", shape=10, dtype="f8", chunks=5),
        g.array("d", np.arange(10), chunks=5),
    ]
    sub = g.create_group("sub")
    deep = sub.zeros("e", shape=10, chunks=5)
    for node in [*made, sub, deep, g["a"], g["sub"], g["sub/e"], g.require_group("sub")]:
        assert node.synchronizer is sync, node
    reopened = zarrflow.open_group(str(tmp_path / "g.zarr"), mode="r+", synchronizer=sync)
    for node in [reopened, reopened["a"], reopened["sub"], reopened["sub"]["e"]]:
        assert node.synchronizer is sync, node
    assert dict(reopened.arrays())["b"].synchronizer is sync
    # and the member writes take the member's lock files under the synchronizer's path
    reopened["sub/e"][3:7] = 1
    names = {p.name for p in (tmp_path / "sync").iterdir()}
    assert any("sub" in n and "e" in n for n in names), names


def test_open_passes_the_synchronizer(tmp_path):
    sync = zarrflow.ThreadSynchronizer()
    path = str(tmp_path / "g.zarr")
    g = zarrflow.open(path, mode="w", synchronizer=sync)
    g.zeros("x", shape=4, chunks=2)
    assert zarrflow.open(path, mode="r+", synchronizer=sync)["x"].synchronizer is sync


# --- bad input --------------------------------------------------------------------------------


def test_process_synchronizer_under_a_regular_file_fails_at_creation(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SynchronizerError, match="file"):
        zarrflow.ProcessSynchronizer(str(blocker / "sync"))
    assert blocker.read_text() == "not a directory"


def test_process_synchronizer_on_a_regular_file_fails_at_creation(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SynchronizerError):
        zarrflow.ProcessSynchronizer(str(blocker))


def test_process_synchronizer_without_working_locks_fails_at_creation(tmp_path, monkeypatch):
    """A filesystem whose lock calls fail (NFS without a lock daemon: ENOLCK)."""

    def no_locks(self):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fasteners.InterProcessLock, "trylock", no_locks)
    with pytest.raises(SynchronizerError, match=str(tmp_path / "sync")):
        zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))


def test_process_synchronizer_lock_that_never_succeeds_fails_at_creation(tmp_path, monkeypatch):
    """Locks that report failure rather than raising are caught too, without a long wait."""
    monkeypatch.setattr(fasteners.InterProcessLock, "acquire", lambda self, *a, **k: False)
    with pytest.raises(SynchronizerError):
        zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))


def test_process_synchronizer_unwritable_directory_fails_at_creation(tmp_path, monkeypatch):
    """A directory the process may not write (simulated: tests run as root, so chmod
    does not stop them) fails at creation, naming the path."""
    real_open = open

    def deny(path, *args, **kwargs):
        name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
        if name.startswith(str(tmp_path / "sync")):  # fasteners opens its lock files by bytes path
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(SynchronizerError, match="sync"):
        zarrflow.ProcessSynchronizer(str(tmp_path / "sync"))

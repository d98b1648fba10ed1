"""DistributedSynchronizer: workers of a real Dask cluster (separate processes) lose no
update when their writes share chunks; the locks live on the scheduler.

One LocalCluster (2 worker processes x 2 threads, on 127.0.0.1) serves the module.
Tasks open the array by path (or receive it pickled, synchronizer included) and
write; the scenarios and exact expected arrays are those of the thread and process
tests (``tests/core/sync_workers.py``).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import uuid

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import zarrflow
from tests.core import sync_workers as sw
from zarrflow.errors import SynchronizerError
from zarrflow.graph.sync import DistributedLock, DistributedSynchronizer

N_WRITERS = 4
TASK_TIMEOUT = 120  # seconds: bounds a hang


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture
def prefix() -> str:
    """A lock-name prefix of its own for each test."""
    return f"zarrflow-test-{uuid.uuid4().hex[:8]}"


# --- tasks (run on the workers) ---------------------------------------------------------------


def open_and_write_once(path: str, prefix: str, writer: int, n_writers: int) -> int:
    """Open the array by path with a synchronizer made on the worker (its client is
    found lazily) and run the write-once scenario."""
    z = zarrflow.open_array(path, mode="r+", synchronizer=DistributedSynchronizer(prefix=prefix))
    return sw.write_once_writer(z, writer, n_writers)


def increment_shipped(z, writer: int, n: int, how: str) -> int:
    """Run the increment scenario on an Array shipped from the client (pickled along
    with its DistributedSynchronizer, without the client)."""
    sw.increment_writer(z, writer, n, how)
    return threading.get_ident()


def worker_pids(_):
    return sw.pid()


# --- the scenarios on the cluster -----------------------------------------------------------------


def test_disjoint_nonaligned_writers_on_cluster_exact(client, tmp_path, prefix):
    shape = sw.write_once_shape(N_WRITERS, runs_per_writer=2, rounds=200)
    path = str(tmp_path / "a.zarr")
    zarrflow.open_array(path, mode="w", shape=shape, chunks=(4, sw.CHUNK), dtype="i4", fill_value=0)
    futures = client.map(open_and_write_once, [path] * N_WRITERS, [prefix] * N_WRITERS,
                         range(N_WRITERS), [N_WRITERS] * N_WRITERS, pure=False)
    pids = client.gather(futures, errors="raise")
    distributed.wait(futures, timeout=TASK_TIMEOUT)
    assert len(set(pids)) == 2, "the writers should run in both worker processes"
    np.testing.assert_array_equal(zarrflow.open_array(path, mode="r")[...],
                                  sw.expected_write_once(N_WRITERS, shape))


@pytest.mark.parametrize("how", ["update", "locked"])
def test_overlapping_increments_on_cluster_exact(client, tmp_path, prefix, how):
    shape, n = (50, 70), 200
    path = str(tmp_path / "a.zarr")
    z = zarrflow.open_array(path, mode="w", shape=shape, chunks=(16, 16), dtype="i4", fill_value=0,
                            synchronizer=DistributedSynchronizer(client, prefix=prefix))
    futures = client.map(increment_shipped, [z] * N_WRITERS, range(N_WRITERS), [n] * N_WRITERS,
                         [how] * N_WRITERS, pure=False)
    distributed.wait(futures, timeout=TASK_TIMEOUT)
    client.gather(futures, errors="raise")
    np.testing.assert_array_equal(z[...], sw.expected_increments(N_WRITERS, n, shape))


def test_attribute_updates_on_cluster_lose_no_key(client, tmp_path, prefix):
    path = str(tmp_path / "a.zarr")
    z = zarrflow.open_array(path, mode="w", shape=10, chunks=5,
                            synchronizer=DistributedSynchronizer(client, prefix=prefix))
    futures = client.map(sw.attrs_writer, [z] * N_WRITERS, range(N_WRITERS), [20] * N_WRITERS, pure=False)
    distributed.wait(futures, timeout=TASK_TIMEOUT)
    client.gather(futures, errors="raise")
    assert zarrflow.open_array(path, mode="r").attrs.asdict() == {f"w{w}": 19 for w in range(N_WRITERS)}


# --- the synchronizer itself ----------------------------------------------------------------------


def test_single_key_lock_and_multi_lock_exclude_each_other(client, prefix):
    """``sync[key]`` and ``sync.lock_many([...key...])`` guard the same name."""
    sync = DistributedSynchronizer(client, prefix=prefix)
    with sync["0.0"]:
        other = sync.lock_many(["0.0", "0.1"])
        assert not other.acquire(blocking=False)
        assert not sync["0.0"].acquire(timeout=0.2)
        free = sync["0.1"]
        assert free.acquire(timeout=5)
        free.release()
    many = sync.lock_many(["0.1", "0.0"])
    assert many.acquire(timeout=5)
    assert not sync["0.1"].acquire(blocking=False)
    many.release()
    assert sync["0.1"].acquire(timeout=5)


def test_lock_names_carry_the_prefix(client):
    sync = DistributedSynchronizer(client, prefix="p")
    assert sync["a/0.0"].names == ["p:a/0.0"]
    assert sync.lock_many(["b", "a", "b"]).names == ["p:a", "p:b"]
    assert sync.lock_many(["x"]).names == ["p:x"]


def test_timeout_raises_synchronizer_error(client, prefix):
    sync = DistributedSynchronizer(client, prefix=prefix, timeout=0.2)
    with sync["k"], pytest.raises(SynchronizerError, match="timed out"), sync["k"]:
        pass


def test_release_without_acquire_is_an_error(client, prefix):
    lock = DistributedSynchronizer(client, prefix=prefix)["k"]
    with pytest.raises(RuntimeError):
        lock.release()


def test_pickles_without_the_client(client, prefix):
    sync = DistributedSynchronizer(client, prefix=prefix, timeout=3.0)
    data = pickle.dumps(sync)
    assert b"Client" not in data
    clone = pickle.loads(data)
    assert (clone.prefix, clone.timeout, clone._client) == (prefix, 3.0, None)
    with clone["k"]:  # finds the default client lazily
        assert clone.client is client
    assert isinstance(pickle.loads(pickle.dumps(sync["k"])), DistributedLock)


def test_array_with_distributed_synchronizer_pickles(client, tmp_path, prefix):
    z = zarrflow.open_array(str(tmp_path / "a.zarr"), mode="w", shape=10, chunks=5, dtype="i4",
                            synchronizer=DistributedSynchronizer(client, prefix=prefix))
    clone = pickle.loads(pickle.dumps(z))
    assert isinstance(clone.synchronizer, DistributedSynchronizer)
    clone.update(slice(3, 7), lambda a: a + 5)
    np.testing.assert_array_equal(z[...], [0, 0, 0, 5, 5, 5, 5, 0, 0, 0])


def test_zarrflow_exposes_the_distributed_synchronizer():
    assert zarrflow.DistributedSynchronizer is DistributedSynchronizer


NO_CLIENT_PROBE = """
import sys
from zarrflow.errors import SynchronizerError
from zarrflow.graph.sync import DistributedSynchronizer
sync = DistributedSynchronizer()  # making one needs no client ...
try:
    with sync["k"]:  # ... taking a lock does
        pass
except SynchronizerError as exc:
    print("SynchronizerError:", exc)
    sys.exit(0)
sys.exit(1)
"""


def test_without_any_client_taking_a_lock_fails_clearly():
    proc = subprocess.run([sys.executable, "-c", NO_CLIENT_PROBE], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no Dask client" in proc.stdout


def test_importing_the_graph_package_is_light():
    code = "import sys, zarrflow.graph; print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_bad_arguments():
    with pytest.raises(TypeError):
        DistributedSynchronizer(prefix=3)
    with pytest.raises(ValueError):
        DistributedSynchronizer(timeout=-1)

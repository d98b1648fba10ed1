"""zarrflow on a cluster started with the real command-line tools (``dask scheduler``
+ 2 x ``dask worker``, see dask_command_line.py): everything listens on 127.0.0.1 only, the
workers are separate processes started by the fixture, reads and writes equal
numpy exactly, and zarrflow uses the client as soon as it is the default one."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")
da = pytest.importorskip("dask.array")

import zarrflow
from tests.graph.dask_command_line import CLICluster, ClusterStartError, pid_block
from zarrflow.graph import ops
from zarrflow.storage import DirectoryStore


def listening(pid: int) -> list[tuple[str, int]]:
    return [(c.laddr.ip, c.laddr.port) for c in psutil.Process(pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN]


def test_addresses_are_loopback(cli_cluster, cli_client):
    assert cli_client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert cli_cluster.address == cli_client.scheduler.address
    workers = cli_client.scheduler_info(n_workers=-1)["workers"]
    assert len(workers) == 2
    for address, info in workers.items():
        assert address.startswith("tcp://127.0.0.1:")
        assert info["nanny"].startswith("tcp://127.0.0.1:")


def test_every_listening_socket_is_loopback(cli_cluster, cli_client):
    """Comms and the HTTP (health/metrics) servers of the scheduler, nannies and workers."""
    pids = set(cli_cluster.started_pids) | set(cli_cluster.worker_pids(cli_client).values())
    sockets = {pid: listening(pid) for pid in pids}
    assert all(sockets.values()), sockets  # each process serves something
    for pid in cli_cluster.started_pids:  # and any other process below them (none listens)
        sockets.update({child.pid: listening(child.pid) for child in psutil.Process(pid).children(recursive=True)})
    assert {ip for found in sockets.values() for ip, _ in found} == {"127.0.0.1"}, sockets


def test_workers_are_separate_child_processes(cli_cluster, cli_client):
    started = cli_cluster.started_pids
    assert len(started) == 3  # the scheduler and two `dask worker` commands
    assert all(psutil.Process(pid).ppid() == os.getpid() for pid in started)
    worker_pids = list(cli_cluster.worker_pids(cli_client).values())
    assert len(set(worker_pids)) == 2 and os.getpid() not in worker_pids
    nannies = {p.pid for p in cli_cluster.worker_procs}
    assert {psutil.Process(pid).ppid() for pid in worker_pids} == nannies  # each worker under its nanny
    assert cli_client.run_on_scheduler(os.getpid) == cli_cluster.scheduler_proc.pid


def test_to_dask_compute_equals_numpy(cli_client, tmp_path):
    data = np.arange(23 * 31, dtype="i4").reshape(23, 31)
    z = zarrflow.open_array(DirectoryStore(str(tmp_path / "a.zarr")), mode="w", shape=data.shape,
                            chunks=(5, 7), dtype="i4")
    z[...] = data
    d = ops.to_dask(z)
    np.testing.assert_array_equal(cli_client.compute(d).result(), data)
    with cli_client.as_current():
        np.testing.assert_array_equal(d.compute(), data)
        np.testing.assert_array_equal(d[2:19, ::3].T.compute(), data[2:19, ::3].T)
        assert int(d.sum().compute()) == int(data.sum())


@pytest.mark.parametrize("separator", [".", "/"])
def test_from_dask_and_store_round_trip(cli_client, tmp_path, separator):
    data = np.random.default_rng(1).random((30, 22))
    with cli_client.as_current():
        z = ops.from_dask(da.from_array(data, chunks=(10, 11)), DirectoryStore(str(tmp_path / "a.zarr")),
                          dimension_separator=separator)
        t = zarrflow.open_array(DirectoryStore(str(tmp_path / "b.zarr")), mode="w", shape=data.shape,
                                chunks=(7, 5), dtype="f8", fill_value=np.nan, dimension_separator=separator)
        n = ops.store(ops.to_dask(z) * 3 - 1, t)  # misaligned: regrouped, one writer per chunk
        again = ops.to_dask(DirectoryStore(str(tmp_path / "b.zarr"))).compute()
    assert n == data.size and t.nchunks_initialized == t.nchunks
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "a.zarr"), mode="r")[...], data)
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "b.zarr"), mode="r")[...], data * 3 - 1)
    np.testing.assert_array_equal(again, data * 3 - 1)


def test_zarrflow_uses_the_default_client_without_being_told(cli_cluster, cli_client, tmp_path):
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="w", shape=(12, 12), chunks=(4, 4), dtype="i8")
    tgt = zarrflow.open_array(str(tmp_path / "t.zarr"), mode="w", shape=(12, 12), chunks=(4, 4), dtype="i8",
                              fill_value=-1)
    assert ops.active_client() is None  # the fixture's client is not the default one ...
    with cli_client.as_current():  # ... until made current
        assert ops.active_client() is cli_client
        assert ops.map_blocks(pid_block, src, tgt) == 144  # no scheduler= argument
    pids = set(np.unique(tgt[...]).tolist())  # each chunk holds the pid of the process that wrote it
    assert pids <= set(cli_cluster.worker_pids(cli_client).values()), pids
    assert os.getpid() not in pids


def test_a_worker_that_cannot_start_fails_with_its_log(tmp_path):
    cluster = CLICluster(tmp_path, n_workers=1, timeout=30, worker_args=("--memory-limit", "lots"))
    cluster.start()
    with pytest.raises(ClusterStartError, match="exited") as info:
        cluster.client()
    assert "worker-0.log" in str(info.value) and "lots" in str(info.value)  # the worker's own error
    assert all(p.poll() is not None for p in [cluster.scheduler_proc, *cluster.worker_procs])  # all stopped

"""A dead lock holder never wedges a chunk (DistributedSynchronizer's leases).

Each test starts its own command-line cluster (``dask scheduler`` + 2 ``dask worker``
processes on 127.0.0.1, with and without nannies), since it kills or freezes one of
its workers:

- a worker SIGKILLed while it holds chunk '0''s lock, in the middle of a
  read-modify-write (its temporary file written, not yet renamed): another writer,
  whose lease never expires by time (``lease_timeout=None``), gets the lock - so it was
  released because the holder's connection closed, not by a timer - and the final
  data are exact: the dead holder's half-done write never landed, its rerun (Dask
  reschedules the task) and the other writer's each landed once;
- a holder frozen with SIGSTOP (alive, connected, silent): its lease expires after
  ``lease_timeout``, another writer gets the lock, and the frozen holder, resumed,
  gets SynchronizerError from its release (it must not believe it held the lock).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("psutil")

import zarrflow
from tests.graph import lock_tasks as lt
from tests.graph.dask_command_line import CLICluster, pid_gone, wait_until
from zarrflow.errors import SynchronizerError

TIMEOUT = 60


@pytest.fixture(params=[True, False], ids=["nanny", "no-nanny"])
def own_cluster(request, tmp_path_factory):
    with CLICluster(tmp_path_factory.mktemp("lease-cluster"), n_workers=2, nanny=request.param) as cluster:
        client = cluster.client()
        try:
            yield cluster, client
        finally:
            client.close()


def make_array(path: Path) -> np.ndarray:
    base = np.arange(16, dtype="i8")
    z = zarrflow.open_array(str(path), mode="w", shape=(16,), chunks=(4,), dtype="i8")
    z[...] = base
    return base


def held(client) -> dict:
    return client.run_on_scheduler(lt.lock_state).get("held", {})


def test_sigkilled_holder_releases_its_lock(own_cluster, tmp_path, capsys):
    cluster, client = own_cluster
    path, marker = tmp_path / "a.zarr", tmp_path / "marker"
    base = make_array(path)
    prefix = f"kill-{uuid.uuid4().hex[:8]}"
    victim, other = sorted(cluster.worker_pids(client))
    pids = cluster.worker_pids(client)

    hanging = client.submit(lt.hold_then_hang, str(path), prefix, str(marker), None, pure=False,
                            workers=[victim], allow_other_workers=True)
    wait_until(lambda: marker.exists() and marker.read_text(), TIMEOUT, "the holder to start its chunk write")
    holder_pid, temp = marker.read_text().split()
    assert int(holder_pid) == pids[victim]
    assert Path(temp).exists() and Path(temp).parent == path  # the half-done write's temporary file
    assert held(client) == {f"{prefix}:0": held(client)[f"{prefix}:0"]}

    # another writer queues for the lock; its lease never expires by time, and it waits
    # at most 30 s: only the release on the holder's death lets it through
    contender = client.submit(lt.increment_chunk0, str(path), prefix, 30, None, pure=False, workers=[other])
    wait_until(lambda: client.run_on_scheduler(lt.lock_state)["waiting"], TIMEOUT, "the contender to queue")
    assert not contender.done()
    np.testing.assert_array_equal(zarrflow.open_array(str(path), mode="r")[...], base)  # nothing landed

    killed_at = time.time()
    os.kill(pids[victim], signal.SIGKILL)
    granted_at = contender.result(timeout=TIMEOUT)
    with capsys.disabled():
        print(f"\n[{'nanny' if cluster.nanny else 'no-nanny'}] lock granted {granted_at - killed_at:.3f} s "
              f"after the holder's SIGKILL")
    wait_until(lambda: pid_gone(pids[victim]), TIMEOUT, "the killed worker to exit")

    assert hanging.result(timeout=TIMEOUT) != pids[victim]  # rescheduled, and ran again elsewhere
    final = zarrflow.open_array(str(path), mode="r")
    np.testing.assert_array_equal(final[...], lt.expected_after(base, 1, 100))
    assert sorted(final.store) == [".zarray", "0", "1", "2", "3"]  # the leftover temp file is no key
    assert held(client) == {}
    if cluster.nanny:
        cluster.wait_for_workers(client, 2, timeout=TIMEOUT)


def test_frozen_holder_loses_its_lease(tmp_path_factory, tmp_path):
    lease_timeout = 2.0
    with CLICluster(tmp_path_factory.mktemp("lease-freeze"), n_workers=2, nanny=False) as cluster:
        client = cluster.client()
        try:
            path, marker, gate = tmp_path / "a.zarr", tmp_path / "marker", tmp_path / "gate"
            base = make_array(path)
            prefix = f"freeze-{uuid.uuid4().hex[:8]}"
            victim, other = sorted(cluster.worker_pids(client))
            pid = cluster.worker_pids(client)[victim]
            holder = client.submit(lt.hold_until_gate, str(path), prefix, str(marker), str(gate), lease_timeout,
                                   pure=False, workers=[victim])
            wait_until(lambda: marker.exists() and marker.read_text(), TIMEOUT, "the holder to take the lock")
            os.kill(pid, signal.SIGSTOP)
            try:
                contender = client.submit(lt.increment_chunk0, str(path), prefix, 30, lease_timeout, pure=False,
                                          workers=[other])
                contender.result(timeout=TIMEOUT)  # granted once the frozen holder's lease expired
                state = client.run_on_scheduler(lt.lock_state)
                assert state["expired"] == 1 and state["held"] == {}
            finally:
                os.kill(pid, signal.SIGCONT)
            gate.touch()
            with pytest.raises(SynchronizerError, match=r"lease of the scheduler's locks \['freeze-.*:0'\] expired"):
                holder.result(timeout=TIMEOUT)
            np.testing.assert_array_equal(zarrflow.open_array(str(path), mode="r")[...], lt.expected_after(base, 1))
        finally:
            client.close()

"""A ``dask worker`` killed in the middle of a write job does not corrupt the target.

Each kill test starts its own CLI cluster (dask_command_line.py: ``dask scheduler`` + 2 x
``dask worker``, 1 thread each, on 127.0.0.1), since it kills one of its workers:

- SIGKILL from the test, mid-job: the write job (``map_blocks`` into a directory
  store) is held at a gate (see ``gated_double``) so that, deterministically, some
  but not all chunks are written and every worker is inside a task when one worker
  process (its pid from ``client.run(os.getpid)``) is killed; the job completes
  through Dask's rescheduling, with and without a nanny restarting the worker.
- a worker that dies inside a chunk write (after the temporary file is written,
  before it is renamed into place): the job completes, every chunk decodes, and the
  leftover temporary file is neither a key nor an initialised chunk.

And every write task is idempotent: rerunning a write graph leaves the same bytes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")
da = pytest.importorskip("dask.array")

import zarrflow
from tests.graph.dask_command_line import (
    CLICluster,
    die_during_replace,
    gated_double,
    pid_gone,
    wait_until,
)
from zarrflow.graph import ops
from zarrflow.storage import DirectoryStore

SHAPE, CHUNKS = (96, 80), (8, 10)  # 12 x 8 = 96 chunks
TIMEOUT = 60


@pytest.fixture(params=[True, False], ids=["nanny", "no-nanny"])
def own_cluster(request, tmp_path_factory):
    """A fresh CLI cluster for one test, and a client of it (not the default one)."""
    with CLICluster(tmp_path_factory.mktemp("kill-cluster"), n_workers=2, nanny=request.param) as cluster:
        client = cluster.client()
        try:
            yield cluster, client
        finally:
            client.close()


def arrays(tmp_path, separator="."):
    data = np.arange(np.prod(SHAPE), dtype="f8").reshape(SHAPE)
    src = zarrflow.open_array(DirectoryStore(str(tmp_path / "src.zarr")), mode="w", shape=SHAPE, chunks=CHUNKS,
                              dtype="f8", dimension_separator=separator)
    src[...] = data
    tgt = zarrflow.open_array(DirectoryStore(str(tmp_path / "tgt.zarr")), mode="w", shape=SHAPE, chunks=CHUNKS,
                              dtype="f8", fill_value=-1, dimension_separator=separator)
    return data, src, tgt


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too), relative path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def chunk_keys(tgt) -> set[str]:
    sep = tgt._meta.separator
    return {sep.join(map(str, idx)) for idx in np.ndindex(*tgt.cdata_shape)}


def check_target(tgt, expected: np.ndarray) -> list[str]:
    """The target equals ``expected``, every chunk is stored and decodes; returns the
    files under the target that are not keys (leftovers of killed writes)."""
    root = Path(tgt.store.path)
    reopened = zarrflow.open_array(DirectoryStore(str(root)), mode="r")
    np.testing.assert_array_equal(reopened[...], expected)  # every chunk decodes
    assert reopened.nchunks_initialized == reopened.nchunks
    keys = set(reopened.store)
    assert keys == {".zarray"} | chunk_keys(reopened)
    for key in chunk_keys(reopened):  # each chunk on its own, too
        idx = tuple(int(i) for i in key.replace("/", ".").split("."))
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, reopened.chunks))
        np.testing.assert_array_equal(reopened[region], expected[region])
    return sorted(set(files(root)) - keys)


def test_sigkill_worker_mid_job_completes_exactly(own_cluster, tmp_path):
    cluster, client = own_cluster
    data, src, tgt = arrays(tmp_path)
    gate, free = tmp_path / "gate", 12
    gate.mkdir()
    calls = gate / "calls"
    job = ops.map_blocks(gated_double, src, tgt, kwargs={"gate": str(gate), "free": free}, compute=False)
    future = client.compute(job)

    # `free` chunks are written, then each worker blocks inside its next task
    wait_until(lambda: tgt.nchunks_initialized == free and calls.is_dir() and len(os.listdir(calls)) >= free + 2,
               TIMEOUT, "the first chunks to be written and both workers to be busy")
    assert tgt.nchunks_initialized == free < tgt.nchunks
    assert not future.done()

    pids = cluster.worker_pids(client)
    victim = sorted(pids)[0]
    started = {p.pid for p in cluster.worker_procs}  # the `dask worker` commands
    if cluster.nanny:  # the worker is the nanny's child
        assert pids[victim] not in started and psutil.Process(pids[victim]).ppid() in started
    else:
        assert pids[victim] in started
    os.kill(pids[victim], signal.SIGKILL)
    wait_until(lambda: pid_gone(pids[victim]), TIMEOUT, f"worker pid {pids[victim]} to exit")
    wait_until(lambda: victim not in client.scheduler_info(n_workers=-1)["workers"], TIMEOUT,
               f"the scheduler to remove {victim}")
    if cluster.nanny:  # the nanny (the `dask worker` command) lives on and starts a new worker
        assert all(p.poll() is None for p in cluster.worker_procs)
    else:  # the `dask worker` command was the worker
        killed = next(p for p in cluster.worker_procs if p.pid == pids[victim])
        assert killed.wait(TIMEOUT) == -signal.SIGKILL
    assert not future.done()

    (gate / "open").touch()
    assert future.result(timeout=TIMEOUT) == data.size
    assert future.status == "finished"
    assert check_target(tgt, data * 2) == []  # the killed worker was not writing: nothing left over
    assert len(os.listdir(calls)) > tgt.nchunks  # the killed worker's task (at least) ran again
    if cluster.nanny:
        cluster.wait_for_workers(client, 2, timeout=TIMEOUT)
        assert pids[victim] not in cluster.worker_pids(client).values()


def test_worker_killed_inside_a_chunk_write(own_cluster, tmp_path, capsys):
    cluster, client = own_cluster
    # both chunk-key layouts, one per cluster kind: '5/.3.<hex>.partial' and '.5.3.<hex>.partial'
    data, src, tgt = arrays(tmp_path, separator="/" if cluster.nanny else ".")
    marker = tmp_path / "killed"
    chunk = (5, 3)
    value = data[chunk[0] * CHUNKS[0], chunk[1] * CHUNKS[1]]  # the first item of that chunk
    before = cluster.worker_pids(client)

    n = ops.map_blocks(die_during_replace, src, tgt, kwargs={"marker": str(marker), "value": value}, compute=False)
    assert client.compute(n).result(timeout=TIMEOUT) == data.size

    temp = Path(marker.read_text())  # written by the dying worker just before its SIGKILL
    assert temp.name.endswith(".partial") and temp.parent.is_relative_to(tmp_path / "tgt.zarr")
    dead = [pid for pid in before.values() if pid_gone(pid)]
    assert len(dead) == 1, (before, dead)
    leftovers = check_target(tgt, data * 2)
    sep = tgt._meta.separator
    assert leftovers == [str(temp.relative_to(tmp_path / "tgt.zarr"))]  # the killed write's temp file ...
    assert temp.name.startswith(f".{chunk[1] if sep == '/' else sep.join(map(str, chunk))}.")
    assert temp.name not in tgt.store.listdir("" if sep == "." else str(chunk[0]))  # ... is not listed
    assert tgt.store.getsize(recursive=True) == sum(len(v) for k, v in files(tmp_path / "tgt.zarr").items() if k not in leftovers)
    with capsys.disabled():
        print(f"\n[{'nanny' if cluster.nanny else 'no-nanny'}] a killed chunk write left: {leftovers}")

    before_bytes = files(tmp_path / "tgt.zarr")  # a rerun over the leftover rewrites the same bytes
    again = ops.map_blocks(die_during_replace, src, tgt, kwargs={"marker": str(marker), "value": value},
                           compute=False)
    _forget(client, n)
    assert client.compute(again).result(timeout=TIMEOUT) == data.size
    assert files(tmp_path / "tgt.zarr") == before_bytes


def _forget(client, delayed) -> None:
    """Wait until the scheduler has dropped ``delayed``'s keys, so computing it again
    reruns every task instead of returning the result it still holds."""
    keys = [str(k) for k in delayed.__dask_graph__()]
    wait_until(lambda: not client.run_on_scheduler(_known, keys), TIMEOUT, "the scheduler to forget the graph")


def _known(keys, dask_scheduler=None) -> bool:
    return any(k in dask_scheduler.tasks for k in keys)


@pytest.mark.parametrize("how", ["aligned", "regrouped"])
def test_rerunning_a_store_graph_writes_identical_bytes(cli_client, tmp_path, how):
    data, src, tgt = arrays(tmp_path)
    source = (ops.to_dask(src, chunks=(16, 20)) if how == "aligned"  # one task writes 2 x 2 chunks
              else da.from_array(data, chunks=(12, 15)))  # misaligned: rechunked, one writer per chunk
    job = ops.store(source + 0.5, tgt, compute=False)
    assert cli_client.compute(job).result(timeout=TIMEOUT) == data.size
    root = tmp_path / "tgt.zarr"
    first = files(root)
    inodes = {k: (root / k).stat().st_ino for k in first}
    _forget(cli_client, job)
    assert cli_client.compute(job).result(timeout=TIMEOUT) == data.size
    assert files(root) == first  # same files, same bytes
    rewritten = {k for k in first if (root / k).stat().st_ino != inodes[k]}
    assert rewritten == chunk_keys(tgt)  # every chunk really was written again (temp file + rename)
    np.testing.assert_array_equal(tgt[...], data + 0.5)

"""``open_cluster``: the cluster a file names is started for a block, its client is the
default one there, and it is torn down however the block ends (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

import zarrflow
from tests.cluster.conftest import REPO
from tests.graph.dask_command_line import CLICluster, pid_gone, wait_until
from zarrflow.graph.cluster_session import jobqueue_kwargs, open_cluster
from zarrflow.graph.cluster_spec import parse_cluster_spec

LOCAL = "kind: local\nworkers: 2\ncluster: {threads_per_worker: 1, memory_limit: 300MiB, local_directory: %s}\n"


def test_local_cluster_for_a_block(tmp_path):
    spec = parse_cluster_spec(LOCAL % (tmp_path / "spill"))
    data = np.arange(40 * 30, dtype="f4").reshape(40, 30)
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="w", shape=data.shape, chunks=(1, 30), dtype="f4")
    src[...] = data
    with open_cluster(spec) as session:
        assert distributed.default_client() is session.client
        info = session.client.scheduler_info(n_workers=-1)["workers"]
        assert len(info) == 2
        assert {w["nthreads"] for w in info.values()} == {1}
        assert {w["memory_limit"] for w in info.values()} == {300 * 2**20}
        assert all(a.startswith("tcp://127.0.0.1:") for a in info)
        spill = session.client.run(lambda dask_worker: dask_worker.local_directory).values()
        assert all(d.startswith(str(tmp_path / "spill") + os.sep) for d in spill)  # workers spill there
        pids = list(session.client.run(os.getpid).values())
        plan = zarrflow.rechunk(src, (40, 3), "8kB", str(tmp_path / "t.zarr"), temp_store=str(tmp_path / "x"))
        out = plan.execute()
        np.testing.assert_array_equal(out[...], data)
    assert session.client.status == "closed"
    for pid in pids:
        wait_until(lambda pid=pid: pid_gone(pid), 30, f"worker {pid} to exit")
    with pytest.raises(ValueError):
        distributed.default_client()


def test_adaptive_local_cluster():
    spec = parse_cluster_spec("kind: local\nadaptive: {minimum: 1, maximum: 2}\nwait_for_workers: 1\n"
                              "cluster: {threads_per_worker: 1}\n")
    with open_cluster(spec) as session:
        assert session.cluster._adaptive is not None
        assert session.cluster._adaptive.minimum == 1 and session.cluster._adaptive.maximum == 2


def test_torn_down_when_the_block_raises():
    spec = parse_cluster_spec("kind: local\nworkers: 1\ncluster: {threads_per_worker: 1}\n")
    with pytest.raises(ZeroDivisionError), open_cluster(spec) as session:
        pids = list(session.client.run(os.getpid).values())
        1 / 0
    assert session.client.status == "closed" and session.cluster.status.name == "closed"
    wait_until(lambda: pid_gone(pids[0]), 30, "the worker to exit")


CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from zarrflow.graph.cluster_session import open_cluster, ClusterInterrupted
    from zarrflow.graph.cluster_spec import parse_cluster_spec
    spec = parse_cluster_spec("kind: local\\nworkers: 2\\ncluster: {threads_per_worker: 1}\\n")
    try:
        with open_cluster(spec) as session:
            print(json.dumps(list(session.client.run(os.getpid).values())), flush=True)
            os.kill(os.getpid(), signal.%s)
            signal.pause()
    except (ClusterInterrupted, KeyboardInterrupt) as exc:
        print(type(exc).__name__, flush=True)
        sys.exit(3)
""")


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_torn_down_on_sigterm_and_ctrl_c(sig):
    proc = subprocess.run([sys.executable, "-c", CHILD % sig], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == ("ClusterInterrupted" if sig == "SIGTERM" else "KeyboardInterrupt")
    for pid in json.loads(lines[0]):
        wait_until(lambda pid=pid: pid_gone(pid), 30, f"worker {pid} to exit")


def test_scheduler_kind_closes_only_its_client(tmp_path):
    with CLICluster(tmp_path / "cli", n_workers=1) as cli:
        for key, value in (("address", cli.address), ("scheduler_file", str(cli.scheduler_file))):
            spec = parse_cluster_spec(f"kind: scheduler\ncluster: {{{key}: '{value}'}}\n")
            with open_cluster(spec) as session:
                assert session.cluster is None
                assert distributed.default_client() is session.client
                assert len(session.client.scheduler_info(n_workers=-1)["workers"]) == 1
            assert session.client.status == "closed"
        # the cluster we did not start still runs
        assert all(p.poll() is None for p in [cli.scheduler_proc, *cli.worker_procs])


def test_workers_that_never_come_name_the_timeout(tmp_path):
    with CLICluster(tmp_path / "cli", n_workers=0) as cli:
        spec = parse_cluster_spec(f"kind: scheduler\nwait_for_workers: 1\ntimeout: 1s\n"
                                  f"cluster: {{address: '{cli.address}'}}\n", source="c.yaml")
        with pytest.raises(TimeoutError, match=r"c.yaml: 1 worker\(s\) did not arrive in 1 s \(scheduler\)"):
            with open_cluster(spec):
                pass


def test_kubernetes_without_dask_kubernetes_names_the_extra():
    pytest.importorskip("yaml")
    try:
        import dask_kubernetes  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("dask-kubernetes is installed: the error under test cannot happen")
    spec = parse_cluster_spec("kind: kubernetes\nworkers: 1\n")
    with pytest.raises(ImportError, match=r"kind: kubernetes needs dask-kubernetes, which is not installed: "
                                          r"pip install 'zarrflow\[kubernetes\]'"):
        with open_cluster(spec):
            pass


def test_jobqueue_kwargs_take_the_walltime_from_jobqueue_yaml():
    import dask

    spec = parse_cluster_spec("kind: slurm\nworkers: 1\ncluster: {cores: 1, memory: 1GiB}\n")
    with dask.config.set({"jobqueue.slurm.walltime": "02:00:00", "jobqueue.slurm.worker-extra-args": ["--foo"]}):
        kwargs, added = jobqueue_kwargs(spec)
    assert added == ["--lifetime", "6480s", "--lifetime-stagger", "360s"]
    assert kwargs["worker_extra_args"] == ["--foo", *added]
    # a --lifetime the user chose is kept as it is
    spec = parse_cluster_spec("kind: slurm\nworkers: 1\ncluster: {walltime: '01:00:00', "
                              "worker_extra_args: [--lifetime, 10m]}\n")
    assert jobqueue_kwargs(spec) == ({"walltime": "01:00:00", "worker_extra_args": ["--lifetime", "10m"]}, [])


def test_signal_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    with open_cluster(parse_cluster_spec("kind: local\nworkers: 1\ncluster: {threads_per_worker: 1}\n")):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before

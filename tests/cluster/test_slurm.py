"""zarrflow on a real single-node SLURM (see conftest.py and slurm_daemons.py).

- client-driven: ``open_cluster`` / ``zarrflow rechunk --cluster`` start dask-jobqueue
  ``SLURMCluster`` worker jobs; the rechunk is exact, the jobs carry the file's request
  (threads, memory limit, spill directory, ``--lifetime`` below the walltime), and the
  jobs are gone afterwards;
- a worker job cancelled with ``scancel`` mid-run (held at a gate in the source's chunk
  reads, ``gate.py``): a replacement job is submitted, takes tasks, the output is exact;
- batch mode: ``cluster/slurm/zarrflow-batch.sbatch`` runs scheduler, workers and
  ``zarrflow rechunk`` in one allocation; a job whose walltime runs out mid-run
  (SLURM's own TIMEOUT) is submitted again and finishes the rest
  (``tasks_skipped`` > 0), exactly.

Every test leaves no job in ``squeue`` and no process of this SLURM (``slurm_clean``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slurm

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask_jobqueue")

from click.testing import CliRunner

import zarrflow
from tests.cluster import gate
from tests.cluster.conftest import REPO, slurm_cluster_file
from tests.graph.dask_command_line import wait_until
from zarrflow.cli import main
from zarrflow.graph.cluster_session import open_cluster
from zarrflow.graph.rechunk_records import RECORD_DIR

BATCH = REPO / "cluster" / "slurm" / "zarrflow-batch.sbatch"


def make_source(path: Path, shape=(64, 48), chunks=(1, 48)) -> np.ndarray:
    data = np.random.default_rng(7).integers(-1000, 1000, size=shape).astype("i4")
    z = zarrflow.open_array(str(path), mode="w", shape=shape, chunks=chunks, dtype="i4")
    z[...] = data
    return data


def check_target(path: Path, data: np.ndarray, chunks: tuple[int, ...]) -> None:
    out = zarrflow.open_array(str(path), mode="r")
    assert out.chunks == chunks
    np.testing.assert_array_equal(out[...], data)
    assert not (path / RECORD_DIR).exists()


def test_rechunk_on_slurmcluster_workers(slurm_clean, job_env, tmp_path):
    data = make_source(tmp_path / "s.zarr")
    spec_file = slurm_cluster_file(tmp_path / "c", workers=2)
    with open_cluster(spec_file) as session:
        script = session.job_script()
        # the job asks for what the file says, and its worker follows the request
        assert "#SBATCH -p debug" in script and "--cpus-per-task=1" in script and "#SBATCH --mem=1G" in script
        assert "#SBATCH -t 00:10:00" in script
        assert "--nthreads 1" in script and "--memory-limit 1.00GiB" in script
        assert f"--local-directory {tmp_path / 'c' / 'spill'}" in script
        assert session.worker_args == ["--lifetime", "540s", "--lifetime-stagger", "30s"]
        assert "--lifetime 540s --lifetime-stagger 30s" in script
        jobs = slurm_clean.jobs()
        assert sorted(jobs.values()) == ["RUNNING", "RUNNING"]
        info = session.client.scheduler_info(n_workers=-1)["workers"]
        assert len(info) == 2
        assert {w["nthreads"] for w in info.values()} == {1}
        assert {w["memory_limit"] for w in info.values()} == {2**30}
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in info)
        assert distributed.default_client() is session.client
        plan = zarrflow.rechunk(zarrflow.open_array(str(tmp_path / "s.zarr"), mode="r"), (64, 4), "8kB",
                                str(tmp_path / "t.zarr"), temp_store=str(tmp_path / "x.zarr"))
        plan.execute()
        assert plan.report.tasks_run == plan.n_tasks > 1
    check_target(tmp_path / "t.zarr", data, (64, 4))
    # closing the cluster cancelled its jobs
    slurm_clean.wait_for_no_jobs()
    assert all(slurm_clean.job_state(j) in ("CANCELLED", "COMPLETED") for j in jobs)


def test_cli_rechunk_with_a_slurm_cluster_file(slurm_clean, job_env, tmp_path):
    data = make_source(tmp_path / "s.zarr")
    spec_file = slurm_cluster_file(tmp_path / "c", workers=1)
    result = CliRunner().invoke(main, [
        "rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"), "--chunks", "64,6", "--max-mem", "8kB", "--temp", str(tmp_path / "x.zarr"),
        "--cluster", str(spec_file), "--no-progress"])
    assert result.exit_code == 0, result.output + result.stderr
    assert f"cluster: slurm, 1 workers (cores=1, processes=1, memory=1GiB, walltime=00:10:00, queue=debug) " \
           f"from {spec_file}" in result.stderr
    assert json.loads(result.output.splitlines()[-1])["tasks_skipped"] == 0
    check_target(tmp_path / "t.zarr", data, (64, 6))


def gated_env(job_env, tmp_path: Path, store: Path, free: int) -> Path:
    """Every Python process SLURM starts from now on gates the chunk reads of ``store``."""
    site = gate.sitecustomize_dir(tmp_path / "site")
    job_env.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ["PYTHONPATH"]]))
    gate_dir = tmp_path / "gate"
    job_env.setenv("ZARRFLOW_TEST_GATE", str(gate_dir))
    job_env.setenv("ZARRFLOW_TEST_GATE_STORE", str(store))
    job_env.setenv("ZARRFLOW_TEST_GATE_FREE", str(free))
    return gate_dir


def busy(client) -> int:
    """How many workers are running a task."""
    return sum(1 for keys in client.processing().values() if keys)


def test_scancel_a_worker_job_mid_run(slurm_clean, job_env, tmp_path):
    """One of two worker jobs is cancelled while both workers are inside tasks and some
    tasks are done: a replacement job is submitted, runs tasks, and the output is exact."""
    data = make_source(tmp_path / "s.zarr")  # 64 source chunks; 16 tasks of 4 chunks each
    free = 8  # two tasks' reads pass; then each worker blocks inside its next task
    gate_dir = gated_env(job_env, tmp_path, tmp_path / "s.zarr", free)
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="r")
    spec_file = slurm_cluster_file(tmp_path / "c", workers=2)
    with open_cluster(spec_file) as session:
        plan = zarrflow.rechunk(src, (4, 48), "3kB", str(tmp_path / "t.zarr"))
        assert plan.n_tasks == 16
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with session.client.as_current():
                    plan.execute()
            except BaseException as exc:  # re-raised in the test's thread
                errors.append(exc)

        before = {name: job.job_id for name, job in session.cluster.workers.items()}
        with distributed.get_task_stream(client=session.client) as stream:
            runner = threading.Thread(target=run)
            runner.start()
            # both workers are inside a task, and the gate holds the reads after two tasks'
            wait_until(lambda: gate.calls(gate_dir) > free and busy(session.client) == 2, 60,
                       "both workers to be inside a task")
            victim = sorted(before.values())[0]
            slurm_clean.run("scancel", victim)
            wait_until(lambda: victim not in slurm_clean.jobs(), 30, f"job {victim} to end")
            # the adaptive cluster replaces the lost worker with a new job
            wait_until(lambda: len(session.client.scheduler_info(n_workers=-1)["workers"]) == 2
                       and set(slurm_clean.jobs()) - set(before.values()), 60, "a replacement worker job")
            gate.open_gate(gate_dir)
            runner.join(60)
        assert not runner.is_alive() and not errors, errors
        after = {name: job.job_id for name, job in session.cluster.workers.items()}
        replacement = set(after.values()) - set(before.values())
        assert len(replacement) == 1
        assert slurm_clean.job_state(victim) == "CANCELLED"
        # tasks ran on the replacement's worker too
        new_workers = {addr for addr, w in session.client.scheduler_info(n_workers=-1)["workers"].items()
                       if w["name"] in [n for n, j in session.cluster.workers.items() if j.job_id in replacement]}
        assert new_workers and any(t["worker"] in new_workers for t in stream.data)
    check_target(tmp_path / "t.zarr", data, (4, 48))


def batch_env(tmp_path: Path) -> dict[str, str]:
    """Settings of the batch script for this machine: this Python, loopback only."""
    return {"ZARRFLOW_PYTHON": sys.executable, "ZARRFLOW_JOB_DIR": str(tmp_path / "job"),
            "ZARRFLOW_DASK_INTERFACE": "lo", "ZARRFLOW_DASHBOARD": "127.0.0.1:0",
            "ZARRFLOW_DASHBOARD_WORKER": "127.0.0.1:0", "ZARRFLOW_LOCAL_DIRECTORY": str(tmp_path / "spill")}


def sbatch(slurm, job_env, tmp_path: Path, name: str, *command: str) -> str:
    for key, value in batch_env(tmp_path).items():
        job_env.setenv(key, value)
    out = slurm.run("sbatch", "--parsable", "--ntasks=2", "--cpus-per-task=1", "--mem-per-cpu=512M",
                    "--time=00:05:00", f"--output={tmp_path / (name + '.out')}", f"--chdir={tmp_path}",
                    str(BATCH), *command).stdout
    return out.strip().split(";")[0]


def wait_for_end(slurm, job_id: str, timeout: float = 60) -> str:
    return wait_until(lambda: (s := slurm.job_state(job_id)) not in ("PENDING", "RUNNING", "COMPLETING") and s,
                      timeout, f"job {job_id} to end")


def rechunk_args(tmp_path: Path, chunks: str, max_mem: str) -> list[str]:
    return ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"), "--chunks", chunks,
            "--max-mem", max_mem, "--no-progress"]


def test_batch_script_runs_a_rechunk(slurm_clean, job_env, tmp_path):
    data = make_source(tmp_path / "s.zarr")
    job = sbatch(slurm_clean, job_env, tmp_path, "batch", *rechunk_args(tmp_path, "64,8", "8kB") + ["--temp", str(tmp_path / "x.zarr")])
    state = wait_for_end(slurm_clean, job)
    log = (tmp_path / "batch.out").read_text()
    assert state == "COMPLETED", log + (tmp_path / "job" / "workers.log").read_text()
    assert log.splitlines()[0].startswith("Rechunk plan")
    summary = json.loads(log.strip().splitlines()[-1])
    assert summary["tasks_skipped"] == 0 and summary["tasks_run"] > 1
    cluster_yaml = (tmp_path / "job" / "cluster.yaml").read_text()
    assert "kind: scheduler" in cluster_yaml and "wait_for_workers: 2" in cluster_yaml
    check_target(tmp_path / "t.zarr", data, (64, 8))


def test_walltime_kill_then_resubmit_finishes_the_rest(slurm_clean, job_env, tmp_path):
    """The batch job's walltime runs out mid-run (SLURM cancels it: TIMEOUT); the same
    job submitted again resumes the rechunk and finishes it exactly."""
    data = make_source(tmp_path / "s.zarr")  # 16 tasks of 4 source chunks each
    free = 12
    gate_dir = gated_env(job_env, tmp_path, tmp_path / "s.zarr", free)
    args = rechunk_args(tmp_path, "4,48", "3kB")
    job = sbatch(slurm_clean, job_env, tmp_path, "first", *args)
    wait_until(lambda: gate.calls(gate_dir) > free, 60, "the gate to hold the reads")
    records = tmp_path / "t.zarr" / RECORD_DIR
    wait_until(lambda: len(list(records.rglob("*"))) >= 3, 30, "finished tasks' records")
    # The walltime ends now: SLURM's time-limit check (every 30 s) cancels the job.
    slurm_clean.run("scontrol", "update", f"JobId={job}", "TimeLimit=0")
    assert wait_for_end(slurm_clean, job, timeout=60) == "TIMEOUT"
    assert "DUE TO TIME LIMIT" in (tmp_path / "first.out").read_text()
    assert (records / "plan.json").exists()  # unfinished: the record is still there
    gate.open_gate(gate_dir)
    again = sbatch(slurm_clean, job_env, tmp_path, "second", *args)
    state = wait_for_end(slurm_clean, again)
    log = (tmp_path / "second.out").read_text()
    assert state == "COMPLETED", log
    summary = json.loads(log.strip().splitlines()[-1])
    assert summary["tasks_skipped"] >= 2 and summary["tasks_run"] + summary["tasks_skipped"] == 16
    check_target(tmp_path / "t.zarr", data, (4, 48))
    # nothing of the first job outlived it
    assert not slurm_clean.leftover_jobs_and_processes()[1]

"""Fixtures of the cluster tests: a real single-node SLURM, and cluster files for it.

``slurm`` (session scope, per xdist worker) starts munged + slurmctld + slurmd under a
temporary directory (see ``slurm_daemons.py``) and stops them by their PIDs at the end;
``slurm_clean`` points ``SLURM_CONF`` at it during each SLURM test (dask-jobqueue runs
``sbatch``/``scancel`` from this process; jobs inherit the environment). Without the Debian
packages the SLURM tests skip, saying so; with ``ZARRFLOW_REQUIRE_SERVICES=1`` or
``ZARRFLOW_REQUIRE_ORACLES=1`` (CI) they fail instead.

After each SLURM test no job is listed by ``squeue`` and no
process started through this SLURM (job scripts, slurmstepd, dask workers) runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.cluster.slurm_daemons import Slurm, missing_executables

REPO = Path(__file__).resolve().parents[2]
PACKAGES = "slurmctld slurmd slurm-client munge"


def services_required() -> bool:
    """CI: a missing service fails the run instead of skipping."""
    return bool(os.environ.get("ZARRFLOW_REQUIRE_SERVICES") or os.environ.get("ZARRFLOW_REQUIRE_ORACLES"))


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when services are required."""
    if services_required():
        pytest.fail(f"{reason} (ZARRFLOW_REQUIRE_SERVICES/ORACLES is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A running single-node SLURM (partition ``debug``, 8 advertised CPUs)."""
    missing = missing_executables()
    if missing:
        unavailable(f"{', '.join(missing)} is not on PATH "
                    f"(apt-get install -y --no-install-recommends {PACKAGES})")
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        unavailable("could not import dask_jobqueue (pip install 'zarrflow[cluster]')")
    # Short unix-socket paths: munged's socket must fit in sockaddr_un (108 bytes).
    workdir = Path(tmp_path_factory.mktemp("slurm"))
    cluster = Slurm(workdir)
    with cluster:
        yield cluster
    assert not cluster.leftover_processes(), "SLURM daemons or their processes outlived stop()"


@pytest.fixture
def slurm_clean(slurm, monkeypatch):
    """The SLURM, with ``SLURM_CONF`` pointing at it during the test (only then, so the
    processes other tests start do not carry it), checked empty after the test: no job
    in squeue, no job process left."""
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    yield slurm
    deadline = time.monotonic() + 30
    while True:
        jobs, procs = slurm.leftover_jobs_and_processes()
        if not jobs and not procs:
            break
        if time.monotonic() > deadline:
            slurm.cancel_all()
            pytest.fail(f"left behind after the test: jobs {jobs}, processes {procs}")
        time.sleep(0.2)


@pytest.fixture
def job_env(tmp_path, monkeypatch):
    """PYTHONPATH for processes SLURM starts: this checkout first, so workers import it."""
    paths = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
    return monkeypatch


def slurm_cluster_file(directory: Path, workers: int = 2, walltime: str = "00:10:00", **extra: str) -> Path:
    """A ``kind: slurm`` cluster file for the test SLURM: one-core one-worker jobs,
    everything on 127.0.0.1 (``interface: lo``), logs and spill under ``directory``,
    a lost worker noticed after 1 s (dask's default is 15 s)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "kind: slurm",
        f"workers: {workers}",
        "wait_for_workers: " + str(extra.pop("wait", workers)),
        "timeout: 60s",
        "dask_config:",
        "  distributed.deploy.lost-worker-timeout: 1s",
        "cluster:",
        "  cores: 1",
        "  processes: 1",
        "  memory: 1GiB",
        f"  walltime: '{walltime}'",
        "  queue: debug",
        "  interface: lo",
        "  death-timeout: 30",
        f"  local_directory: {directory / 'spill'}",
        f"  log_directory: {directory / 'logs'}",
        "  scheduler_options: {host: 127.0.0.1, dashboard_address: '127.0.0.1:0'}",
        "  worker_extra_args: [--dashboard-address, '127.0.0.1:0']",
    ]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    path = directory / "cluster.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path

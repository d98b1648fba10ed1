"""Fixtures of the Dask-layer tests: the four schedulers every result is checked on.

``scheduler`` is parametrised over dask's threaded scheduler, its multiprocessing
scheduler, a module-scoped ``distributed.LocalCluster`` (2 worker processes x 1
thread on 127.0.0.1) and a session-scoped cluster started with the real command-line
tools (``dask scheduler`` + 2 x ``dask worker``, 1 thread each, on 127.0.0.1; see
``dask_command_line.py``). Tests that write use directory stores: writes made in other
processes land on disk, where the test reads them back.
"""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")

from tests.graph.dask_command_line import CLICluster
from zarrflow.graph.cluster import local


@pytest.fixture(scope="module")
def cluster_client():
    """One small local cluster per test module (started only when a test asks):
    ``zarrflow.cluster.local``, so everything it opens listens on 127.0.0.1."""
    client = local(n_workers=2, threads_per_worker=1, processes=True, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def cli_cluster(tmp_path_factory):
    """``dask scheduler`` + 2 ``dask worker`` processes (with nannies), one per test
    session (per xdist worker); stopped at the end of the session."""
    with CLICluster(tmp_path_factory.mktemp("cli-cluster"), n_workers=2) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cli_client(cli_cluster):
    """A client of the CLI cluster (not the default client; see ``scheduler``)."""
    client = distributed.Client(cli_cluster.address, set_as_default=False, timeout=cli_cluster.timeout)
    try:
        cli_cluster.wait_for_workers(client)
        yield client
    finally:
        client.close()


class Scheduler:
    """How a test runs a graph: ``scheduler=`` for zarrflow's ops, and a context
    in which the distributed client is the default one."""

    def __init__(self, name: str, client=None):
        self.name = name
        self.client = client

    @property
    def kwargs(self) -> dict:
        """Keyword arguments for zarrflow.graph.ops functions."""
        return {} if self.client is not None else {"scheduler": self.name}

    def compute(self, collection):
        """Compute a dask collection on this scheduler."""
        if self.client is not None:
            return self.client.compute(collection).result()
        return collection.compute(scheduler=self.name)

    def __repr__(self) -> str:
        return self.name


@pytest.fixture(params=["threads", "processes", "distributed", "cli"])
def scheduler(request):
    """Each of the four schedulers; with 'distributed' and 'cli' the cluster's client is
    the default client for the test (zarrflow uses it without being told)."""
    if request.param not in ("distributed", "cli"):
        yield Scheduler(request.param)
        return
    client = request.getfixturevalue("cluster_client" if request.param == "distributed" else "cli_client")
    with client.as_current():  # default_client() returns it; dask's scheduler is distributed
        yield Scheduler(request.param, client)

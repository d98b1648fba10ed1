"""Fixtures of the Dask-layer tests: the three schedulers every result is checked on.

``scheduler`` is parametrised over dask's threaded scheduler, its multiprocessing
scheduler and a module-scoped ``distributed.LocalCluster`` (2 worker processes x 1
thread on 127.0.0.1). Tests that write use directory stores: writes made in other
processes land on disk, where the test reads them back.
"""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster_client():
    """One small local cluster per test module (started only when a test asks)."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


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


@pytest.fixture(params=["threads", "processes", "distributed"])
def scheduler(request):
    """Each of the three schedulers; with 'distributed' the cluster's client is the
    default client for the test (zarrflow uses it without being told)."""
    if request.param != "distributed":
        yield Scheduler(request.param)
        return
    client = request.getfixturevalue("cluster_client")
    with client.as_current():  # default_client() returns it; dask's scheduler is distributed
        yield Scheduler("distributed", client)

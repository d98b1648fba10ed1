"""zarrflow.graph.cluster.local: an explicit local cluster on 127.0.0.1."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

import dask

from zarrflow.graph.cluster import local


def test_local_cluster_runs_and_closes():
    client = local(n_workers=1, threads_per_worker=1, processes=False)
    try:
        assert len(client.scheduler_info()["workers"]) == 1
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert dask.delayed(sum)([1, 2, 3]).compute() == 6  # the default client now
        assert client.cluster.scheduler_spec["options"]["dashboard"] is False
    finally:
        client.close()
    assert client.status == "closed" and client.cluster.status.name == "closed"


def test_local_worker_process():
    with local(n_workers=1, threads_per_worker=1) as client:
        assert client.submit(pow, 2, 5).result() == 32
        assert all(w.startswith("tcp://127.0.0.1") for w in client.scheduler_info()["workers"])


def test_http_routes_listen_on_a_free_loopback_port():
    with local(n_workers=1, threads_per_worker=1, processes=False) as client:
        sockets = client.cluster.scheduler.http_server._sockets.values()
        assert [s.getsockname()[0] for s in sockets] == ["127.0.0.1"]

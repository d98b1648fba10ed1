"""The LocalCluster fixture of the Dask-layer tests, shared here."""

from tests.graph.conftest import cluster_client  # noqa: F401 - a fixture

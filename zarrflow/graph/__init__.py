"""The Dask layer: plans, task graphs and dask/distributed integration on top of the
engine (``zarrflow.core`` and ``zarrflow.storage``).

Importing this package imports nothing heavy; each submodule imports dask or
distributed itself (e.g. ``zarrflow.graph.sync`` for the distributed synchronizer).
"""

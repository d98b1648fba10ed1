"""zarrflow and zarr-python 2.18 through the same zarr-2 API calls.

The engine module is picked by name: ``zarrflow`` (``import zarrflow as zarr``) in the
main venv, ``zarr`` in the zarr 2.18 venv. Nothing here imports zarrflow unless asked
to, so this module also loads where zarrflow is absent.
"""

from __future__ import annotations

import importlib

import numcodecs

from benchmarks.impls.base import ImplUnavailable
from benchmarks.impls.engine import EngineRunner, ZarrApiAdapter
from benchmarks.workloads import Workload


def load(module_name: str):
    """Import the engine, or raise :class:`ImplUnavailable` saying why not."""
    try:
        zarr = importlib.import_module(module_name)
    except Exception as exc:
        raise ImplUnavailable(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from exc
    if module_name == "zarr" and not str(getattr(zarr, "__version__", "")).startswith("2."):
        raise ImplUnavailable(f"zarr {zarr.__version__} is not zarr-python 2.x")
    if not callable(getattr(zarr, "open", None)):
        raise ImplUnavailable(f"{module_name} does not provide open() yet")
    return zarr


class V2Adapter(ZarrApiAdapter):
    """zarr-2 API calls on a DirectoryStore given by path."""

    def __init__(self, zarr, durable: bool = False, chunk_cache_bytes: int | None = None):
        self.zarr = zarr
        self.durable = durable
        self.chunk_cache_bytes = chunk_cache_bytes

    def create(self, path: str, wl: Workload):
        where = self.zarr.DirectoryStore(path, durable=True) if self.durable else path  # zarrflow only
        return self.zarr.open(where, mode="w", shape=wl.shape, chunks=wl.chunks, dtype=wl.dtype,
                              compressor=numcodecs.get_codec(dict(wl.compressor)))

    def open(self, path: str):
        if self.chunk_cache_bytes is not None:  # zarrflow only: decoded chunks kept across runs
            return self.zarr.open(path, mode="r", chunk_cache=self.zarr.LRUChunkCache(self.chunk_cache_bytes))
        return self.zarr.open(path, mode="r")


def make_runner(wl: Workload, workdir: str, module: str = "zarrflow", durable: bool = False,
                chunk_cache_bytes: int | None = None,
                **_opts) -> EngineRunner:
    return EngineRunner(V2Adapter(load(module), durable, chunk_cache_bytes), wl, workdir)


def versions(module: str = "zarrflow", **_opts) -> dict:
    mod = importlib.import_module(module)
    return {module: getattr(mod, "__version__", "?")}

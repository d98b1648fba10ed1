"""tensorstore's ``zarr`` (v2) driver on the ``file`` kvstore, default context (no cache).

The numcodecs compressor config of the workload maps one-to-one onto the driver's
``compressor`` JSON (``blosc``: cname/clevel/shuffle/blocksize; ``zstd``: level).
"""

from __future__ import annotations

import numpy as np

from benchmarks.impls.base import ImplUnavailable
from benchmarks.impls.engine import EngineRunner
from benchmarks.workloads import Workload


def _load():
    try:
        import tensorstore
    except ImportError as exc:
        raise ImplUnavailable(f"cannot import tensorstore: {exc}") from exc
    return tensorstore


def compressor_json(cfg: dict) -> dict:
    """tensorstore zarr-driver compressor JSON for a numcodecs config."""
    if cfg["id"] == "blosc":
        return {"id": "blosc", "cname": cfg["cname"], "clevel": cfg["clevel"],
                "shuffle": cfg["shuffle"], "blocksize": cfg.get("blocksize", 0)}
    if cfg["id"] == "zstd":
        return {"id": "zstd", "level": cfg.get("level", 1)}
    raise ValueError(f"no tensorstore mapping for compressor {cfg['id']!r}")


class TensorStoreAdapter:
    """``ts.open(...).result()``; reads ``.read().result()``, writes ``.write(a).result()``."""

    def __init__(self, ts, file_io_sync: bool = True):
        self.ts = ts
        # tensorstore fsyncs every file it writes unless its context says otherwise
        self.context = ts.Context({"file_io_sync": file_io_sync})

    @staticmethod
    def _kvstore(path: str) -> dict:
        return {"driver": "file", "path": path}

    def create(self, path: str, wl: Workload):
        metadata = {
            "shape": list(wl.shape), "chunks": list(wl.chunks), "dtype": np.dtype(wl.dtype).str,
            "compressor": compressor_json(wl.compressor), "order": "C", "fill_value": 0,
            "filters": None, "dimension_separator": ".",
        }
        spec = {"driver": "zarr", "kvstore": self._kvstore(path), "metadata": metadata}
        return self.ts.open(spec, create=True, delete_existing=True, context=self.context).result()

    def open(self, path: str):
        spec = {"driver": "zarr", "kvstore": self._kvstore(path)}
        return self.ts.open(spec, open=True, read=True, context=self.context).result()

    def write_full(self, t, a) -> None:
        t.write(a).result()

    def read_full(self, t):
        return t.read().result()

    def read_basic(self, t, sel):
        return t[sel].read().result()

    def read_point(self, t, idx):
        return t[idx].read().result()

    def read_vindex(self, t, sel):
        return t.vindex[sel].read().result()

    def read_oindex(self, t, sel):
        return t.oindex[sel].read().result()


def make_runner(wl: Workload, workdir: str, file_io_sync: bool = True, **_opts) -> EngineRunner:
    return EngineRunner(TensorStoreAdapter(_load(), file_io_sync), wl, workdir)


def versions(**_opts) -> dict:
    from importlib.metadata import version

    return {"tensorstore": version("tensorstore")}

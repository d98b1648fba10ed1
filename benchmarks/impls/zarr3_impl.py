"""zarr-python 3.x writing and reading Zarr v2 arrays (``zarr_format=2``), library defaults."""

from __future__ import annotations

import numcodecs

from benchmarks.impls.base import ImplUnavailable
from benchmarks.impls.engine import EngineRunner, ZarrApiAdapter
from benchmarks.workloads import Workload


def _load():
    try:
        import zarr
    except ImportError as exc:
        raise ImplUnavailable(f"cannot import zarr: {exc}") from exc
    if not zarr.__version__.startswith("3."):
        raise ImplUnavailable(f"zarr {zarr.__version__} is not zarr-python 3.x")
    return zarr


class Zarr3Adapter(ZarrApiAdapter):
    """``zarr.create_array`` / ``zarr.open_array`` on a local path, numcodecs v2 compressor."""

    def __init__(self, zarr):
        self.zarr = zarr

    def create(self, path: str, wl: Workload):
        return self.zarr.create_array(
            store=path, shape=wl.shape, chunks=wl.chunks, dtype=wl.dtype,
            compressors=numcodecs.get_codec(dict(wl.compressor)), fill_value=0,
            zarr_format=2, overwrite=True,
        )

    def open(self, path: str):
        return self.zarr.open_array(store=path, mode="r", zarr_format=2)


def make_runner(wl: Workload, workdir: str, **_opts) -> EngineRunner:
    return EngineRunner(Zarr3Adapter(_load()), wl, workdir)


def versions(**_opts) -> dict:
    import zarr

    return {"zarr": zarr.__version__}

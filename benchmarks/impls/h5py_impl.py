"""h5py: the same array as one chunked HDF5 dataset in one file, Blosc via hdf5plugin.

* One file ``array.h5``, dataset ``x``, the workload's chunks (clipped to the shape at
  tiny scales: HDF5 refuses chunks larger than the dataset), and the workload's Blosc
  settings through ``hdf5plugin.Blosc(cname, clevel, shuffle)`` (HDF5 filter 32001;
  numcodecs' and hdf5plugin's shuffle codes are the same 0/1/2).
* h5py's default chunk cache (``rdcc_nbytes`` 1 MiB, 521 slots): chunks of the f8_3d
  (8 MB) and i4_zstd (4 MB) arrays never fit in it, so every read decodes its chunks
  anew, as the Zarr engines without a cache do; the 40 kB small chunks do fit.
* Writes ``ds[...] = a`` then ``file.flush()`` inside the timed region, into a fresh
  file each run. Reads ``ds[...]`` / ``ds[sel]``; ``z[i, j, k]`` is ``ds[i, j, k]``.
* ``vindex``: h5py has no vectorised point read, so it is one ``ds[i, j]`` per point
  in a loop (what a user of h5py writes). ``oindex``: ``ds[sorted_rows, :]`` (h5py's
  fancy indexing, which needs increasing indices: the rows are sorted and distinct).
* Writes are checked by reading the file back with h5py (shape, dtype, chunks, the
  Blosc filter's clevel/shuffle/compressor, every element), not with numcodecs: the
  stored format is HDF5, not Zarr.
"""

from __future__ import annotations

import gc
import os

import numpy as np

from benchmarks import checks
from benchmarks.impls.base import ImplUnavailable
from benchmarks.impls.engine import EngineRunner
from benchmarks.workloads import Workload

BLOSC_FILTER_ID = 32001
DATASET = "x"


def h5_chunks(wl: Workload) -> tuple[int, ...]:
    """The workload's chunks, clipped to the shape (HDF5 refuses chunks larger than the
    dataset; Zarr pads them; only tiny ``--scale`` values hit this)."""
    return tuple(min(c, n) for c, n in zip(wl.chunks, wl.shape))


def _load():
    try:
        import h5py
        import hdf5plugin
    except ImportError as exc:
        raise ImplUnavailable(f"cannot import h5py/hdf5plugin: {exc}") from exc
    return h5py, hdf5plugin


def blosc_filter(hdf5plugin, cfg: dict):
    """The ``hdf5plugin.Blosc`` filter equal to a numcodecs Blosc config."""
    if cfg["id"] != "blosc":
        raise ValueError(f"no hdf5plugin mapping for compressor {cfg['id']!r}")
    return hdf5plugin.Blosc(cname=cfg["cname"], clevel=cfg["clevel"], shuffle=cfg["shuffle"])


class H5pyAdapter:
    """A handle is the open ``h5py.Dataset`` (its file: ``ds.file``)."""

    def __init__(self, h5py, hdf5plugin):
        self.h5py = h5py
        self.hdf5plugin = hdf5plugin

    def create(self, path: str, wl: Workload):
        f = self.h5py.File(path, "w")
        return f.create_dataset(DATASET, shape=wl.shape, chunks=h5_chunks(wl), dtype=wl.dtype,
                                **blosc_filter(self.hdf5plugin, wl.compressor))

    def open(self, path: str):
        return self.h5py.File(path, "r")[DATASET]

    def write_full(self, ds, a) -> None:
        ds[...] = a
        ds.file.flush()

    def read_full(self, ds):
        return ds[...]

    def read_basic(self, ds, sel):
        return ds[sel]

    def read_point(self, ds, idx):
        return ds[idx]

    def read_vindex(self, ds, sel):
        n = len(sel[0])
        return np.fromiter((ds[idx] for idx in zip(*(s.tolist() for s in sel))), dtype=ds.dtype, count=n)

    def read_oindex(self, ds, sel):
        return ds[sel]


def _close(ds) -> None:
    if ds is not None and ds.id.valid:
        ds.file.close()


class H5pyRunner(EngineRunner):
    """:class:`EngineRunner` on one HDF5 file, checked with h5py."""

    def __init__(self, adapter: H5pyAdapter, wl: Workload, workdir: str):
        super().__init__(adapter, wl, workdir)
        self.path = os.path.join(workdir, "array.h5")

    def setup(self) -> None:
        a = self.wl.make_data()
        if self.wl.is_write:
            self.data = a
            return
        ds = self.adapter.create(self.path, self.wl)
        self.adapter.write_full(ds, a)
        _close(ds)
        self.want = checks.digest(self.wl.expected(a, self.sel))
        del a
        gc.collect()
        os.sync()  # as EngineRunner.setup: no timed read of pages still being written back
        self.handle = self.adapter.open(self.path)

    def before_each(self) -> None:
        if self.wl.is_write:
            _close(self.handle)
            self.handle = None
            if os.path.exists(self.path):
                os.remove(self.path)
            self.handle = self.adapter.create(self.path, self.wl)

    def verify(self, result) -> tuple[bool, str]:
        if not self.wl.is_write:
            return super().verify(result)
        _close(self.handle)
        self.handle = None
        return check_written_h5(self.adapter, self.path, self.data, self.wl)

    def extra(self) -> dict:
        if not os.path.exists(self.path):
            return {}
        with self.adapter.h5py.File(self.path, "r") as f:
            return {"stored_bytes": int(f[DATASET].id.get_storage_size()), "file_bytes": os.path.getsize(self.path)}

    def close(self) -> None:
        _close(self.handle)
        self.handle = None


def check_written_h5(adapter: H5pyAdapter, path: str, a: np.ndarray, wl: Workload) -> tuple[bool, str]:
    """Was ``a`` written to ``path`` as the workload's chunked, Blosc-compressed dataset?"""
    try:
        with adapter.h5py.File(path, "r") as f:
            ds = f[DATASET]
            bad = []
            if ds.shape != wl.shape:
                bad.append(f"shape {ds.shape} (expected {wl.shape})")
            if ds.chunks != h5_chunks(wl):
                bad.append(f"chunks {ds.chunks} (expected {h5_chunks(wl)})")
            if ds.dtype != np.dtype(wl.dtype):
                bad.append(f"dtype {ds.dtype} (expected {wl.dtype})")
            plist = ds.id.get_create_plist()
            found = [plist.get_filter(i) for i in range(plist.get_nfilters())]
            blosc = [f_ for f_ in found if f_[0] == BLOSC_FILTER_ID]
            want = tuple(blosc_filter(adapter.hdf5plugin, wl.compressor)["compression_opts"])[-3:]
            if not blosc:
                bad.append(f"no Blosc filter (filters {[f_[0] for f_ in found]})")
            elif tuple(blosc[0][2])[-3:] != want:
                bad.append(f"Blosc clevel/shuffle/compressor {tuple(blosc[0][2])[-3:]} (expected {want})")
            if bad:
                return False, "dataset differs: " + "; ".join(bad)
            data = ds[...]
    except Exception as exc:
        return False, f"cannot read written file: {type(exc).__name__}: {exc}"
    if not np.array_equal(data, a):
        return False, f"{int(np.count_nonzero(data != a))} elements differ from what was written"
    return True, "ok"


def make_runner(wl: Workload, workdir: str, **_opts) -> H5pyRunner:
    return H5pyRunner(H5pyAdapter(*_load()), wl, workdir)


def versions(**_opts) -> dict:
    h5py, hdf5plugin = _load()
    return {"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "hdf5plugin": hdf5plugin.version}

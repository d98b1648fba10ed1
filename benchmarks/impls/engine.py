"""The runner shared by the array engines (zarrflow, zarr 2, zarr 3, tensorstore).

An engine is described by an adapter object with these methods (``h`` is whatever
handle the engine uses for an open array)::

    create(path, wl) -> h        # empty array with the workload's shape/chunks/dtype/compressor
    open(path) -> h              # existing array, read-only
    write_full(h, a)             # z[:] = a
    read_full(h) -> ndarray      # z[:]
    read_basic(h, sel) -> ndarray    # z[sel], sel a tuple of ints/slices
    read_point(h, idx) -> scalar     # z[i, j, k], one call
    read_vindex(h, sel) -> ndarray   # z.vindex[sel]
    read_oindex(h, sel) -> ndarray   # z.oindex[sel]
"""

from __future__ import annotations

import gc
import os

import numpy as np

from benchmarks import checks
from benchmarks.impls.base import Runner, fresh_dir
from benchmarks.workloads import Workload


class ZarrApiAdapter:
    """The reads and writes every zarr-like engine spells the same way (``z[:]``,
    ``z.vindex[...]``, ``z.oindex[...]``); subclasses add ``create`` and ``open``."""

    def write_full(self, z, a) -> None:
        z[:] = a

    def read_full(self, z):
        return z[:]

    def read_basic(self, z, sel):
        return z[sel]

    def read_point(self, z, idx):
        return z[idx]

    def read_vindex(self, z, sel):
        return z.vindex[sel]

    def read_oindex(self, z, sel):
        return z.oindex[sel]


class EngineRunner(Runner):
    """Write workloads time ``write_full`` into a fresh array each run; read workloads
    time the read of an array the same engine wrote during ``setup``."""

    def __init__(self, adapter, wl: Workload, workdir: str):
        self.adapter = adapter
        self.wl = wl
        self.path = os.path.join(workdir, "array.zarr")
        self.sel = wl.selection()
        self.data: np.ndarray | None = None
        self.want: dict | None = None
        self.handle = None

    def setup(self) -> None:
        a = self.wl.make_data()
        if self.wl.is_write:
            self.data = a
            return
        self.adapter.write_full(self.adapter.create(self.path, self.wl), a)
        self.want = checks.digest(self.wl.expected(a, self.sel))
        del a
        gc.collect()
        # Written data goes to disk before any timed read: reads of pages still being
        # written back ran 3-6x slower on the benchmark machine for seconds after a write.
        os.sync()
        self.handle = self.adapter.open(self.path)

    def before_each(self) -> None:
        if self.wl.is_write:
            self.handle = None
            fresh_dir(self.path)
            self.handle = self.adapter.create(self.path, self.wl)

    def run(self):
        ad, h, sel, op = self.adapter, self.handle, self.sel, self.wl.op
        if op == "write":
            return ad.write_full(h, self.data)
        if op == "read":
            return ad.read_full(h)
        if op == "slice":
            return ad.read_basic(h, sel)
        if op == "points":
            return [ad.read_point(h, tuple(int(i) for i in p)) for p in sel]
        if op == "vindex":
            return ad.read_vindex(h, sel)
        if op == "oindex":
            return ad.read_oindex(h, sel)
        raise ValueError(f"unknown op {op!r}")

    def verify(self, result) -> tuple[bool, str]:
        if self.wl.is_write:
            self.handle = None
            return checks.check_written(self.path, self.data, self.wl)
        if self.wl.op == "points":
            result = np.stack([np.asarray(v) for v in result])  # keeps the engine's dtype
        return checks.compare_digest(checks.digest(result), self.want)

    def extra(self) -> dict:
        return {"stored_bytes": checks.stored_bytes(self.path)} if os.path.isdir(self.path) else {}

"""The I/O-bound limit: write the workload's stored (compressed) chunk bytes to one file
per chunk key, or read them back, on a thread pool (2 threads by default).

Plain ``open``/``write``/``read`` in one flat directory, like a Zarr v2 DirectoryStore
with the ``'.'`` separator, but without temp-file-and-rename, metadata or codecs.
Like the engines, no ``fsync``: writes land in the page cache and reads come from it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from benchmarks.impls.base import Runner, fresh_dir
from benchmarks.impls.limits import DEFAULT_THREADS, ChunkSet
from benchmarks.workloads import Workload


def _write(path: str, data: bytes) -> int:
    with open(path, "wb") as f:
        return f.write(data)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class RawIORunner(Runner):
    def __init__(self, wl: Workload, workdir: str, threads: int = DEFAULT_THREADS):
        self.wl = wl
        self.dir = os.path.join(workdir, "chunks")
        self.threads = threads
        self.cs: ChunkSet | None = None
        self.paths: list[str] = []
        self.pool: ThreadPoolExecutor | None = None

    def setup(self) -> None:
        self.cs = ChunkSet(self.wl, keep_raw=False)
        self.paths = [os.path.join(self.dir, k) for k in self.cs.keys]
        self.pool = ThreadPoolExecutor(self.threads)
        if not self.wl.is_write:
            os.makedirs(self.dir)
            for path, data in zip(self.paths, self.cs.encoded):
                _write(path, data)
            os.sync()  # as EngineRunner.setup: no timed read of pages still being written back

    def before_each(self) -> None:
        if self.wl.is_write:
            fresh_dir(self.dir)
            os.makedirs(self.dir)

    def run(self):
        cs = self.cs
        if self.wl.is_write:
            return list(self.pool.map(_write, self.paths, cs.encoded))
        return list(self.pool.map(lambda i: len(_read(self.paths[i])), cs.order))

    def verify(self, result) -> tuple[bool, str]:
        cs = self.cs
        order = range(len(cs.encoded)) if self.wl.is_write else cs.order
        if result != [len(cs.encoded[i]) for i in order]:
            return False, "bytes written/read per chunk differ from the stored chunk sizes"
        if any(_read(p) != e for p, e in zip(self.paths, cs.encoded)):
            return False, "chunk files differ from the stored chunk bytes"
        return True, "ok"

    def extra(self) -> dict:
        return {**self.cs.extra(), "threads": self.threads}

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def make_runner(wl: Workload, workdir: str, threads: int = DEFAULT_THREADS, **_opts) -> RawIORunner:
    return RawIORunner(wl, workdir, threads)


def versions(**_opts) -> dict:
    return {}

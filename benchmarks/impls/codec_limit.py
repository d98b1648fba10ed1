"""The codec-bound limit: numcodecs encode (writes) or decode (reads) of the workload's
chunks alone, on a thread pool (2 threads by default), with no store and no copying
into or out of a larger array.

In pool threads numcodecs' Blosc runs single-threaded per call, so 2 threads use the
machine's 2 cores.
"""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor

from benchmarks.impls.base import Runner
from benchmarks.impls.limits import DEFAULT_THREADS, ChunkSet
from benchmarks.workloads import Workload


class CodecRunner(Runner):
    def __init__(self, wl: Workload, threads: int = DEFAULT_THREADS):
        self.wl = wl
        self.threads = threads
        self.cs: ChunkSet | None = None
        self.pool: ThreadPoolExecutor | None = None

    def setup(self) -> None:
        self.cs = ChunkSet(self.wl, keep_raw=self.wl.is_write)
        self.pool = ThreadPoolExecutor(self.threads)

    def run(self):
        cs = self.cs
        if self.wl.is_write:
            return list(self.pool.map(cs.codec.encode, cs.raw))
        decode = cs.codec.decode
        return list(self.pool.map(lambda i: len(decode(cs.encoded[i])), cs.order))

    def verify(self, result) -> tuple[bool, str]:
        cs = self.cs
        if self.wl.is_write:
            crcs = [zlib.crc32(cs.codec.decode(e)) for e in result]
        else:
            if result != [cs.nbytes[i] for i in cs.order]:
                return False, "decoded chunk sizes differ from the chunks' sizes"
            crcs = [zlib.crc32(cs.codec.decode(e)) for e in cs.encoded]
        if crcs != cs.crc:
            return False, "decoded chunk contents differ from the original chunks"
        return True, "ok"

    def extra(self) -> dict:
        return {**self.cs.extra(), "threads": self.threads}

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def make_runner(wl: Workload, workdir: str, threads: int = DEFAULT_THREADS, **_opts) -> CodecRunner:
    return CodecRunner(wl, threads)


def versions(**_opts) -> dict:
    return {}

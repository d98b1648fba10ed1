"""The implementations compared, and which Python runs each.

Each entry names the module (with ``make_runner(wl, workdir, **opts)`` and
``versions(**opts)``), the keyword options it gets, and the environment it runs in:
``main`` (the interpreter running the harness) or ``zarr2`` (the zarr 2.18 venv).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Impl:
    name: str
    module: str
    env: str = "main"
    options: dict = field(default_factory=dict)
    kind: str = "engine"  # 'engine' | 'limit'
    #: Run when ``--impls`` is not given (variants such as the durable modes are not).
    default: bool = True


IMPLS: dict[str, Impl] = {
    i.name: i
    for i in (
        Impl("zarrflow", "benchmarks.impls.v2api", options={"module": "zarrflow"}),
        Impl("zarr2", "benchmarks.impls.v2api", env="zarr2", options={"module": "zarr"}),
        Impl("zarr3", "benchmarks.impls.zarr3_impl"),
        Impl("tensorstore", "benchmarks.impls.tensorstore_impl"),
        Impl("h5py", "benchmarks.impls.h5py_impl"),
        Impl("codec", "benchmarks.impls.codec_limit", kind="limit"),
        Impl("rawio", "benchmarks.impls.rawio_limit", kind="limit"),
        # variants, for benchmarks/results/durability.md: fsync every chunk, or not
        # an earlier zarrflow (benchmarks.run --baseline-tree DIR), for before/after tables
        Impl("zarrflow_base", "benchmarks.impls.v2api", options={"module": "zarrflow"}, default=False),
        # variant, for repeated reads: decoded chunks kept in an LRUChunkCache of 1 GiB (warm after
        # the warm-up round, so the timed rounds measure reads served from it)
        Impl("zarrflow_cache", "benchmarks.impls.v2api", options={"module": "zarrflow", "chunk_cache_bytes": 2**30},
             default=False),
        Impl("zarrflow_durable", "benchmarks.impls.v2api", options={"module": "zarrflow", "durable": True},
             default=False),
        Impl("tensorstore_nosync", "benchmarks.impls.tensorstore_impl", options={"file_io_sync": False},
             default=False),
    )
}

#: The implementations run by default.
DEFAULT_IMPLS: tuple[str, ...] = tuple(name for name, impl in IMPLS.items() if impl.default)

#: Report order; ``limit`` is derived by the parent, never run.
ORDER: tuple[str, ...] = tuple(IMPLS) + ("limit",)


def module(impl: str):
    """The adapter module of an implementation."""
    return importlib.import_module(IMPLS[impl].module)


def make_runner(impl: str, wl, workdir: str, **opts):
    """A :class:`~benchmarks.impls.base.Runner` for ``impl`` on workload ``wl``."""
    return module(impl).make_runner(wl, workdir, **IMPLS[impl].options, **opts)


def versions(impl: str) -> dict:
    return module(impl).versions(**IMPLS[impl].options)


def parse(spec: str | None) -> list[str]:
    """Implementation names from a comma-separated list (all when empty)."""
    if not spec:
        return list(DEFAULT_IMPLS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in IMPLS]
    if unknown:
        raise ValueError(f"unknown implementation(s) {', '.join(unknown)}; known: {', '.join(IMPLS)}")
    return [n for n in IMPLS if n in names]

"""The benchmark workloads: which array, which compressor, which operation.

Sizes are those of scale 1.0; :func:`get` returns a workload at another scale. The
scale shrinks the first axis (and, where the chunk spans a fixed fraction of that
axis, the chunk's first axis with it, so the chunk count stays the same), so bytes
moved are proportional to the scale. Counts of operations (1000 points, 100 rows)
stay fixed unless the array has fewer rows.

Everything is deterministic: data and selections come from fixed seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: numcodecs configs of the two compressors in use (``numcodecs.get_codec(cfg)``).
BLOSC_LZ4 = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
BLOSC_ZSTD_BITSHUFFLE = {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0}

#: Operations whose "% of limit" is reported (they move the whole array).
FULL_OPS = ("write", "read")

N_POINTS = 1000
N_ROWS = 100


@dataclass(frozen=True)
class Workload:
    """One benchmark case at a given scale.

    ``op`` is one of ``write`` (``z[:] = a``), ``read`` (``z[:]``), ``slice`` (basic
    selection ``z[sel]``), ``points`` (one call ``z[i, j, k]`` per point), ``vindex``
    (``z.vindex[sel]``) and ``oindex`` (``z.oindex[sel]``).
    """

    name: str
    group: str
    op: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    compressor: dict
    data: str  # 'random_float' | 'arange' | 'random_int'
    seed: int
    select_seed: int = 0
    slice_spec: tuple = ()

    @property
    def is_full(self) -> bool:
        """True for the workloads that move the whole array (write and read)."""
        return self.op in FULL_OPS

    @property
    def is_write(self) -> bool:
        return self.op == "write"

    def make_data(self) -> np.ndarray:
        """The array written (or pre-written, for read workloads); deterministic."""
        rng = np.random.default_rng(self.seed)
        if self.data == "random_float":
            return rng.random(self.shape).astype(self.dtype, copy=False)
        if self.data == "arange":
            return np.arange(int(np.prod(self.shape)), dtype=self.dtype).reshape(self.shape)
        if self.data == "random_int":
            return rng.integers(0, 1000, size=self.shape, dtype=self.dtype)
        raise ValueError(f"unknown data kind {self.data!r}")

    def selection(self):
        """The selection argument of the operation (``None`` for write/read).

        ``slice``: a tuple of ints/slices; ``points``: an (n, ndim) int array;
        ``vindex``: a tuple of int arrays; ``oindex``: a tuple (sorted rows, ``slice(None)``).
        """
        rng = np.random.default_rng(self.select_seed)
        if self.op in FULL_OPS:
            return None
        if self.op == "slice":
            return tuple(_resolve(s, n) for s, n in zip(self.slice_spec, self.shape))
        if self.op == "points":
            return np.stack([rng.integers(0, n, N_POINTS) for n in self.shape], axis=1)
        if self.op == "vindex":
            return tuple(rng.integers(0, n, N_POINTS) for n in self.shape)
        if self.op == "oindex":
            rows = np.sort(rng.choice(self.shape[0], size=min(N_ROWS, self.shape[0]), replace=False))
            return (rows,) + (slice(None),) * (len(self.shape) - 1)
        raise ValueError(f"unknown op {self.op!r}")

    def expected(self, a: np.ndarray, sel=None) -> np.ndarray:
        """What the operation returns on ``a``, computed with plain numpy."""
        sel = self.selection() if sel is None else sel
        if self.op in FULL_OPS:
            return a
        if self.op == "slice":
            return a[sel]
        if self.op == "points":
            return a[tuple(sel.T)]
        if self.op == "vindex":
            return a[sel]
        if self.op == "oindex":
            out = a
            for axis, idx in enumerate(sel):
                if not isinstance(idx, slice):
                    out = np.take(out, idx, axis=axis)
            return out
        raise ValueError(f"unknown op {self.op!r}")

    @property
    def nbytes_array(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    def bytes_moved(self) -> int:
        """Uncompressed bytes the operation writes or returns (for MB/s)."""
        if self.is_full:
            return self.nbytes_array
        zeros = np.broadcast_to(np.zeros((), dtype=self.dtype), self.shape)  # no allocation
        return int(self.expected(zeros).nbytes)

    def describe_array(self) -> str:
        """One-line description of the array, e.g. for a report heading."""
        c = self.compressor
        shuffle = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}[c["shuffle"]]
        return (
            f"{self.shape} {np.dtype(self.dtype).name}, chunks {self.chunks}, "
            f"{c['id']} {c['cname']} clevel {c['clevel']} {shuffle}"
        )


def _resolve(spec, n: int):
    """Slice specs: ``'all'`` -> ``slice(None)``, ``'mid'`` -> ``n // 2``, int -> clipped int."""
    if spec == "all":
        return slice(None)
    if spec == "mid":
        return n // 2
    return min(int(spec), n - 1)


def _rows(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def _f8_3d(name: str, op: str, scale: float, **kw) -> Workload:
    n0 = _rows(1000, scale)
    return Workload(name, "f8_3d", op, (n0, 1000, 100), (n0, 1000, 1), "float64",
                    BLOSC_LZ4, "random_float", seed=1, **kw)


def _i4_zstd(name: str, op: str, scale: float, **kw) -> Workload:
    return Workload(name, "i4_zstd", op, (_rows(10000, scale), 10000), (_rows(1000, scale), 1000),
                    "int32", BLOSC_ZSTD_BITSHUFFLE, "arange", seed=0, **kw)


def _i4_small(name: str, op: str, scale: float, **kw) -> Workload:
    return Workload(name, "i4_small_chunks", op, (_rows(4000, scale), 4000), (100, 100),
                    "int32", BLOSC_LZ4, "random_int", seed=5, **kw)


_BUILDERS = {
    "f8_3d_write": lambda s: _f8_3d("f8_3d_write", "write", s),
    "f8_3d_read": lambda s: _f8_3d("f8_3d_read", "read", s),
    "f8_3d_slice_z": lambda s: _f8_3d("f8_3d_slice_z", "slice", s, slice_spec=("all", "all", 10)),
    "f8_3d_slice_x": lambda s: _f8_3d("f8_3d_slice_x", "slice", s, slice_spec=("mid", "all", "all")),
    "f8_3d_points": lambda s: _f8_3d("f8_3d_points", "points", s, select_seed=2),
    "i4_zstd_write": lambda s: _i4_zstd("i4_zstd_write", "write", s),
    "i4_zstd_read": lambda s: _i4_zstd("i4_zstd_read", "read", s),
    "i4_zstd_vindex": lambda s: _i4_zstd("i4_zstd_vindex", "vindex", s, select_seed=6),
    "i4_zstd_oindex": lambda s: _i4_zstd("i4_zstd_oindex", "oindex", s, select_seed=7),
    "i4_small_chunks_write": lambda s: _i4_small("i4_small_chunks_write", "write", s),
    "i4_small_chunks_read": lambda s: _i4_small("i4_small_chunks_read", "read", s),
    "vindex_1000": lambda s: _i4_small("vindex_1000", "vindex", s, select_seed=3),
    "oindex_100rows": lambda s: _i4_small("oindex_100rows", "oindex", s, select_seed=4),
}

#: All workload names, in report order.
NAMES: tuple[str, ...] = tuple(_BUILDERS)

#: Report groups (one table each), in order.
GROUPS: tuple[str, ...] = ("f8_3d", "i4_zstd", "i4_small_chunks")


def get(name: str, scale: float = 1.0) -> Workload:
    """The workload ``name`` at ``scale``."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    try:
        return _BUILDERS[name](scale)
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; known: {', '.join(NAMES)}") from None


def select(spec: str | None) -> list[str]:
    """Workload names from a comma-separated list of names and/or group names."""
    if not spec:
        return list(NAMES)
    chosen: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        matches = [n for n in NAMES if n == item or get(n, 1.0).group == item]
        if not matches:
            raise ValueError(f"unknown workload or group {item!r}; known: {', '.join(NAMES + GROUPS)}")
        chosen += [m for m in matches if m not in chosen]
    return [n for n in NAMES if n in chosen]

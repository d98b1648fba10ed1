"""``z2[...] = z1`` with an on-demand source (a zarrflow Array, an h5py Dataset, a dask
array) copies slab by slab: tracemalloc's peak while assigning stays a few chunks,
far below the source's size (the tutorial's promise; see chunk_io.write_from_lazy)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import zarrflow
from zarrflow.core import chunk_io

SHAPE, CHUNKS = (2048, 1024), (128, 1024)  # 16 MiB of float64 in 1 MiB chunks
CHUNK_BYTES = 128 * 1024 * 8
SOURCE_BYTES = 2048 * 1024 * 8


def data() -> np.ndarray:
    return np.arange(np.prod(SHAPE), dtype="f8").reshape(SHAPE) % 977


def peak_of(assign) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assign()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> zarrflow.Array:
    monkeypatch.setattr(chunk_io, "LAZY_SLAB_BYTES", 2 * CHUNK_BYTES)  # slabs of two chunks
    return zarrflow.zeros(SHAPE, chunks=CHUNKS, dtype="f8", store=str(tmp_path / "dst"), compressor=None)


def zarrflow_source(tmp_path: Path) -> zarrflow.Array:
    z = zarrflow.zeros(SHAPE, chunks=CHUNKS, dtype="f8", store=str(tmp_path / "src"), compressor=None)
    z[...] = data()
    return z


def h5py_source(tmp_path: Path):
    h5py = pytest.importorskip("h5py")
    f = h5py.File(tmp_path / "src.h5", "w")
    f.create_dataset("d", data=data(), chunks=CHUNKS)
    f.close()
    return h5py.File(tmp_path / "src.h5", "r")["d"]


def dask_source(tmp_path: Path):
    da = pytest.importorskip("dask.array")
    source = da.from_array(zarrflow_source(tmp_path), chunks=CHUNKS)  # read on demand from the store
    source[:1, :1].compute()  # dask's first compute imports its scheduler modules: not the copy's memory
    return source


@pytest.mark.parametrize("make", [zarrflow_source, h5py_source, dask_source], ids=["zarrflow", "h5py", "dask"])
@pytest.mark.parametrize("how", ["setitem", "set_basic_selection", "set_orthogonal_selection",
                                 "set_block_selection"])
def test_assigning_a_lazy_array_holds_a_few_chunks(tmp_path, target, make, how) -> None:
    source = make(tmp_path)
    if how == "setitem":
        peak = peak_of(lambda: target.__setitem__(slice(None), source))
    elif how == "set_block_selection":
        peak = peak_of(lambda: target.set_block_selection((slice(None), slice(None)), source))
    else:
        peak = peak_of(lambda: getattr(target, how)((slice(None), slice(None)), source))
    np.testing.assert_array_equal(target[...], data())
    assert peak < 8 * CHUNK_BYTES, f"peak {peak / 2**20:.1f} MiB for a {SOURCE_BYTES / 2**20:.0f} MiB source"


def test_a_materialised_copy_would_be_caught(target) -> None:
    """The bound is meaningful: assigning a NumPy copy of the source peaks above it."""
    peak = peak_of(lambda: target.__setitem__(slice(None), data()))
    assert peak >= SOURCE_BYTES

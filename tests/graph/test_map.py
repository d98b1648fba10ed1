"""map_blocks (halo reads) and map_slices (whole 2-D slices), against numpy; progress."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask")

import zarrflow
from zarrflow.graph import ops


def box_mean(image: np.ndarray) -> np.ndarray:
    """3x3 (or 3x3x3...) box mean with edge-replicated borders: the numpy oracle filter."""
    padded = np.pad(image.astype("f8"), 1, mode="edge")
    out = np.zeros(image.shape, dtype="f8")
    for offsets in np.ndindex(*(3,) * image.ndim):
        out += padded[tuple(slice(o, o + n) for o, n in zip(offsets, image.shape))]
    return out / 3 ** image.ndim


def plus_one(block: np.ndarray, amount: int = 1) -> np.ndarray:
    return block + amount


def arrays(tmp_path, shape, chunks, target_chunks=None):
    rng = np.random.default_rng(0)
    a = rng.random(shape)
    src = zarrflow.open_array(str(tmp_path / "src.zarr"), mode="w", shape=shape, chunks=chunks, dtype="f8")
    src[...] = a
    tgt = zarrflow.open_array(str(tmp_path / "tgt.zarr"), mode="w", shape=shape,
                              chunks=target_chunks or chunks, dtype="f8", fill_value=-1)
    return a, src, tgt


def read_back(tmp_path):
    return zarrflow.open_array(str(tmp_path / "tgt.zarr"), mode="r")[...]


def test_map_blocks_with_halo_equals_global_filter(scheduler, tmp_path):
    a, src, tgt = arrays(tmp_path, (23, 31), (6, 8))
    n = ops.map_blocks(box_mean, src, tgt, depth=1, **scheduler.kwargs)
    assert n == a.size
    np.testing.assert_allclose(read_back(tmp_path), box_mean(a))


def test_map_blocks_without_halo_differs_at_chunk_borders(tmp_path):
    a, src, tgt = arrays(tmp_path, (12, 12), (4, 4))
    ops.map_blocks(box_mean, src, tgt, depth=0, scheduler="threads")
    out = read_back(tmp_path)
    np.testing.assert_allclose(out[:4, :4], box_mean(a[:4, :4]))
    assert not np.allclose(out, box_mean(a))


def test_map_blocks_target_chunks_differ_from_source(tmp_path):
    a, src, tgt = arrays(tmp_path, (20, 20), (7, 3), target_chunks=(5, 6))
    ops.map_blocks(box_mean, src, tgt, depth=(1, 1), scheduler="threads")
    np.testing.assert_allclose(read_back(tmp_path), box_mean(a))


def test_map_blocks_kwargs_and_compute_false(tmp_path):
    a, src, tgt = arrays(tmp_path, (10, 10), (5, 5))
    delayed = ops.map_blocks(plus_one, src, tgt, kwargs={"amount": 3}, compute=False)
    assert tgt.nchunks_initialized == 0
    assert delayed.compute(scheduler="threads") == 100
    np.testing.assert_allclose(read_back(tmp_path), a + 3)


def test_map_blocks_shape_mismatch(tmp_path):
    _, src, _ = arrays(tmp_path, (10, 10), (5, 5))
    other = zarrflow.open_array(str(tmp_path / "o.zarr"), mode="w", shape=(10, 11), chunks=5)
    with pytest.raises(ValueError, match="shape"):
        ops.map_blocks(plus_one, src, other)


def test_map_slices_equals_per_slice_filter(scheduler, tmp_path):
    a, src, tgt = arrays(tmp_path, (7, 18, 22), (3, 5, 6))
    ops.map_slices(box_mean, src, tgt, axis=0, **scheduler.kwargs)
    np.testing.assert_allclose(read_back(tmp_path), np.stack([box_mean(s) for s in a]))


def test_map_slices_other_axis(tmp_path):
    a, src, tgt = arrays(tmp_path, (9, 4, 10), (4, 3, 4))
    ops.map_slices(box_mean, src, tgt, axis=1, scheduler="threads")
    np.testing.assert_allclose(read_back(tmp_path), np.stack([box_mean(a[:, i]) for i in range(4)], axis=1))


def test_task_count_per_chunk(tmp_path):
    _, src, tgt = arrays(tmp_path, (10, 10), (5, 5), target_chunks=(5, 2))
    graph = ops.map_blocks(plus_one, src, tgt, compute=False).__dask_graph__()
    assert len(graph) == tgt.nchunks + 1
    graph = ops.map_slices(box_mean, src, tgt, compute=False).__dask_graph__()
    assert len(graph) == 2 + 1


def test_distributed_uses_the_active_client(scheduler, tmp_path):
    if scheduler.client is None:
        assert ops.active_client() is None
        return
    assert ops.active_client() is scheduler.client
    _, src, tgt = arrays(tmp_path, (10, 10), (5, 5))
    ops.map_blocks(plus_one, src, tgt)
    assert scheduler.client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.transition_log)) > 0


def test_progress_bar_local(tmp_path, capsys):
    _, src, tgt = arrays(tmp_path, (10, 10), (5, 5))
    ops.map_blocks(plus_one, src, tgt, scheduler="threads", progress=False)
    assert "100%" not in capsys.readouterr().out
    ops.map_blocks(plus_one, src, tgt, scheduler="threads", progress=True)
    assert "100%" in capsys.readouterr().out


def test_progress_on_a_client(scheduler, tmp_path, capsys):
    if scheduler.client is None:
        pytest.skip("client only")
    _, src, tgt = arrays(tmp_path, (10, 10), (5, 5))
    assert ops.map_blocks(plus_one, src, tgt, progress=True) == 100

"""Smoke tests of the benchmark harness (``python -m benchmarks.run``) at a tiny scale.

They check that every workload yields a report row and that the data each child read
back or wrote matches what numpy says (the children verify this themselves). No
timing is ever asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import checks, run, workloads
from benchmarks import chunks as ck

TINY = "0.002"


def _run_harness(tmp_path: Path, impls: str) -> tuple[int, str, dict, Path]:
    out, js, work = tmp_path / "engine.md", tmp_path / "results.json", tmp_path / "work"
    rc = run.main(["--scale", TINY, "--repeat", "1", "--impls", impls,
                   "--out", str(out), "--json", str(js), "--workdir", str(work)])
    return rc, out.read_text(), json.loads(js.read_text()), work


def _assert_rows(md: str, data: dict, impls: tuple[str, ...], limit: bool = True) -> None:
    rows = {(r["workload"], r["impl"]): r for r in data["results"]}
    for name in workloads.NAMES:
        for impl in impls + (("limit",) if limit else ()):
            assert f"| {name} | {impl}" in md, f"no report row for {impl} on {name}"
            r = rows[(name, impl)]
            assert r["status"] == "ok", f"{impl} on {name}: {r.get('error')}"
            assert r["verified"], f"{impl} on {name}: {r['check']}"


def test_harness_zarrflow_smoke(tmp_path):
    """The full harness with zarrflow and both limits, every workload."""
    pytest.importorskip("zarrflow.core.array")
    rc, md, data, work = _run_harness(tmp_path, "zarrflow,codec,rawio")
    assert "zarrflow` skipped" not in md, md
    _assert_rows(md, data, ("zarrflow", "codec", "rawio"))
    assert rc == 0
    assert not any(work.iterdir()), "temporary data was not removed"


def test_harness_limits_only(tmp_path):
    """The harness without any engine (runs before zarrflow is ready)."""
    rc, md, data, work = _run_harness(tmp_path, "codec,rawio")
    _assert_rows(md, data, ("codec", "rawio"))
    assert rc == 0
    assert not any(work.iterdir())


def test_harness_h5py_every_workload_verified(tmp_path):
    """h5py on every workload: every row ran and passed its check (writes read back with h5py)."""
    pytest.importorskip("h5py")
    pytest.importorskip("hdf5plugin")
    rc, md, data, work = _run_harness(tmp_path, "h5py")
    assert "h5py` skipped" not in md, md
    _assert_rows(md, data, ("h5py",), limit=False)
    writes = [r for r in data["results"] if r["op"] == "write"]
    assert writes and all(r["stored_bytes"] > 0 for r in writes)
    assert rc == 0
    assert not any(work.iterdir())


def _chunk_ids(wl: workloads.Workload) -> np.ndarray:
    """An array of the workload's shape holding, at each element, its chunk's flat id."""
    per_axis = np.meshgrid(*(np.arange(n) // c for n, c in zip(wl.shape, wl.chunks)), indexing="ij")
    return np.ravel_multi_index(per_axis, ck.grid_shape(wl.shape, wl.chunks))


@pytest.mark.parametrize("name", workloads.NAMES)
def test_touched_chunks_match_numpy(name):
    """The chunks the limits handle are exactly those holding the selected elements."""
    wl = workloads.get(name, 0.002)
    grid = ck.grid_shape(wl.shape, wl.chunks)
    got = [int(np.ravel_multi_index(idx, grid)) for idx in ck.touched(wl)]
    hit = wl.expected(_chunk_ids(wl)).ravel()
    if wl.op == "points":
        assert got == hit.tolist()  # one chunk per separate call, repeats included
    else:
        assert sorted(got) == sorted(set(hit.tolist()))


def test_write_check_reads_zarr3_v2_and_catches_corruption(tmp_path):
    """The independent write check accepts a correct v2 array and rejects a changed chunk."""
    zarr = pytest.importorskip("zarr")
    if not zarr.__version__.startswith("3."):
        pytest.skip("needs zarr-python 3 to write the reference array")
    import numcodecs

    wl = workloads.get("i4_small_chunks_write", 0.03)  # (120, 4000), edge chunks padded
    a = wl.make_data()
    path = str(tmp_path / "a.zarr")
    z = zarr.create_array(store=path, shape=wl.shape, chunks=wl.chunks, dtype=wl.dtype,
                          compressors=numcodecs.get_codec(dict(wl.compressor)), zarr_format=2)
    z[:] = a
    assert checks.check_written(path, a, wl) == (True, "ok")
    bad = a.copy()
    bad[110, 3999] += 1
    ok, message = checks.check_written(path, bad, wl)
    assert not ok and "1 elements differ" in message

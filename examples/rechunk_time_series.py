"""Rechunk a stack of maps (one chunk per time step) into long time series, in bounded
memory, and read one whole time series from a single chunk.

    python examples/rechunk_time_series.py [--path DIR] [--steps 365] [--size 256] [--max-mem 8MB]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import zarrflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--steps", type=int, default=365, help="time steps (maps)")
    parser.add_argument("--size", type=int, default=256, help="each map is size x size")
    parser.add_argument("--max-mem", default="8MB", help="memory per task")
    args = parser.parse_args()
    work = Path(args.path or tempfile.mkdtemp(prefix="zarrflow-rechunk-"))
    work.mkdir(parents=True, exist_ok=True)
    for name in ("maps.zarr", "series.zarr", "tmp.zarr"):
        shutil.rmtree(work / name, ignore_errors=True)

    # one map per time step, as climate data arrives
    t, n = args.steps, args.size
    maps = zarrflow.open_array(str(work / "maps.zarr"), mode="w", shape=(t, n, n), chunks=(1, n, n), dtype="f4")
    rng = np.random.default_rng(42)
    field = np.sin(np.linspace(0, 6, n, dtype="f4"))[:, None] * np.cos(np.linspace(0, 4, n, dtype="f4"))
    season = np.sin(np.arange(t, dtype="f4") * 2 * np.pi / 365)
    data = (field[None] * 10 + season[:, None, None] * 5 + rng.standard_normal((t, n, n), dtype="f4")).astype("f4")
    maps[:] = data
    maps.attrs.update({"units": "K", "_ARRAY_DIMENSIONS": ["time", "y", "x"]})
    print(f"source: {maps.shape} {maps.dtype} in chunks {maps.chunks} ({maps.nbytes / 1e6:.0f} MB)")

    # to long time series: every (time, 8, 8) column in one chunk
    plan = zarrflow.rechunk(maps, {"time": t, "y": 8, "x": 8}, args.max_mem, str(work / "series.zarr"),
                            temp_store=str(work / "tmp.zarr"))
    print(plan)
    start = time.perf_counter()
    series = plan.execute()
    print(f"rechunked in {time.perf_counter() - start:.2f} s: {plan.report}")
    assert series.chunks == (t, 8, 8) and series.attrs["units"] == "K"
    assert np.array_equal(series[:], data)
    point = series[:, n // 2, n // 3]  # one chunk read for a whole time series
    assert np.array_equal(point, data[:, n // 2, n // 3])
    print(f"time series at ({n // 2}, {n // 3}): mean {point.mean():.3f} over {t} steps; data identical")


if __name__ == "__main__":
    main()

"""The Dask layer end to end on the embedded default: write an image stack from a dask
array, filter it slice by slice, read it back lazily, and copy the hierarchy in
parallel with a progress bar; every result is checked against NumPy.

Runs on dask's threaded scheduler (nothing to start); ``--workers N`` starts a local
cluster of N worker processes on 127.0.0.1 instead (``zarrflow.cluster.local``) and
closes it at the end.

Run: ``python examples/dask_layer.py [--path data/dask_layer] [--size 256] [--workers 0]``
Needs the dask extra: ``pip install -e '.[dask]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import dask.array as da
import numpy as np

import zarrflow


def box_blur(image: np.ndarray) -> np.ndarray:
    """A 3x3 mean of a 2-D image (edges replicated): the per-slice filter."""
    padded = np.pad(image.astype("f4"), 1, mode="edge")
    rows, cols = image.shape
    return sum(padded[i:i + rows, j:j + cols] for i in range(3) for j in range(3)) / 9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="data/dask_layer", help="directory for the stores")
    parser.add_argument("--size", type=int, default=256, help="images are size x size, size/4 of them")
    parser.add_argument("--workers", type=int, default=0, help="start a local cluster of N worker processes")
    args = parser.parse_args(argv)
    n, depth = args.size, max(args.size // 4, 1)
    os.makedirs(args.path, exist_ok=True)

    client = zarrflow.cluster.local(n_workers=args.workers, threads_per_worker=1) if args.workers else None
    with client if client is not None else contextlib.nullcontext():
        where = f"a local cluster of {args.workers} worker processes" if client else "the threaded scheduler"
        print(f"running on {where}")

        # 1. A dask array becomes a zarrflow array: metadata first, then one task per chunk.
        stack = da.random.default_rng(42).integers(0, 4096, size=(depth, n, n), chunks=(8, n, n), dtype="u2")
        t = time.perf_counter()
        raw = zarrflow.from_dask(stack, os.path.join(args.path, "raw.zarr"), chunks=(4, n, n), overwrite=True)
        print(f"from_dask: {raw.shape} {raw.dtype} in {raw.nchunks} chunks, {time.perf_counter() - t:.2f} s")
        expected_raw = stack.compute()
        assert np.array_equal(raw[...], expected_raw)

        # 2. A 2-D filter applied to every image, each task writing whole chunks of the target.
        root = zarrflow.open_group(os.path.join(args.path, "stack.zarr"), mode="w")
        root.attrs["description"] = "raw and filtered image stack"
        root.create_dataset("raw", data=raw[...], chunks=raw.chunks)
        blurred = root.zeros("blurred", shape=raw.shape, chunks=(4, n, n), dtype="f4")
        t = time.perf_counter()
        zarrflow.map_slices(box_blur, root["raw"], blurred, axis=0)
        print(f"map_slices(box_blur): {depth} images in {time.perf_counter() - t:.2f} s")
        expected_blur = np.stack([box_blur(image) for image in expected_raw])
        assert np.allclose(blurred[...], expected_blur)

        # 3. zarrflow arrays read lazily as dask arrays (one task per stored chunk).
        lazy = zarrflow.to_dask(blurred)
        mean = float(lazy.mean().compute())
        print(f"to_dask: {lazy.npartitions} tasks, mean of the filtered stack {mean:.3f}")
        assert np.isclose(mean, expected_blur.mean(dtype="f8"), rtol=1e-5)

        # 4. The whole hierarchy copied in parallel (stored bytes: same codecs and chunks).
        dest = zarrflow.open_group(os.path.join(args.path, "copy.zarr"), mode="w")
        t = time.perf_counter()
        copied, skipped, nbytes = zarrflow.copy_all(root, dest, parallel=True, progress=True)
        print(f"copy_all(parallel=True): {copied} copied, {skipped} skipped, {nbytes} bytes "
              f"in {time.perf_counter() - t:.2f} s")
        assert np.array_equal(dest["blurred"][...], blurred[...])
        assert dest.attrs["description"] == root.attrs["description"]
    print("all results equal NumPy's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

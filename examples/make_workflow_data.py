"""Make the data the workflows in ``workflows/`` run on (local paths or any fsspec URL):

- ``<out>/incoming/slice_00000.tif ...``: noisy uint16 TIFF slices (salt-and-pepper
  noise that a 3 x 3 median filter removes), for ``nightly_tiff_ingest.yaml``;
- ``<out>/maps.zarr``: float32 maps, one chunk per time step, for ``rechunk_time_series.yaml``;
- ``<out>/hierarchy.zarr``: a small hierarchy with attributes, for ``copy_to_cloud.yaml``.

    python examples/make_workflow_data.py --out data [--slices 32] [--size 256] [--first 0] [--fresh]

``--first N`` writes slices numbered from N (new files "arriving" for the next run).
"""

from __future__ import annotations

import argparse
import io

import fsspec
import numpy as np

import zarrflow


def noisy_slice(index: int, size: int) -> np.ndarray:
    """A smooth image plus salt-and-pepper noise (deterministic per index)."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:size, 0:size]
    image = (20000 + 10000 * np.sin(x / 17 + index / 5) * np.cos(y / 23)).astype("u2")
    noise = rng.random((size, size))
    image[noise < 0.02] = 0
    image[noise > 0.98] = 65535
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data", help="directory or URL to write into")
    parser.add_argument("--slices", type=int, default=32)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--first", type=int, default=0, help="number of the first slice written")
    parser.add_argument("--only-tiff", action="store_true", help="write only the TIFF slices")
    parser.add_argument("--fresh", action="store_true",
                        help="remove --out first (its data and the pipelines' outputs under it)")
    args = parser.parse_args()
    import tifffile

    out = args.out.rstrip("/")
    fs, root = fsspec.core.url_to_fs(out)
    if args.fresh and fs.exists(root):
        fs.rm(root, recursive=True)
    fs.makedirs(f"{root}/incoming", exist_ok=True)
    for i in range(args.first, args.first + args.slices):
        buffer = io.BytesIO()  # TIFF writers seek; object stores take whole objects
        tifffile.imwrite(buffer, noisy_slice(i, args.size))
        fs.pipe_file(f"{root}/incoming/slice_{i:05d}.tif", buffer.getvalue())
    print(f"wrote {args.slices} TIFF slices of {args.size} x {args.size} to {out}/incoming")
    if args.only_tiff:
        return
    t = 96
    maps = zarrflow.open_array(f"{out}/maps.zarr", mode="w", shape=(t, args.size, args.size),
                               chunks=(1, args.size, args.size), dtype="f4")
    rng = np.random.default_rng(7)
    for i in range(t):
        maps[i] = np.sin(np.arange(args.size, dtype="f4") / 9 + i / 10)[None, :] + rng.standard_normal(
            (args.size, args.size)).astype("f4") * 0.1
    maps.attrs["_ARRAY_DIMENSIONS"] = ["time", "y", "x"]
    print(f"wrote {out}/maps.zarr {maps.shape} in chunks {maps.chunks}")
    root_group = zarrflow.open_group(f"{out}/hierarchy.zarr", mode="w")
    root_group.attrs["title"] = "example hierarchy"
    raw = root_group.create_group("raw")
    raw.array("counts", np.arange(10000, dtype="i4").reshape(100, 100), chunks=(10, 100))
    root_group.array("labels", np.array(["a", "b", "c"]), chunks=(3,))
    print(f"wrote {out}/hierarchy.zarr")


if __name__ == "__main__":
    main()

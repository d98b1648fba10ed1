"""Quickstart: create a compressed array in a local directory store, fill it, read it
back, check it, and print its ``info``.

Run: ``python examples/quickstart.py [--path data/quickstart.zarr]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numcodecs import Blosc

import zarrflow as zarr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="data/quickstart.zarr", help="directory store to write")
    parser.add_argument("--size", type=int, default=10000, help="rows and columns of the array")
    args = parser.parse_args(argv)

    compressor = Blosc(cname="zstd", clevel=3, shuffle=Blosc.BITSHUFFLE)
    z = zarr.open(args.path, mode="w", shape=(args.size, args.size), chunks=(1000, 1000),
                  dtype="i4", compressor=compressor)
    data = np.arange(args.size * args.size, dtype="i4").reshape(args.size, args.size)

    t0 = time.perf_counter()
    z[:] = data
    t_write = time.perf_counter() - t0

    z2 = zarr.open(args.path, mode="r")
    t0 = time.perf_counter()
    back = z2[:]
    t_read = time.perf_counter() - t0

    if not np.array_equal(back, data):
        print("ERROR: data read back differs from data written")
        return 1
    mb = data.nbytes / 2**20
    print(z2.info)
    print(f"wrote {mb:.0f} MiB in {t_write:.2f} s ({mb / t_write:.0f} MiB/s), "
          f"read it back in {t_read:.2f} s ({mb / t_read:.0f} MiB/s): data identical")
    i, j = 1234 % args.size, 5678 % args.size
    print(f"z[{i}, {j}] = {z2[i, j]}; column mean = {z2[:, 0].mean():.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

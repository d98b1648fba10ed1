"""Correctness checks run inside the child, outside the timed region.

* Reads: :func:`digest` of what the engine returned against the digest of the
  same selection computed with numpy on the generated data.
* Writes: :func:`check_written` decodes the array directory with numcodecs alone
  (no engine), checks ``.zarray`` against the workload and compares every element.
"""

from __future__ import annotations

import json
import os
import zlib

import numcodecs
import numpy as np

from benchmarks import chunks as ck
from benchmarks.workloads import Workload


def digest(x) -> dict:
    """Shape, dtype and CRC-32 of an array's C-order bytes."""
    x = np.asarray(x)
    return {"shape": list(x.shape), "dtype": x.dtype.str, "crc32": zlib.crc32(np.ascontiguousarray(x))}


def compare_digest(got: dict, want: dict) -> tuple[bool, str]:
    """``(ok, message)`` for two :func:`digest` results."""
    for field in ("shape", "dtype", "crc32"):
        if got[field] != want[field]:
            return False, f"{field} differs: got {got[field]}, expected {want[field]}"
    return True, "ok"


def read_v2_directory(path: str) -> tuple[dict, np.ndarray]:
    """Read a Zarr v2 array directory with numcodecs only: ``(metadata, data)``."""
    with open(os.path.join(path, ".zarray")) as f:
        meta = json.load(f)
    shape, chunk_shape = tuple(meta["shape"]), tuple(meta["chunks"])
    dtype, order = np.dtype(meta["dtype"]), meta.get("order", "C")
    compressor = numcodecs.get_codec(meta["compressor"]) if meta.get("compressor") else None
    filters = [numcodecs.get_codec(f) for f in meta.get("filters") or []]
    sep = meta.get("dimension_separator") or "."
    fill = meta.get("fill_value")
    out = np.full(shape, fill if fill is not None else 0, dtype=dtype)
    for idx in ck.all_chunks(shape, chunk_shape):
        file = os.path.join(path, *ck.key(idx, sep).split("/"))
        if not os.path.exists(file):
            continue
        with open(file, "rb") as f:
            buf = f.read()
        if compressor is not None:
            buf = compressor.decode(buf)
        for flt in reversed(filters):
            buf = flt.decode(buf)
        chunk = np.frombuffer(buf, dtype=dtype).reshape(chunk_shape, order=order)
        reg = ck.region(idx, shape, chunk_shape)
        out[reg] = chunk[tuple(slice(0, r.stop - r.start) for r in reg)]
    return meta, out


def _config_mismatches(meta: dict, wl: Workload) -> list[str]:
    want = {
        "shape": list(wl.shape),
        "chunks": list(wl.chunks),
        "dtype": np.dtype(wl.dtype).str,
        "order": "C",
        "filters": None,
    }
    bad = [f"{k}={meta.get(k)!r} (expected {v!r})" for k, v in want.items() if meta.get(k) != v]
    comp = meta.get("compressor") or {}
    for k, v in wl.compressor.items():
        if comp.get(k, 0 if k == "blocksize" else None) != v:
            bad.append(f"compressor.{k}={comp.get(k)!r} (expected {v!r})")
    return bad


def check_written(path: str, a: np.ndarray, wl: Workload) -> tuple[bool, str]:
    """Was ``a`` written to ``path`` as the workload's Zarr v2 array? ``(ok, message)``."""
    try:
        meta, data = read_v2_directory(path)
    except Exception as exc:
        return False, f"cannot decode written array: {type(exc).__name__}: {exc}"
    bad = _config_mismatches(meta, wl)
    if bad:
        return False, "metadata differs: " + "; ".join(bad)
    if not np.array_equal(data, a):
        return False, f"{int(np.count_nonzero(data != a))} elements differ from what was written"
    return True, "ok"


def stored_bytes(path: str) -> int:
    """Total size of the chunk files under an array directory (metadata excluded)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if not f.startswith(".z"))
    return total

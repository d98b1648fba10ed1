"""S3 read benchmark on a local moto server: batched FSStore reads vs one request at a time.

A 4000x4000 int32 array in 100x100 chunks (1600 chunks, Blosc lz4) is written once to
a moto S3 server on 127.0.0.1, then read whole by:

- ``zarrflow``: ``open_array(FSStore(url, mode='r'))[:]`` - one batched ``getitems``,
  i.e. one concurrent ``fs.cat`` round for all chunks;
- ``per-request loop``: ``fs.cat_file(key)`` for each chunk key in turn (fetch only, no
  decoding: the floor of a store that issues one request per chunk);
- ``zarr 2.18``: the same ``open_array(FSStore(...))[:]`` in the zarr 2 venv (a child
  process; its s3fs must be installed there);
- ``zarr 3.x``: ``zarr.open_array(FsspecStore.from_url(...), zarr_format=2)[:]``.

All read the same objects from the same server in the same run, with the same s3fs
options. Every read is checked against the expected array. The table (chunks/s and
MB/s of decoded data, best of ``--repeat`` after one warm-up) goes to stdout and to
``benchmarks/results/s3.md``.

    .venv/bin/python -m benchmarks.s3_read [--repeat 1] [--out benchmarks/results/s3.md]

Note: moto answers every request in Python, so on a small machine the server, not the
client, bounds throughput; the figures compare clients against the same server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import zarrflow
from tests.storage.s3_server import S3Server, fresh_bucket
from zarrflow.storage.fsstore import FSStore

SHAPE = (4000, 4000)
CHUNKS = (100, 100)
DTYPE = "int32"
N_CHUNKS = (SHAPE[0] // CHUNKS[0]) * (SHAPE[1] // CHUNKS[1])
NBYTES = SHAPE[0] * SHAPE[1] * np.dtype(DTYPE).itemsize

ZARR2_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import zarr
    from zarr.storage import FSStore
    url, opts, repeat, expected = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        a = zarr.open_array(FSStore(url, mode="r", **opts), mode="r")[:]
        dt = time.perf_counter() - t0
        if int(a.astype("int64").sum()) != expected:
            raise SystemExit("zarr 2 read wrong data")
        if i:
            times.append(dt)
    print(json.dumps({"version": zarr.__version__, "times": times}))
    """
)


def expected_array() -> np.ndarray:
    return np.arange(SHAPE[0] * SHAPE[1], dtype=DTYPE).reshape(SHAPE) % 100_003


def timed(fn: Any, repeat: int, check: Any) -> list[float]:
    """Run ``fn`` once to warm up, then ``repeat`` times; checks every result."""
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        check(out)
        if i:
            times.append(dt)
    return times


def run_zarr2(python: str, url: str, opts: dict[str, Any], repeat: int, expected_sum: int) -> tuple[str, list[float]]:
    if not Path(python).exists():
        raise RuntimeError(f"zarr 2 interpreter {python} not found")
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    proc = subprocess.run(
        [python, "-c", ZARR2_SCRIPT, url, json.dumps(opts), str(repeat), str(expected_sum)],
        capture_output=True, text=True, timeout=1800, env=env,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return res["version"], res["times"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per reader after one warm-up (best is shown)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "s3.md"))
    ap.add_argument("--json", default=None, help="raw results and run metadata (default: none)")
    ap.add_argument("--zarr2-python", default=os.environ.get("ZARRFLOW_ZARR2_PYTHON", str(ROOT / ".venv-zarr2" / "bin" / "python")))
    args = ap.parse_args(argv)

    started = time.time()
    data = expected_array()
    expected_sum = int(data.astype("int64").sum())

    def check(out: Any) -> None:
        if not np.array_equal(np.asarray(out), data):
            raise AssertionError("read returned wrong data")

    rows: list[tuple[str, str, list[float] | None, str]] = []
    with S3Server() as server:
        opts = server.storage_options()
        bucket = fresh_bucket(server)
        url = f"s3://{bucket}/bench.zarr"
        t0 = time.perf_counter()
        z = zarrflow.open_array(FSStore(url, **opts), mode="w", shape=SHAPE, chunks=CHUNKS, dtype=DTYPE)
        z[:] = data
        write_s = time.perf_counter() - t0
        store = FSStore(url, mode="r", **opts)
        stored = store.getsize(recursive=True)
        keys = [k for k in store.keys_under("") if not k.startswith(".")]
        assert len(keys) == N_CHUNKS, len(keys)

        def zf_read() -> np.ndarray:
            return zarrflow.open_array(FSStore(url, mode="r", **opts), mode="r")[:]

        rows.append(("zarrflow (batched getitems)", zarrflow.__version__, timed(zf_read, args.repeat, check), ""))

        fs, root = store.fs, store.path

        def loop_read() -> int:
            return sum(len(fs.cat_file(f"{root}/{k}")) for k in keys)

        rows.append(("per-request loop (fs.cat_file, fetch only)", "s3fs " + __import__("s3fs").__version__,
                     timed(loop_read, args.repeat, lambda n: None), "no decoding"))

        try:
            version, times = run_zarr2(args.zarr2_python, url, opts, args.repeat, expected_sum)
            rows.append(("zarr 2 (FSStore)", version, times, ""))
        except Exception as exc:  # reported in the table, the run goes on
            rows.append(("zarr 2 (FSStore)", "-", None, f"skipped: {exc}"))

        try:
            import zarr as zarr3
            from zarr.storage import FsspecStore

            def z3_read() -> np.ndarray:
                st = FsspecStore.from_url(url, storage_options=opts, read_only=True)
                return zarr3.open_array(store=st, mode="r", zarr_format=2)[:]

            rows.append(("zarr 3 (FsspecStore)", zarr3.__version__, timed(z3_read, args.repeat, check), ""))
        except Exception as exc:
            rows.append(("zarr 3 (FsspecStore)", "-", None, f"skipped: {type(exc).__name__}: {exc}"))

    lines = [
        "# S3 read benchmark (local moto server)",
        "",
        f"{SHAPE[0]}x{SHAPE[1]} {DTYPE}, chunks {CHUNKS[0]}x{CHUNKS[1]} = {N_CHUNKS} chunks, Blosc lz4; "
        f"{NBYTES / 1e6:.0f} MB decoded, {stored / 1e6:.1f} MB stored. moto server on 127.0.0.1 "
        f"(python -m moto.server, own process); best of {args.repeat} after one warm-up. "
        f"Written once by zarrflow in {write_s:.1f} s. {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        "| reader | version | time (s) | chunks/s | MB/s (decoded) | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, version, times, note in rows:
        if not times:
            lines.append(f"| {name} | {version} | - | - | - | {note} |")
            continue
        best = min(times)
        lines.append(f"| {name} | {version} | {best:.2f} | {N_CHUNKS / best:,.0f} | {NBYTES / 1e6 / best:,.1f} | {note} |")
    lines += ["", "MB/s counts decoded array bytes (for the fetch-only loop: the same 64 MB the chunks decode to)."]
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    if args.json:
        from benchmarks.meta import run_metadata

        meta = {**run_metadata(started, time.time(), argv=["-m", "benchmarks.s3_read",
                                                            *(sys.argv[1:] if argv is None else argv)]),
                "repeat": args.repeat, "shape": list(SHAPE), "chunks": list(CHUNKS), "dtype": DTYPE,
                "stored_bytes": stored, "write_s": write_s}
        raw = [{"reader": name, "version": version, "times": times, "note": note}
               for name, version, times, note in rows]
        Path(args.json).write_text(json.dumps({"meta": meta, "results": raw}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

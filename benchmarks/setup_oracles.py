"""Create the zarr-python 2.18 venv the ``zarr2`` implementation runs in.

    python -m benchmarks.setup_oracles [--venv .venv-zarr2]
    python -m benchmarks.setup_oracles --rechunk [--venv .venv-bench-rechunk]

zarr 2 and zarr 3 cannot share a venv, so zarr 2.18 lives in its own one
(``pip install 'zarr>=2.18,<3' 'dask[array]'``: numpy and numcodecs come with zarr, dask is
for the Dask-layer comparison). Nothing is
done when the venv already imports zarr 2. ``--rechunk`` creates the rechunk
benchmark's venv the way ``benchmarks/rechunk.py`` documents (zarr 2.18, rechunker,
dask, distributed, psutil, and this repository in editable mode).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO_ROOT / ".venv-zarr2"
#: zarr 2.18, and dask for the Dask-layer comparison (dask.array.from_zarr/to_zarr over zarr 2.18)
REQUIREMENTS = ("zarr>=2.18,<3", "dask[array]")


def venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def imports_zarr2(python: Path) -> bool:
    """Does ``python`` import a zarr 2.x?"""
    if not python.exists():
        return False
    code = "import zarr, sys; sys.exit(0 if zarr.__version__.startswith('2.') else 1)"
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


def ensure_zarr2_python(root: Path = DEFAULT_VENV) -> Path:
    """The venv's Python, after creating the venv if needed; RuntimeError if pip fails."""
    python = venv_python(root)
    if imports_zarr2(python):
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not imports_zarr2(python):
        raise RuntimeError(f"could not build the zarr 2.18 venv at {root}: {proc.stderr[-2000:]}")
    return python


RECHUNK_VENV = REPO_ROOT / ".venv-bench-rechunk"
RECHUNK_REQUIREMENTS = ("zarr>=2.18,<3", "rechunker", "dask[array]", "distributed", "psutil")


def imports_rechunker(python: Path) -> bool:
    """Does ``python`` import rechunker, zarr 2.x and zarrflow (the rechunk benchmark's venv)?"""
    if not python.exists():
        return False
    code = ("import rechunker, zarr, zarrflow, distributed, psutil, sys; "
            "sys.exit(0 if zarr.__version__.startswith('2.') else 1)")
    return subprocess.run([str(python), "-c", code], capture_output=True, cwd=REPO_ROOT).returncode == 0


def ensure_rechunk_python(root: Path = RECHUNK_VENV) -> Path:
    """The rechunk benchmark's Python (``benchmarks/rechunk.py`` documents the venv),
    after creating it if needed; RuntimeError saying why if pip fails."""
    python = venv_python(root)
    if imports_rechunker(python):
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    for args in (list(RECHUNK_REQUIREMENTS), ["-e", str(REPO_ROOT)]):
        proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"could not build the rechunk venv at {root}: {proc.stderr[-2000:]}")
    if not imports_rechunker(python):
        raise RuntimeError(f"the venv at {root} does not import rechunker, zarr 2 and zarrflow")
    return python


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Create the zarr 2.18 venv for the benchmarks.")
    p.add_argument("--venv", type=Path, default=None,
                   help="venv directory (default: .venv-zarr2, or .venv-bench-rechunk with --rechunk)")
    p.add_argument("--rechunk", action="store_true", help="the rechunk benchmark's venv (rechunker, zarr 2)")
    args = p.parse_args(argv)
    try:
        if args.rechunk:
            print(ensure_rechunk_python(args.venv or RECHUNK_VENV))
        else:
            print(ensure_zarr2_python(args.venv or DEFAULT_VENV))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run snippets under zarr-python 2.18, in its own virtual environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".venv-zarr2"
REQUIREMENTS = ["zarr>=2.18,<3", "lmdb"]


def _venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_zarr2_python() -> Path:
    """Return the path of a Python that imports zarr 2.18, creating the venv if needed.

    Raises RuntimeError (with pip's output) when the venv cannot be built, e.g. offline.
    """
    override = os.environ.get("ZARRFLOW_ZARR2_PYTHON")
    if override:
        return Path(override)
    python = _venv_python(DEFAULT_VENV)
    if python.exists() and _imports_zarr2(python):
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(DEFAULT_VENV)
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not _imports_zarr2(python):
        raise RuntimeError(f"could not build the zarr 2.18 venv: {proc.stderr[-2000:]}")
    return python


def _imports_zarr2(python: Path) -> bool:
    proc = subprocess.run(
        [str(python), "-c", "import zarr, sys; sys.exit(0 if zarr.__version__.startswith('2.') else 1)"],
        capture_output=True,
    )
    return proc.returncode == 0


class Zarr2:
    """A handle on the zarr 2.18 interpreter: ``run(code, **inputs)`` returns ``result``.

    ``code`` is a Python snippet that sees ``zarr``, ``np`` (numpy) and the keyword
    inputs as variables; it sets ``result`` to something JSON-serialisable (numpy
    arrays are converted with ``.tolist()``).
    """

    def __init__(self, python: Path):
        self.python = python

    def run(self, code: str, **inputs: object) -> object:
        prelude = textwrap.dedent(
            """
            import json, sys
            import numpy as np
            import zarr
            globals().update(json.loads(sys.stdin.read()))
            result = None
            """
        )
        epilogue = textwrap.dedent(
            """
            def _default(o):
                if isinstance(o, np.ndarray):
                    return o.tolist()
                if isinstance(o, np.generic):
                    return o.item()
                if isinstance(o, bytes):
                    return o.decode('latin-1')
                raise TypeError(type(o))
            sys.stdout.write('\\n__RESULT__' + json.dumps(result, default=_default))
            """
        )
        script = prelude + textwrap.dedent(code) + epilogue
        proc = subprocess.run(
            [str(self.python), "-c", script],
            input=json.dumps(inputs),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise AssertionError(f"zarr 2.18 snippet failed:\n{proc.stderr}")
        return json.loads(proc.stdout.rsplit("\n__RESULT__", 1)[1])


__all__ = ["Zarr2", "ensure_zarr2_python", "sys"]

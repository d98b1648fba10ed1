"""The engine stays light: importing zarrflow (and its core and storage layers) in a
fresh interpreter pulls in none of dask, distributed, zarr, tensorstore or h5py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ["dask", "distributed", "zarr", "tensorstore", "h5py"]

PROBE = """
import importlib, json, pkgutil, sys
for name in {imports!r}:
    importlib.import_module(name)
if {walk!r}:
    import zarrflow.core, zarrflow.storage
    for pkg in (zarrflow.core, zarrflow.storage):
        for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
            importlib.import_module(info.name)
forbidden = {forbidden!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps(loaded))
"""


def _loaded_after(imports: list[str], walk: bool = False) -> list[str]:
    code = PROBE.format(imports=imports, walk=walk, forbidden=FORBIDDEN)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_probe_sees_forbidden_imports():
    """The probe itself works: importing one of the packages is reported."""
    pytest.importorskip("h5py")
    assert "h5py" in _loaded_after(["h5py"])


def test_importing_zarrflow_loads_no_heavy_packages():
    assert _loaded_after(["zarrflow.core", "zarrflow.storage", "zarrflow"]) == []


def test_every_core_and_storage_module_is_light():
    assert _loaded_after(["zarrflow"], walk=True) == []

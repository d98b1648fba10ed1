"""What every benchmark result file records about the run that produced it.

:func:`run_metadata` gathers the commit (and whether the tree was dirty), the UTC start
and end, the command line, the machine (CPU model and count, memory, kernel), the load
average before and after, and the versions of the compared packages in every
interpreter the run used. Reports and ``benchmarks.readme_figures`` print the machine
line from this record, never from the machine that renders them.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Packages whose versions are recorded, per interpreter.
PACKAGES = ("zarrflow", "numpy", "numcodecs", "zarr", "tensorstore", "h5py", "hdf5plugin", "dask")

_VERSIONS_SCRIPT = """
import json, platform, sys
from importlib import metadata
out = {"python": platform.python_version()}
for name in sys.argv[1:]:
    try:
        out[name] = metadata.version(name)
    except Exception:
        out[name] = None
print(json.dumps(out))
"""

_loadavg_at_import = os.getloadavg() if hasattr(os, "getloadavg") else None


def utc(t: float) -> str:
    """``t`` (seconds since the epoch) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    """Physical memory in GiB."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def package_versions(python: str | None = None) -> dict:
    """Python and :data:`PACKAGES` versions (``None``: not installed) seen by ``python``."""
    python = python or sys.executable
    try:
        proc = subprocess.run([python, "-c", _VERSIONS_SCRIPT, *PACKAGES], capture_output=True, text=True,
                              timeout=120)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return {"error": f"cannot run {python}"}


def run_metadata(started: float, ended: float, pythons: dict[str, str] | None = None,
                 loadavg_before: tuple | None = None, argv: list[str] | None = None) -> dict:
    """The record of one run from ``started`` to ``ended`` (``time.time()`` values).

    ``pythons`` maps a label to each interpreter the run used (``main`` is always this
    one); ``loadavg_before`` defaults to the load average when this module was imported.
    """
    interpreters = {"main": sys.executable, **(pythons or {})}
    before = loadavg_before if loadavg_before is not None else _loadavg_at_import
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "start_utc": utc(started), "end_utc": utc(ended), "elapsed_s": round(ended - started, 1),
        "command": shlex.join([Path(sys.executable).name, *(sys.argv if argv is None else argv)]),
        "cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": memory_gib(),
        "kernel": f"{platform.system()} {platform.release()}",
        "loadavg_before": list(before) if before else None,
        "loadavg_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {label: {"executable": py, **package_versions(py)} for label, py in interpreters.items()},
    }


def machine_line(meta: dict) -> str:
    """One line naming the machine of a recorded run (from the record alone; parts it
    lacks are left out)."""
    line = f"{meta.get('cores', '?')} CPUs" + (f" ({meta['cpu']})" if meta.get("cpu") else "")
    if meta.get("memory_gib"):
        line += f", {meta['memory_gib']} GiB"
    if meta.get("kernel"):
        line += f", {meta['kernel']}"
    return line


def provenance_line(meta: dict) -> str:
    """When, on what machine and at which commit a recorded run was measured."""
    commit = (meta.get("commit") or "")[:10] or "not recorded"
    commit += " (dirty)" if meta.get("dirty") else ""
    day = f"{meta['start_utc'][:10]} (UTC)" if meta.get("start_utc") else "(date not recorded)"
    return f"Measured {day} on {machine_line(meta)}, commit {commit}."


def filesystem_of(path: str) -> str:
    """``"<type> at <mount point>"`` of the file system holding ``path`` (Linux
    ``/proc/mounts``; ``"unknown"`` elsewhere): where benchmark data lived matters, as
    file creation on a disk journal and on tmpfs differ several-fold."""
    real = os.path.realpath(path)
    best = ("", "unknown")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount, fstype = parts[1], parts[2]
                inside = real == mount or real.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best[0]):
                    best = (mount, fstype)
    except OSError:
        return "unknown"
    return f"{best[1]} at {best[0]}" if best[0] else "unknown"

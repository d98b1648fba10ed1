"""Locate zarr-python 2.18's test files and run them, one file per pytest subprocess,
against zarrflow (through the :mod:`tests.compat.zarr_alias` plugin)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.compat import exclusions
from tests.oracles.zarr2 import ensure_zarr2_python
from tests.storage.azurite_server import Azurite, azurite_available

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = REPO_ROOT / ".cache" / "zarr2-suite"

#: zarr 2.18's test files, as shipped in its wheel.
FILES = [
    "test_attrs.py", "test_convenience.py", "test_core.py", "test_creation.py", "test_dim_separator.py",
    "test_filters.py", "test_hierarchy.py", "test_indexing.py", "test_info.py", "test_meta.py",
    "test_meta_array.py", "test_n5.py", "test_storage.py", "test_storage_v3.py", "test_sync.py", "test_util.py",
]


def zarr2_tests_dir() -> Path:
    """The ``zarr/tests`` directory of the zarr 2.18 oracle venv (built if needed)."""
    python = ensure_zarr2_python()
    out = subprocess.run(
        [str(python), "-c", "import zarr, os; print(zarr.__version__); print(os.path.dirname(zarr.__file__))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    version, pkg = out[0], Path(out[1])
    if not version.startswith("2.18"):
        raise RuntimeError(f"the oracle venv holds zarr {version}, expected 2.18")
    return pkg / "tests"


def prepare(dest: Path = CACHE) -> Path:
    """Copy zarr 2.18's test files (unchanged) to ``dest/zarr/tests`` and return that
    directory. ``dest/zarr/__init__.py`` only marks the package for pytest's module
    naming; at run time ``zarr`` is zarrflow."""
    src = zarr2_tests_dir()
    suite = dest / "zarr" / "tests"
    if suite.exists():
        shutil.rmtree(suite)
    shutil.copytree(src, suite, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "zarr" / "__init__.py").write_text("# marker: at run time `zarr` is zarrflow (tests/compat)\n")
    (dest / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return suite


@dataclass
class FileResult:
    """Outcome counts of one zarr test file."""

    name: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    xfailed: int = 0
    xpassed: list[str] = field(default_factory=list)
    skipped: int = 0
    deselected: int = 0
    errors: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def ran(self) -> int:
        """Tests that ran and count toward the pass rate (passed, failed, known differences)."""
        return self.passed + len(self.failed) + len(self.errors) + self.xfailed + len(self.xpassed)


#: Files whose ABSStore tests run (``ZARR_TEST_ABS``) against an Azurite this runner
#: starts on 127.0.0.1:10000, the address zarr 2.18's tests use.
ABS_FILES = frozenset({"test_core.py", "test_hierarchy.py", "test_storage.py"})
AZURITE_PORT = 10000


@contextlib.contextmanager
def _azurite_for(name: str) -> Iterator[dict[str, str]]:
    """For a file with ABS tests: hold a lock (one such file at a time, across processes:
    they share the port and zarr 2's fixed container), start Azurite, yield the
    environment that enables the tests; stop Azurite by PID afterwards. Without
    Azurite installed the tests stay skipped (CI's oracle check then fails the run)."""
    if name not in ABS_FILES or not azurite_available():
        yield {}
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "azurite.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with Azurite(port=AZURITE_PORT):
                yield {"ZARR_TEST_ABS": "1"}
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_file(name: str, suite: Path, timeout: float = 900, extra: list[str] | None = None) -> FileResult:
    """Run one copied zarr test file in a pytest subprocess and parse its JUnit XML."""
    with _azurite_for(name) as service_env:
        return _run_file(name, suite, timeout, extra, service_env)


def _run_file(name: str, suite: Path, timeout: float, extra: list[str] | None,
              service_env: dict[str, str]) -> FileResult:
    junit = suite.parent.parent / f"{name}.xml"
    env = dict(os.environ, **exclusions.ENVIRONMENT, **service_env, ZARRFLOW_ZARR2_SUITE=str(suite),
               PYTHONPATH=str(REPO_ROOT))
    env.pop("PYTEST_XDIST_WORKER", None)
    # no third-party plugins: e.g. zarr 3's entry point would import zarr.testing, i.e.
    # zarrflow.testing, at start-up
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "tests.compat.zarr_alias", "-c",
           str(suite.parent.parent / "pytest.ini"), "--rootdir", str(suite.parent.parent),
           f"--junitxml={junit}", "-o", "junit_family=xunit1", str(suite / name), *(extra or [])]
    # each file in its own working directory: the tests write relative paths ("data/...")
    # and two files run at once would otherwise share (and delete) each other's
    cwd = suite.parent.parent / "cwd" / name.removesuffix(".py")
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    result = FileResult(name, output=proc.stdout[-20000:] + proc.stderr[-5000:])
    for line in proc.stdout.splitlines()[-3:]:
        if "deselected" in line:
            for part in line.replace("=", "").split(","):
                bits = part.split()
                if len(bits) >= 2 and bits[1].startswith("deselected"):
                    result.deselected = int(bits[0])
    if not junit.exists():
        result.errors.append(f"no report (rc={proc.returncode})")
        return result
    for case in ET.parse(junit).getroot().iter("testcase"):
        cid = _nodeid(case.get("classname", ""), case.get("name", ""))
        children = {c.tag: c for c in case}
        if "failure" in children:
            msg = children["failure"].get("message", "")
            if "[XPASS(strict)]" in msg:
                result.xpassed.append(cid)
            else:
                result.failed.append(f"{cid}: {msg[:300]}")
        elif "error" in children:
            result.errors.append(f"{cid}: {children['error'].get('message', '')[:300]}")
        elif "skipped" in children:
            if children["skipped"].get("type") == "pytest.xfail":
                result.xfailed += 1
            else:
                result.skipped += 1
        else:
            result.passed += 1
    return result


def _nodeid(classname: str, name: str) -> str:
    """``zarr.tests.test_core.TestArray`` + ``test_x[p]`` -> ``test_core.py::TestArray::test_x[p]``."""
    parts = classname.split(".")
    mod = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts) - 1)
    return "::".join([parts[mod] + ".py", *parts[mod + 1:], name])


def record_open(results: list[FileResult], path: Path) -> None:
    """Write every failure of ``results`` to ``path`` as the OPEN list (see open_failures.py)."""
    lines = [
        '"""Failures of zarr 2.18 suite against zarrflow that are not yet fixed nor analysed as',
        "deliberate differences: open work, recorded by ``python -m tests.compat.suite --record``.",
        "Each is run as a non-strict xfail, so CI fails on any *new* failure and a fixed one shows",
        'up as XPASS; remove it from here when it passes."""',
        "",
        "OPEN: dict[str, str] = {",
    ]
    for r in results:
        for f in r.failed + r.errors:
            nodeid, _, msg = f.partition(": ")
            if nodeid.endswith("::"):
                continue  # a collection error: must be fixed, not recorded
            msg = " ".join(msg.split())[:150]
            lines.append(f"    {nodeid!r}: {msg!r},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def table(results: list[FileResult]) -> str:
    """A markdown table of the results, with a total row."""
    rows = ["| file | passed | failed | known differences (xfail) | skipped by the suite | excluded | % passing |",
            "|---|---|---|---|---|---|---|"]
    tot = FileResult("total")
    for r in results:
        pct = f"{100 * r.passed / r.ran:.1f}" if r.ran else "-"
        rows.append(f"| {r.name} | {r.passed} | {len(r.failed) + len(r.errors)} | {r.xfailed} | {r.skipped} | "
                    f"{r.deselected} | {pct} |")
        tot.passed += r.passed
        tot.failed += r.failed + r.errors
        tot.xfailed += r.xfailed
        tot.skipped += r.skipped
        tot.deselected += r.deselected
    pct = f"{100 * tot.passed / tot.ran:.1f}" if tot.ran else "-"
    rows.append(f"| **total** | {tot.passed} | {len(tot.failed)} | {tot.xfailed} | {tot.skipped} | "
                f"{tot.deselected} | {pct} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m tests.compat.suite [files...]
    from concurrent.futures import ThreadPoolExecutor

    suite_dir = prepare()
    record = "--record" in sys.argv
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or FILES
    with ThreadPoolExecutor(int(os.environ.get("ZARR2_SUITE_JOBS", "2"))) as ex:
        results = list(ex.map(lambda n: run_file(n, suite_dir), names))
    for r in results:
        for f in r.failed + r.errors:
            print("FAIL", r.name, f)
    print(table(results))
    if record:
        record_open(results, Path(__file__).with_name("open_failures.py"))

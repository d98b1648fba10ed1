"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os

import numcodecs.blosc
import pytest
from hypothesis import settings

# CI runs a fixed sequence of examples (HYPOTHESIS_PROFILE=ci in .ci/run), so a red run
# is reproducible and main is not turned red by a new random draw; local runs stay random
# and keep finding new cases.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

from tests.oracles.zarr2 import Zarr2, ensure_zarr2_python


@pytest.fixture(scope="session")
def zarr2() -> Zarr2:
    """zarr-python 2.18 in its own venv, for format round-trips (see tests/oracles)."""
    try:
        return Zarr2(ensure_zarr2_python())
    except RuntimeError as exc:  # offline machine: the oracle cannot be installed
        if os.environ.get("ZARRFLOW_REQUIRE_ORACLES"):
            raise  # CI: a missing oracle is a failure, not a skip
        pytest.skip(str(exc))


@pytest.fixture(autouse=True)
def _restore_default_compressor():
    """Tests may assign ``zarrflow.storage.default_compressor``; put it back after."""
    import zarrflow.storage as storage

    saved = storage.default_compressor
    use_threads = numcodecs.blosc.use_threads
    yield
    storage.default_compressor = saved
    numcodecs.blosc.use_threads = use_threads


# --- CI guards its own strength -----------------------------------------------------------
#: Skip reasons that mean an oracle or service was missing, not that a case does not apply.
MISSING_DEPENDENCY = ("could not import", "needs moto", "needs zarr-python", "oracle venv",
                      "is not on PATH", "needs redis", "could not build", "not installed", "needs azurite",
                      "needs strace")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ZARRFLOW_REQUIRE_ORACLES=1 (CI), a test skipped because an oracle or a
    service (tensorstore, zarr 3, h5py, moto/s3fs, dask/distributed, the zarr 2.18 venv,
    redis-server) is missing fails the run: CI must not pass on a weaker suite."""
    if not os.environ.get("ZARRFLOW_REQUIRE_ORACLES"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    missing = [r for r in reporter.stats.get("skipped", [])
               if any(m in _skip_reason(r) for m in MISSING_DEPENDENCY)]
    if missing:
        reporter.write_line("")
        for r in missing:
            reporter.write_line(f"REQUIRED BUT SKIPPED: {r.nodeid}: {_skip_reason(r)}", red=True)
        reporter.write_line(f"{len(missing)} test(s) skipped for a missing oracle or service: failing the run",
                            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

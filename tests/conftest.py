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

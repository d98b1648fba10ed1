"""Fixtures for the seed examples: they run in a scratch working directory, as the
seeds use relative paths like ``data/example.zarr``."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch):
    """Run the test with a fresh temporary directory as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def _numpy_print_defaults():
    """Print NumPy values the way the seeds show them (before NumPy 2 added shape= and np.)."""
    with np.printoptions(legacy="1.25"):
        yield

"""The test SLURM's own guards: a missing SLURM skips locally and fails CI."""

from __future__ import annotations

import pytest

from tests.cluster.conftest import PACKAGES, unavailable
from tests.cluster.slurm_daemons import DAEMONS, missing_executables
from tests.conftest import MISSING_DEPENDENCY


def test_missing_executables_are_named(tmp_path):
    assert missing_executables(str(tmp_path)) == list(DAEMONS)
    (tmp_path / "sinfo").write_text("#!/bin/sh\n")
    (tmp_path / "sinfo").chmod(0o755)
    assert "sinfo" not in missing_executables(str(tmp_path))


@pytest.mark.parametrize("var", ["ZARRFLOW_REQUIRE_SERVICES", "ZARRFLOW_REQUIRE_ORACLES"])
def test_a_missing_slurm_fails_when_services_are_required(monkeypatch, var):
    monkeypatch.delenv("ZARRFLOW_REQUIRE_SERVICES", raising=False)
    monkeypatch.delenv("ZARRFLOW_REQUIRE_ORACLES", raising=False)
    reason = f"slurmctld is not on PATH (apt-get install -y --no-install-recommends {PACKAGES})"
    with pytest.raises(pytest.skip.Exception, match="slurmctld is not on PATH"):
        unavailable(reason)
    monkeypatch.setenv(var, "1")
    with pytest.raises(pytest.fail.Exception, match="slurmctld is not on PATH"):
        unavailable(reason)
    # and a skip with this reason is one the suite-wide guard counts as a missing service
    assert any(m in reason for m in MISSING_DEPENDENCY)
    assert any(m in "could not import dask_jobqueue" for m in MISSING_DEPENDENCY)

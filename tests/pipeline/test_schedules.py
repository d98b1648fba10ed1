"""The scheduling recipes in ``cluster/schedule/`` run ``zarrflow run`` and carry what
their README says (exit codes 3 and 5 are success, Persistent timers, flock)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from zarrflow.pipeline.runner import ExitCode

SCHEDULE = Path(__file__).resolve().parents[2] / "cluster" / "schedule"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(SCHEDULE / name)
    return parser


def test_systemd_service_and_timer():
    service = unit("zarrflow-nightly.service")
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[0].endswith("/zarrflow") and command[1] == "run" and command[2].endswith(".yaml")
    assert service["Service"]["Type"] == "oneshot"
    assert set(service["Service"]["SuccessExitStatus"].split()) == {str(int(ExitCode.NOTHING_TO_DO)),
                                                                    str(int(ExitCode.LOCKED))}
    timer = unit("zarrflow-nightly.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "zarrflow-nightly.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_crontab_line_uses_flock():
    lines = [line for line in (SCHEDULE / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert len(fields) == 6
    command = shlex.split(fields[5].split(">>")[0])
    assert command[:2] == ["flock", "-n"]
    assert command[3].endswith("/zarrflow") and command[4] == "run"


def test_readme_lists_every_exit_code():
    text = (SCHEDULE / "README.md").read_text()
    for code in ExitCode:
        if code is not ExitCode.USAGE:
            assert f"| {int(code)} |" in text, code


def test_kubernetes_cronjob_runs_the_pipeline_without_overlap():
    yaml = __import__("yaml")
    doc = yaml.safe_load((SCHEDULE / "kubernetes-cronjob.yaml").read_text())
    assert doc["kind"] == "CronJob" and doc["spec"]["concurrencyPolicy"] == "Forbid"
    container = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    script = container["args"][0]
    assert "zarrflow run /etc/zarrflow/pipeline.yaml" in script
    assert '"$rc" -eq 3' in script and '"$rc" -eq 5' in script  # nothing to do / locked are not failures
    assert not any("SECRET" in e.get("name", "") for e in container.get("env", []))  # secrets from a Secret

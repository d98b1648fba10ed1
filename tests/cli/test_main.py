"""The ``zarrflow`` command itself: help, version, entry points."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

import zarrflow
from zarrflow.cli import main


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert zarrflow.__version__ in result.output
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_python_dash_m():
    proc = subprocess.run([sys.executable, "-m", "zarrflow", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert zarrflow.__version__ in proc.stdout


def test_unknown_subcommand_is_a_usage_error():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "no-such-command" in result.output

"""Pipeline files are validated completely before any I/O; errors name the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.pipeline.conftest import WORKFLOWS
from zarrflow.cli import main
from zarrflow.errors import PipelineError
from zarrflow.pipeline import load_pipeline
from zarrflow.pipeline.runner import ExitCode

GOOD = """\
version: 1
name: test
inputs:
  slices: {tiff: "OUT/in/*.tif"}
  maps: {zarr: "OUT/maps.zarr"}
outputs:
  stack: {zarr: "OUT/stack.zarr"}
  series: {zarr: "OUT/series.zarr"}
steps:
  - id: series
    rechunk: {from: stack, to: series, chunks: [10, 4, 4], max_mem: 1MB}
  - id: ingest
    append: {from: slices, to: stack, chunks: [1, 64, 64]}
  - consolidate: {of: stack}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("OUT", str(tmp_path / "data")))
    return path


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_workflow_validates(path):
    pipeline = load_pipeline(path, env={})
    assert pipeline.steps
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid pipeline" in result.output


def test_steps_run_in_dependency_order(tmp_path):
    pipeline = load_pipeline(write(tmp_path, GOOD))
    assert [s.id for s in pipeline.steps] == ["ingest", "3-consolidate", "series"]
    assert pipeline.steps[0].line == 12


INVALID = [
    ("unknown step", ("consolidate: {of: stack}", "consolidat: {of: stack}"), 14, "unknown step 'consolidat'"),
    ("wrong type", ("max_mem: 1MB", "max_mem: [1]"), 11, "max_mem"),
    ("wrong type of chunks", ("chunks: [1, 64, 64]", "chunks: 'big'"), 13, "chunks"),
    ("missing input", ("from: slices", "from: slicez"), 13, "'slicez' is neither an input nor an output"),
    ("unknown key", ("chunks: [1, 64, 64]", "chunk: [1, 64, 64]"), 13, "'chunk' was unexpected"),
    ("writes an input", ("{of: stack}", "{of: maps}"), 14, "'maps' is an input"),
    ("dangling output", ("to: series", "to: nowhere"), 11, "'nowhere' is not an output"),
    ("circular", ("append: {from: slices, to: stack", "append: {from: series, to: stack"), 10, "circular"),
    ("unset variable", ('"OUT/stack.zarr"', '"${ZARRFLOW_TEST_UNSET}/stack.zarr"'), 7, "ZARRFLOW_TEST_UNSET is not set"),
    ("secret", ('{tiff: "OUT/in/*.tif"}', '{tiff: "OUT/in/*.tif", storage_options: {secret: s3cr3t}}'), 4,
     "credentials do not belong"),
    ("duplicate key", ("name: test", "name: test\nname: again"), 3, "appears twice"),
    ("bad yaml", ("steps:", "steps: ["), 10, "not valid YAML"),
    ("two ops in a step", ("  - consolidate: {of: stack}", "  - consolidate: {of: stack}\n    copy: {from: maps, to: series}"),
     14, "exactly one operation"),
    ("wrong version", ("version: 1", "version: 2"), 1, "version"),
    ("filter across the append axis is a run error, a bad filter name is a file error",
     ("chunks: [1, 64, 64]}", "chunks: [1, 64, 64], filter: {median: {size: 3}}}"), 13, "filter"),
]


@pytest.mark.parametrize("name,change,line,message", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_files_name_the_line_and_touch_nothing(tmp_path, name, change, line, message):
    text = GOOD.replace(*change)
    assert text != GOOD
    path = write(tmp_path, text)
    with pytest.raises(PipelineError) as info:
        load_pipeline(path, env={})
    assert message in str(info.value)
    assert re.search(rf"p\.yaml:{line}:", str(info.value)), str(info.value)
    for command in ("validate", "plan", "run"):
        result = CliRunner().invoke(main, [command, str(path)], env={"ZARRFLOW_TEST_UNSET": None})
        assert result.exit_code == ExitCode.INVALID, (command, result.output)
        assert f"p.yaml:{line}:" in result.output
    assert not (tmp_path / "data").exists()  # no I/O


def test_environment_values_expand(tmp_path):
    text = GOOD.replace("max_mem: 1MB", "max_mem: \"${ZF_MEM:-2MB}\"").replace('"OUT/maps.zarr"', '"${ZF_MAPS}"')
    pipeline = load_pipeline(write(tmp_path, text), env={"ZF_MAPS": "memory://maps.zarr"})
    assert pipeline.inputs["maps"].url == "memory://maps.zarr"
    assert next(s for s in pipeline.steps if s.op == "rechunk").args["max_mem"] == "2MB"


def test_missing_file_is_invalid(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == ExitCode.INVALID
    assert "cannot read the pipeline file" in result.output

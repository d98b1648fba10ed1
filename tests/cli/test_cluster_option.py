"""``--cluster CLUSTER_FILE`` on ``zarrflow rechunk`` (the shared option in cli/options.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")
pytest.importorskip("yaml")

import zarrflow
from zarrflow.cli import main


def make_source(path):
    data = np.arange(32 * 16, dtype="i4").reshape(32, 16)
    z = zarrflow.open_array(str(path), mode="w", shape=data.shape, chunks=(1, 16), dtype="i4")
    z[...] = data
    return data


def rechunk(tmp_path, *extra):
    return CliRunner().invoke(main, ["rechunk", str(tmp_path / "s.zarr"), str(tmp_path / "t.zarr"), "--chunks",
                                     "32,2", "--max-mem", "4kB", "--temp", str(tmp_path / "x"), "--no-progress",
                                     *extra])


def test_rechunk_on_a_local_cluster_file(tmp_path):
    data = make_source(tmp_path / "s.zarr")
    cluster = tmp_path / "local.yaml"
    cluster.write_text("kind: local\nworkers: 2\ncluster: {threads_per_worker: 1, memory_limit: 500MiB}\n")
    result = rechunk(tmp_path, "--cluster", str(cluster))
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.splitlines()[0] == f"cluster: local, 2 workers (threads_per_worker=1, " \
                                            f"memory_limit=500MiB) from {cluster}"
    assert result.output.splitlines()[0].startswith("Rechunk plan")
    assert json.loads(result.output.splitlines()[-1])["tasks_skipped"] == 0
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")[...], data)


def test_cluster_and_scheduler_are_exclusive(tmp_path):
    make_source(tmp_path / "s.zarr")
    cluster = tmp_path / "local.yaml"
    cluster.write_text("kind: local\nworkers: 1\n")
    result = rechunk(tmp_path, "--cluster", str(cluster), "--scheduler", "threads")
    assert result.exit_code == 2
    assert "--cluster and --scheduler cannot be used together" in result.stderr
    assert not (tmp_path / "t.zarr").exists()


@pytest.mark.parametrize("text,message", [
    ("kind: local\nworkers: 1\ncluster:\n  memory_limit: 2G\n", ":4: cluster.memory_limit: '2G' is ambiguous"),
    ("kind: lokal\n", ":1: kind: 'lokal' is not a kind of cluster (did you mean 'local'?)"),
    (None, "cannot read the cluster file"),
])
def test_a_bad_cluster_file_changes_nothing(tmp_path, text, message):
    make_source(tmp_path / "s.zarr")
    cluster = tmp_path / "c.yaml"
    if text is not None:
        cluster.write_text(text)
    result = rechunk(tmp_path, "--cluster", str(cluster))
    assert result.exit_code == 2, result.output
    assert "Invalid value for --cluster" in result.stderr and message in result.stderr.replace("\n", " ")
    assert not (tmp_path / "t.zarr").exists() and result.stdout == ""


def test_filter_and_tiff_take_the_same_options(tmp_path):
    """``zarrflow filter`` runs on a cluster file too; an unknown --scheduler name is a
    usage error naming it."""
    ndimage = pytest.importorskip("scipy.ndimage")
    data = np.random.default_rng(0).integers(0, 1000, size=(4, 16, 16)).astype("u2")
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="w", shape=data.shape, chunks=(1, 16, 16), dtype="u2")
    src[...] = data
    cluster = tmp_path / "local.yaml"
    cluster.write_text("kind: local\nworkers: 1\ncluster: {threads_per_worker: 1, memory_limit: 500MiB}\n")
    result = CliRunner().invoke(main, ["filter", "median", str(tmp_path / "s.zarr"), str(tmp_path / "m.zarr"),
                                       "--size", "3", "--axes", "1,2", "--no-progress", "--cluster", str(cluster)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "cluster: local, 1 workers" in result.stderr
    expected = ndimage.median_filter(data, size=(1, 3, 3))
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "m.zarr"), mode="r")[...], expected)
    for command in (["filter", "median", str(tmp_path / "s.zarr"), str(tmp_path / "n.zarr"), "--size", "3"],
                    ["tiff", "export", str(tmp_path / "s.zarr"), str(tmp_path / "out_{:03d}.tif")]):
        bad = CliRunner().invoke(main, [*command, "--scheduler", "turbo"])
        assert bad.exit_code in (1, 2) and "'turbo' is neither" in bad.output + bad.stderr

"""Cluster files: parsing and checking (``zarrflow/graph/cluster_spec.py``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("yaml")

from zarrflow.graph.cluster_spec import (
    ClusterSpec,
    ClusterSpecError,
    lifetime_args,
    load_cluster_spec,
    parse_bytes_strict,
    parse_cluster_spec,
    parse_walltime,
)

SLURM = """\
kind: slurm
workers: 4
cluster:
  cores: 8
  processes: 2
  memory: 32GiB
  walltime: "01:00:00"
  queue: normal
  account: ${PROJECT}
  local-directory: $TMPDIR
  job_extra_directives: ["--exclusive"]
  worker-extra-args: [--resources, "GPU=0"]
"""


def test_a_slurm_file():
    spec = parse_cluster_spec(SLURM, source="c.yaml", env={"PROJECT": "proj42"})
    assert spec == ClusterSpec(kind="slurm", workers=4, source="c.yaml", settings={
        "cores": 8, "processes": 2, "memory": "32GiB", "walltime": "01:00:00", "queue": "normal",
        "account": "proj42", "local_directory": "$TMPDIR", "job_extra_directives": ["--exclusive"],
        "worker_extra_args": ["--resources", "GPU=0"]})
    assert spec.is_batch and not spec.adaptive and spec.wait_for_workers == 1
    assert spec.describe() == ("cluster: slurm, 4 workers (cores=8, processes=2, memory=32GiB, walltime=01:00:00, "
                               "queue=normal) from c.yaml")


def test_every_kind_and_adaptive():
    local = parse_cluster_spec("kind: local\nadaptive: {minimum: 1, maximum: 3}\n"
                               "cluster: {threads_per_worker: 2, memory_limit: 500MB}\n")
    assert (local.minimum, local.maximum, local.adaptive) == (1, 3, True)
    assert local.describe().startswith("cluster: local, adaptive 1..3 workers")
    sched = parse_cluster_spec("kind: scheduler\ncluster:\n  address: ${ADDR:-tcp://127.0.0.1:8786}\n", env={})
    assert sched.settings == {"address": "tcp://127.0.0.1:8786"} and sched.wait_for_workers == 1
    pbs = parse_cluster_spec("kind: pbs\nworkers: 2\ncluster: {cores: 4, memory: 8GB, resource_spec: "
                             "'select=1:ncpus=4:mem=8GB', walltime: '00:30:00'}\n")
    assert pbs.settings["resource_spec"] == "select=1:ncpus=4:mem=8GB"
    k8s = parse_cluster_spec("kind: kubernetes\nworkers: 3\ncluster: {name: zf, image: 'ghcr.io/x/zarrflow:1'}\n")
    assert k8s.workers == 3 and k8s.settings["image"] == "ghcr.io/x/zarrflow:1"
    assert parse_cluster_spec("kind: local\n").workers is None


def test_environment_expansion():
    text = "kind: slurm\nworkers: 1\ncluster:\n  queue: ${Q}\n  account: ${A:-fallback}\n" \
           "  job_script_prologue: ['export X=$${HOME}', 'cd $SLURM_SUBMIT_DIR']\n"
    spec = parse_cluster_spec(text, env={"Q": "gpu"})
    assert spec.settings["queue"] == "gpu" and spec.settings["account"] == "fallback"
    assert spec.settings["job_script_prologue"] == ["export X=${HOME}", "cd $SLURM_SUBMIT_DIR"]
    with pytest.raises(ClusterSpecError, match=r"c.yaml:4: cluster.queue: \$\{Q\} is not set in the environment"):
        parse_cluster_spec(text, source="c.yaml", env={})


@pytest.mark.parametrize("value,expected", [("4GB", 4 * 10**9), ("4GiB", 4 * 2**30), ("1.5GB", 1_500_000_000),
                                            ("512MiB", 512 * 2**20), ("200kB", 200_000), ("100 MB", 10**8)])
def test_bytes_with_units(value, expected):
    assert parse_bytes_strict(value) == expected


@pytest.mark.parametrize("value,match", [
    ("4G", r"'4G' is ambiguous .* write 4GB or 4GiB"), ("16m", "ambiguous"), (4, "has no unit; write 4GB"),
    ("4", "has no unit"), ("lots", "not a byte size"), (True, "not a byte size"), ("0GB", "not a positive"),
])
def test_ambiguous_or_bad_bytes(value, match):
    with pytest.raises(ValueError, match=match):
        parse_bytes_strict(value)


@given(st.integers(1, 10**6), st.sampled_from(["kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"]))
def test_bytes_agree_with_the_unit(n, unit):
    power = {"k": 1, "K": 1, "M": 2, "G": 3, "T": 4}[unit[0]]
    base = 1024 if "i" in unit else 1000
    assert parse_bytes_strict(f"{n}{unit}") == n * base**power


@pytest.mark.parametrize("value,seconds", [("01:00:00", 3600), ("30:00", 1800), ("2-00:00:00", 172800),
                                           ("1-12:30", 131400), (90, 5400), ("45", 2700)])
def test_walltimes(value, seconds):
    assert parse_walltime(value) == seconds


@given(st.integers(120, 7 * 86400))
def test_lifetime_is_always_below_the_walltime(walltime):
    args = lifetime_args(float(walltime))
    lifetime = int(args[1][:-1])
    stagger = int(args[3][:-1]) if "--lifetime-stagger" in args else 0
    assert 0 < lifetime and lifetime + stagger < walltime
    assert walltime - lifetime >= min(60, walltime / 2)  # at least a minute's margin when there is room


def test_lifetime_args():
    assert lifetime_args(3600) == ["--lifetime", "3240s", "--lifetime-stagger", "180s"]
    assert lifetime_args(3600, 3000, 300, restart=True) == ["--lifetime", "3000s", "--lifetime-stagger", "300s",
                                                            "--lifetime-restart"]
    with pytest.raises(ValueError, match="is not below the walltime 3600s"):
        lifetime_args(3600, 3500, 200)


@pytest.mark.parametrize("text,match", [
    ("", r"c.yaml: a cluster file is a YAML mapping"),
    ("- kind: local\n", "a YAML mapping"),
    ("kind: [unclosed\n", r"c.yaml:2: not valid YAML"),
    ("workers: 2\n", r"c.yaml: 'kind' is missing"),
    ("kind: slurmm\n", r"c.yaml:1: kind: 'slurmm' is not a kind of cluster \(did you mean 'slurm'\?\)"),
    ("kind: local\nworkrs: 2\n", r"c.yaml:2: workrs: unknown key \(did you mean 'workers'\?\)"),
    ("kind: slurm\n", r"kind: slurm needs 'workers: N' or 'adaptive"),
    ("kind: slurm\nworkers: 1\ncluster:\n  cores: 2\n  memory: 4G\n",
     r"c.yaml:5: cluster.memory: '4G' is ambiguous"),
    ("kind: slurm\nworkers: 1\ncluster:\n  extra: [--foo]\n",
     r"c.yaml:4: cluster.extra: dask-jobqueue renamed 'extra' to 'worker_extra_args'"),
    ("kind: slurm\nworkers: 1\ncluster:\n  job-extra: [--foo]\n", "renamed 'job-extra' to 'job_extra_directives'"),
    ("kind: slurm\nworkers: 1\ncluster:\n  cpus: 2\n", r"c.yaml:4: cluster.cpus: not a slurm setting"),
    ("kind: slurm\nworkers: 1\ncluster:\n  cores: 2\n  processes: 4\n",
     r"c.yaml:5: cluster.processes: 4 worker processes per job but only 2 cores"),
    ("kind: slurm\nworkers: 1\ncluster:\n  cores: 0\n", "cluster.cores: 0 is not a positive whole number"),
    ("kind: slurm\nworkers: 1\ncluster:\n  walltime: soon\n", r"c.yaml:4: cluster.walltime: 'soon' is not a walltime"),
    ("kind: slurm\nworkers: 1\ncluster:\n  job_extra_directives: --exclusive\n",
     r"a list of strings is expected, e.g. \['--exclusive'\]"),
    ("kind: slurm\nworkers: -1\n", r"c.yaml:2: workers: -1 is not a number of workers"),
    ("kind: slurm\nworkers: 2\nadaptive: {maximum: 3}\n", r"c.yaml:3: adaptive: give 'workers: N' or"),
    ("kind: slurm\nadaptive: {minimum: 4, maximum: 2}\n", r"adaptive.maximum: maximum 2 must be at least"),
    ("kind: slurm\nadaptive: {minimum: 1, max: 2}\n", r"c.yaml:2: adaptive.max: unknown key"),
    ("kind: slurm\nworkers: 2\nwait_for_workers: 3\n", r"wait_for_workers: 3 is more than the 2 workers"),
    ("kind: slurm\nworkers: 2\ntimeout: never\n", r"c.yaml:3: timeout: 'never' is not a duration"),
    ("kind: slurm\nworkers: 1\nlifetime: 59m\nlifetime_stagger: 2m\ncluster: {walltime: '01:00:00'}\n",
     r"c.yaml:3: lifetime: lifetime 3540s \+ lifetime_stagger 120s is not below the walltime 3600s"),
    ("kind: scheduler\n", "kind: scheduler needs cluster.address"),
    ("kind: scheduler\nworkers: 2\ncluster: {address: 'tcp://h:1'}\n", r"c.yaml:2: workers: kind: scheduler uses"),
    ("kind: scheduler\ncluster: {address: 'h:1'}\n", r"cluster.address: 'h:1' is not a scheduler address"),
    ("kind: scheduler\nlifetime: 1h\ncluster: {address: 'tcp://h:1'}\n", "does not start its workers"),
    ("kind: local\nkind: slurm\n", r"c.yaml:2: kind: given twice"),
    ("kind: local\ndask_config: 3\n", r"dask_config: a mapping of dask settings"),
])
def test_bad_files_name_the_line_and_key(text, match):
    with pytest.raises(ClusterSpecError, match=match):
        parse_cluster_spec(text, source="c.yaml", env={})


def test_load_names_a_missing_file(tmp_path):
    with pytest.raises(ClusterSpecError, match=r"cannot read the cluster file .*nope.yaml"):
        load_cluster_spec(tmp_path / "nope.yaml")
    (tmp_path / "c.yaml").write_text("kind: local\nworkers: 2\n")
    assert load_cluster_spec(tmp_path / "c.yaml").source == str(tmp_path / "c.yaml")

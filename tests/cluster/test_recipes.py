"""The ``cluster/`` recipes carry what their READMEs say.

- every cluster file there parses (``parse_cluster_spec``);
- PBS (no PBS here): the job script dask-jobqueue generates from ``cluster/pbs/cluster.yaml``;
- Kubernetes (no cluster here): the DaskJob and CronJob manifests, parsed with PyYAML;
- the Dockerfile's pins satisfy pyproject.toml and cover every runtime dependency;
- ``cluster/local/``: ``start-cluster.sh`` (real ``dask scheduler``/``dask worker``),
  ``zarrflow rechunk --cluster cluster/local/cluster.yaml``, ``stop-cluster.sh``;
- the batch script is valid bash and refuses to run without arguments.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

yaml = pytest.importorskip("yaml")
distributed = pytest.importorskip("distributed")

import zarrflow
from tests.cluster.conftest import REPO
from tests.graph.dask_command_line import pid_gone, wait_until
from zarrflow.graph.cluster_session import jobqueue_kwargs
from zarrflow.graph.cluster_spec import load_cluster_spec, parse_bytes_strict, parse_cluster_spec

CLUSTER = REPO / "cluster"
ENV = {"PROJECT": "p", "ZARRFLOW_QUEUE": "q", "ZARRFLOW_ACCOUNT": "a", "ZARRFLOW_CLUSTER_DIR": "/tmp/x",
       "DASK_SCHEDULER_ADDRESS": "tcp://10.0.0.1:8786"}


def test_the_recipe_tree():
    for path in ["README.md", "slurm/README.md", "slurm/zarrflow-batch.sbatch", "slurm/cluster.yaml",
                 "slurm/jobqueue.yaml", "pbs/README.md", "pbs/cluster.yaml", "kubernetes/README.md",
                 "kubernetes/daskjob.yaml", "kubernetes/cronjob.yaml", "local/README.md", "local/start-cluster.sh",
                 "local/stop-cluster.sh", "local/cluster.yaml", "local/one-machine.yaml", "docker/Dockerfile"]:
        assert (CLUSTER / path).is_file(), path
    readme = (CLUSTER / "README.md").read_text()
    for link in re.findall(r"\]\(([^)#]+)\)", readme):
        assert (CLUSTER / link).exists(), link


@pytest.mark.parametrize("name,kind", [("slurm/cluster.yaml", "slurm"), ("pbs/cluster.yaml", "pbs"),
                                       ("local/cluster.yaml", "scheduler"), ("local/one-machine.yaml", "local")])
def test_cluster_files_parse(name, kind):
    spec = load_cluster_spec(CLUSTER / name, env=ENV)
    assert spec.kind == kind


def test_slurm_recipe_settings():
    spec = load_cluster_spec(CLUSTER / "slurm" / "cluster.yaml", env={})
    assert (spec.minimum, spec.maximum, spec.wait_for_workers, spec.timeout) == (2, 16, 2, 1800)
    assert spec.settings["queue"] == "normal" and spec.settings["local_directory"] == "$TMPDIR"
    assert parse_bytes_strict(spec.settings["memory"]) == 32 * 2**30
    # the README's numbers
    assert jobqueue_kwargs(spec)[1] == ["--lifetime", "6480s", "--lifetime-stagger", "360s"]
    assert "--lifetime 6480s\n--lifetime-stagger 360s" in (CLUSTER / "slurm" / "README.md").read_text()
    jobqueue = yaml.safe_load((CLUSTER / "slurm" / "jobqueue.yaml").read_text())["jobqueue"]["slurm"]
    assert {jobqueue[k] for k in ("cores", "processes", "memory", "walltime")} == \
           {spec.settings[k] for k in ("cores", "processes", "memory", "walltime")}


def test_pbs_job_script():
    pytest.importorskip("dask_jobqueue")
    from dask_jobqueue import PBSCluster

    spec = load_cluster_spec(CLUSTER / "pbs" / "cluster.yaml", env={})
    kwargs, added = jobqueue_kwargs(spec)
    # loopback for the scheduler this test starts; the job script is the recipe's
    kwargs["scheduler_options"] = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}
    cluster = PBSCluster(**kwargs)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    for line in ["#PBS -N dask-worker", "#PBS -q workq", "#PBS -A myproject", "#PBS -l select=1:ncpus=8:mem=32GB",
                 "#PBS -l walltime=01:00:00", "#PBS -j oe"]:
        assert line in lines, script
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    for part in ["--nthreads 4", "--nworkers 2", "--memory-limit 14.90GiB", "--local-directory $TMPDIR",
                 "--lifetime 3240s --lifetime-stagger 180s", "--interface ib0"]:
        assert part in worker, worker
    # what the README shows
    readme = (CLUSTER / "pbs" / "README.md").read_text()
    for line in ["#PBS -l select=1:ncpus=8:mem=32GB", "#PBS -l walltime=01:00:00", "--memory-limit 14.90GiB",
                 "--lifetime 3240s --lifetime-stagger 180s"]:
        assert line in readme
    assert added == ["--lifetime", "3240s", "--lifetime-stagger", "180s"]


def manifests(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((CLUSTER / "kubernetes" / name).read_text()) if d]


def test_daskjob_manifest():
    docs = {d["kind"]: d for d in manifests("daskjob.yaml")}
    job = docs["DaskJob"]
    assert job["apiVersion"] == "kubernetes.dask.org/v1"
    pod = job["spec"]["job"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    args = container["args"]
    assert args[:2] == ["zarrflow", "rechunk"] and "--cluster=/config/cluster.yaml" in args
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/config")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    configmap = docs["ConfigMap"]
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    spec = parse_cluster_spec(configmap["data"]["cluster.yaml"], env=ENV)
    assert spec.kind == "scheduler" and spec.settings["address"] == ENV["DASK_SCHEDULER_ADDRESS"]
    worker = job["spec"]["cluster"]["spec"]["worker"]["spec"]["containers"][0]
    scheduler = job["spec"]["cluster"]["spec"]["scheduler"]["spec"]["containers"][0]
    # one image everywhere, the one the Dockerfile builds
    images = {container["image"], worker["image"], scheduler["image"]}
    assert images == {"zarrflow:0.1.0"} and f"zarrflow:{zarrflow.__version__}" in images
    assert "-t zarrflow:0.1.0" in (CLUSTER / "docker" / "Dockerfile").read_text()
    # worker threads and memory limit follow the container's request
    flags = dict(a.split("=", 1) for a in worker["args"] if a.startswith("--"))
    requests = worker["resources"]["requests"]
    assert int(flags["--nthreads"]) == int(requests["cpu"]) == int(worker["resources"]["limits"]["cpu"])
    assert parse_bytes_strict(flags["--memory-limit"]) == parse_bytes_strict(requests["memory"] + "B")
    assert requests == worker["resources"]["limits"]
    scratch = next(m for m in worker["volumeMounts"] if m["mountPath"] == flags["--local-directory"])
    assert "emptyDir" in next(v for v in job["spec"]["cluster"]["spec"]["worker"]["spec"]["volumes"]
                              if v["name"] == scratch["name"])
    assert job["spec"]["cluster"]["spec"]["worker"]["replicas"] == spec.wait_for_workers


def test_cronjob_manifest():
    docs = {d["kind"]: d for d in manifests("cronjob.yaml")}
    cron = docs["CronJob"]
    assert cron["apiVersion"] == "batch/v1"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert re.fullmatch(r"(\S+ ){4}\S+", cron["spec"]["schedule"])
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    script = pod["containers"][0]["args"][0]
    name = next(d for d in manifests("daskjob.yaml") if d["kind"] == "DaskJob")["metadata"]["name"]
    assert "kubectl apply -f /daskjob/daskjob.yaml" in script and f"daskjob/{name}" in script
    assert f"kubectl delete daskjob {name}" in script
    rule = next(r for r in docs["Role"]["rules"] if "daskjobs" in r["resources"])
    assert {"create", "get", "delete", "watch"} <= set(rule["verbs"])
    assert docs["RoleBinding"]["roleRef"]["name"] == docs["Role"]["metadata"]["name"]
    assert "concurrencyPolicy: Forbid" in (CLUSTER / "kubernetes" / "README.md").read_text()


def _requirements() -> list[str]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return project["dependencies"] + extras["dask"] + extras["cluster"] + extras["pipeline"]


def test_dockerfile_pins_match_pyproject():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = dict(re.findall(r'"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^"]+)"', (CLUSTER / "docker" / "Dockerfile")
                           .read_text()))
    pins = {canonicalize_name(k): v for k, v in pins.items()}
    needed = {}
    for text in _requirements():
        req = Requirement(text)
        needed.setdefault(canonicalize_name(req.name), []).append(req.specifier)
    assert set(pins) == set(needed), (set(pins) ^ set(needed))
    for name, specifiers in needed.items():
        for specifier in specifiers:
            assert specifier.contains(pins[name]), f"{name}=={pins[name]} does not satisfy {specifier}"
    # client and workers: the pinned dask and distributed are one release
    assert pins["dask"] == pins["distributed"]


def test_local_recipe(tmp_path):
    data = np.arange(24 * 20, dtype="i2").reshape(24, 20)
    src = zarrflow.open_array(str(tmp_path / "s.zarr"), mode="w", shape=data.shape, chunks=(1, 20), dtype="i2")
    src[...] = data
    env = {**os.environ, "ZARRFLOW_CLUSTER_DIR": str(tmp_path / "c"), "DASK": str(Path(sys.executable).parent /
           "dask"), "ZARRFLOW_DASHBOARD": "127.0.0.1:0",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([str(CLUSTER / "local" / "start-cluster.sh"), "2", "1", "500MiB"], env=env, check=True,
                   capture_output=True, timeout=60)
    pids = [int(p) for p in (tmp_path / "c" / "pids").read_text().split()]
    try:
        assert len(pids) == 3
        proc = subprocess.run([sys.executable, "-m", "zarrflow", "rechunk", str(tmp_path / "s.zarr"),
                               str(tmp_path / "t.zarr"), "--chunks", "24,5", "--max-mem", "2kB", "--temp",
                               str(tmp_path / "x"), "--no-progress", "--cluster",
                               str(CLUSTER / "local" / "cluster.yaml")],
                              env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.startswith("cluster: scheduler, its workers")
        np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "t.zarr"), mode="r")[...], data)
        assert all(not pid_gone(p) for p in pids)  # kind: scheduler leaves the cluster running
    finally:
        subprocess.run([str(CLUSTER / "local" / "stop-cluster.sh")], env=env, timeout=60)
    for pid in pids:
        wait_until(lambda pid=pid: pid_gone(pid), 30, f"process {pid} to stop")


def test_batch_script_is_valid_bash_and_needs_a_command(tmp_path):
    script = CLUSTER / "slurm" / "zarrflow-batch.sbatch"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert os.access(script, os.X_OK)
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert proc.returncode == 2 and "usage: sbatch zarrflow-batch.sbatch SUBCOMMAND" in proc.stderr
    text = script.read_text()
    assert '"$PYTHON" -m zarrflow "$@" --cluster "$JOB_DIR/cluster.yaml"' in text
    directives = [line for line in text.splitlines() if line.startswith("#SBATCH")]
    assert "#SBATCH --time=01:00:00" in directives


"""Fixtures of the pipeline tests: running ``zarrflow`` as a scheduler would (a real
process with its environment), S3 through the moto server on 127.0.0.1 configured
the way users configure fsspec (environment variables, never the pipeline file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.storage.s3_server import DUMMY_KEY, DUMMY_SECRET, REGION, fresh_bucket, s3_server  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"


@dataclass
class Run:
    """One finished ``zarrflow`` process."""

    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict:
        """The JSON report (the last line of stdout)."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def wait_for(condition, timeout: float = 60, interval: float = 0.005, until_exit: subprocess.Popen | None = None) -> bool:
    """Poll ``condition()`` (exceptions count as False) until it holds, ``timeout``
    passes or the process ``until_exit`` ends; returns whether it held."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (until_exit is None or until_exit.poll() is None):
        try:
            if condition():
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(interval)
    return False


def zarrflow_env(extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.update(extra or {})
    return env


def run_zarrflow(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 240) -> Run:
    """``python -m zarrflow ARGS`` in a fresh process."""
    proc = subprocess.run([sys.executable, "-m", "zarrflow", *map(str, args)], capture_output=True, text=True,
                          env=zarrflow_env(env), cwd=cwd or REPO, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def start_zarrflow(*args: str, env: dict | None = None) -> subprocess.Popen:
    """``python -m zarrflow ARGS`` started in the background."""
    return subprocess.Popen([sys.executable, "-m", "zarrflow", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=zarrflow_env(env), cwd=REPO)


@pytest.fixture
def s3(s3_server):
    """A fresh bucket and the environment a run needs to reach it (credentials and the
    endpoint through fsspec's environment configuration)."""
    import s3fs

    bucket = fresh_bucket(s3_server)
    env = {"AWS_ACCESS_KEY_ID": DUMMY_KEY, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET, "AWS_DEFAULT_REGION": REGION,
           "FSSPEC_S3": json.dumps({"client_kwargs": {"endpoint_url": s3_server.endpoint_url}}),
           "NO_PROXY": "127.0.0.1,localhost"}
    fs = s3fs.S3FileSystem(**s3_server.storage_options())
    return S3Bucket(bucket, env, fs, s3_server.storage_options())


@dataclass
class S3Bucket:
    """A bucket of the moto server, with an s3fs filesystem on it."""

    name: str
    env: dict
    fs: object
    storage_options: dict

    def url(self, path: str) -> str:
        return f"s3://{self.name}/{path}"

    def snapshot(self) -> dict:
        """Every object with its ETag and modification time (no write changes nothing)."""
        self.fs.invalidate_cache()
        out = {}
        for path in self.fs.find(self.name, detail=True).values():
            out[path["name"]] = (path.get("ETag"), str(path.get("LastModified")))
        return out

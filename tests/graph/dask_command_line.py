"""A Dask cluster started with the real command-line tools, for tests.

:class:`CLICluster` runs ``dask scheduler`` and N separate ``dask worker`` processes
(the ``dask`` executable next to ``sys.executable``), all listening on 127.0.0.1
only, and stops exactly the processes it started. It is used by the ``cli_client``
fixture (tests/graph/conftest.py) and by the worker-kill tests.

Loopback only: ``--host 127.0.0.1`` covers the scheduler's and workers' (and
nannies') comms, but ``--no-dashboard`` does *not* stop their small HTTP servers
(health/metrics routes), which by default bind ``0.0.0.0`` (the scheduler on port
8787); ``--dashboard-address 127.0.0.1:0`` keeps those on loopback too.

Task functions: the processes get ``PYTHONPATH`` = the repository root (plus the
caller's ``PYTHONPATH``), so functions defined in test modules (``tests.graph.*``)
are importable on the workers, where cloudpickle sends them by reference. The
helper task functions the worker-kill tests need live here.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"


class ClusterStartError(RuntimeError):
    """The scheduler or a worker did not come up; the message holds their logs."""


class CLICluster:
    """``dask scheduler`` + ``n_workers`` x ``dask worker`` (1 thread each) on 127.0.0.1.

    ``nanny=True`` (dask's default) starts each worker under a nanny, which restarts
    it when it dies: the ``dask worker`` process we start is then the nanny, and the
    worker is its child (its pid: ``client.run(os.getpid)``). ``nanny=False``
    (``--no-nanny``): the ``dask worker`` process is the worker itself.

    ``worker_args`` are appended to each ``dask worker`` command line. Logs go to
    ``workdir/*.log``; ``workdir/sched.json`` is the scheduler file.
    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, workdir: str | os.PathLike[str], n_workers: int = 2, nanny: bool = True,
                 timeout: float = 60.0, worker_args: tuple[str, ...] = ()) -> None:
        self.workdir = Path(workdir)
        self.worker_args = tuple(worker_args)
        self.n_workers = n_workers
        self.nanny = nanny
        self.timeout = timeout
        self.scheduler_file = self.workdir / "sched.json"
        self.scheduler_proc: subprocess.Popen | None = None
        self.worker_procs: list[subprocess.Popen] = []
        self.address: str | None = None
        self._logs: list[Path] = []
        self._files: list[Any] = []

    # --- starting ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment of the processes: ours, with the repo root on PYTHONPATH."""
        env = dict(os.environ)
        paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self._logs.append(log)
        f = open(log, "wb")
        self._files.append(f)
        return subprocess.Popen([str(DASK), *args], stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                cwd=self.workdir, env=self.env())

    def start(self) -> CLICluster:
        """Start the scheduler, wait for its file, start the workers (not waiting for them:
        see :meth:`wait_for_workers`)."""
        if not DASK.exists():
            raise ClusterStartError(f"no dask executable at {DASK}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.scheduler_file.unlink(missing_ok=True)  # never read a previous run's address
        atexit.register(self.stop)  # a crashed test session still stops its processes
        self.scheduler_proc = self._spawn("scheduler", [
            "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(self.scheduler_file)])
        self.address = self._wait_for_scheduler_file()
        for i in range(self.n_workers):
            self.worker_procs.append(self._spawn(f"worker-{i}", [
                "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--name", f"cli-{i}",
                "--local-directory", str(self.workdir / f"worker-{i}"),
                "--nanny" if self.nanny else "--no-nanny", *self.worker_args]))
        return self

    def _wait_for_scheduler_file(self) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.scheduler_proc.poll() is not None:
                self._fail(f"dask scheduler exited with code {self.scheduler_proc.returncode}")
            try:
                address = json.loads(self.scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):  # not there yet, or half written
                time.sleep(0.05)
                continue
            return address
        self._fail(f"no scheduler file {self.scheduler_file} after {self.timeout} s")

    def wait_for_workers(self, client: Any, n: int | None = None, timeout: float | None = None) -> None:
        """Wait until ``client`` sees ``n`` workers (default: all); ClusterStartError with
        the processes' logs when one of them exits or the timeout passes (the caller
        closes the client and stops the cluster)."""
        n = self.n_workers if n is None else n
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            dead = [(p.args[1], p.returncode) for p in [self.scheduler_proc, *self.worker_procs]
                    if p.poll() is not None]
            if dead:
                self._fail(f"processes exited while waiting for {n} workers: {dead}", stop=False)
            seen = len(client.scheduler_info(n_workers=-1)["workers"])
            if seen >= n:
                return
            if time.monotonic() > deadline:
                self._fail(f"the client sees {seen} of {n} workers after {timeout} s", stop=False)
            time.sleep(0.05)

    def client(self, **kwargs: Any) -> Any:
        """A new ``distributed.Client`` of this cluster (not the default one), once all
        workers are up; when they do not come up, the cluster is stopped and
        ClusterStartError raised."""
        import distributed

        kwargs.setdefault("set_as_default", False)
        client = distributed.Client(self.address, timeout=self.timeout, **kwargs)
        try:
            self.wait_for_workers(client)
        except BaseException:
            client.close()
            self.stop()
            raise
        return client

    def logs(self, tail: int = 4000) -> str:
        """The last ``tail`` characters of every process's log."""
        parts = []
        for log in self._logs:
            try:
                text = log.read_text(errors="replace")
            except OSError as exc:
                text = f"<unreadable: {exc}>"
            parts.append(f"--- {log.name} ---\n{text[-tail:]}")
        return "\n".join(parts)

    def _fail(self, message: str, stop: bool = True) -> None:
        logs = self.logs()
        if stop:
            self.stop()
        raise ClusterStartError(f"{message}\n{logs}")

    # --- process ids -----------------------------------------------------------------------

    @property
    def started_pids(self) -> set[int]:
        """Pids of the processes this object started (the ``dask`` commands)."""
        return {p.pid for p in [self.scheduler_proc, *self.worker_procs] if p is not None}

    @staticmethod
    def worker_pids(client: Any) -> dict[str, int]:
        """Worker address -> pid of the process running its tasks."""
        return client.run(os.getpid)

    # --- stopping --------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the workers then the scheduler (SIGTERM, wait, SIGKILL after
        ``timeout``); only processes started here, plus the workers of our nannies."""
        atexit.unregister(self.stop)
        children = []  # a nanny's worker; a nanny killed with SIGKILL would orphan it
        for proc in self.worker_procs:
            children += _children(proc.pid)
        _terminate(self.worker_procs, timeout)  # workers first: they leave the scheduler cleanly
        _terminate([self.scheduler_proc] if self.scheduler_proc is not None else [], timeout)
        for child in children:
            try:
                if child.is_running() and child.status() != "zombie":
                    child.kill()
            except Exception:
                pass
        for f in self._files:
            f.close()
        self._files.clear()

    def __enter__(self) -> CLICluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _terminate(procs: list[subprocess.Popen], timeout: float) -> None:
    """SIGTERM each running process, wait for all, SIGKILL those still running."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def _children(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:
        return []


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something true (returned); AssertionError
    naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pid_gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (exited, or a zombie not yet reaped)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# --- task functions run on the workers -------------------------------------------------------


def gated_double(block: np.ndarray, gate: str, free: int) -> np.ndarray:
    """``2 * block``, after recording this call as a file in ``gate/calls``; calls after
    the first ``free`` ones wait (polling) for the file ``gate/open``.

    The gate makes a mid-run kill deterministic: the test lets ``free`` chunks through,
    kills a worker while every worker holds a blocked task, then opens the gate.
    """
    calls = Path(gate) / "calls"
    calls.mkdir(exist_ok=True)
    (calls / f"{os.getpid()}-{uuid.uuid4().hex}").touch()
    if len(os.listdir(calls)) > free:
        deadline = time.monotonic() + 60
        while not (Path(gate) / "open").exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gate {gate} was never opened")
            time.sleep(0.01)
    return block * 2


def die_during_replace(block: np.ndarray, marker: str, value: float) -> np.ndarray:
    """``2 * block``; in the first call to see ``block.flat[0] == value`` (claimed by
    creating ``marker``), arm this worker process to SIGKILL itself inside the next
    ``os.replace``: after the chunk's temporary file is written, before it is renamed
    into place, i.e. a worker killed in the middle of writing a chunk. Reruns (on
    another or a restarted worker) run normally."""
    if block.size and block.flat[0] == value:
        try:
            open(marker, "x").close()
        except FileExistsError:
            return block * 2
        real = os.replace

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if str(src).endswith(".partial"):
                Path(marker).write_text(str(src))  # the temporary file left behind
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst, *args, **kwargs)

        os.replace = replace
    return block * 2


def pid_block(block: np.ndarray) -> np.ndarray:
    """A block filled with the pid of the process running the task."""
    return np.full(block.shape, os.getpid(), dtype="i8")

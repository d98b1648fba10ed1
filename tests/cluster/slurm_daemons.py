"""A real single-node SLURM for tests: munged + slurmctld + slurmd, all under one directory.

:class:`Slurm` writes a munge key, a ``slurm.conf`` and every state, spool, log and pid
file under its ``workdir``, starts ``munged`` (its own socket), ``slurmctld`` and
``slurmd`` in the foreground as child processes (so they are stopped by the PIDs
started here, never by name), and waits until ``sinfo`` shows the node idle. No
systemd, no cgroups: ``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none``.
The node line comes from ``slurmd -C``; ``SlurmdParameters=config_overrides`` lets it
advertise more CPUs than the machine has, so several one-core worker jobs run at once.

Every process a job starts inherits ``SLURM_CONF`` (``sbatch`` exports the
environment; the daemons get it too), which is how :meth:`leftover_processes` finds
anything this SLURM started that is still running: daemons, ``slurmstepd``, job
scripts and dask workers.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil

__all__ = ["DAEMONS", "Slurm", "SlurmError", "missing_executables"]

#: The executables a test SLURM needs (Debian: slurmctld slurmd slurm-client munge).
DAEMONS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scancel", "scontrol", "srun")


class SlurmError(RuntimeError):
    """SLURM did not come up or a command failed; the message holds the logs."""


def missing_executables(search_path: str | None = None) -> list[str]:
    """The executables of :data:`DAEMONS` not on ``search_path`` (default: PATH plus
    /usr/sbin and /sbin, where Debian puts the daemons)."""
    path = search_path if search_path is not None else (
        os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin")
    return [name for name in DAEMONS if shutil.which(name, path=path) is None]


def _which(name: str) -> str:
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    found = shutil.which(name, path=path)
    if found is None:
        raise SlurmError(f"{name} is not on PATH")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Slurm:
    """One test SLURM cluster (one node, partition ``debug``) under ``workdir``.

    ``cpus``: CPUs the node advertises. Use :meth:`env` for commands (``SLURM_CONF``),
    :meth:`start`/:meth:`stop` or ``with``.
    """

    def __init__(self, workdir: str | os.PathLike[str], cpus: int = 8, timeout: float = 30.0) -> None:
        self.workdir = Path(workdir)
        self.cpus = cpus
        self.timeout = timeout
        self.conf = self.workdir / "slurm.conf"
        self.munge_socket = self.workdir / "munge" / "munge.socket"
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list[Path] = []
        self._files: list = []
        self.nodename = socket.gethostname().split(".")[0]
        self.cluster_name = f"zf{os.getpid()}"

    # --- files ---------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Our environment with ``SLURM_CONF`` pointing at this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def _node_line(self) -> str:
        out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30).stdout
        memory = re.search(r"RealMemory=(\d+)", out)
        real_memory = int(memory.group(1)) if memory else 1000
        return (f"NodeName={self.nodename} NodeAddr=127.0.0.1 CPUs={self.cpus} Boards=1 SocketsPerBoard=1 "
                f"CoresPerSocket={self.cpus} ThreadsPerCore=1 RealMemory={real_memory} State=UNKNOWN")

    def write_config(self) -> None:
        """The munge key and ``slurm.conf``; every path under ``workdir``."""
        w = self.workdir
        for sub in ("munge", "state", f"spool/{self.nodename}", "log"):
            (w / sub).mkdir(parents=True, exist_ok=True)
        (w / "munge").chmod(0o755)  # munged wants its socket's directory reachable
        key = w / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        user = getpass.getuser()
        self.conf.write_text("\n".join([
            f"ClusterName={self.cluster_name}",
            f"SlurmctldHost={self.nodename}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={w / 'state'}",
            f"SlurmdSpoolDir={w / 'spool' / '%n'}",
            f"SlurmctldPidFile={w / 'slurmctld.pid'}",
            f"SlurmdPidFile={w / 'slurmd.pid'}",
            f"SlurmctldLogFile={w / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={w / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerType=sched/backfill",
            "ReturnToService=2",
            "MailProg=/bin/true",
            "SlurmdParameters=config_overrides",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "InactiveLimit=0",
            "KillWait=2",
            "MinJobAge=600",  # ended jobs stay in scontrol show job (squeue lists only live ones)
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "OverTimeLimit=0",
            self._node_line(),
            f"PartitionName=debug Nodes={self.nodename} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))

    # --- starting --------------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.workdir / "log" / f"{name}.out"
        self._logs.append(log)
        f = open(log, "wb")
        self._files.append(f)
        self.procs[name] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                            cwd=self.workdir, env=self.env())

    def start(self) -> Slurm:
        """Start munged, slurmctld and slurmd; return once ``sinfo`` shows the node idle."""
        self.write_config()
        m = self.workdir / "munge"
        self._spawn("munged", [_which("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={m / 'munge.key'}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={m / 'munged.log'}", f"--seed-file={m / 'munged.seed'}"])
        self._logs += [m / "munged.log", self.workdir / "log" / "slurmctld.log", self.workdir / "log" / "slurmd.log"]
        self._wait(lambda: self.munge_socket.exists(), "munged's socket")
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._ping(), "slurmctld to answer")
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf)])
        self._wait(lambda: self.node_state() == "idle", "the node to be idle in sinfo")
        return self

    def _ping(self) -> bool:
        result = subprocess.run([_which("scontrol"), "ping"], capture_output=True, text=True, env=self.env(),
                                timeout=10)
        return "UP" in result.stdout

    def node_state(self) -> str:
        """The node's state as ``sinfo`` prints it (``idle``, ``mix``, ``alloc``...)."""
        result = subprocess.run([_which("sinfo"), "-h", "-N", "-o", "%T"], capture_output=True, text=True,
                                env=self.env(), timeout=10)
        return result.stdout.strip().rstrip("*")

    def _wait(self, predicate, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not predicate():
            dead = [(n, p.returncode) for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                self._fail(f"exited while waiting for {what}: {dead}")
            if time.monotonic() > deadline:
                self._fail(f"timed out after {self.timeout} s waiting for {what}")
            time.sleep(0.1)

    def _fail(self, message: str) -> None:
        logs = self.logs()
        self.stop()
        raise SlurmError(f"{message}\n{logs}")

    def logs(self, tail: int = 3000) -> str:
        """The end of every daemon log."""
        parts = []
        for log in self._logs:
            try:
                parts.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-tail:]}")
            except OSError:
                pass
        return "\n".join(parts)

    # --- commands --------------------------------------------------------------------------------

    def run(self, *args: str, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Run a SLURM command (``sbatch``, ``squeue``...) against this cluster."""
        result = subprocess.run([_which(args[0]), *args[1:]], capture_output=True, text=True, env=self.env(),
                                timeout=timeout)
        if check and result.returncode != 0:
            raise SlurmError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result

    def jobs(self) -> dict[str, str]:
        """Job id -> state of every job ``squeue`` still lists."""
        out = self.run("squeue", "-h", "-o", "%i %T").stdout
        return dict(line.split() for line in out.splitlines() if line.strip())

    def job_state(self, job_id: str) -> str:
        """A job's state from ``scontrol show job`` (also after it ended, for MinJobAge)."""
        out = self.run("scontrol", "show", "job", job_id, check=False).stdout
        match = re.search(r"JobState=(\S+)", out)
        return match.group(1) if match else "UNKNOWN"

    def wait_for_no_jobs(self, timeout: float = 30.0) -> None:
        """Wait until ``squeue`` lists nothing; SlurmError with the list after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.jobs():
            if time.monotonic() > deadline:
                raise SlurmError(f"jobs still listed after {timeout} s: {self.jobs()}")
            time.sleep(0.2)

    # --- stopping --------------------------------------------------------------------------------

    def leftover_processes(self) -> list[psutil.Process]:
        """Processes with this cluster's ``SLURM_CONF`` in their environment (daemons,
        slurmstepd, job scripts, dask workers), except ours."""
        found = []
        me = os.getpid()
        for proc in psutil.process_iter(["pid"]):
            if proc.pid == me:
                continue
            try:
                if proc.environ().get("SLURM_CONF") == str(self.conf) and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def leftover_jobs_and_processes(self) -> tuple[dict[str, str], list[str]]:
        """``squeue``'s jobs and the non-daemon processes of this cluster still running."""
        daemons = {p.pid for p in self.procs.values()}
        procs = []
        for proc in self.leftover_processes():
            if proc.pid in daemons:
                continue
            try:
                procs.append(f"{proc.pid} {' '.join(proc.cmdline())[:200]}")
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue  # it ended meanwhile
        return self.jobs(), procs

    def cancel_all(self) -> None:
        """Cancel every job of this cluster and wait for squeue to be empty."""
        jobs = list(self.jobs())
        if jobs:
            self.run("scancel", *jobs, check=False)
        self.wait_for_no_jobs()

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel jobs, then stop slurmd, slurmctld and munged by their PIDs (SIGTERM,
        SIGKILL after ``timeout``). Nothing else is killed: the tests check that nothing is
        left (:meth:`leftover_processes`)."""
        if self.procs.get("slurmctld") is not None and self.procs["slurmctld"].poll() is None:
            try:
                self.cancel_all()
            except (SlurmError, subprocess.SubprocessError, OSError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for f in self._files:
            f.close()
        self._files.clear()

    def __enter__(self) -> Slurm:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

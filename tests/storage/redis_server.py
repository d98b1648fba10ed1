"""Start and stop a throwaway ``redis-server`` for tests.

``RedisServer().start()`` runs ``redis-server`` on 127.0.0.1 and a free port, with
no persistence (``--save '' --appendonly no``) and its working directory in a fresh
temporary directory, and returns once the server answers PING. ``stop()`` stops
that process and only that one (by its Popen handle, never by name) and removes
the directory. On Linux the server is also told to exit when the test process
dies, so a killed test run leaves no server behind.

Nothing here needs the ``redis`` Python package: readiness is checked with a raw
RESP ``PING`` over a socket.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import TracebackType

__all__ = ["RedisServer", "RedisServerError", "find_redis_server", "free_port"]

HOST = "127.0.0.1"


class RedisServerError(RuntimeError):
    """The server could not be started (the message includes the end of its log)."""


def find_redis_server() -> str | None:
    """Path of the ``redis-server`` executable on PATH, or None."""
    return shutil.which("redis-server")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server at ``host:port`` answers PING with PONG."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """In the child before exec: ask Linux to SIGTERM it when the parent exits."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1, owned by this object."""

    def __init__(self, executable: str | None = None, startup_timeout: float = 15.0) -> None:
        self.executable = executable or find_redis_server()
        self.startup_timeout = startup_timeout
        self.host = HOST
        self.port: int | None = None
        self.dir: str | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the process this object started is alive."""
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{self.host}:{self.port}/0"

    def _log_tail(self) -> str:
        if self.dir is None:
            return ""
        try:
            with open(os.path.join(self.dir, "redis.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self, attempts: int = 3) -> RedisServer:
        """Start the server and wait until it answers PING; retries on a port race."""
        if self.running:
            return self
        if self.executable is None:
            raise RedisServerError("redis-server is not on PATH (apt-get install -y redis-server)")
        self.dir = tempfile.mkdtemp(prefix="zarrflow-redis-")
        error = ""
        for _ in range(attempts):
            self.port = free_port()
            cmd = [
                self.executable,
                "--bind", self.host,
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--daemonize", "no",
                "--logfile", "redis.log",
            ]
            self.process = subprocess.Popen(
                cmd,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if ping(self.host, self.port):
                    return self
                time.sleep(0.02)
            error = self._log_tail()
            self._stop_process()  # exited (port taken?) or never answered
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        raise RedisServerError(f"redis-server did not answer PING on {self.host}:{self.port}: {error}")

    def _stop_process(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the process this object started and remove its directory."""
        self._stop_process()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

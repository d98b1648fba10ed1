"""A local Azure Blob Storage endpoint for tests: Azurite (npm package ``azurite``) on 127.0.0.1.

``Azurite`` runs ``azurite-blob`` as a child process on 127.0.0.1 (a free port, or the
one given: zarr 2.18's own suite expects 10000) with its data in a temporary
directory, waits until it accepts connections, and stops only the process it
started, by PID. The well-known development account of the emulator is used; nothing
talks to the network beyond 127.0.0.1.

The binary is ``$ZARRFLOW_AZURITE``, else ``.azurite/node_modules/.bin/azurite-blob``
in the repository (``npm install --prefix .azurite azurite``, as ``.ci/run`` does),
else ``azurite-blob`` on PATH.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["ACCOUNT", "Azurite", "azurite_binary", "azurite_available", "fresh_container", "shared_azurite"]

REPO = Path(__file__).resolve().parents[2]
#: Azurite's documented development account and key (not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str | None:
    """Path of ``azurite-blob``, or None when it is not installed."""
    explicit = os.environ.get("ZARRFLOW_AZURITE")
    if explicit:
        return explicit
    local = REPO / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


def azurite_available() -> bool:
    """True when Azurite and the Azure SDK are both installed."""
    return azurite_binary() is not None and importlib.util.find_spec("azure.storage.blob") is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """Azurite's blob service in a child process on 127.0.0.1."""

    def __init__(self, port: int | None = None, start_timeout: float = 60.0) -> None:
        self.port = port
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._lock = threading.Lock()

    @property
    def connection_string(self) -> str:
        """The SDK connection string for this endpoint's development account."""
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};")

    @property
    def pid(self) -> int | None:
        """PID of the child process started here (None when not running)."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the child process started here is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Azurite:
        """Start (no-op when running) and wait until the port accepts connections."""
        with self._lock:
            if self.running:
                return self
            binary = azurite_binary()
            if binary is None:
                raise RuntimeError("azurite-blob is not installed (npm install --prefix .azurite azurite)")
            fixed = self.port
            for _attempt in range(3):  # a free port can be taken between probe and bind
                port = fixed or _free_port()
                if fixed is not None and _accepts(port):
                    raise RuntimeError(f"127.0.0.1:{port} is already in use; Azurite cannot start there")
                self._dir = tempfile.mkdtemp(prefix="zarrflow-azurite-")
                env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
                self._proc = subprocess.Popen(
                    [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", self._dir,
                     "--silent", "--skipApiVersionCheck", "--loose"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                )
                self.port = port
                if self._wait_ready():
                    return self
                self._terminate()
                self.port = fixed
            raise RuntimeError("Azurite did not start on 127.0.0.1")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if _accepts(self.port):
                return True
            time.sleep(0.1)
        return False

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # this PID only: the process this object started
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a wedged server
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def stop(self) -> None:
        """Stop the child process started here (idempotent)."""
        with self._lock:
            self._terminate()

    def container_client(self, name: str) -> Any:
        """A ContainerClient for container ``name`` (created if missing)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(self.connection_string)
        try:
            return service.create_container(name)
        except ResourceExistsError:
            return service.get_container_client(name)

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _accepts(port: int | None) -> bool:
    if port is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def fresh_container(server: Azurite) -> Any:
    """A ContainerClient for a new, empty container with a unique name."""
    return server.container_client(f"zf-{uuid.uuid4().hex[:16]}")


_SHARED: Azurite | None = None
_SHARED_LOCK = threading.Lock()


def shared_azurite() -> Azurite:
    """The one Azurite of this process: started on first use, stopped at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Azurite()
            atexit.register(_SHARED.stop)
        return _SHARED.start()

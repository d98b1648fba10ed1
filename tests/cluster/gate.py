"""A gate in the chunk reads of one directory store, for killing a run mid-way.

The SLURM tests run zarrflow in processes they do not start themselves (dask-jobqueue's
worker jobs, and the batch script's scheduler, workers and client), so the gate is
installed at interpreter start: :func:`sitecustomize_dir` writes a ``sitecustomize.py``
that calls :func:`install` when ``ZARRFLOW_TEST_GATE`` is set; put its directory first
on ``PYTHONPATH`` and every Python process SLURM starts has the gate.

With the gate installed, every read of a chunk of the store at
``ZARRFLOW_TEST_GATE_STORE`` is recorded as a file in ``$ZARRFLOW_TEST_GATE/calls``,
and reads after the first ``ZARRFLOW_TEST_GATE_FREE`` ones wait until the file
``$ZARRFLOW_TEST_GATE/open`` exists. So a test knows when some, but not all, of a
rechunk's tasks are done and every worker is inside a task, and it chooses the moment
of a kill; opening the gate lets the rest run.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from zarrflow.format import is_metadata_key

__all__ = ["calls", "install", "open_gate", "sitecustomize_dir"]

SITECUSTOMIZE = """\
import os
if os.environ.get("ZARRFLOW_TEST_GATE"):
    from tests.cluster.gate import install
    install()
"""


def sitecustomize_dir(directory: Path) -> Path:
    """Write ``directory/sitecustomize.py`` (see the module docstring); return ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return directory


def install() -> None:
    """Gate ``DirectoryStore.__getitem__`` for the chunks of ``ZARRFLOW_TEST_GATE_STORE``."""
    from zarrflow.storage import DirectoryStore

    gate = Path(os.environ["ZARRFLOW_TEST_GATE"])
    store_path = os.path.abspath(os.environ["ZARRFLOW_TEST_GATE_STORE"])
    free = int(os.environ.get("ZARRFLOW_TEST_GATE_FREE", "0"))
    real = DirectoryStore.__getitem__

    def getitem(self: DirectoryStore, key: str) -> bytes:
        if self.path == store_path and not is_metadata_key(key):
            record = gate / "calls"
            record.mkdir(parents=True, exist_ok=True)
            (record / f"{os.getpid()}-{uuid.uuid4().hex}").touch()
            if len(os.listdir(record)) > free:
                deadline = time.monotonic() + 120
                while not (gate / "open").exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
        return real(self, key)

    DirectoryStore.__getitem__ = getitem


def calls(gate: Path) -> int:
    """How many gated reads have started."""
    try:
        return len(os.listdir(gate / "calls"))
    except FileNotFoundError:
        return 0


def open_gate(gate: Path) -> None:
    """Let every waiting and later read through."""
    gate.mkdir(parents=True, exist_ok=True)
    (gate / "open").touch()

"""The resume record of a rechunk, kept in the target store while it runs.

``<prefix>.zarrflow-rechunk/plan.json`` holds the plan being run (so a later run
knows it continues the same rechunk); ``<prefix>.zarrflow-rechunk/<job>/<stage>/<task>``
is written by each task after every chunk it writes is stored, so a task killed
half-way has no record and runs again (its chunk writes are whole-chunk and
idempotent). The directory is removed when the rechunk completes. Zarr readers
ignore it: it holds no ``.zarray`` or ``.zgroup``.
"""

from __future__ import annotations

import json
from typing import Any

from zarrflow.storage.paths import prefix_for

__all__ = ["RECORD_DIR", "RechunkRecord"]

RECORD_DIR = ".zarrflow-rechunk"


class RechunkRecord:
    """Read and write the resume record of a rechunk under ``path`` of ``store``."""

    def __init__(self, store: Any, path: str = ""):
        self.store = store
        self.path = path
        self.root = prefix_for(path) + RECORD_DIR

    @property
    def plan_key(self) -> str:
        """The key of the recorded plan."""
        return self.root + "/plan.json"

    def read_plan(self) -> dict | None:
        """The recorded plan document, or None when there is no record."""
        try:
            raw = self.store[self.plan_key]
        except KeyError:
            return None
        return json.loads(bytes(raw).decode())

    def write_plan(self, document: dict) -> None:
        """Record the plan about to run (before anything else is written)."""
        self.store[self.plan_key] = json.dumps(document, sort_keys=True).encode()

    def stage_dir(self, job: int, stage: int) -> str:
        """The directory holding one stage's task records."""
        return f"{self.root}/{job}/{stage}"

    def task_key(self, job: int, stage: int, task: int) -> str:
        """The key a task writes when it has finished."""
        return f"{self.stage_dir(job, stage)}/{task}"

    def done_tasks(self, job: int, stage: int) -> set[int]:
        """The tasks of a stage recorded as finished."""
        names = self.store.listdir(self.stage_dir(job, stage))
        return {int(n) for n in names if n.isdigit()}

    def clear_stage(self, job: int, stage: int) -> None:
        """Forget a stage's finished tasks (its output is gone, so they must run again)."""
        self.store.rmdir(self.stage_dir(job, stage))

    def clear(self) -> None:
        """Remove the whole record (the rechunk has completed)."""
        self.store.rmdir(self.root)

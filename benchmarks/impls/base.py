"""What every implementation provides to the child process: a :class:`Runner`."""

from __future__ import annotations

import shutil


class ImplUnavailable(Exception):
    """The implementation cannot be imported here (not installed, or not ready yet)."""


class Runner:
    """One (implementation, workload) measurement, driven by ``benchmarks.child``.

    The child calls ``setup()`` once, then for each run ``before_each()`` (untimed)
    and ``run()`` (timed), and finally ``verify(last_result)``. Only ``run`` is timed;
    memory is measured from just before the first run to just after the last.
    """

    #: Whether an untimed warm-up run precedes the timed ones.
    warmup = True

    def setup(self) -> None:
        """Generate data and prepare stored arrays/chunks (untimed, once)."""

    def before_each(self) -> None:
        """Reset state before a run, e.g. a fresh directory for a write (untimed)."""

    def run(self):
        """The timed operation; returns what ``verify`` needs."""
        raise NotImplementedError

    def verify(self, result) -> tuple[bool, str]:
        """Check the last run's outcome: ``(ok, message)``."""
        raise NotImplementedError

    def extra(self) -> dict:
        """Additional figures for the JSON results (e.g. stored bytes)."""
        return {}

    def close(self) -> None:
        """Release resources (thread pools, handles)."""


def fresh_dir(path: str) -> None:
    """Remove ``path`` if it exists (the caller recreates it as needed)."""
    shutil.rmtree(path, ignore_errors=True)

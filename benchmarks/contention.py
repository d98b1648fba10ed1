"""How much CPU other processes took while the timed runs ran.

On a small shared machine (2 cores) a test suite running next to the benchmark
can double its timings. :class:`ForeignCPU` accumulates, over the timed runs only,
the machine's busy CPU time (``/proc/stat``) minus this process's own CPU time
(``getrusage``, all threads), as a fraction of the capacity ``wall x CPUs``.
``/proc/stat`` counts in clock ticks (usually 10 ms), so the figure is ``None``
when the timed runs total less than :data:`MIN_WALL` seconds. Kernel threads
working for us (page-cache writeback) count as foreign, so small values are noise.
"""

from __future__ import annotations

import os
import resource
import time

MIN_WALL = 0.2


def _busy_seconds() -> float | None:
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class ForeignCPU:
    """``enter()``/``leave()`` around each timed run; ``fraction()`` at the end."""

    def __init__(self) -> None:
        self.wall = self.busy = self.own = 0.0
        self.available = True
        self._start: tuple[float, float | None, float] | None = None

    def enter(self) -> None:
        self._start = (time.perf_counter(), _busy_seconds(), _own_cpu())

    def leave(self) -> None:
        t0, b0, c0 = self._start
        b1 = _busy_seconds()
        self.wall += time.perf_counter() - t0
        self.own += _own_cpu() - c0
        if b0 is None or b1 is None:
            self.available = False
        else:
            self.busy += b1 - b0

    def fraction(self) -> float | None:
        """Share of the machine's CPU capacity used by others (0..1), or None if unknown."""
        if not self.available or self.wall < MIN_WALL:
            return None
        return max(0.0, (self.busy - self.own) / (self.wall * (os.cpu_count() or 1)))

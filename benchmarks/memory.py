"""Peak resident memory (RSS) of a stretch of code, above the RSS at its start.

Method ``hwm-reset`` (Linux >= 4.0, used when available): writing ``5`` to
``/proc/self/clear_refs`` resets the kernel's high-water mark (``VmHWM``) to the
current RSS; ``VmHWM`` read afterwards is the exact peak of the whole process,
every thread included, with no sampling thread stealing the GIL or a core. The
baseline is ``VmRSS`` at the reset, so memory held by imports and generated data
is excluded.

Fallback ``ru_maxrss``: ``getrusage(RUSAGE_SELF).ru_maxrss`` after minus the
current RSS before. It under-reports when an earlier peak (e.g. during data
generation) was higher than the one being measured; the method is recorded with
every result so such figures can be told apart.
"""

from __future__ import annotations

import resource
import sys

_KB = 1024


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _maxrss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * _KB  # bytes on macOS, KiB on Linux


def current_rss() -> int:
    """Current resident set size in bytes (falls back to the peak where unknown)."""
    kb = _status_kb("VmRSS")
    return kb * _KB if kb is not None else _maxrss_bytes()


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    hwm, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss + 4 * _KB  # reset took effect


class PeakRSS:
    """``start()`` records the baseline; ``stop()`` returns the peak RSS above it, in bytes."""

    def __init__(self) -> None:
        self.method = ""
        self.baseline = 0
        self.peak = 0

    def start(self) -> None:
        self.method = "hwm-reset" if _reset_hwm() else "ru_maxrss"
        self.baseline = current_rss()

    def _high_water(self) -> int:
        kb = _status_kb("VmHWM") if self.method == "hwm-reset" else None
        return kb * _KB if kb is not None else _maxrss_bytes()

    def stop(self) -> int:
        self.peak = self._high_water()
        return max(0, self.peak - self.baseline)


class PeakOverRuns(PeakRSS):
    """Peak RSS above a baseline over several runs, what happens between them excluded.

    ``start()`` takes the baseline (``VmRSS``); ``before_run()`` resets the kernel's
    high-water mark, ``after_run()`` reads it, so checks made between runs (decoding a
    written array, digests) and other processes' turns never count. ``peak_bytes()`` is
    the highest run's peak above the baseline. With the ``ru_maxrss`` fallback the
    high-water cannot be reset and the figure also covers the checks.
    """

    def start(self) -> None:
        super().start()
        self.peak = self.baseline

    def before_run(self) -> None:
        if self.method == "hwm-reset":
            _reset_hwm()

    def after_run(self) -> None:
        self.peak = max(self.peak, self._high_water())

    def peak_bytes(self) -> int:
        return max(0, self.peak - self.baseline)

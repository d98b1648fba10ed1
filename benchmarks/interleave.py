"""The parent's side of the ``benchmarks.child --serve`` protocol: interleaved rounds.

:class:`ServedChild` starts one child, waits for ``READY`` and sends it commands;
:func:`interleave` runs one warm-up round and ``repeat`` timed rounds over the live
children of one workload, each round visiting every implementation once (the starting
implementation rotates from round to round, so none always runs first), and returns
each child's answers plus the visiting order. A noisy neighbour or a thermal dip then
hits every implementation of the workload alike instead of the one that happened to be
running.
"""

from __future__ import annotations

import json
import queue
import statistics
import subprocess
import tempfile
import threading
from collections.abc import Callable

from benchmarks.child import MARKER, READY


class ChildFailed(Exception):
    """The child died, timed out or answered with an error."""


class ServedChild:
    """One ``python -m benchmarks.child --serve`` process."""

    def __init__(self, cmd: list[str], env: dict, cwd: str, timeout: float):
        self.timeout = timeout
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, env=env, cwd=cwd, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            if line.startswith(MARKER):
                self.lines.put(line[len(MARKER):].strip())
        self.lines.put(None)

    def stderr_tail(self, n: int = 1500) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-n:]

    def _next(self) -> str:
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.kill()
            raise ChildFailed(f"no answer within {self.timeout:g} s") from None
        if line is None:
            code = self.proc.wait()
            raise ChildFailed(f"child exited {code}: {self.stderr_tail()}")
        return line

    def wait_ready(self) -> dict | None:
        """``None`` once READY; the child's result (unavailable/error) if setup failed."""
        line = self._next()
        return None if line == READY else json.loads(line)

    def send(self, cmd: str) -> dict:
        """One command and its answer; :class:`ChildFailed` on an error answer."""
        try:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ChildFailed(f"child gone: {exc}: {self.stderr_tail()}") from exc
        answer = json.loads(self._next())
        if "error" in answer and answer.get("cmd"):
            raise ChildFailed(answer["error"])
        return answer

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """End the child: closing its stdin ends a child still waiting for commands."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.stderr.close()


def round_order(names: list[str], round_no: int) -> list[str]:
    """The visiting order of a round: ``names`` rotated by the round number."""
    if not names:
        return []
    k = round_no % len(names)
    return names[k:] + names[:k]


def interleave(children: dict[str, ServedChild], repeat: int,
               on_fail: Callable[[str, str], None]) -> tuple[dict[str, list[dict]], list[list[str]]]:
    """One warm-up round, then ``repeat`` timed rounds; ``(answers per impl, order per round)``.

    A child that fails is dropped (``on_fail(impl, why)``); the others go on.
    """
    answers: dict[str, list[dict]] = {name: [] for name in children}
    alive = list(children)
    orders: list[list[str]] = []
    for round_no in range(repeat + 1):
        order = round_order(alive, round_no)
        orders.append(order)
        for name in order:
            try:
                answers[name].append(children[name].send("warmup" if round_no == 0 else "run"))
            except ChildFailed as exc:
                alive.remove(name)
                children[name].kill()
                on_fail(name, str(exc))
    return answers, orders


def summarize(answers: list[dict]) -> dict:
    """Median, min, max and every time of the timed runs."""
    times = [a["seconds"] for a in answers if a.get("cmd") == "run"]
    if not times:
        return {}
    return {"seconds": statistics.median(times), "min_s": min(times), "max_s": max(times), "times": times,
            "warmup_runs": sum(1 for a in answers if a.get("cmd") == "warmup")}

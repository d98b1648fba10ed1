"""Crash consistency by force (``benchmarks/crash_consistency.py``, a bounded count here):
writers SIGKILLed at random moments and inside their renames - before and after the
real ``os.replace``, i.e. between a chunk's data and its name and between chunks and
the metadata that covers them - never leave a chunk that fails to decode, a value
nobody wrote, or a temporary file listed as a key; a reader running alongside never
sees a torn chunk. And the checker does catch a torn chunk (it can fail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import crash_consistency as cc

#: Writers killed per store in CI (the benchmark script runs thousands).
KILLS = 10


@pytest.mark.parametrize("kind", cc.STORES)
def test_killed_writers_never_leave_a_torn_chunk(tmp_path, kind):
    out = cc.run(kind, str(tmp_path), KILLS, seed=17, steps=20, max_delay=0.1)
    assert out.problems == []
    assert out.reader["bad"] == 0, out.reader
    assert out.reader["reads"] > 0
    assert sum(out.kills.values()) == KILLS
    assert any(k.startswith("killed in a rename") for k in out.kills), out.kills


@pytest.mark.parametrize("kind", ["directory", "n5"])
def test_the_checker_sees_a_torn_chunk(tmp_path, kind):
    root = tmp_path / "torn"
    cc.create(kind, str(root))
    assert cc.check(kind, str(root)) == []
    chunk = max((p for p in Path(root).rglob("*") if p.is_file() and p.name[0].isdigit()), key=lambda p: p.stat().st_size)
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2])  # what a non-atomic write killed midway leaves
    problems = cc.check(kind, str(root))
    assert problems and "cannot read the array" in problems[0]

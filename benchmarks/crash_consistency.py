"""Crash consistency by force: writers SIGKILLed at random points never leave a torn chunk.

A writer process runs a random sequence of operations on one array - whole-array
writes, region writes (read-modify-write of partial chunks), resizes that grow and
shrink it (metadata, then chunks), attribute updates - and is SIGKILLed:

- at a random moment (``random`` kills), or
- deterministically inside its k-th ``os.replace`` (the rename that moves a chunk or
  a metadata document into place), just before or just after the real rename
  (``rename`` kills: the points between a chunk's data and its name, and between the
  chunks and the metadata that covers them).

After every kill the array is checked: the metadata documents parse, every chunk the
metadata covers decodes (a torn chunk would fail in the compressor), every value is
one some writer wrote (or the fill value), and the temporary files left by killed
writes are not keys. The next writer carries on from that state. A reader process
runs alongside the whole time, opening and reading the array over and over; it must
never see a chunk that fails to decode or a value nobody wrote.

Writers are forked from a "zygote" process that imported zarrflow once (forking a
single-threaded process is safe, and makes a repetition cost milliseconds, not an
interpreter start). Run::

    python -m benchmarks.crash_consistency [--kills 500] [--stores directory,nested,n5,fsstore]
        [--out benchmarks/results/crash_consistency.md]

``tests/storage/test_crash_consistency.py`` runs the same harness with a small count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "crash_consistency.md"

#: The array every writer works on: 1-d int64, 64 chunks of 256 items at first.
CHUNK = 256
START_LEN = 64 * CHUNK
MAX_LEN = 96 * CHUNK
STORES = ("directory", "nested", "n5", "fsstore")


def make_store(kind: str, root: str) -> Any:
    """The store of ``kind`` at ``root`` (public API only)."""
    import zarrflow

    if kind == "directory":
        return zarrflow.DirectoryStore(root)
    if kind == "nested":
        return zarrflow.NestedDirectoryStore(root)
    if kind == "n5":
        return zarrflow.N5Store(root)
    if kind == "fsstore":
        return zarrflow.storage.FSStore(root)
    raise ValueError(f"unknown store kind {kind!r}; known: {', '.join(STORES)}")


def create(kind: str, root: str) -> None:
    """A fresh array of the harness at ``root``, filled with value 1."""
    import zarrflow

    z = zarrflow.open_array(make_store(kind, root), mode="w", shape=(START_LEN,), chunks=(CHUNK,), dtype="i8",
                            fill_value=0)
    z[...] = 1
    z.attrs["step"] = 0


def value_of(seed: int, step: int) -> int:
    """The value writer ``seed`` writes in its step ``step`` (never 0, the fill value)."""
    return 1000 + seed * 1000 + step


def is_written_value(v: np.ndarray) -> np.ndarray:
    """True where a value is the fill (0), the initial 1, or some writer's value."""
    return (v == 0) | (v == 1) | ((v > 2000) & (v % 1000 != 0))


# --- the writer (runs in a forked child) ---------------------------------------------------------


def writer(kind: str, root: str, seed: int, kill_at: int, when: str, steps: int) -> None:
    """Run ``steps`` random operations; with ``kill_at`` > 0, SIGKILL this process in the
    ``kill_at``-th ``os.replace`` (``when``: 'before' or 'after' the real rename)."""
    import zarrflow

    rng = random.Random(seed)
    if kill_at > 0:
        real = os.replace
        calls = [0]

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            calls[0] += 1
            if calls[0] == kill_at and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst, *args, **kwargs)
            if calls[0] == kill_at and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)

        os.replace = replace
    z = zarrflow.open_array(make_store(kind, root), mode="r+")
    for step in range(1, steps + 1):
        v = value_of(seed, step)
        op = rng.random()
        n = z.shape[0]
        if op < 0.25:
            z[...] = v
        elif op < 0.6:  # a region that is not chunk-aligned: partial chunks are read-modify-written
            a = rng.randrange(0, n)
            b = min(n, a + rng.randrange(1, 6 * CHUNK))
            z[a:b] = v
        elif op < 0.8:  # grow (new chunks after the metadata) or shrink (chunks deleted after it)
            z.resize(rng.randrange(CHUNK, MAX_LEN))
            if z.shape[0] > n:
                z[n:] = v
        else:
            z.attrs["step"] = v
    os._exit(0)


def zygote() -> None:
    """Serve fork requests, one JSON line each, on stdin: fork a writer, answer its pid;
    ``{"wait": pid}`` waits for it and answers its exit status."""
    import zarrflow  # noqa: F401 - imported once, before any fork

    for line in sys.stdin:
        cmd = json.loads(line)
        if "wait" in cmd:
            _, status = os.waitpid(cmd["wait"], 0)
            print(json.dumps({"status": status}), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                writer(cmd["kind"], cmd["root"], cmd["seed"], cmd["kill_at"], cmd["when"], cmd["steps"])
            finally:
                os._exit(1)
        print(json.dumps({"pid": pid}), flush=True)


# --- the reader (another process) ------------------------------------------------------------------


READER = """
import sys, time, json
import numpy as np
from benchmarks.crash_consistency import make_store, is_written_value
import zarrflow
kind, root, stop = sys.argv[1], sys.argv[2], sys.argv[3]
import os
reads = bad = 0
errors = []
while not os.path.exists(stop):
    time.sleep(0.002)  # leave the writer some CPU on a small machine
    try:
        z = zarrflow.open_array(make_store(kind, root), mode="r")
        v = z[...]
        dict(z.attrs)
    except Exception as exc:
        bad += 1
        errors.append(f"{type(exc).__name__}: {exc}"[:300])
        continue
    reads += 1
    if not is_written_value(v).all():
        bad += 1
        errors.append("a value nobody wrote")
print(json.dumps({"reads": reads, "bad": bad, "errors": errors[:5]}))
"""


# --- checking ----------------------------------------------------------------------------------------


def check(kind: str, root: str) -> list[str]:
    """Problems with the array at ``root`` (empty when consistent)."""
    import zarrflow

    problems = []
    store = make_store(kind, root)
    try:
        z = zarrflow.open_array(store, mode="r")
        v = z[...]  # every chunk the metadata covers decodes
        dict(z.attrs)
    except Exception as exc:
        return [f"cannot read the array: {type(exc).__name__}: {exc}"]
    if not is_written_value(v).all():
        problems.append("values nobody wrote")
    keys = set(store)
    leftovers = [k for k in keys if k.endswith(".partial")]
    if leftovers:
        problems.append(f"temporary files listed as keys: {leftovers[:3]}")
    for i in range(z.nchunks):  # each chunk on its own, too
        region = slice(i * CHUNK, min(z.shape[0], (i + 1) * CHUNK))
        try:
            np.asarray(z[region])
        except Exception as exc:
            problems.append(f"chunk {i}: {type(exc).__name__}: {exc}")
    return problems


@dataclass
class Outcome:
    """What a run of the harness saw."""

    kills: Counter = field(default_factory=Counter)  # how each writer ended
    problems: list = field(default_factory=list)
    reader: dict = field(default_factory=dict)
    seconds: float = 0.0
    temp_files_left: int = 0


def run(kind: str, workdir: str, kills: int, seed: int = 0, steps: int = 40, max_delay: float = 0.3,
        rename_share: float = 0.5, python: str = sys.executable) -> Outcome:
    """``kills`` writer runs on one array, each killed (randomly, or inside a rename);
    the array is checked after each; a reader runs concurrently all along."""
    rng = random.Random(seed)
    root = os.path.join(workdir, f"crash-{kind}")
    create(kind, root)
    stop = os.path.join(workdir, f"stop-{kind}")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = Outcome()
    t0 = time.perf_counter()
    zyg = subprocess.Popen([python, "-m", "benchmarks.crash_consistency", "--zygote"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    reader = subprocess.Popen([python, "-c", READER, kind, root, stop], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=str(ROOT))
    try:
        for n in range(kills):
            targeted = rng.random() < rename_share
            kill_at = rng.randrange(1, 2 * steps) if targeted else 0
            when = rng.choice(["before", "after"])
            cmd = {"kind": kind, "root": root, "seed": n + 1, "kill_at": kill_at, "when": when, "steps": steps}
            zyg.stdin.write(json.dumps(cmd) + "\n")
            zyg.stdin.flush()
            pid = json.loads(zyg.stdout.readline())["pid"]
            if not targeted:
                time.sleep(rng.uniform(0, max_delay))
                try:
                    os.kill(pid, signal.SIGKILL)  # a writer this harness forked
                except ProcessLookupError:
                    pass
            zyg.stdin.write(json.dumps({"wait": pid}) + "\n")
            zyg.stdin.flush()
            status = json.loads(zyg.stdout.readline())["status"]
            ended = ("killed in a rename, " + when) if targeted and os.WIFSIGNALED(status) else (
                "killed at random" if os.WIFSIGNALED(status) else "finished before the kill")
            out.kills[ended] += 1
            for p in check(kind, root):
                out.problems.append(f"after writer {n + 1} ({ended}): {p}")
    finally:
        Path(stop).touch()
        zyg.stdin.close()
        zyg.wait(60)
        reader_out, _ = reader.communicate(timeout=120)
    out.reader = json.loads(reader_out.strip().splitlines()[-1]) if reader_out.strip() else {"error": "no output"}
    out.temp_files_left = sum(1 for p in Path(root).rglob("*.partial"))
    out.seconds = time.perf_counter() - t0
    return out


def report(results: dict[str, Outcome], args: argparse.Namespace) -> str:
    lines = ["# Crash consistency: writers SIGKILLed at random points", "",
             f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python "
             f"{platform.python_version()}.", "",
             f"Run: `python -m benchmarks.crash_consistency --kills {args.kills} --stores {','.join(results)} "
             f"--seed {args.seed}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: per store, "
             f"{args.kills} writers of {args.steps} random operations each on one array (1-d int64, "
             f"chunks of {CHUNK}, Blosc), each SIGKILLed at a random moment (within {args.max_delay} s) or inside "
             "its k-th `os.replace` (before or after the real rename); the array checked after every kill; "
             "a reader process reading the whole array over and over meanwhile.", "",
             "| store | writers | killed at random | killed in a rename | finished first | problems after a kill "
             "| reader reads | reader saw torn/foreign data | temp files left (not keys) | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, o in results.items():
        renames = sum(v for k, v in o.kills.items() if k.startswith("killed in a rename"))
        lines.append(f"| {kind} | {sum(o.kills.values())} | {o.kills['killed at random']} | {renames} | "
                     f"{o.kills['finished before the kill']} | {len(o.problems)} | {o.reader.get('reads')} | "
                     f"{o.reader.get('bad')} | {o.temp_files_left} | {o.seconds:.1f} |")
    for kind, o in results.items():
        for p in o.problems[:10] + [f"reader: {e}" for e in o.reader.get("errors", [])]:
            lines.append(f"- {kind}: {p}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.crash_consistency", description=__doc__.split("\n")[0])
    p.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--kills", type=int, default=500, help="writers killed per store")
    p.add_argument("--stores", default=",".join(STORES))
    p.add_argument("--steps", type=int, default=40, help="operations per writer")
    p.add_argument("--max-delay", type=float, default=0.3, help="latest random kill, seconds after the fork")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--json", type=Path, default=None, help="raw results and run metadata (default: none)")
    args = p.parse_args(argv)
    if args.zygote:
        zygote()
        return 0
    import tempfile

    results = {}
    started = time.time()
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="zarrflow-crash-") as tmp:
        for kind in [s.strip() for s in args.stores.split(",") if s.strip()]:
            results[kind] = run(kind, tmp, args.kills, seed=args.seed, steps=args.steps, max_delay=args.max_delay)
            o = results[kind]
            print(f"{kind}: {dict(o.kills)}; problems {len(o.problems)}; reader {o.reader}; {o.seconds:.1f} s",
                  flush=True)
    text = report(results, args)
    args.out.write_text(text)
    print(text)
    bad = any(o.problems or o.reader.get("bad") for o in results.values())
    if args.json:
        from benchmarks.meta import run_metadata

        raw = {kind: {"kills": dict(o.kills), "problems": [str(x) for x in o.problems], "reader": o.reader,
                      "seconds": o.seconds, "temp_files_left": o.temp_files_left} for kind, o in results.items()}
        meta = {**run_metadata(started, time.time(), argv=["-m", "benchmarks.crash_consistency",
                                                            *(sys.argv[1:] if argv is None else argv)]),
                "kills": args.kills, "steps": args.steps, "max_delay": args.max_delay, "seed": args.seed}
        args.json.write_text(json.dumps({"meta": meta, "results": raw, "ok": not bad}, indent=1,
                                        default=str) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

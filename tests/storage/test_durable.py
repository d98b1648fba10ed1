"""Durable mode: with ``durable=True`` a local store fsyncs each value before moving it
into place and fsyncs its directory (and the directories it created) after, so the
write is on disk when the call returns; metadata documents are written so always.

Checked on the system calls a real writer process makes (``strace``): for every key,
``fsync`` of the temporary file comes before the ``rename`` onto the key, and an
``fsync`` of the key's directory follows the rename (one per directory for a batch of
chunks, whose fsyncs overlap), and so does one of the parent of each directory made.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zarrflow.storage import DirectoryStore, NestedDirectoryStore
from zarrflow.storage.fsstore import FSStore
from zarrflow.storage.n5 import N5Store
from zarrflow.storage.n5fs import N5FSStore

KINDS = {
    "directory": "DirectoryStore(root, durable=durable)",
    "nested": "NestedDirectoryStore(root, durable=durable)",
    "n5": "N5Store(root, durable=durable)",
    "n5fs": "N5FSStore(root, durable=durable)",
    "fsstore-local": "FSStore(root, durable=durable)",
}

WRITER = textwrap.dedent("""
    import sys
    import zarrflow
    from zarrflow.storage import DirectoryStore, NestedDirectoryStore
    from zarrflow.storage.fsstore import FSStore
    from zarrflow.storage.n5 import N5Store
    from zarrflow.storage.n5fs import N5FSStore
    root, durable, make = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
    g = zarrflow.open_group(eval(make), mode="w")
    g.attrs["title"] = "durable"
    z = g.create_dataset("a", shape=(4, 4), chunks=(2, 2), dtype="i4")
    z[...] = 7
""")

_OPEN = re.compile(r'^(\d+)\s+openat\(AT_FDCWD, "([^"]+)", ([^,)]+).*\)\s+= (\d+)$')
_FSYNC = re.compile(r"^(\d+)\s+fsync\((\d+)\)\s+= 0$")
_RENAME = re.compile(r'^(\d+)\s+rename\("([^"]+)", "([^"]+)"\)\s+= 0$')


_UNFINISHED = re.compile(r"^(\d+)\s+(.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$")


def whole_lines(trace: str) -> list[str]:
    """strace lines with the calls that other threads interrupted put back together."""
    pending: dict[str, str] = {}
    out = []
    for line in trace.splitlines():
        if m := _UNFINISHED.match(line):
            pending[m[1]] = m[2]
        elif (m := _RESUMED.match(line)) and m[1] in pending:
            out.append(f"{m[1]}  {pending.pop(m[1])}{m[2]}")
        else:
            out.append(line)
    return out


def syscalls(trace: str, root: str) -> list[tuple[str, ...]]:
    """('fsync', path) and ('rename', src, dst) events under ``root``, in order (the
    threads of the writer share one table of file descriptors)."""
    fds: dict[str, str] = {}
    events: list[tuple[str, ...]] = []
    for line in whole_lines(trace):
        if m := _OPEN.match(line):
            fds[m[4]] = m[2]
        elif m := _FSYNC.match(line):
            path = fds.get(m[2], "?")
            if path.startswith(root) or root.startswith(path):
                events.append(("fsync", path))
        elif (m := _RENAME.match(line)) and m[3].startswith(root):
            events.append(("rename", m[2], m[3]))
    return events


def traced_write(tmp_path: Path, kind: str, durable: bool) -> tuple[str, list[tuple[str, ...]]]:
    if shutil.which("strace") is None:
        pytest.skip("needs strace to watch the writer's system calls")
    root = str(tmp_path / f"{kind}-{int(durable)}")
    out = tmp_path / f"trace-{kind}-{int(durable)}.txt"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,fsync,rename", "-o", str(out),
                           sys.executable, "-c", WRITER, root, "1" if durable else "0", KINDS[kind]],
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    return root, syscalls(out.read_text(), root)


def renames(events):
    return [(i, e[1], e[2]) for i, e in enumerate(events) if e[0] == "rename"]


def is_metadata(dst: str) -> bool:
    return os.path.basename(dst) in (".zarray", ".zgroup", ".zattrs", ".zmetadata", "attributes.json")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_durable_writes_fsync_the_file_before_the_rename_and_the_directory_after(tmp_path, kind):
    root, events = traced_write(tmp_path, kind, durable=True)
    moves = renames(events)
    chunks = [dst for _, _, dst in moves if not is_metadata(dst)]
    assert len(chunks) == 4 and any(is_metadata(dst) for _, _, dst in moves)
    for i, src, dst in moves:
        assert ("fsync", src) in events[:i], f"{dst}: the data were not fsynced before the rename"
        assert ("fsync", os.path.dirname(dst)) in events[i + 1:], f"{dst}: its directory was not fsynced after"
    made = {os.path.dirname(dst) for _, _, dst in moves if os.path.dirname(dst) != root}
    for d in made:  # a directory the writes created is itself named durably in its parent
        assert ("fsync", os.path.dirname(d)) in events, d


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_without_durable_only_metadata_is_fsynced(tmp_path, kind):
    root, events = traced_write(tmp_path, kind, durable=False)
    moves = renames(events)
    for i, src, dst in moves:
        synced = ("fsync", src) in events[:i]
        assert synced == is_metadata(dst), dst
    assert sum(not is_metadata(dst) for _, _, dst in moves) == 4


def test_durable_survives_pickling(tmp_path):
    for store in (DirectoryStore(tmp_path / "a", durable=True), NestedDirectoryStore(tmp_path / "b", durable=True),
                  N5Store(tmp_path / "c.n5", durable=True), N5FSStore(str(tmp_path / "d.n5"), durable=True),
                  FSStore(str(tmp_path / "e"), durable=True)):
        assert pickle.loads(pickle.dumps(store)).durable is True, store
        assert pickle.loads(pickle.dumps(type(store)(store.path))).durable is False


@pytest.mark.parametrize("durable", [False, True])
def test_n5_setitems_with_chunks_before_their_metadata(tmp_path, durable):
    import numpy as np

    import zarrflow

    src = zarrflow.open_array(N5Store(tmp_path / "src.n5"), mode="w", shape=(4, 6), chunks=(2, 3), dtype="i2")
    src[...] = np.arange(24, dtype="i2").reshape(4, 6)
    items = {k: src.store[k] for k in sorted(src.store, key=lambda k: k.startswith("."))}  # chunks first
    dst = N5Store(tmp_path / "dst.n5", durable=durable)
    dst.setitems(items)
    assert sorted(p.name for p in (tmp_path / "dst.n5").rglob("*") if p.is_file()) == \
        sorted(p.name for p in (tmp_path / "src.n5").rglob("*") if p.is_file())
    np.testing.assert_array_equal(zarrflow.open_array(dst, mode="r")[...], src[...])

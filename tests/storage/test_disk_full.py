"""A full disk (ENOSPC) or a file-size limit (EFBIG) in the middle of a write: a clear
StoreError naming the key, no partial chunk, no temporary file, no empty directory
left behind, every value that was there before still whole - and a rerun after space
is freed completes, exactly.

ENOSPC comes from a real, small filesystem: a 1 MiB tmpfs mounted for the test
(needs the right to mount: root, as in CI's container); EFBIG from ``RLIMIT_FSIZE`` in
a child process (any user). Over every local store: DirectoryStore,
NestedDirectoryStore, N5Store and FSStore on a local path, and in durable mode.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

import zarrflow
from zarrflow.errors import StoreError
from zarrflow.storage import DirectoryStore, NestedDirectoryStore
from zarrflow.storage.fsstore import FSStore
from zarrflow.storage.n5 import N5Store

ROWS, ROW = 8, 64 * 1024  # 8 chunks of 64 KiB (uncompressed u1)
STORES = {
    "directory": lambda root: DirectoryStore(str(root)),
    "nested": lambda root: NestedDirectoryStore(str(root)),
    "n5": lambda root: N5Store(str(root)),
    "fsstore-local": lambda root: FSStore(str(root)),
    # durable: whole chunks go in one setitems whose writes run concurrently
    "directory-durable": lambda root: DirectoryStore(str(root), durable=True),
    "n5-durable": lambda root: N5Store(str(root), durable=True),
    "fsstore-local-durable": lambda root: FSStore(str(root), durable=True),
}


@pytest.fixture
def tiny_fs(tmp_path):
    """A 1 MiB tmpfs mounted at a fresh directory (unmounted afterwards)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def fill(mnt: Path, leave: int) -> Path:
    """A ballast file that leaves about ``leave`` bytes free on ``mnt``."""
    st = os.statvfs(mnt)
    ballast = mnt / "ballast"
    ballast.write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return ballast


def leftovers(root: Path) -> list[str]:
    """Temporary files and empty directories under ``root``."""
    bad = [str(p) for p in root.rglob("*") if p.name.endswith(".partial")]
    bad += [str(p) for p in root.rglob("*") if p.is_dir() and not any(p.iterdir())]
    return bad


def values(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 255, size=(ROWS, ROW), dtype="u1")


@pytest.mark.parametrize("kind", sorted(STORES))
def test_enospc_mid_write_leaves_nothing_partial_and_a_rerun_completes(tiny_fs, kind):
    root = tiny_fs / f"a-{kind}"
    ballast = fill(tiny_fs, leave=4 * ROW + ROW // 2)  # room for 4.5 chunks
    store = STORES[kind](root)
    z = zarrflow.open_array(store, mode="w", shape=(ROWS, ROW), chunks=(1, ROW), dtype="u1", compressor=None,
                            fill_value=0, dimension_separator="/" if kind == "nested" else None)
    v1, v2 = values(1), values(2)
    z[:2] = v1[:2]
    with pytest.raises(StoreError, match=r"cannot write (key )?'\d+[./]\d+'.*No space left on device") as info:
        z[...] = v2  # 8 chunks: the disk fills after about 4
    assert isinstance(info.value.__cause__, OSError)
    assert leftovers(root) == []
    back = zarrflow.open_array(STORES[kind](root), mode="r")
    got = back[...]
    written = 0
    for i in range(ROWS):  # each row (chunk) is whole: the new value, the old one, or never written
        if np.array_equal(got[i], v2[i]):
            written += 1
        elif i < 2:
            np.testing.assert_array_equal(got[i], v1[i])
        else:
            assert not got[i].any()
    assert 0 < written < ROWS
    assert back.nchunks_initialized == len({i for i in range(ROWS) if got[i].any()})

    ballast.unlink()  # space freed: the same write again completes
    z[...] = v2
    np.testing.assert_array_equal(zarrflow.open_array(STORES[kind](root), mode="r")[...], v2)
    assert leftovers(root) == []


@pytest.mark.parametrize("kind", sorted(STORES))
def test_metadata_on_a_full_disk(tiny_fs, kind):
    root = tiny_fs / f"m-{kind}"
    ballast = fill(tiny_fs, leave=0)
    with pytest.raises(StoreError, match=r"(\.zarray|attributes\.json)'.*No space left on device"):
        zarrflow.open_array(STORES[kind](root), mode="w", shape=(4,), chunks=(2,), dtype="i4")
    assert not root.exists() or leftovers(root) == [] and not any(root.rglob("*"))
    ballast.unlink()
    z = zarrflow.open_array(STORES[kind](root), mode="w", shape=(4,), chunks=(2,), dtype="i4")
    z[...] = [1, 2, 3, 4]
    assert zarrflow.open_array(STORES[kind](root), mode="r")[...].tolist() == [1, 2, 3, 4]


EFBIG_WRITER = textwrap.dedent("""
    import json, resource, signal, sys
    import numpy as np
    import zarrflow
    from zarrflow.errors import StoreError
    from tests.storage.test_disk_full import STORES
    kind, root, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    z = zarrflow.open_array(STORES[kind](root), mode="r+")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        z[...] = np.full(z.shape, 7, dtype=z.dtype)
    except StoreError as exc:
        print(json.dumps({"error": str(exc), "cause": type(exc.__cause__).__name__}))
    else:
        print(json.dumps({"error": None}))
""")


@pytest.mark.parametrize("kind", sorted(STORES))
def test_efbig_from_rlimit_fsize_in_a_child(tmp_path, kind):
    root = tmp_path / f"e-{kind}-{uuid.uuid4().hex[:6]}"
    z = zarrflow.open_array(STORES[kind](root), mode="w", shape=(4, 4096), chunks=(2, 4096), dtype="u1",
                            compressor=None, fill_value=0)
    z[:2] = 5  # the first chunk (8 KiB) exists before
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", EFBIG_WRITER, kind, str(root), str(4096)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["cause"] == "OSError"
    assert re.search(r"cannot write (key )?'[01][./]0'.*File too large", result["error"]), result["error"]
    assert leftovers(root) == []
    np.testing.assert_array_equal(zarrflow.open_array(STORES[kind](root), mode="r")[:2], 5)  # the old chunk is whole
    z[...] = 7  # without the limit, the same write completes
    np.testing.assert_array_equal(zarrflow.open_array(STORES[kind](root), mode="r")[...], 7)

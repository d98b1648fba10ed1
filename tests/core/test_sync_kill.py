"""A process SIGKILLed while it holds a ProcessSynchronizer lock never wedges the chunk.

The lock files are ``fcntl`` locks (fasteners), which the kernel drops when the
holding process dies: the next writer gets the lock as soon as the holder is gone
(no lease to wait out). The holder is killed in the middle of a read-modify-write
of chunk '0' (the new chunk's temporary file written, not yet renamed into place):
that half-done write never lands, the other writer's does, the data are exact and
the temporary file left behind is no key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import fasteners
import numpy as np

import zarrflow

TIMEOUT = 60

HOLDER = textwrap.dedent("""
    import os, sys, time
    import zarrflow
    from zarrflow.core.sync import hold
    path, sync_path, marker = sys.argv[1:4]
    sync = zarrflow.ProcessSynchronizer(sync_path)
    z = zarrflow.open_array(path, mode="r+", synchronizer=sync)
    real = os.replace
    def replace(src, dst, *args, **kwargs):
        if str(src).endswith(".partial"):
            open(marker, "w").write(str(src))  # holding the lock, temporary file written
            time.sleep(120)  # ... until SIGKILLed
            raise TimeoutError("never killed")
        real(src, dst, *args, **kwargs)
    os.replace = replace
    with hold(sync, ["0"]):
        z[0:4] = z[0:4] + 100
""")


def test_sigkilled_holder_releases_its_file_lock(tmp_path):
    path, sync_path, marker = tmp_path / "a.zarr", tmp_path / "sync", tmp_path / "marker"
    base = np.arange(16, dtype="i8")
    z = zarrflow.open_array(str(path), mode="w", shape=(16,), chunks=(4,), dtype="i8",
                            synchronizer=zarrflow.ProcessSynchronizer(str(sync_path)))
    z[...] = base
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(sync_path), str(marker)], env=env)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (marker.exists() and marker.read_text()):
            assert holder.poll() is None, f"the holder exited with {holder.returncode}"
            assert time.monotonic() < deadline, "the holder never started its chunk write"
            time.sleep(0.02)
        temp = Path(marker.read_text())
        assert temp.exists() and temp.parent == path
        probe = fasteners.InterProcessLock(str(sync_path / "0.lock"))
        assert probe.acquire(blocking=False) is False  # held by the holder process

        done = threading.Event()

        def contender() -> None:
            z[0:4] = z[0:4] + 1  # takes chunk '0''s lock through the synchronizer
            done.set()

        t = threading.Thread(target=contender, daemon=True)
        t.start()
        assert not done.wait(0.2)  # blocked on the holder's lock
        np.testing.assert_array_equal(z[...], base)  # nothing of the holder's write landed
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(TIMEOUT) == -signal.SIGKILL
        t.join(TIMEOUT)
        assert done.is_set()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    expected = base.copy()
    expected[0:4] += 1
    np.testing.assert_array_equal(zarrflow.open_array(str(path), mode="r")[...], expected)
    assert sorted(zarrflow.open_array(str(path), mode="r").store) == [".zarray", "0", "1", "2", "3"]
    assert temp.exists()  # the dead holder's temporary file stays, unlisted, harmless

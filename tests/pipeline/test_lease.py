"""Run leases on local paths and on S3 (moto server): one holder at a time, stale
leases taken over by exactly one run, renewal, release."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from zarrflow.errors import LeaseHeldError
from zarrflow.pipeline.lease import Lease, lease_url


@pytest.fixture(params=["local", "s3"])
def output(request, tmp_path):
    """An output URL and its storage options, on each kind of filesystem."""
    if request.param == "local":
        return str(tmp_path / "out.zarr"), {}
    s3 = request.getfixturevalue("s3")
    return s3.url("out.zarr"), s3.storage_options


def test_one_holder_at_a_time(output):
    url, opts = output
    first = Lease(url, opts, ttl=30).acquire()
    with pytest.raises(LeaseHeldError, match="is held by run"):
        Lease(url, opts, ttl=30).acquire()
    first.release()
    second = Lease(url, opts, ttl=30).acquire()
    doc, _ = second.read()
    assert doc["holder"] == second.run_id and doc["pid"] == os.getpid()
    second.release()
    assert second.read() == (None, None)


def test_expired_lease_is_taken_over(output):
    url, opts = output
    old = Lease(url, opts, ttl=0.2, run_id="old-run").acquire()
    old._stop.set()  # the holder stops renewing (as if it hung)
    old._thread.join()
    time.sleep(0.3)
    new = Lease(url, opts, ttl=30).acquire()
    assert new.took_over["holder"] == "old-run"
    old.release()  # not ours any more: leaves the new lease alone
    assert new.read()[0]["holder"] == new.run_id
    new.release()


def test_renewal_keeps_a_short_lease(output):
    url, opts = output
    lease = Lease(url, opts, ttl=0.6).acquire()
    time.sleep(1.5)  # well past one ttl: renewed meanwhile
    with pytest.raises(LeaseHeldError):
        Lease(url, opts, ttl=0.6).acquire()
    assert not lease.lost
    lease.release()


def test_dead_holder_on_this_host_is_stale_at_once(tmp_path):
    url = str(tmp_path / "out.zarr")
    code = ("import sys, os, signal; from zarrflow.pipeline.lease import Lease; "
            f"Lease({url!r}, ttl=3600, run_id='killed').acquire(); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == -9
    with open(lease_url(url)) as f:
        assert json.load(f)["holder"] == "killed"
    lease = Lease(url, ttl=30).acquire()  # the pid is gone: no need to wait an hour
    assert lease.took_over["holder"] == "killed"
    lease.release()


def test_racing_for_a_stale_lease_one_wins(output):
    url, opts = output
    old = Lease(url, opts, ttl=0.1, run_id="old").acquire()
    old._stop.set()
    old._thread.join()
    time.sleep(0.2)
    won, lost = [], []
    barrier = threading.Barrier(4)

    def take():
        lease = Lease(url, opts, ttl=30)
        barrier.wait()
        try:
            won.append(lease.acquire())
        except LeaseHeldError:
            lost.append(lease)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 3
    won[0].release()


def test_unsupported_filesystem_is_refused():
    with pytest.raises(LeaseHeldError, match="leases need S3 or a local"):
        Lease("memory://out.zarr")

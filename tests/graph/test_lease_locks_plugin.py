"""The scheduler side of the leased locks (``zarrflow.graph.lease_locks``), on its own:
all-at-once multi-name grants, first come first served per name, release on a
holder's disconnection or worker removal, expiry without heartbeats, timeouts."""

from __future__ import annotations

import asyncio
import time

import pytest

pytest.importorskip("distributed")

from zarrflow.graph.lease_locks import CHECK_INTERVAL, LeaseLocks


def run(coro):
    return asyncio.run(coro)


async def pending(plugin: LeaseLocks, names, lease_id, **kw) -> asyncio.Task:
    task = asyncio.ensure_future(plugin.acquire(names, lease_id, **kw))
    await asyncio.sleep(0)
    return task


def test_multi_name_grants_are_all_or_nothing_and_fifo():
    async def main():
        p = LeaseLocks()
        assert await p.acquire(["a"], "L1", holder_client="c1")
        big = await pending(p, ["a", "b"], "L2", holder_client="c2")  # waits for 'a'
        small = await pending(p, ["b"], "L3", holder_client="c3")  # 'b' is free, but L2 came first
        assert not big.done() and not small.done()
        assert p.state()["held"] == {"a": "L1"}
        assert p.release("L1")
        await asyncio.sleep(0)
        assert big.done() and big.result() is True
        assert p.state()["held"] == {"a": "L2", "b": "L2"} and not small.done()
        assert p.release("L2")
        assert await small is True
        assert not p.release("L2")  # released twice: not held
    run(main())


def test_nonblocking_and_timeout():
    async def main():
        p = LeaseLocks()
        assert await p.acquire(["x"], "L1")
        assert await p.acquire(["x"], "L2", timeout=0) is False
        assert await p.acquire(["x", "y"], "L3", timeout=0.05) is False
        assert p.state()["waiting"] == []
        assert await p.acquire(["y"], "L4", timeout=0)  # the timed-out request left nothing behind
        with pytest.raises(ValueError, match="lease id 'L1' is already in use"):
            await p.acquire(["z"], "L1")
    run(main())


@pytest.mark.parametrize("how", ["client", "worker"])
def test_a_departed_holder_releases_and_its_requests_are_dropped(how):
    async def main():
        p = LeaseLocks()
        assert await p.acquire(["k"], "L1", holder_client="dead", worker="tcp://w1")
        theirs = await pending(p, ["j", "k"], "L2", holder_client="dead", worker="tcp://w1")
        ours = await pending(p, ["k"], "L3", holder_client="alive", worker="tcp://w2")
        if how == "client":
            p.remove_client(None, client="dead")
        else:
            p.remove_worker(None, worker="tcp://w1", stimulus_id="test")
        assert await theirs is False
        assert await ours is True
        assert p.state()["held"] == {"k": "L3"} and p.state()["dropped"] == 1
    run(main())


def test_leases_expire_without_heartbeats_and_refresh_keeps_them():
    async def main():
        p = LeaseLocks()
        assert await p.acquire(["a"], "L1", lease_timeout=0.2)
        assert await p.acquire(["b"], "L2", lease_timeout=0.2)
        assert await p.acquire(["c"], "L3", lease_timeout=None)
        waiter = await pending(p, ["a"], "L4")
        for _ in range(4):
            time.sleep(0.08)
            assert p.refresh(["L2"]) == []
            p.expire()
        assert p.state()["held"] == {"a": "L4", "b": "L2", "c": "L3"}  # L1 expired, L4 got 'a'
        assert await waiter is True
        assert p.refresh(["L1", "L2"]) == ["L1"]
        assert p.state()["expired"] == 1
        assert CHECK_INTERVAL <= 0.25
    run(main())


def test_a_cancelled_request_gives_back_what_it_got():
    async def main():
        p = LeaseLocks()
        assert await p.acquire(["a"], "L1")
        waiter = await pending(p, ["a"], "L2")
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert p.state()["waiting"] == []
        assert p.release("L1") and p.state()["held"] == {}
    run(main())

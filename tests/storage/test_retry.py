"""Object-store retries (``zarrflow.storage.retry``): transient faults are retried per
request with capped, jittered backoff and a bounded total time; permanent ones fail at
once with the clear errors of the store; the backends' own retries are not stacked.

End to end, faults come from a fault-injecting proxy (``fault_proxy.py``) on 127.0.0.1
in front of the moto S3 server: HTTP 503 SlowDown / 500 answers, connection resets and
delays beyond the read timeout. Results are checked against the same data read back
through a direct (unproxied) store, exactly.
"""

from __future__ import annotations

import errno
import logging
import pickle
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("s3fs")
pytest.importorskip("moto")
botocore_exceptions = pytest.importorskip("botocore.exceptions")
aiohttp = pytest.importorskip("aiohttp")

import zarrflow
from tests.storage.fault_proxy import FaultProxy
from tests.storage.s3_server import S3Server, fresh_bucket, s3_server  # noqa: F401 - s3_server is a fixture
from zarrflow.errors import StoreError
from zarrflow.storage.fsstore import FSStore
from zarrflow.storage.retry import DEFAULT_POLICY, RetryPolicy, RetryStats, is_transient

FAST = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, total=20, rng=random.Random(0))


def client_error(status: int, code: str, op: str = "GetObject") -> Exception:
    return botocore_exceptions.ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, op)


def chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


# --- what is transient ----------------------------------------------------------------------


@pytest.mark.parametrize("exc, transient", [
    (client_error(503, "SlowDown"), True),
    (client_error(503, "503", "HeadObject"), True),  # a HEAD answer has no body, only the status
    (client_error(500, "InternalError"), True),
    (client_error(502, "BadGateway"), True),
    (client_error(429, "TooManyRequestsException"), True),
    (client_error(400, "RequestTimeout"), True),
    (client_error(403, "AccessDenied"), False),
    (client_error(403, "InvalidAccessKeyId"), False),
    (client_error(403, "SignatureDoesNotMatch"), False),
    (client_error(404, "NoSuchBucket"), False),
    (client_error(404, "NoSuchKey"), False),
    (client_error(400, "InvalidArgument"), False),
    (chained(OSError(errno.EBUSY, "Service Unavailable"), client_error(503, "503")), True),  # s3fs's translation
    (chained(PermissionError("Forbidden"), client_error(403, "403")), False),
    (ConnectionResetError(errno.ECONNRESET, "reset by peer"), True),
    (BrokenPipeError(), True),
    (TimeoutError("read"), True),
    (botocore_exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
    (botocore_exceptions.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
    (botocore_exceptions.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), True),
    (botocore_exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), False),  # nothing listens
    (botocore_exceptions.EndpointConnectionError(endpoint_url="u", error=ConnectionRefusedError()), False),
    (botocore_exceptions.EndpointConnectionError(  # a reused connection reset: aiobotocore's name for it
        endpoint_url="u", error=aiohttp.ClientOSError(errno.ECONNRESET, "Connection reset by peer")), True),
    (ConnectionRefusedError(), False),
    (botocore_exceptions.NoCredentialsError(), False),
    (FileNotFoundError("k"), False),
    (KeyError("k"), False),
    (OSError(errno.ENOSPC, "No space left on device"), False),
    (OSError(errno.EIO, "Input/output error"), False),
    (ValueError("bad"), False),
])
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


# --- the policy -------------------------------------------------------------------------------


@given(retry=st.integers(1, 60), base=st.floats(0, 10), cap=st.floats(0, 100), seed=st.integers(0, 2**32))
def test_backoff_is_capped_exponential_with_jitter(retry, base, cap, seed):
    policy = RetryPolicy(base_delay=base, max_delay=cap, rng=random.Random(seed))
    assert 0 <= policy.delay(retry) <= min(cap, base * 2 ** (retry - 1))


@pytest.mark.parametrize("kwargs, match", [
    ({"attempts": 0}, "attempts must be an int >= 1, got 0"),
    ({"attempts": 2.5}, "attempts must be an int >= 1, got 2.5"),
    ({"base_delay": -1}, "base_delay must be a number >= 0, got -1"),
    ({"total": "60"}, "total must be a number >= 0, got '60'"),
])
def test_bad_policy_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kwargs)


def flaky(n_failures: int, exc: BaseException):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= n_failures:
            raise exc
        return "done"
    return fn, calls


def test_call_retries_transient_faults_then_succeeds(caplog):
    stats = RetryStats()
    fn, calls = flaky(3, ConnectionResetError("reset"))
    with caplog.at_level(logging.INFO, logger="zarrflow.storage.retry"):
        assert FAST.call(fn, action="read", what="key 'x'", stats=stats) == "done"
    assert len(calls) == 4
    assert stats.as_dict() == {"retries": 3, "recovered": 1, "gave_up": 0, "by_action": {"read": 3}}
    assert [r.levelname for r in caplog.records] == ["INFO"] * 3
    assert "retrying to read key 'x'" in caplog.records[0].getMessage()


def test_call_gives_up_after_its_attempts_and_its_total_time(caplog):
    stats = RetryStats()
    fn, calls = flaky(100, ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError), caplog.at_level(logging.WARNING, logger="zarrflow.storage.retry"):
        RetryPolicy(attempts=3, base_delay=0, rng=random.Random(0)).call(fn, action="write", what="k", stats=stats)
    assert len(calls) == 3 and stats.gave_up == 1 and stats.retries == 2
    assert "giving up to write k after 3 tries" in caplog.records[-1].getMessage()
    fn, calls = flaky(100, ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        RetryPolicy(attempts=100, base_delay=0.001, total=0).call(fn, action="read", what="k")
    assert len(calls) == 1  # no time left for a retry


def test_call_raises_permanent_faults_at_once():
    stats = RetryStats()
    fn, calls = flaky(1, PermissionError("denied"))
    with pytest.raises(PermissionError):
        FAST.call(fn, action="read", what="k", stats=stats)
    assert len(calls) == 1 and stats.retries == 0


# --- end to end, through the fault proxy -------------------------------------------------------


@pytest.fixture
def proxy(s3_server: S3Server):
    with FaultProxy(s3_server.port) as p:
        yield p


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return fresh_bucket(s3_server)


def faulty_store(proxy: FaultProxy, s3_server: S3Server, url: str, policy: RetryPolicy | None = FAST,
                 **extra: Any) -> FSStore:
    opts = s3_server.storage_options(**extra)
    opts["client_kwargs"] = {"endpoint_url": proxy.endpoint_url}
    return FSStore(url, retries=policy, skip_instance_cache=True, **opts)


def direct_store(s3_server: S3Server, url: str) -> FSStore:
    return FSStore(url, skip_instance_cache=True, **s3_server.storage_options())


DATA = np.arange(40 * 30, dtype="i4").reshape(40, 30)


def test_writes_complete_exactly_through_503s_and_resets(proxy, s3_server, bucket):
    url = f"s3://{bucket}/w.zarr"
    store = faulty_store(proxy, s3_server, url)
    z = zarrflow.open_array(store, mode="w", shape=DATA.shape, chunks=(10, 10), dtype="i4")
    proxy.fail(3, 503, "SlowDown", methods={"PUT"}).reset(3, methods={"PUT"}).fail(2, 500, "InternalError")
    z[...] = DATA  # 12 chunks in one batched setitems
    z[5:15, 3] = -1  # partial chunks: read-modify-write
    expected = DATA.copy()
    expected[5:15, 3] = -1
    assert proxy.armed == 0 and proxy.stats["fail"] == 5 and proxy.stats["reset"] == 3
    np.testing.assert_array_equal(zarrflow.open_array(direct_store(s3_server, url), mode="r")[...], expected)
    assert store.retry_stats.retries >= 1 and store.retry_stats.gave_up == 0


def test_reads_complete_exactly_and_retry_only_the_failed_keys(proxy, s3_server, bucket):
    url = f"s3://{bucket}/r.zarr"
    zarrflow.open_array(direct_store(s3_server, url), mode="w", shape=DATA.shape, chunks=(10, 10), dtype="i4")[...] = DATA
    store = faulty_store(proxy, s3_server, url)
    keys = [f"{i}.{j}" for i in range(4) for j in range(3)]
    before = proxy.stats["GET"]
    proxy.fail(2, 503, "SlowDown", methods={"GET"})
    got = store.getitems(keys)
    assert sorted(got) == sorted(keys)
    assert proxy.stats["GET"] - before == len(keys) + 2  # one batch, then only the 2 that failed
    assert store.retry_stats.by_action["read"] == 1  # ... again, in one retry round
    proxy.reset(4, methods={"GET"}).fail(2, 500, "InternalError", methods={"GET"})
    np.testing.assert_array_equal(zarrflow.open_array(store, mode="r")[...], DATA)
    assert proxy.armed == 0


def test_timeouts_are_retried(proxy, s3_server, bucket):
    url = f"s3://{bucket}/t.zarr"
    direct_store(s3_server, url)["k"] = b"value"
    store = faulty_store(proxy, s3_server, url, config_kwargs={"read_timeout": 0.5, "connect_timeout": 1})
    proxy.delay(2, 1.5, methods={"GET", "HEAD"})
    assert store["k"] == b"value"
    assert store.retry_stats.retries >= 1 and proxy.stats["delay"] == 2


def test_copies_complete_exactly(proxy, s3_server, bucket, tmp_path):
    src_url, dst_url = f"s3://{bucket}/src.zarr", f"s3://{bucket}/dst.zarr"
    zarrflow.open_array(direct_store(s3_server, src_url), mode="w", shape=DATA.shape, chunks=(10, 10),
                        dtype="i4")[...] = DATA
    src, dst = faulty_store(proxy, s3_server, src_url), faulty_store(proxy, s3_server, dst_url)
    proxy.fail(4, 503, "SlowDown").reset(2)
    zarrflow.copy_store(src, dst)
    proxy.fail(3, 503, "SlowDown")
    zarrflow.copy_store(src, zarrflow.DirectoryStore(str(tmp_path / "local.zarr")))
    assert proxy.armed == 0
    np.testing.assert_array_equal(zarrflow.open_array(direct_store(s3_server, dst_url), mode="r")[...], DATA)
    np.testing.assert_array_equal(zarrflow.open_array(str(tmp_path / "local.zarr"), mode="r")[...], DATA)
    assert sorted(direct_store(s3_server, dst_url)) == sorted(direct_store(s3_server, src_url))


@pytest.mark.parametrize("status, code, match", [
    (403, "AccessDenied", "permission denied"),
    (403, "InvalidAccessKeyId", "permission denied"),
    (404, "NoSuchBucket", "the bucket does not exist"),
])
def test_permanent_faults_fail_at_once(proxy, s3_server, bucket, status, code, match):
    url = f"s3://{bucket}/p.zarr"
    store = faulty_store(proxy, s3_server, url)
    before = proxy.stats["requests"]
    proxy.fail(1, status, code, methods={"PUT"})
    with pytest.raises(StoreError, match=rf"cannot write key 'k'.*{match}"):
        store["k"] = b"v"
    assert proxy.stats["requests"] - before == 1 and store.retry_stats.retries == 0
    store["k"] = b"v"  # nothing was left behind by the refused write
    assert direct_store(s3_server, url)["k"] == b"v"


def test_persistent_transient_faults_give_up_with_a_clear_error(proxy, s3_server, bucket):
    url = f"s3://{bucket}/g.zarr"
    direct_store(s3_server, url)["a/0"] = b"old"
    store = faulty_store(proxy, s3_server, url, policy=RetryPolicy(attempts=3, base_delay=0.01))
    proxy.fail(100, 503, "SlowDown")
    with pytest.raises(StoreError, match=r"cannot write key 'a/0'.*\(HTTP 503 SlowDown, gave up after 3 tries in"):
        store["a/0"] = b"new"
    assert proxy.stats["fail"] == 3 and store.retry_stats.gave_up == 1
    with pytest.raises(StoreError, match=r"cannot read key 'a/0'.*\(HTTP 503( SlowDown)?, gave up after 3 tries"):
        store.getitems(["a/0"])
    proxy.clear()
    assert direct_store(s3_server, url)["a/0"] == b"old"  # nothing changed


def test_backend_retries_are_not_stacked(proxy, s3_server, bucket):
    url = f"s3://{bucket}/s.zarr"
    store = faulty_store(proxy, s3_server, url)
    assert store.fs.retries == 1  # s3fs's own loop: one try
    assert store.storage_options.get("config_kwargs") is None  # the user's options are unchanged ...
    before = proxy.stats["requests"]
    proxy.fail(1, 503, "SlowDown", methods={"PUT"})
    store["k"] = b"v"
    assert proxy.stats["requests"] - before == 2  # ... and botocore tried once: our one retry made it 2
    assert store.retry_stats.retries == 1
    # with retries=None the backends keep theirs (botocore retries the 503 by itself)
    plain = faulty_store(proxy, s3_server, url, policy=None)
    proxy.fail(1, 503, "SlowDown", methods={"PUT"})
    plain["k"] = b"w"
    assert plain.retry_stats.retries == 0 and proxy.armed == 0


def test_policy_travels_with_the_store_and_bad_values_are_refused(s3_server, bucket):
    url = f"s3://{bucket}/q.zarr"
    custom = RetryPolicy(attempts=3, total=5)
    store = FSStore(url, retries=custom, **s3_server.storage_options())
    assert pickle.loads(pickle.dumps(store)).retries == custom
    plain = FSStore(url, **s3_server.storage_options())
    assert plain.retries == DEFAULT_POLICY and "retries" not in str(plain.__reduce__())
    with pytest.raises(TypeError, match="FSStore retries must be a RetryPolicy or None, got int 3"):
        FSStore(url, retries=3, **s3_server.storage_options())

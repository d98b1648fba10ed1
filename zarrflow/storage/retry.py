"""Retries of object-store requests: transient faults are retried, permanent ones are not.

One policy for every request a store sends (:class:`RetryPolicy`): capped exponential
backoff with full jitter (the wait before retry ``n`` is uniform in
``[0, min(max_delay, base_delay * 2**(n-1))]``), at most ``attempts`` tries and at
most ``total`` seconds of trying per request. :func:`is_transient` decides what is
worth another try:

- **transient** (retried): HTTP 500, 502, 503, 504, 408 and 429 and the S3 codes that
  mean the same (``SlowDown``, ``InternalError``, ``ServiceUnavailable``,
  ``RequestTimeout``, throttling); a connection reset or closed mid-request; a read or
  connect timeout; a truncated response body;
- **permanent** (raised at once): everything else - a missing key or bucket (404),
  access denied or bad credentials (403, ``InvalidAccessKeyId``,
  ``SignatureDoesNotMatch``), a bad request (400), an endpoint that refuses
  connections or whose name does not resolve (nothing listens there: a wrong URL,
  not a busy server), local OS errors such as a full disk. (botocore reports a
  refused connection and a connection reset on a reused connection alike, as
  ``EndpointConnectionError``; the error it wraps tells them apart.)

Retried writes are idempotent: a store writes whole objects (one PUT per key), so
sending a PUT again after a lost answer stores the same bytes.

The lower layers retry too, so layers are not stacked blindly: botocore retries
5xx/throttling/connection errors itself (``legacy`` mode: up to 4 retries per HTTP
request) and s3fs retries timeouts and ``SlowDown`` 5 times more, each over
botocore's - up to 25 tries, with no bound on the total time. When zarrflow's policy
is on, :func:`quiet_backend_options` turns both off for the S3 filesystems a store
creates (unless the user configured them), so this policy is the only one.

Every retry is counted in :class:`RetryStats` (``store.retry_stats``) and logged on the
``zarrflow.storage.retry`` logger (INFO per retry, WARNING when giving up).
"""

from __future__ import annotations

import errno
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["DEFAULT_POLICY", "RetryPolicy", "RetryStats", "describe", "is_transient", "quiet_backend", "quiet_backend_options"]

logger = logging.getLogger("zarrflow.storage.retry")

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_CODES = frozenset({
    "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout",
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestLimitExceeded", "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded", "500", "502", "503", "504",
})
#: Exception class names (anywhere in an exception's MRO or cause chain) of connection
#: faults and timeouts in botocore, aiohttp, urllib3, fsspec and the standard library;
#: matched by name so that none of those packages has to be importable here.
_TRANSIENT_CLASSES = frozenset({
    "ConnectionResetError", "ConnectionAbortedError", "BrokenPipeError", "TimeoutError",
    "IncompleteRead", "RemoteDisconnected",
    "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError", "ResponseStreamingError",
    "ServerDisconnectedError", "ClientPayloadError", "ServerTimeoutError", "SocketTimeoutError",
    "ProtocolError", "FSTimeoutError", "ChunkedEncodingError", "ClientOSError",
})
_PERMANENT_CLASSES = frozenset({
    "ConnectionRefusedError", "ClientConnectorError", "gaierror", "NoCredentialsError",
    "PermissionError", "FileNotFoundError", "IsADirectoryError", "NotADirectoryError", "KeyError",
})
_TRANSIENT_ERRNOS = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT})


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it (``__cause__``/``__context__``, and the ``error`` a
    botocore connection error wraps), outermost first."""
    out: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and all(e is not x for x in out):
        out.append(e)
        wrapped = getattr(e, "kwargs", None)
        inner = wrapped.get("error") if isinstance(wrapped, dict) else None
        e = e.__cause__ or e.__context__ or (inner if isinstance(inner, BaseException) else None)
    return out


def _http_answer(exc: BaseException) -> tuple[int | None, str | None]:
    """(HTTP status, error code) of a botocore-style error, else (None, None)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = response.get("Error", {}).get("Code")
    return (int(status) if status is not None else None), (str(code) if code is not None else None)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a fault worth retrying (see the module docs).

    The outermost decisive exception wins: an HTTP answer decides by its status and
    code, a connection fault or timeout is transient, a refused connection or a
    missing/denied resource is permanent."""
    for e in _chain(exc):
        status, code = _http_answer(e)
        if status is not None or code is not None:
            return (status in _TRANSIENT_STATUS) or (code in _TRANSIENT_CODES)
        names = {cls.__name__ for cls in type(e).__mro__}
        if names & _PERMANENT_CLASSES:
            return False
        if names & _TRANSIENT_CLASSES:
            return True
        if isinstance(e, OSError) and e.errno in _TRANSIENT_ERRNOS:
            return True
    return False


def describe(exc: BaseException) -> str:
    """What a store's error message adds about ``exc``: the HTTP answer behind it and,
    when the policy gave up on it, how long it tried (``''`` when there is nothing)."""
    parts = []
    for e in _chain(exc):
        status, code = _http_answer(e)
        if status is not None or code is not None:
            parts.append(f"HTTP {status} {code}" if code and code != str(status) else f"HTTP {status}")
            break
    tries = getattr(exc, "_zarrflow_tries", None)
    if tries:
        parts.append(f"gave up after {tries[0]} tries in {tries[1]:.1f} s")
    return f" ({', '.join(parts)})" if parts else ""


class RetryStats:
    """Counters of one store's retries (thread-safe): ``retries`` (retried tries),
    ``gave_up`` (requests that failed after retrying), ``recovered`` (requests that
    succeeded after at least one retry), and ``by_action`` (retries per action)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retries = 0
        self.gave_up = 0
        self.recovered = 0
        self.by_action: Counter[str] = Counter()

    def _count(self, action: str, *, retried: int = 0, gave_up: bool = False, recovered: bool = False) -> None:
        with self._lock:
            self.retries += retried
            self.by_action[action] += retried
            self.gave_up += gave_up
            self.recovered += recovered

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (for run reports and logs)."""
        with self._lock:
            return {"retries": self.retries, "recovered": self.recovered, "gave_up": self.gave_up,
                    "by_action": dict(self.by_action)}

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self.retries = self.gave_up = self.recovered = 0
            self.by_action.clear()

    def __repr__(self) -> str:
        return f"RetryStats({self.as_dict()})"


@dataclass(frozen=True)
class RetryPolicy:
    """How a store retries one request that failed with a transient fault.

    ``attempts``: tries in all (1 = never retry); ``base_delay``/``max_delay``: the
    backoff before retry ``n`` is uniform in ``[0, min(max_delay, base_delay * 2**(n-1))]``
    s; ``total``: no retry starts more than ``total`` s after the first try (so a
    request gives up after about ``total`` s plus one request's own timeout).
    """

    attempts: int = 8
    base_delay: float = 0.1
    max_delay: float = 5.0
    total: float = 60.0
    #: Random source of the jitter (a seeded ``random.Random`` makes tests repeatable).
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"RetryPolicy attempts must be an int >= 1, got {self.attempts!r}")
        for name in ("base_delay", "max_delay", "total"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"RetryPolicy {name} must be a number >= 0, got {value!r}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), jitter included."""
        return self.rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry - 1)))

    def call(self, fn: Callable[[], T], *, action: str, what: str, stats: RetryStats | None = None,
             transient: Callable[[BaseException], bool] = is_transient) -> T:
        """``fn()``, retried while it raises a transient fault and the policy allows;
        the last exception propagates unchanged. ``action``/``what`` name the request
        in logs ("read", "key '0.0' of FSStore(...)")."""
        start = time.monotonic()
        retry = 0
        while True:
            try:
                result = fn()
            except Exception as exc:
                if not transient(exc):
                    if retry and stats is not None:
                        stats._count(action, gave_up=True)
                    raise
                retry += 1
                wait = self.delay(retry)
                if retry >= self.attempts or time.monotonic() - start + wait > self.total:
                    logger.warning("giving up to %s %s after %d tries (%.1f s): %s: %s", action, what, retry,
                                   time.monotonic() - start, type(exc).__name__, exc)
                    if stats is not None:
                        stats._count(action, gave_up=True)
                    try:
                        exc._zarrflow_tries = (retry, time.monotonic() - start)  # type: ignore[attr-defined]
                    except AttributeError:  # pragma: no cover - exceptions with __slots__
                        pass
                    raise
                logger.info("retrying to %s %s in %.2f s (try %d of %d failed: %s: %s)", action, what, wait,
                            retry, self.attempts, type(exc).__name__, exc)
                if stats is not None:
                    stats._count(action, retried=1)
                time.sleep(wait)
                continue
            if retry and stats is not None:
                stats._count(action, recovered=True)
            return result

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.attempts, self.base_delay, self.max_delay, self.total))


#: The policy stores use unless given another: 8 tries, 0.1 s doubling to at most 5 s, 60 s in all.
DEFAULT_POLICY = RetryPolicy()

#: Protocols whose filesystem is s3fs.
_S3_PROTOCOLS = ("s3", "s3a")


def quiet_backend_options(protocol: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` for an fsspec filesystem of ``protocol`` with the backend's own
    retries off (botocore: one try per request), so zarrflow's policy is the only one;
    options the user gave win."""
    if protocol not in _S3_PROTOCOLS:
        return options
    out = dict(options)
    config = dict(out.get("config_kwargs") or {})
    config.setdefault("retries", {"total_max_attempts": 1})
    out["config_kwargs"] = config
    return out


def quiet_backend(fs: Any, user_options: dict[str, Any]) -> None:
    """Turn off s3fs's own retry loop on an S3 filesystem a store created (one try;
    it would otherwise try up to 5 times over each botocore try)."""
    if type(fs).__name__ == "S3FileSystem" and "retries" not in (user_options.get("config_kwargs") or {}):
        fs.retries = 1

"""``run_threads``: the one way the tests run a function in several threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_threads(target: Callable[..., Any], n: int, *args: Any, timeout: float = 120) -> None:
    """Run ``target(i, *args)`` for i in 0..n-1, each in its own thread, and wait for all;
    re-raise the first error any of them raised (failing the test), and fail if one hangs."""
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            target(i, *args)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]

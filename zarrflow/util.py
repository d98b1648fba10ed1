"""zarr 2's ``zarr.util``: the helpers users import from it (re-exported from the
engine where the engine has them; the few small generic ones are defined here)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np
from numcodecs.compat import ensure_ndarray_like

from zarrflow.core.array import _normalize_resize_args as normalize_resize_args
from zarrflow.core.chunks import CHUNK_BASE, CHUNK_MAX, CHUNK_MIN, guess_chunks, normalize_chunks, normalize_shape
from zarrflow.core.indexing import is_total_slice
from zarrflow.core.info import InfoReporter, human_readable_size
from zarrflow.core.info import html_report as info_html_report
from zarrflow.core.info import text_report as info_text_report
from zarrflow.core.normalize import (
    normalize_dimension_separator,
    normalize_dtype,
    normalize_fill_value,
    normalize_order,
)
from zarrflow.core.tree import TreeViewer
from zarrflow.format import json_dumps
from zarrflow.format import json_loads as _json_loads
from zarrflow.storage.base import ConstantMap
from zarrflow.storage.paths import normalize_storage_path

__all__ = [
    "CHUNK_BASE", "CHUNK_MAX", "CHUNK_MIN", "ConstantMap", "InfoReporter", "TreeViewer", "all_equal",
    "buffer_size", "flatten", "guess_chunks", "human_readable_size", "info_html_report", "info_text_report",
    "is_total_slice", "json_dumps", "json_loads", "normalize_chunks", "normalize_dimension_separator",
    "normalize_dtype", "normalize_fill_value", "normalize_order", "normalize_resize_args", "normalize_shape",
    "normalize_storage_path", "retry_call",
]

T = TypeVar("T")


def json_loads(s: bytes | str) -> Any:
    """Parse a JSON document (bytes or str), as zarr 2's ``util.json_loads``."""
    return _json_loads(s)


def buffer_size(v: Any) -> int:
    """Size in bytes of the buffer ``v`` (anything numcodecs can view as an array)."""
    return ensure_ndarray_like(v).nbytes


def flatten(arg: Iterable) -> Iterator:
    """Yield the non-iterable leaves of a nested iterable (str and bytes are leaves)."""
    for element in arg:
        if isinstance(element, Iterable) and not isinstance(element, (str, bytes)):
            yield from flatten(element)
        else:
            yield element


def all_equal(value: Any, array: Any) -> bool:
    """True when every item of ``array`` equals ``value`` (NaN equals NaN; for an object
    array, ``value`` compared item by item)."""
    if value is None:
        return False
    if not value:
        # zeros: fast path through the raw bytes where there are no objects
        arr = np.asarray(array)
        if arr.dtype.kind == "O":
            return all(bool(x == value) for x in arr.ravel())
        return not np.any(arr)
    arr = np.asarray(array)
    if arr.dtype.kind == "O":
        return all(bool(x == value) for x in arr.ravel())
    if arr.dtype.kind in "fc" and np.any(np.isnan(value)):
        return bool(np.all(np.isnan(arr)))
    return bool(np.all(arr == value))


def retry_call(callabl: Callable[[], T], args: tuple = (), kwargs: dict | None = None,
               exceptions: tuple[type[BaseException], ...] = (), retries: int = 10, wait: float = 0.1) -> T:
    """Call ``callabl(*args, **kwargs)``, retrying up to ``retries`` times (sleeping
    ``wait`` seconds) when it raises one of ``exceptions``; the last error propagates."""
    kwargs = kwargs or {}
    for attempt in range(1, retries + 1):
        try:
            return callabl(*args, **kwargs)
        except exceptions:
            if attempt == retries:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover

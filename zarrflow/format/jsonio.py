"""JSON as zarr-python 2.18 writes metadata documents, and parsing that names the key.

``json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=True, separators=(",", ": "))``
with numpy numbers converted to plain ints/floats, so documents are byte-identical.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from typing import Any

from zarrflow.errors import MetadataError

__all__ = ["json_dumps", "json_loads", "json_number", "load_object", "short"]


def json_number(o: Any) -> Any:
    """``default=`` hook: numpy integers and reals as JSON numbers (zarr 2's NumberEncoder)."""
    if isinstance(o, numbers.Integral):
        return int(o)
    if isinstance(o, numbers.Real):
        return float(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def json_dumps(obj: Any) -> bytes:
    """Serialise ``obj`` exactly as zarr 2.18 writes metadata documents (ASCII bytes)."""
    return json.dumps(
        obj, indent=4, sort_keys=True, ensure_ascii=True, separators=(",", ": "), default=json_number
    ).encode("ascii")


def json_loads(data: bytes | bytearray | memoryview | str, key: str = "document") -> Any:
    """Parse a UTF-8 JSON document; any failure is a :class:`MetadataError` naming ``key``."""
    try:
        text = bytes(data).decode("utf-8") if not isinstance(data, str) else data
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise MetadataError(f"{key}: invalid JSON ({exc}): {short(data)}") from exc


def short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def load_object(data: Any, key: str, what: str) -> dict:
    """``data`` (bytes, str or an already-parsed mapping) as a dict, else MetadataError."""
    doc = dict(data) if isinstance(data, Mapping) else json_loads(data, key)
    if not isinstance(doc, dict):
        raise MetadataError(f"{key}: {what} must be a JSON object, got {short(doc)}")
    return doc

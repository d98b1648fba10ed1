"""Option parsers the subcommands share (chunk tuples, byte sizes, storage options)."""

from __future__ import annotations

import json

import click

__all__ = ["parse_bytes", "parse_chunks", "parse_int_tuple", "parse_storage_options"]

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_int_tuple(text: str, name: str) -> tuple[int, ...]:
    """``"1,2,3"`` -> ``(1, 2, 3)``; a clear error naming ``name`` otherwise."""
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part != "")
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers", param_hint=name) from None


def parse_chunks(text: str, name: str = "--chunks") -> tuple[int, ...] | dict[str, tuple[int, ...]]:
    """Chunks on the command line: ``"512,64,64"``, or a JSON object
    ``'{"temperature": [512, 64, 64]}'`` for groups."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None
        if not isinstance(value, dict):
            raise click.BadParameter("a JSON object {array name: chunks} is expected", param_hint=name)
        return {str(k): (None if v is None else tuple(int(c) for c in v)) for k, v in value.items()}
    return parse_int_tuple(text, name)


def parse_storage_options(text: str | None, name: str) -> dict:
    """``--storage-options '{"anon": true}'`` (JSON) -> a dict."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None
    if not isinstance(value, dict):
        raise click.BadParameter("a JSON object is expected", param_hint=name)
    return value


def parse_bytes(text: str, name: str) -> int:
    """``"64MiB"``, ``"1.5GB"``, ``"1000"`` -> bytes; a clear error naming ``name`` otherwise."""
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("kmgtib")
    unit = raw[len(number):]
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise click.BadParameter(f"{text!r} is not a byte size such as 64MiB, 1GB or 1000000",
                                 param_hint=name) from None
    if value < 1:
        raise click.BadParameter(f"{text!r} must be at least one byte", param_hint=name)
    return int(value)

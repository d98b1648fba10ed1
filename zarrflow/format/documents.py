"""Zarr v2 metadata documents: bytes in, frozen dataclasses out, and back to bytes.

Pure functions only (no store I/O). Everything written here is byte-identical to
what zarr-python 2.18 writes for the same array, group, attributes or consolidated
metadata (see ``format/jsonio``).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numcodecs.abc import Codec

from zarrflow.errors import MetadataError, UnsafeCodecError
from zarrflow.format.codec_config import get_codec
from zarrflow.format.dtypes import decode_dtype, encode_dtype
from zarrflow.format.fill_values import decode_fill_value, encode_fill_value
from zarrflow.format.jsonio import (
    json_dumps,
    json_loads,
    json_number,
    load_object,
    short,
)
from zarrflow.format.keys import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    CONSOLIDATED_KEY,
    GROUP_META_KEY,
    ZARR_FORMAT,
)

try:
    from numcodecs.errors import UnsafeDecodeError as _UnsafeDecodeError
except ImportError:  # pragma: no cover - older numcodecs decode pickles unconditionally
    _UnsafeDecodeError = RuntimeError

__all__ = [
    "ArrayMetadata",
    "GroupMetadata",
    "encode_attributes",
    "encode_consolidated",
    "parse_attributes",
    "parse_consolidated",
]


def _int_tuple(value: Any, key: str, field: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise MetadataError(f"{key}: {field} must be a list of integers, got {short(value)}")
    for item in value:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral) or item < minimum:
            raise MetadataError(f"{key}: {field} must be integers >= {minimum}, got {short(value)}")
    return tuple(int(item) for item in value)


def _codec_config(value: Any, key: str, field: str) -> dict:
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
        raise MetadataError(f"{key}: {field} must be an object with a string 'id', got {short(value)}")
    return dict(value)


def _checked(
    key: str,
    shape: Any,
    chunks: Any,
    dtype: Any,
    compressor: Any,
    order: Any,
    filters: Any,
    dimension_separator: Any,
) -> dict[str, Any]:
    """Validated, canonical field values; MetadataError naming key, field and value."""
    shape = _int_tuple(shape, key, "shape", 0)
    chunks = _int_tuple(chunks, key, "chunks", 1)
    if len(chunks) != len(shape):
        raise MetadataError(
            f"{key}: chunks {list(chunks)} must have as many dimensions as shape {list(shape)}"
        )
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise MetadataError(f"{key}: invalid dtype {short(dtype)}: {exc}") from exc
    if dtype.subdtype is not None:
        raise MetadataError(f"{key}: dtype {dtype} is a subarray dtype; use {dtype.base} and extend shape")
    if compressor is not None:
        compressor = _codec_config(compressor, key, "compressor")
    if order not in ("C", "F"):
        raise MetadataError(f"{key}: order must be 'C' or 'F', got {short(order)}")
    if filters is not None:
        if isinstance(filters, (str, bytes, Mapping)) or not isinstance(filters, Sequence):
            raise MetadataError(f"{key}: filters must be null or a list, got {short(filters)}")
        filters = tuple(_codec_config(f, key, "filters") for f in filters)
    if dtype.hasobject and not filters:
        raise MetadataError(
            f"{key}: dtype {encode_dtype(dtype)!r} holds objects, so filters must start with "
            f"an object codec; got filters {short(filters)}"
        )
    if dimension_separator is not None and dimension_separator not in (".", "/"):
        raise MetadataError(
            f"{key}: dimension_separator must be '.' or '/', got {short(dimension_separator)}"
        )
    return dict(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        order=order,
        filters=filters,
        dimension_separator=dimension_separator,
    )


_REQUIRED = ("zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters")


@dataclass(frozen=True, eq=False)
class ArrayMetadata:
    """The content of a ``.zarray`` document, with ``dtype`` and ``fill_value`` decoded.

    Equality and hashing compare the encoded document, so NaN fill values compare equal.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    compressor: dict | None
    fill_value: Any
    order: str
    filters: tuple[dict, ...] | None
    dimension_separator: str | None
    zarr_format: int = ZARR_FORMAT

    def __post_init__(self) -> None:
        if self.zarr_format != ZARR_FORMAT:
            raise MetadataError(f"{ARRAY_META_KEY}: unsupported zarr_format {self.zarr_format!r}")
        fields = _checked(
            ARRAY_META_KEY,
            self.shape,
            self.chunks,
            self.dtype,
            self.compressor,
            self.order,
            self.filters,
            self.dimension_separator,
        )
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArrayMetadata):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    @property
    def separator(self) -> str:
        """The chunk-key separator in effect: ``dimension_separator`` or ``'.'``."""
        return self.dimension_separator or "."

    def object_codec(self, key: str = ARRAY_META_KEY) -> Codec | None:
        """The object codec (first filter) for dtypes holding objects, else ``None``."""
        if not self.dtype.hasobject or not self.filters:
            return None
        return get_codec(self.filters[0], key=key)

    def to_json(self) -> bytes:
        """The ``.zarray`` bytes, identical to what zarr 2.18 writes for this array."""
        codec = self.object_codec() if self.dtype.kind == "V" and self.dtype.hasobject else None
        doc: dict[str, Any] = {
            "zarr_format": self.zarr_format,
            "shape": list(self.shape),
            "chunks": list(self.chunks),
            "dtype": encode_dtype(self.dtype),
            "compressor": self.compressor,
            "fill_value": encode_fill_value(self.fill_value, self.dtype, codec),
            "order": self.order,
            "filters": None if self.filters is None else list(self.filters),
        }
        if self.dimension_separator:
            doc["dimension_separator"] = self.dimension_separator
        return json_dumps(doc)

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], key: str = ARRAY_META_KEY) -> ArrayMetadata:
        """Parse and validate a ``.zarray`` document (bytes, str or parsed mapping).

        Any violation raises :class:`MetadataError` naming ``key``, the field and the value.
        Unknown extra keys are tolerated.
        """
        doc = load_object(data, key, "array metadata")
        missing = [name for name in _REQUIRED if name not in doc]
        if missing:
            raise MetadataError(f"{key}: missing required field(s) {missing}")
        fmt = doc["zarr_format"]
        if isinstance(fmt, bool) or fmt != ZARR_FORMAT:
            raise MetadataError(f"{key}: unsupported zarr_format {short(fmt)}; expected 2")
        dtype = decode_dtype(doc["dtype"], key=key)
        fields = _checked(
            key,
            doc["shape"],
            doc["chunks"],
            dtype,
            doc["compressor"],
            doc["order"],
            doc["filters"],
            doc.get("dimension_separator") or None,
        )
        codec = None
        if dtype.kind == "V" and dtype.hasobject:
            codec = get_codec(fields["filters"][0], key=key)
        try:
            fill_value = decode_fill_value(doc["fill_value"], dtype, codec)
        except _UnsafeDecodeError as exc:
            raise UnsafeCodecError(
                f"{key}: decoding fill_value with codec {fields['filters'][0]['id']!r} would run "
                f"code from the store; opt in to pickle decoding first"
            ) from exc
        except Exception as exc:
            raise MetadataError(
                f"{key}: invalid fill_value {short(doc['fill_value'])} for dtype {dtype}: {exc}"
            ) from exc
        return cls(fill_value=fill_value, **fields)

    def __reduce__(self) -> tuple:
        # Compact pickles (Dask tasks carry metadata): dtype and fill value in their
        # JSON forms, decoded again without parsing a document.
        codec = self.object_codec() if self.dtype.kind == "V" and self.dtype.hasobject else None
        return (_unpickle_array_metadata, (self.shape, self.chunks, encode_dtype(self.dtype), self.compressor,
                                           encode_fill_value(self.fill_value, self.dtype, codec), self.order,
                                           self.filters, self.dimension_separator))

    def replace(self, **changes: Any) -> ArrayMetadata:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _unpickle_array_metadata(shape: tuple[int, ...], chunks: tuple[int, ...], dtype: Any, compressor: dict | None,
                             fill_value: Any, order: str, filters: tuple[dict, ...] | None,
                             dimension_separator: str | None) -> ArrayMetadata:
    dtype = decode_dtype(dtype)
    codec = get_codec(filters[0]) if dtype.kind == "V" and dtype.hasobject and filters else None
    return ArrayMetadata(shape, chunks, dtype, compressor, decode_fill_value(fill_value, dtype, codec), order,
                         filters, dimension_separator)


# --- group, attributes, consolidated ---------------------------------------------------


@dataclass(frozen=True)
class GroupMetadata:
    """The content of a ``.zgroup`` document."""

    zarr_format: int = ZARR_FORMAT

    def __post_init__(self) -> None:
        if self.zarr_format != ZARR_FORMAT:
            raise MetadataError(f"{GROUP_META_KEY}: unsupported zarr_format {self.zarr_format!r}")

    def to_json(self) -> bytes:
        """The ``.zgroup`` bytes, identical to zarr 2.18's."""
        return json_dumps({"zarr_format": self.zarr_format})

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], key: str = GROUP_META_KEY) -> GroupMetadata:
        """Parse a ``.zgroup`` document; MetadataError naming ``key`` if it is not format 2."""
        doc = load_object(data, key, "group metadata")
        fmt = doc.get("zarr_format")
        if isinstance(fmt, bool) or fmt != ZARR_FORMAT:
            raise MetadataError(f"{key}: unsupported zarr_format {short(fmt)}; expected 2")
        return cls()


def parse_attributes(data: bytes | str | Mapping[str, Any] | None, key: str = ATTRS_KEY) -> dict:
    """The attributes in a ``.zattrs`` document (``{}`` for ``None``); must be an object."""
    if data is None:
        return {}
    return load_object(data, key, "attributes")


def encode_attributes(attrs: Mapping[str, Any]) -> bytes:
    """The ``.zattrs`` bytes for ``attrs`` (zarr 2.18 style).

    A value JSON cannot hold raises TypeError naming the attribute and the value's type,
    before anything is written.
    """
    attrs = dict(attrs)
    try:
        return json_dumps(attrs)
    except TypeError:
        pass
    for name, value in attrs.items():
        culprits: list[Any] = []

        def record(o: Any) -> Any:
            try:
                return json_number(o)
            except TypeError:
                culprits.append(o)  # noqa: B023 - called within this iteration
                raise

        try:
            json.dumps({name: value}, default=record)
        except TypeError as exc:
            bad = culprits[-1] if culprits else value
            raise TypeError(
                f"attribute {name!r}: value of type {type(bad).__name__} is not JSON serialisable"
            ) from exc
    try:
        return json_dumps(attrs)
    except TypeError as exc:  # e.g. keys of mixed types that cannot be sorted
        raise TypeError(f"attributes cannot be encoded as JSON: {exc}; keys {list(attrs)!r}") from exc


def encode_consolidated(metadata: Mapping[str, Any]) -> bytes:
    """The ``.zmetadata`` bytes: ``{"metadata": {key: doc}, "zarr_consolidated_format": 1}``.

    Values may be raw documents (bytes/str, parsed here) or already-parsed mappings.
    """
    docs = {
        name: dict(doc) if isinstance(doc, Mapping) else json_loads(doc, name)
        for name, doc in metadata.items()
    }
    return json_dumps({"zarr_consolidated_format": 1, "metadata": docs})


def parse_consolidated(data: bytes | str | Mapping[str, Any], key: str = CONSOLIDATED_KEY) -> dict[str, Any]:
    """The ``{key: parsed document}`` mapping inside a ``.zmetadata`` document (format 1)."""
    doc = load_object(data, key, "consolidated metadata")
    fmt = doc.get("zarr_consolidated_format")
    if isinstance(fmt, bool) or fmt != 1:
        raise MetadataError(f"{key}: unsupported zarr_consolidated_format {short(fmt)}; expected 1")
    inner = doc.get("metadata")
    if not isinstance(inner, dict):
        raise MetadataError(f"{key}: 'metadata' must be a JSON object, got {short(inner)}")
    for name, value in inner.items():
        if not isinstance(value, dict):
            raise MetadataError(f"{key}: metadata[{name!r}] must be a JSON object, got {short(value)}")
    return inner

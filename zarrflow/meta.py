"""zarr 2's ``zarr.meta``: encoding and decoding of the Zarr v2 metadata documents
(re-exported from the engine, with zarr 2's dict-based ``encode_*``/``decode_*``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zarrflow.format import (
    ZARR_FORMAT,
    ArrayMetadata,
    GroupMetadata,
    decode_dtype,
    decode_fill_value,
    encode_dtype,
    encode_fill_value,
    json_dumps,
    json_loads,
)

__all__ = [
    "ZARR_FORMAT", "decode_array_metadata", "decode_dtype", "decode_fill_value", "decode_group_metadata",
    "encode_array_metadata", "encode_dtype", "encode_fill_value", "encode_group_metadata", "json_dumps",
    "json_loads",
]


def decode_array_metadata(s: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """A ``.zarray`` document as a dict with ``dtype`` (numpy) and ``fill_value`` decoded;
    MetadataError naming the field when it is invalid."""
    meta = ArrayMetadata.from_json(s)
    out: dict[str, Any] = {
        "zarr_format": meta.zarr_format,
        "shape": meta.shape,
        "chunks": meta.chunks,
        "dtype": meta.dtype,
        "compressor": meta.compressor,
        "fill_value": meta.fill_value,
        "order": meta.order,
        "filters": None if meta.filters is None else list(meta.filters),
    }
    if meta.dimension_separator:
        out["dimension_separator"] = meta.dimension_separator
    return out


def encode_array_metadata(meta: Mapping[str, Any]) -> bytes:
    """The ``.zarray`` bytes for a dict as :func:`decode_array_metadata` returns."""
    filters = meta.get("filters")
    return ArrayMetadata(
        shape=tuple(meta["shape"]),
        chunks=tuple(meta["chunks"]),
        dtype=meta["dtype"],
        compressor=meta.get("compressor"),
        fill_value=meta.get("fill_value"),
        order=meta.get("order", "C"),
        filters=None if filters is None else tuple(filters),
        dimension_separator=meta.get("dimension_separator"),
    ).to_json()


def decode_group_metadata(s: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """A ``.zgroup`` document as a dict; MetadataError unless it is format 2."""
    return {"zarr_format": GroupMetadata.from_json(s).zarr_format}


def encode_group_metadata(meta: Mapping[str, Any] | None = None) -> bytes:
    """The ``.zgroup`` bytes."""
    return GroupMetadata().to_json()

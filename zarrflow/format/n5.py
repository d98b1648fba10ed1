"""N5 ``attributes.json`` <-> Zarr v2 documents: pure translation, no I/O.

N5 lists dimensions fastest-first, Zarr slowest-first, so shapes and chunk shapes
are reversed; N5 compression objects map to numcodecs configs as zarr-python 2.x
maps them. A Zarr document N5 cannot express raises :class:`MetadataError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numcodecs
import numpy as np

from zarrflow.errors import MetadataError, N5DataTypeError
from zarrflow.format.documents import ArrayMetadata
from zarrflow.format.n5_codec import N5ChunkWrapper

__all__ = [
    "N5_ATTRS_KEY",
    "N5_DATA_TYPES",
    "N5_FORMAT",
    "N5_KEYWORDS",
    "array_meta_from_n5",
    "array_meta_to_n5",
    "compressor_from_n5",
    "compressor_to_n5",
    "user_attrs",
]

#: The N5 format version written to the root (and, as zarr 2 does, to groups).
N5_FORMAT = "2.0.0"
#: The one metadata file of an N5 node.
N5_ATTRS_KEY = "attributes.json"
#: Fields of attributes.json that describe an N5 dataset (array).
_ARRAY_KEYWORDS = ("dimensions", "blockSize", "dataType", "compression", "compressionType")
#: Fields of attributes.json that are N5's, not the user's.
N5_KEYWORDS = frozenset({"n5", *_ARRAY_KEYWORDS})
#: N5 dataType names zarrflow reads and writes (numpy names them the same): N5's own,
#: and the NumPy names zarr 2's N5Store also writes for bool, half-precision and
#: complex arrays (other N5 libraries do not read those four).
N5_DATA_TYPES = frozenset(
    {"uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64",
     "bool", "float16", "complex64", "complex128"}
)
#: A '.'-joined chunk key of two or more dimensions.


def compressor_to_n5(config: Mapping[str, Any] | None, dtype: np.dtype, key: str) -> dict[str, Any]:
    """The N5 ``compression`` object for a numcodecs compressor config (zarr 2's mapping).

    ``None`` is ``raw``; an ``n5_wrapper`` config is unwrapped first. Codecs N5 has no
    type for are written under their own id with a RuntimeWarning, as zarr 2 does.
    """
    if config is not None and config.get("id") == N5ChunkWrapper.codec_id:
        config = config.get("compressor_config")
    if config is None:
        return {"type": "raw"}
    codec_id = config["id"]
    if codec_id == "bz2":
        return {"type": "bzip2", "blockSize": config.get("level", 9)}
    if codec_id == "blosc":
        shuffle = config.get("shuffle", 1)
        if shuffle == -1:  # AUTOSHUFFLE, resolved as numcodecs does: N5 readers want 0, 1 or 2
            shuffle = 2 if dtype.itemsize == 1 else 1
        return {
            "type": "blosc",
            "cname": config.get("cname", "lz4"),
            "clevel": config.get("clevel", 5),
            "shuffle": shuffle,
            "blocksize": config.get("blocksize", 0),
        }
    if codec_id in ("zlib", "gzip"):
        return {"type": "gzip", "level": config.get("level", 1), "useZlib": codec_id == "zlib"}
    if codec_id == "zstd":
        return {"type": "zstd", "level": config.get("level", 0)}
    if codec_id == "lzma":
        preset = config.get("preset") or 6  # None means lzma.PRESET_DEFAULT
        if config.get("format", 1) == 1 and config.get("check", -1) in (-1, 4):
            return {"type": "xz", "preset": preset}
        warnings.warn(
            f"{key}: LZMA with format {config.get('format')} / check {config.get('check')} is not "
            "an N5 compression type; other N5 readers may not read this array (use the default "
            "xz format for portability)",
            RuntimeWarning,
            stacklevel=4,
        )
        return {"type": "lzma", "preset": preset, "format": config.get("format"),
                "check": config.get("check"), "filters": config.get("filters")}
    warnings.warn(
        f"{key}: compressor {codec_id!r} is not an N5 compression type; it is written as "
        f"type {codec_id!r}, which other N5 readers may not read",
        RuntimeWarning,
        stacklevel=4,
    )
    out = {"type": codec_id}
    out.update((k, v) for k, v in config.items() if k not in ("id", "type"))
    return out


def compressor_from_n5(compression: Any, key: str) -> dict[str, Any] | None:
    """The numcodecs config for an N5 ``compression`` object; MetadataError naming ``key``."""
    if not isinstance(compression, Mapping) or not isinstance(compression.get("type"), str):
        raise MetadataError(f"{key}: 'compression' must be an object with a string 'type', got {compression!r}")
    kind = compression["type"]
    try:
        if kind == "raw":
            return None
        if kind == "bzip2":
            return {"id": "bz2", "level": int(compression.get("blockSize", 9))}
        if kind == "blosc":
            return {
                "id": "blosc",
                "cname": compression["cname"],
                "clevel": compression["clevel"],
                "shuffle": compression["shuffle"],
                "blocksize": compression.get("blocksize", 0),
            }
        if kind == "gzip":
            return {"id": "zlib" if compression.get("useZlib") else "gzip", "level": compression.get("level", -1)}
        if kind == "zstd":
            return {"id": "zstd", "level": compression.get("level", 0)}
        if kind == "xz":
            return {"id": "lzma", "format": 1, "check": -1, "preset": compression.get("preset", 6), "filters": None}
        if kind == "lzma":
            return {"id": "lzma", "format": compression["format"], "check": compression["check"],
                    "preset": compression["preset"], "filters": compression["filters"]}
    except KeyError as exc:
        raise MetadataError(f"{key}: N5 compression {compression!r} lacks the field {exc.args[0]!r}") from None
    if kind not in numcodecs.registry.codec_registry:
        raise MetadataError(
            f"{key}: unsupported N5 compression type {kind!r}; zarrflow reads raw, gzip, bzip2, "
            "xz, blosc and zstd"
        )
    out = {"id": kind}
    out.update((k, v) for k, v in compression.items() if k != "type")
    return out


# --- array and group documents -----------------------------------------------------------


def user_attrs(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in N5_KEYWORDS}


def array_meta_to_n5(meta: ArrayMetadata, key: str, top_level: bool) -> dict[str, Any]:
    """The N5 fields of ``attributes.json`` for a parsed ``.zarray``; MetadataError
    naming ``key`` when N5 cannot express the array."""
    dtype = meta.dtype
    if dtype.name not in N5_DATA_TYPES or dtype.fields is not None:
        raise N5DataTypeError(
            f"{key}: N5 does not support dtype {dtype.str!r}; its data types are {sorted(N5_DATA_TYPES)}"
        )
    if meta.fill_value is not None and not (meta.fill_value == 0):
        raise MetadataError(f"{key}: N5 only supports fill_value 0 (or None), got {meta.fill_value!r}")
    if meta.order != "C":
        raise MetadataError(f"{key}: N5 only supports order 'C', got {meta.order!r}")
    if meta.filters:
        raise MetadataError(f"{key}: N5 does not support filters, got {[f['id'] for f in meta.filters]}")
    doc: dict[str, Any] = {
        "dimensions": list(meta.shape[::-1]),
        "blockSize": list(meta.chunks[::-1]),
        "dataType": dtype.name,
        "compression": compressor_to_n5(meta.compressor, dtype, key),
    }
    if top_level:
        doc["n5"] = N5_FORMAT
    return doc


def _int_list(doc: Mapping[str, Any], field: str, minimum: int, key: str) -> list[int]:
    value = doc.get(field)
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value
    ):
        raise MetadataError(f"{key}: N5 '{field}' must be a list of integers >= {minimum}, got {value!r}")
    return value


def array_meta_from_n5(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The ``.zarray`` document (as a dict) for the ``attributes.json`` of an N5
    dataset; MetadataError naming ``key`` for anything malformed or unsupported."""
    dims = _int_list(doc, "dimensions", 0, key)
    block = _int_list(doc, "blockSize", 1, key)
    if len(block) != len(dims):
        raise MetadataError(f"{key}: N5 blockSize {block} and dimensions {dims} differ in length")
    data_type = doc.get("dataType")
    if data_type not in N5_DATA_TYPES:
        raise N5DataTypeError(
            f"{key}: unsupported N5 dataType {data_type!r}; zarrflow reads {sorted(N5_DATA_TYPES)}"
        )
    if "compression" in doc:
        compression = doc["compression"]
    elif "compressionType" in doc:  # N5 before 1.0 named only the type
        compression = {"type": doc["compressionType"]}
    else:
        compression = {"type": "raw"}
    dtype = np.dtype(data_type).str
    chunks = block[::-1]
    return {
        "zarr_format": 2,
        "shape": dims[::-1],
        "chunks": chunks,
        "dtype": dtype,
        "compressor": {
            "id": N5ChunkWrapper.codec_id,
            "compressor_config": compressor_from_n5(compression, key),
            "dtype": dtype,
            "chunk_shape": chunks,
        },
        # N5 blocks not written read as zeros: 0, as the JSON form of the dtype spells it
        "fill_value": [0.0, 0.0] if np.dtype(data_type).kind == "c" else (False if data_type == "bool" else 0),
        "order": "C",
        "filters": [],
        "dimension_separator": ".",
    }

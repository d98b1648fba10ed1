"""The Zarr v2 document format: pure encoding and decoding, no store, no engine.

``.zarray``/``.zgroup``/``.zattrs``/``.zmetadata`` documents (``documents``), their
JSON (``jsonio``), dtypes (``dtypes``), fill values (``fill_values``), codec configs
(``codec_config``), key names (``keys``) and the N5 attribute translation (``n5``,
``n5_codec``). This layer imports nothing of zarrflow but ``errors``; storage and
the engine both build on it.
"""

from zarrflow.format.codec_config import get_codec
from zarrflow.format.documents import (
    ArrayMetadata,
    GroupMetadata,
    encode_attributes,
    encode_consolidated,
    parse_attributes,
    parse_consolidated,
)
from zarrflow.format.dtypes import decode_dtype, encode_dtype
from zarrflow.format.fill_values import decode_fill_value, encode_fill_value
from zarrflow.format.jsonio import json_dumps, json_loads
from zarrflow.format.keys import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    CONSOLIDATED_KEY,
    GROUP_META_KEY,
    METADATA_KEYS,
    ZARR_FORMAT,
    is_metadata_key,
)

__all__ = [
    "ARRAY_META_KEY",
    "ATTRS_KEY",
    "CONSOLIDATED_KEY",
    "GROUP_META_KEY",
    "METADATA_KEYS",
    "ZARR_FORMAT",
    "ArrayMetadata",
    "GroupMetadata",
    "decode_dtype",
    "decode_fill_value",
    "encode_attributes",
    "encode_consolidated",
    "encode_dtype",
    "encode_fill_value",
    "get_codec",
    "is_metadata_key",
    "json_dumps",
    "json_loads",
    "parse_attributes",
    "parse_consolidated",
]

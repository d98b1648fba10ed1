"""Codec configs (``{"id": ..., ...}``) to numcodecs codec objects.

zarrflow's own codecs (the N5 block wrapper) are looked up here first, so no import
has to register them in numcodecs as a side effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numcodecs
from numcodecs.abc import Codec
from numcodecs.errors import UnknownCodecError as _NumcodecsUnknownCodecError

from zarrflow.errors import MetadataError, UnknownCodecError
from zarrflow.format.jsonio import short
from zarrflow.format.keys import ARRAY_META_KEY
from zarrflow.format.n5_codec import N5ChunkWrapper

__all__ = ["OWN_CODECS", "codecs_from_options", "get_codec"]

#: Codecs zarrflow defines itself, by id.
OWN_CODECS: dict[str, type[Codec]] = {N5ChunkWrapper.codec_id: N5ChunkWrapper}


def get_codec(config: Mapping[str, Any] | None, *, key: str = ARRAY_META_KEY) -> Codec | None:
    """The numcodecs codec for a config dict (``None`` for ``None``).

    An unknown id raises :class:`UnknownCodecError`; a config that is not a dict with a
    string ``'id'``, or that the codec rejects, raises :class:`MetadataError`.
    """
    if config is None:
        return None
    if not isinstance(config, Mapping) or not isinstance(config.get("id"), str):
        raise MetadataError(f"{key}: codec config must be an object with an 'id', got {short(config)}")
    try:
        own = OWN_CODECS.get(config["id"])
        if own is not None:
            return own.from_config({k: v for k, v in config.items() if k != "id"})
        return numcodecs.get_codec(dict(config))
    except _NumcodecsUnknownCodecError as exc:
        raise UnknownCodecError(f"{key}: unknown codec id {config['id']!r} in {short(dict(config))}") from exc
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"{key}: invalid codec config {short(dict(config))}: {exc}") from exc


def codecs_from_options(options: Mapping[str, Any] | None, *, key: str = "options") -> dict[str, Any]:
    """Creation options as text formats give them (a command line's JSON, a pipeline's
    YAML) with ``compressor`` and ``filters`` as codec configs, turned into numcodecs
    codecs; other values are kept as they are. Errors name ``key``."""
    out = dict(options or {})
    if isinstance(out.get("compressor"), Mapping):
        out["compressor"] = get_codec(out["compressor"], key=key)
    if isinstance(out.get("filters"), list):
        out["filters"] = [get_codec(f, key=key) if isinstance(f, Mapping) else f for f in out["filters"]]
    return out

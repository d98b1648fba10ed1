"""The chunk codec pipeline: filters then compressor, over numcodecs.

Encoding turns one chunk (an ndarray of the full chunk shape) into bytes; decoding
turns stored bytes back into such an ndarray, or straight into a caller's buffer when
the buffer has the chunk's exact layout (saves a copy on full-chunk reads). Codecs
stay numcodecs objects, found through ``numcodecs.get_codec``; nothing here
re-implements one.
"""

from __future__ import annotations

import lzma
import os
from collections.abc import Sequence
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_ndarray_like

from zarrflow.errors import ChunkDecodeError, ChunkEncodeError, UnsafeCodecError

#: Environment switch that allows decoding Pickle-encoded arrays everywhere.
ALLOW_PICKLE_ENV = "ZARRFLOW_ALLOW_PICKLE"

#: Codec ids whose decoding can run arbitrary code from the store.
UNSAFE_CODEC_IDS = frozenset({"pickle"})

#: Object codecs: they turn an object array into bytes (zarr's ``object_codec``).
OBJECT_CODEC_IDS = frozenset({"vlen-utf8", "vlen-bytes", "vlen-array", "json2", "json", "msgpack2", "msgpack", "pickle", "categorize"})


def is_object_codec(codec: Any) -> bool:
    """True for codecs that serialise Python objects (the ``object_codec`` kinds)."""
    return getattr(codec, "codec_id", None) in OBJECT_CODEC_IDS


def _decoder_for(compressor: Codec | None) -> Codec | None:
    """The codec that decodes what ``compressor`` encodes.

    numcodecs' LZMA cannot decode its own output when it has ``filters`` and a
    container format (.xz/.lzma): Python's lzma only takes filters for raw streams.
    The container records the filter chain, so an LZMA without filters decodes it.
    """
    if (getattr(compressor, "codec_id", None) == "lzma" and compressor.filters
            and compressor.format != lzma.FORMAT_RAW):
        return numcodecs.LZMA(format=compressor.format, check=compressor.check)
    return compressor


def pickle_allowed_by_env() -> bool:
    """True when ``ZARRFLOW_ALLOW_PICKLE`` is set to a true value."""
    return os.environ.get(ALLOW_PICKLE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class ChunkCodec:
    """Encode/decode the chunks of one array: its dtype, chunk shape, order and codecs.

    ``allow_pickle`` decides whether a Pickle codec may decode; when it may not, the
    first decode raises :class:`UnsafeCodecError` saying how to opt in (encoding is
    always allowed: it runs no code from the store).
    """

    def __init__(
        self,
        dtype: np.dtype,
        chunks: tuple[int, ...],
        order: str,
        compressor: Codec | None,
        filters: Sequence[Codec] | None,
        *,
        allow_pickle: bool = False,
        name: str = "array",
    ):
        self.dtype = np.dtype(dtype)
        self.chunks = tuple(chunks)
        self.order = order
        self.compressor = compressor
        self.decompressor = _decoder_for(compressor)
        self.filters = list(filters or [])
        self.name = name
        self.nbytes = int(np.prod(self.chunks, dtype=np.int64)) * self.dtype.itemsize
        codecs = self.filters + ([compressor] if compressor is not None else [])
        self.unsafe_ids = sorted({c.codec_id for c in codecs if c.codec_id in UNSAFE_CODEC_IDS})
        self.allow_pickle = allow_pickle or pickle_allowed_by_env()
        # Decoding straight into the caller's buffer needs a plain byte pipeline.
        self.can_decode_into = not self.filters and self.dtype != object

    # --- encoding --------------------------------------------------------------------

    def encode(self, chunk: np.ndarray, key: str = "") -> bytes | memoryview:
        """Encode a full-shape chunk (any layout; it is laid out in the array's order)."""
        if self.order == "F":
            chunk = np.asfortranarray(chunk)
        else:
            chunk = np.ascontiguousarray(chunk)
        buf: Any = chunk
        try:
            for f in self.filters:
                buf = f.encode(buf)
            if ensure_ndarray_like(buf).dtype == object:
                raise ChunkEncodeError(
                    f"cannot encode chunk {key!r} of {self.name}: object arrays need an object_codec"
                )
            if self.compressor is not None:
                return self.compressor.encode(buf)
        except ChunkEncodeError:
            raise
        except Exception as exc:  # codec errors come in many types
            raise ChunkEncodeError(f"cannot encode chunk {key!r} of {self.name}: {exc}") from exc
        arr = ensure_ndarray_like(buf)
        return memoryview(arr.reshape(-1, order="A")).cast("B")

    # --- decoding --------------------------------------------------------------------

    def _check_safe(self, key: str) -> None:
        if self.unsafe_ids and not self.allow_pickle:
            raise UnsafeCodecError(
                f"refusing to decode chunk {key!r} of {self.name}: its codecs {self.unsafe_ids} "
                "unpickle data from the store, which can run arbitrary code. Open the array with "
                f"allow_pickle=True, or set {ALLOW_PICKLE_ENV}=1, if you trust this store."
            )

    def decode(self, cdata: Any, key: str = "", shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Decode stored bytes into a new ndarray of the full chunk shape."""
        self._check_safe(key)
        expected = shape or self.chunks
        try:
            buf: Any = self.decompressor.decode(cdata) if self.decompressor is not None else cdata
            for f in reversed(self.filters):
                buf = f.decode(buf)
            arr = ensure_ndarray_like(buf)
        except Exception as exc:
            raise ChunkDecodeError(f"cannot decode chunk {key!r} of {self.name}: {exc}") from exc
        if self.dtype != object:
            if arr.dtype != self.dtype:
                arr = arr.reshape(-1, order="A").view(self.dtype)
        elif arr.dtype != object:
            raise ChunkDecodeError(
                f"cannot decode chunk {key!r} of {self.name}: object arrays need an object codec filter"
            )
        n_expected = int(np.prod(expected, dtype=np.int64))
        if arr.size != n_expected:
            raise ChunkDecodeError(
                f"chunk {key!r} of {self.name} decoded to {arr.size} items, expected {n_expected} "
                f"(chunk shape {expected}); the chunk is corrupted or was written with other metadata"
            )
        arr = arr.reshape(-1, order="A")
        return arr.reshape(expected, order=self.order)

    def decode_into(self, cdata: Any, out: np.ndarray, key: str = "") -> None:
        """Decode straight into ``out``, which must be contiguous in the array's order,
        of the full chunk shape and dtype (checked by the caller)."""
        self._check_safe(key)
        flat = out.reshape(-1, order="A")
        try:
            if self.compressor is not None:
                self.decompressor.decode(cdata, out=flat)
            else:
                src = np.frombuffer(cdata, dtype=self.dtype)
                if src.size != flat.size:
                    raise ValueError(f"{src.size} items stored, {flat.size} expected")
                flat[...] = src
        except Exception as exc:
            raise ChunkDecodeError(f"cannot decode chunk {key!r} of {self.name}: {exc}") from exc

"""The chunk codec pipeline: filters then compressor, over numcodecs.

Encoding turns one chunk (an ndarray of the full chunk shape) into bytes; decoding
turns stored bytes back into such an ndarray, or straight into a caller's buffer when
the buffer has the chunk's exact layout (saves a copy on full-chunk reads). Codecs
stay numcodecs objects, found through ``numcodecs.get_codec``; nothing here
re-implements one.
"""

from __future__ import annotations

import lzma
import math
import os
import pickle
import struct
from collections.abc import Sequence
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ensure_ndarray_like

from zarrflow.core.partial_read import PartialDecoder
from zarrflow.errors import ChunkDecodeError, ChunkEncodeError, UnsafeCodecError

#: Environment switch that allows decoding Pickle-encoded arrays everywhere.
ALLOW_PICKLE_ENV = "ZARRFLOW_ALLOW_PICKLE"

#: The Blosc1 frame header: version, versionlz, flags, typesize, nbytes, blocksize, cbytes.
_BLOSC_HEADER = struct.Struct("<BBBBIII")

#: Codec ids whose decoding can run arbitrary code from the store.
UNSAFE_CODEC_IDS = frozenset({"pickle"})

#: Object codecs: they turn an object array into bytes (zarr's ``object_codec``).
OBJECT_CODEC_IDS = frozenset({"vlen-utf8", "vlen-bytes", "vlen-array", "json2", "json", "msgpack2", "msgpack", "pickle", "categorize"})


def is_object_codec(codec: Any) -> bool:
    """True for codecs that serialise Python objects (the ``object_codec`` kinds)."""
    return getattr(codec, "codec_id", None) in OBJECT_CODEC_IDS


class _TrustedPickleDecoder:
    """Decodes the Pickle codec's output for arrays whose caller opted in.

    numcodecs (>= 0.16) gates ``Pickle.decode`` behind a process-wide switch; flipping
    it for one array would open it for every thread. zarrflow's opt-in is per array,
    so the decode step (``pickle.loads`` of the buffer, as numcodecs does) runs here.
    """

    codec_id = "pickle"

    def decode(self, buf: Any, out: Any = None) -> Any:
        dec = pickle.loads(ensure_contiguous_ndarray(buf))
        if out is not None:
            np.copyto(out, dec)
            return out
        return dec


def _decoder_for(codec: Codec | None, allow_pickle: bool) -> Any:
    """The object that decodes what ``codec`` encodes.

    Two cases differ from the codec itself: numcodecs' LZMA cannot decode its own
    output when it has ``filters`` and a container format (.xz/.lzma), as Python's lzma
    only takes filters for raw streams, but the container records the filter chain so
    an LZMA without filters decodes it; and Pickle, for arrays opted in to unpickling.
    """
    codec_id = getattr(codec, "codec_id", None)
    if codec_id == "lzma" and codec.filters and codec.format != lzma.FORMAT_RAW:
        return numcodecs.LZMA(format=codec.format, check=codec.check)
    if codec_id == "pickle" and allow_pickle:
        return _TrustedPickleDecoder()
    return codec


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
        self.filters = list(filters or [])
        self.allow_pickle = allow_pickle or pickle_allowed_by_env()
        self.decompressor = _decoder_for(compressor, self.allow_pickle)
        self.filter_decoders = [_decoder_for(f, self.allow_pickle) for f in self.filters]
        self.name = name
        self.nitems = math.prod(self.chunks)
        self.nbytes = self.nitems * self.dtype.itemsize
        codecs = self.filters + ([compressor] if compressor is not None else [])
        self.unsafe_ids = sorted({c.codec_id for c in codecs if c.codec_id in UNSAFE_CODEC_IDS})
        # Decoding straight into the caller's buffer needs a plain byte pipeline whose
        # decoded size can be checked first: Blosc (its header) or no compressor.
        self.can_decode_into = (not self.filters and self.dtype != object
                                and getattr(compressor, "codec_id", "blosc") == "blosc")
        # numcodecs.blosc.decompress itself for numcodecs' own Blosc codec (not a subclass)
        self._blosc_decompress = (numcodecs.blosc.decompress
                                  if type(compressor) is numcodecs.Blosc and self.can_decode_into else None)
        #: reads only the blocks a small selection needs (None: chunks decode whole)
        self.partial_decoder = PartialDecoder.for_codec(self)

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
        arr = ensure_ndarray_like(buf).reshape(-1, order="A")
        return memoryview(arr.view(np.uint8))  # via uint8: datetime arrays export no buffer

    # --- decoding --------------------------------------------------------------------

    def _check_safe(self, key: str) -> None:
        if self.unsafe_ids and not self.allow_pickle:
            raise UnsafeCodecError(
                f"refusing to decode chunk {key!r} of {self.name}: its codecs {self.unsafe_ids} "
                "unpickle data from the store, which can run arbitrary code. Open the array with "
                f"allow_pickle=True, or set {ALLOW_PICKLE_ENV}=1, if you trust this store."
            )

    def _check_blosc_header(self, cdata: Any, key: str, expected_nbytes: int | None) -> None:
        """Blosc can return garbage for a truncated buffer; its header says how long the
        buffer must be and how many bytes it decodes to."""
        view = cdata if type(cdata) is bytes else memoryview(cdata).cast("B")
        size = len(view)
        if size < _BLOSC_HEADER.size:
            raise ChunkDecodeError(
                f"chunk {key!r} of {self.name} is {size} bytes, shorter than a Blosc header: truncated"
            )
        _, _, _, _, nbytes, _, cbytes = _BLOSC_HEADER.unpack_from(view)
        if cbytes != size:
            raise ChunkDecodeError(
                f"chunk {key!r} of {self.name} is {size} bytes but its Blosc header says {cbytes}: "
                "the chunk is truncated or corrupted"
            )
        if expected_nbytes is not None and nbytes != expected_nbytes:
            raise ChunkDecodeError(
                f"chunk {key!r} of {self.name} decodes to {nbytes} bytes, expected {expected_nbytes}; "
                "the chunk is corrupted or was written with other metadata"
            )

    def decode(self, cdata: Any, key: str = "", shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Decode stored bytes into a new ndarray of the full chunk shape."""
        if shape is None and self.can_decode_into:
            # plain pipeline: decode once, straight into a fresh array of the chunk shape
            out = np.empty(self.chunks, dtype=self.dtype, order=self.order)
            self.decode_into(cdata, out, key)
            return out
        self._check_safe(key)
        expected = shape or self.chunks
        n_expected = self.nitems if shape is None else math.prod(expected)
        try:
            if getattr(self.decompressor, "codec_id", None) == "blosc":
                self._check_blosc_header(cdata, key, None)
            buf: Any = self.decompressor.decode(cdata) if self.decompressor is not None else cdata
            for f in reversed(self.filter_decoders):
                buf = f.decode(buf)
            arr = ensure_ndarray_like(buf)
            if self.dtype != object:
                if arr.dtype != self.dtype:
                    arr = arr.reshape(-1, order="A").view(self.dtype)
            elif arr.dtype != object:
                raise ChunkDecodeError(
                    f"cannot decode chunk {key!r} of {self.name}: object arrays need an object codec filter"
                )
        except ChunkDecodeError:
            raise
        except Exception as exc:
            raise ChunkDecodeError(f"cannot decode chunk {key!r} of {self.name}: {exc}") from exc
        if arr.size != n_expected:
            raise ChunkDecodeError(
                f"chunk {key!r} of {self.name} decoded to {arr.size} items, expected {n_expected} "
                f"(chunk shape {expected}); the chunk is corrupted or was written with other metadata"
            )
        arr = arr.reshape(-1, order="A")
        return arr.reshape(expected, order=self.order)

    def decode_into(self, cdata: Any, out: np.ndarray, key: str = "") -> None:
        """Decode straight into ``out``, which must be contiguous in the array's order,
        of the full chunk shape and dtype (checked by the caller). Only for pipelines
        with ``can_decode_into``: the decoded size is checked before writing."""
        self._check_safe(key)
        flat = out.reshape(-1, order="A")
        if self.compressor is not None:
            self._check_blosc_header(cdata, key, flat.nbytes)
        try:
            if self._blosc_decompress is not None:
                # numcodecs' own call without Blosc.decode's buffer re-checks (done above)
                self._blosc_decompress(cdata, flat)
            elif self.compressor is not None:
                self.decompressor.decode(cdata, out=flat)
            else:
                src = np.frombuffer(cdata, dtype=np.uint8)
                if src.size != flat.nbytes:
                    raise ValueError(f"{src.size} bytes stored, {flat.nbytes} expected")
                flat.view(np.uint8)[...] = src
        except Exception as exc:
            raise ChunkDecodeError(f"cannot decode chunk {key!r} of {self.name}: {exc}") from exc

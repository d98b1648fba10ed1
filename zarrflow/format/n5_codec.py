"""The N5 block codec: an N5 block header and big-endian data, compressed as a whole.

Arrays shown through an N5 store name this codec (id ``'n5_wrapper'``, wrapping the
real compressor) as their compressor, so the engine's ordinary codec pipeline reads
and writes N5 blocks, as zarr-python 2.x does. ``format.codec_config.get_codec``
knows it by id; nothing registers it in numcodecs as an import side effect.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import (
    ensure_bytes,
    ensure_contiguous_ndarray,
    ensure_ndarray_like,
    ndarray_copy,
)

__all__ = ["N5ChunkWrapper"]

_BLOSC_HEADER = struct.Struct("<BBBBIII")


class N5ChunkWrapper(Codec):
    """Encodes a chunk as an N5 block: header, big-endian data, compressed by ``compressor``.

    Decoding accepts blocks smaller than ``chunk_shape`` (N5 truncates edge blocks)
    and pads them with zeros, N5's only fill value; anything inconsistent (short
    header, wrong rank, a block larger than the chunk, a payload of the wrong size)
    raises ValueError, which the array reports as a ChunkDecodeError naming the key.
    """

    codec_id = "n5_wrapper"

    def __init__(
        self,
        dtype: Any,
        chunk_shape: Iterable[int],
        compressor_config: Mapping[str, Any] | None = None,
        compressor: Codec | None = None,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.chunk_shape = tuple(int(c) for c in chunk_shape)
        if compressor is not None:
            if compressor_config is not None:
                raise ValueError("give compressor_config or compressor, not both")
            compressor_config = compressor.get_config()
        if compressor_config is None or compressor_config.get("id") == "raw":
            self._compressor: Codec | None = None
            self.compressor_config: dict[str, Any] | None = None
        else:
            self._compressor = numcodecs.get_codec(dict(compressor_config))
            self.compressor_config = self._compressor.get_config()
        self._big = self.dtype.newbyteorder(">")
        self._nitems = math.prod(self.chunk_shape)

    @property
    def compressor(self) -> Codec | None:
        """The wrapped numcodecs compressor (None for N5 'raw')."""
        return self._compressor

    def get_config(self) -> dict[str, Any]:
        return {
            "id": self.codec_id,
            "compressor_config": self.compressor_config,
            "dtype": self.dtype.str,
            "chunk_shape": list(self.chunk_shape),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dtype={self.dtype.str!r}, chunk_shape={self.chunk_shape}, "
            f"compressor={self._compressor!r})"
        )

    def _header(self, shape: tuple[int, ...] | None = None) -> bytes:
        ndim = len(self.chunk_shape)
        return struct.pack(f">HH{ndim}I", 0, ndim, *(shape or self.chunk_shape)[::-1])

    def encode(self, buf: Any) -> bytes:
        """Encode a whole block, or - given an array of the block's rank and at most
        its shape - a truncated edge block as other N5 writers store them (the header
        then carries that shape; decoding pads it with zeros to the block shape)."""
        arr = ensure_ndarray_like(buf)
        shape = None
        if (arr.dtype == self.dtype and arr.ndim == len(self.chunk_shape) and arr.shape != self.chunk_shape
                and all(s <= c for s, c in zip(arr.shape, self.chunk_shape))):
            shape = tuple(arr.shape)
        elif arr.dtype != self.dtype:
            arr = ensure_contiguous_ndarray(arr).reshape(-1).view(self.dtype)
        if shape is None and arr.size != self._nitems:
            raise ValueError(
                f"chunk has {arr.size} items, an N5 block of shape {self.chunk_shape} holds {self._nitems}"
            )
        data = np.ascontiguousarray(arr).reshape(-1).astype(self._big, copy=False)
        if self._compressor is None:
            return self._header(shape) + data.tobytes()
        return self._header(shape) + ensure_bytes(self._compressor.encode(data))

    def _parse_header(self, view: memoryview) -> tuple[tuple[int, ...], int]:
        size = view.nbytes
        if size < 4:
            raise ValueError(f"N5 block is {size} bytes, shorter than the 4-byte block header")
        mode, ndim = struct.unpack_from(">HH", view)
        if mode not in (0, 1):
            raise ValueError(f"N5 block header has mode {mode}; only 0 (default) and 1 (varlength) are supported")
        if ndim != len(self.chunk_shape):
            raise ValueError(
                f"N5 block header declares {ndim} dimensions, the array has {len(self.chunk_shape)}"
            )
        header_len = 4 + 4 * ndim + (4 if mode == 1 else 0)
        if size < header_len:
            raise ValueError(f"N5 block is {size} bytes, shorter than its {header_len}-byte header")
        shape = struct.unpack_from(f">{ndim}I", view, 4)[::-1]
        if any(s > c for s, c in zip(shape, self.chunk_shape)):
            raise ValueError(f"N5 block header declares shape {shape}, larger than the chunk shape {self.chunk_shape}")
        if mode == 1:
            (count,) = struct.unpack_from(">I", view, 4 + 4 * ndim)
            if count != math.prod(shape):
                raise ValueError(f"N5 varlength block holds {count} elements, its shape {shape} needs {math.prod(shape)}")
        return shape, header_len

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        view = memoryview(ensure_contiguous_ndarray(buf)).cast("B")
        shape, header_len = self._parse_header(view)
        payload = view[header_len:]
        expected = math.prod(shape) * self.dtype.itemsize
        if self._compressor is None:
            raw: Any = payload
        else:
            if self._compressor.codec_id == "blosc":
                if payload.nbytes < _BLOSC_HEADER.size or _BLOSC_HEADER.unpack_from(payload)[6] != payload.nbytes:
                    raise ValueError(f"N5 block payload of {payload.nbytes} bytes is not a complete Blosc frame")
            raw = self._compressor.decode(payload)
        data = ensure_contiguous_ndarray(raw).reshape(-1).view(np.uint8)
        if data.nbytes != expected:
            raise ValueError(
                f"N5 block data is {data.nbytes} bytes, its header (shape {shape}, {self.dtype.name}) needs {expected}"
            )
        arr = data.view(self._big).reshape(shape).astype(self.dtype)
        if shape != self.chunk_shape:  # a truncated edge block: pad with N5's fill value, 0
            full = np.zeros(self.chunk_shape, dtype=self.dtype)
            full[tuple(slice(0, s) for s in shape)] = arr
            arr = full
        if out is not None:
            return ndarray_copy(arr, out)
        return arr

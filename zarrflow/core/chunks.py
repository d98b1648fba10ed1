"""Chunk-grid arithmetic: normalising ``chunks=``, guessing a chunk shape, chunk keys.

Pure functions of shapes and tuples; nothing here touches a store.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from typing import Any

import numpy as np

CHUNK_BASE = 256 * 1024  # multiplier by which guessed chunks are adjusted
CHUNK_MIN = 128 * 1024  # soft lower limit of a guessed chunk (bytes)
CHUNK_MAX = 64 * 1024 * 1024  # hard upper limit of a guessed chunk (bytes)


def normalize_shape(shape: Any) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative ints (an int means a 1-d shape)."""
    if shape is None:
        raise TypeError("shape is None; an array needs a shape")
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    try:
        items = tuple(shape)
    except TypeError as exc:
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}") from exc
    if not all(isinstance(s, numbers.Integral) for s in items):
        # zarr 2 warns, then takes whole floats such as 1.0 as their int
        warnings.warn("shape contains non-integer value(s)", UserWarning, stacklevel=2)
    out = []
    for s in items:
        try:
            n = int(s)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"shape must hold non-negative ints, got {shape!r}") from exc
        if n != s or n < 0:
            raise ValueError(f"shape must hold non-negative ints, got {shape!r}")
        out.append(n)
    return tuple(out)


def guess_chunks(shape: tuple[int, ...], typesize: int) -> tuple[int, ...]:
    """Guess a chunk shape of roughly 128 KiB..64 MiB for ``shape`` (zarr 2's heuristic).

    Halves the axes in turn, first to last, until the chunk is near a target size that
    grows with the array's size. ``(10000, 10000)`` int32 gives ``(625, 625)``.
    """
    ndims = len(shape)
    if ndims == 0:
        return ()
    chunks = np.maximum(np.array(shape, dtype="=f8"), 1)
    dset_size = np.prod(chunks) * typesize
    target_size = CHUNK_BASE * (2 ** np.log10(dset_size / (1024.0 * 1024)))
    target_size = min(max(target_size, CHUNK_MIN), CHUNK_MAX)
    idx = 0
    while True:
        chunk_bytes = np.prod(chunks) * typesize
        near_target = chunk_bytes < target_size or abs(chunk_bytes - target_size) / target_size < 0.5
        if near_target and chunk_bytes < CHUNK_MAX:
            break
        if np.prod(chunks) == 1:
            break  # one element is already larger than CHUNK_MAX
        chunks[idx % ndims] = math.ceil(chunks[idx % ndims] / 2.0)
        idx += 1
    return tuple(int(x) for x in chunks)


def normalize_chunks(chunks: Any, shape: tuple[int, ...], typesize: int) -> tuple[int, ...]:
    """Resolve the ``chunks=`` argument against ``shape``.

    ``True``/``None`` guess; ``False`` means one chunk; an int applies to every axis;
    a shorter tuple is padded with the full extent; ``None``/``-1`` in a position means
    the full extent of that axis. Every chunk length must end up >= 1.
    """
    if chunks is None or chunks is True:
        return guess_chunks(shape, typesize)
    if chunks is False:
        return tuple(max(s, 1) for s in shape)
    if isinstance(chunks, numbers.Integral):
        chunks = tuple(int(chunks) for _ in shape)
    try:
        chunks = tuple(chunks)
    except TypeError as exc:
        raise TypeError(f"chunks must be an int, a tuple, True, False or None, got {chunks!r}") from exc
    if len(chunks) > len(shape):
        raise ValueError(f"too many dimensions in chunks {chunks!r} for shape {shape!r}")
    if len(chunks) < len(shape):
        chunks = chunks + tuple(shape[len(chunks):])
    out = []
    for s, c in zip(shape, chunks):
        if c is None or (isinstance(c, numbers.Integral) and c == -1):
            out.append(max(int(s), 1))
        elif (isinstance(c, numbers.Integral) and not isinstance(c, bool)) or (
                isinstance(c, float) and c.is_integer()):  # zarr 2 takes a whole float (1.0) as its int
            c = int(c)
            if c < 1:
                raise ValueError(f"chunk lengths must be >= 1 (or -1/None for the full axis), got {chunks!r}")
            out.append(int(c))
        else:
            raise TypeError(f"chunk lengths must be ints, -1 or None, got {chunks!r}")
    return tuple(out)


def grid_shape(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Number of chunks along each axis (``cdata_shape`` in zarr)."""
    return tuple(math.ceil(s / c) for s, c in zip(shape, chunks))


def chunk_key(coords: tuple[int, ...], separator: str = ".") -> str:
    """The store key suffix of the chunk at grid ``coords`` ('0' for a 0-d array)."""
    if not coords:
        return "0"
    return separator.join(map(str, coords))


def chunk_key_pattern(ndim: int, separator: str) -> re.Pattern[str]:
    """A regex matching exactly the chunk keys of an ``ndim``-dimensional array."""
    sep = re.escape(separator)
    n = max(ndim, 1)
    return re.compile(r"^\d+" + (sep + r"\d+") * (n - 1) + r"$")








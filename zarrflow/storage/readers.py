"""Reading byte ranges of one stored value.

Decoding part of a chunk (a few Blosc blocks, a slice of an uncompressed chunk)
needs only some of its bytes. :func:`open_reader` gives a :class:`RangeReader` over
one value: a file store reads ranges with ``pread`` on one open file, so every
range comes from the same version of the value even while a writer replaces it
(writers rename a new file into place); any other mapping reads the whole value
once and slices it, which still saves the decoding of what is not wanted.
"""

from __future__ import annotations

import functools
import os
import stat
from typing import Any, Protocol

__all__ = ["RangeReader", "BytesReader", "FileReader", "open_reader"]


class RangeReader(Protocol):
    """Byte ranges of one stored value; ``size`` is its length in bytes."""

    size: int

    def read(self, start: int, stop: int) -> bytes | memoryview:
        """The bytes ``[start, stop)`` (clipped to the value's end)."""
        ...

    def close(self) -> None:
        """Release what the reader holds (an open file)."""
        ...


class BytesReader:
    """Ranges of a value already in memory (no copy of the value is made)."""

    def __init__(self, value: Any) -> None:
        self._view = memoryview(value).cast("B")
        self.size = self._view.nbytes

    def read(self, start: int, stop: int) -> memoryview:
        """A view of the bytes ``[start, stop)``."""
        return self._view[start:stop]

    def close(self) -> None:
        """Nothing to release."""


class FileReader:
    """Ranges of one file, read with ``pread`` on a descriptor opened once."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            st = os.fstat(self._fd)
            if stat.S_ISDIR(st.st_mode):  # POSIX opens directories read-only
                raise IsADirectoryError(path)
        except OSError:
            os.close(self._fd)
            raise
        self.size = st.st_size

    def read(self, start: int, stop: int) -> bytes:
        """The bytes ``[start, stop)``; a short read (the file shrank) returns fewer."""
        n = max(0, min(stop, self.size) - start)
        data = os.pread(self._fd, n, start)
        while len(data) < n:  # pread may return less than asked for
            more = os.pread(self._fd, n - len(data), start + len(data))
            if not more:
                break
            data += more
        return data

    def read_at(self, start: int, stop: int) -> bytes:
        """The bytes ``[start, stop)`` in one ``pread``, which may return fewer (at the
        end, or a short read): for callers that check lengths and read many small
        ranges, where :meth:`read`'s retry loop costs more than it saves."""
        return os.pread(self._fd, max(0, stop - start), start)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_reader(store: Any, key: str) -> RangeReader:
    """A reader over the value at ``key``: the store's own ``open_reader`` when it has
    one, else the whole value read once. KeyError when the key is missing."""
    if _reads_like_getitem(type(store)):
        return store.open_reader(key)
    return BytesReader(store[key])


@functools.lru_cache(maxsize=256)
def _reads_like_getitem(cls: type) -> bool:
    """True when ``cls`` has an ``open_reader`` defined with (or below) its
    ``__getitem__``: a subclass that changes how values are read (e.g. N5's chunk
    headers) and not ``open_reader`` must not have its files read raw."""
    opener_owner = next((c for c in cls.__mro__ if "open_reader" in vars(c)), None)
    if opener_owner is None:
        return False
    getter_owner = next(c for c in cls.__mro__ if "__getitem__" in vars(c))
    return issubclass(opener_owner, getter_owner)

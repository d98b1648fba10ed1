"""Every exception zarrflow raises, in one leaf module.

The classes keep zarr-python 2.x names and base classes where zarr has one, so that
``except ValueError`` / ``except KeyError`` code written for zarr keeps working, and
each also derives from :class:`ZarrflowError` so callers can catch ours alone.
Messages name what is wrong: the key, the shape, the value.
"""

from __future__ import annotations


class ZarrflowError(Exception):
    """Base class of every zarrflow-specific error."""


# --- metadata and format -------------------------------------------------------------


class MetadataError(ZarrflowError, ValueError):
    """A metadata document (``.zarray``, ``.zgroup``, ``.zattrs``, ``.zmetadata``) is
    malformed, or a value in it is not valid Zarr v2."""


class ConsolidatedMetadataStaleError(MetadataError):
    """Consolidated metadata no longer match the metadata documents in the store."""

    def __init__(self, metadata_key: str, differences: list):
        self.metadata_key = metadata_key
        self.differences = differences
        shown = "; ".join(str(d) for d in differences[:5])
        more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        super().__init__(
            f"consolidated metadata {metadata_key!r} are stale: {len(differences)} document(s) differ "
            f"from the store ({shown}{more}); call consolidate_metadata() again"
        )


class N5DataTypeError(MetadataError, TypeError):
    """N5 cannot store this data type (structured, string, object, datetime): a
    TypeError too, as zarr 2's N5Store raises."""


class UnknownCodecError(MetadataError):
    """A codec id in metadata, or a codec config, is not known to numcodecs."""


class UnsafeCodecError(ZarrflowError, PermissionError):
    """Decoding would run code from the store (the Pickle codec) and the caller did
    not opt in with ``allow_pickle=True`` or ``ZARRFLOW_ALLOW_PICKLE=1``."""


class ChunkDecodeError(ZarrflowError, ValueError):
    """A stored chunk could not be decoded (corrupted, truncated, wrong codec)."""


class ChunkEncodeError(ZarrflowError, ValueError):
    """A chunk could not be encoded with the array's codecs."""


# --- hierarchy -------------------------------------------------------------------------


class ContainsArrayError(ZarrflowError, ValueError):
    """An array already exists at this path."""

    def __init__(self, path: str):
        super().__init__(f"path {path!r} contains an array")


class ContainsGroupError(ZarrflowError, ValueError):
    """A group already exists at this path."""

    def __init__(self, path: str):
        super().__init__(f"path {path!r} contains a group")


class ArrayNotFoundError(ZarrflowError, ValueError):
    """No array at this path."""

    def __init__(self, path: str):
        super().__init__(f"array not found at path {path!r}")


class GroupNotFoundError(ZarrflowError, ValueError):
    """No group at this path."""

    def __init__(self, path: str):
        super().__init__(f"group not found at path {path!r}")


class PathNotFoundError(ZarrflowError, ValueError):
    """Nothing (no array, no group) at this path."""

    def __init__(self, path: str):
        super().__init__(f"nothing found at path {path!r}")


class ReadOnlyError(ZarrflowError, PermissionError):
    """A write was attempted on something opened read-only."""


class CopyError(ZarrflowError, RuntimeError):
    """A copy could not proceed (for example the destination exists)."""


# --- indexing --------------------------------------------------------------------------


class ArrayIndexError(ZarrflowError, IndexError):
    """A selection is malformed for this array."""


class BoundsCheckError(ArrayIndexError):
    """An index lies outside the array's extent."""

    def __init__(self, dim_len: int, index: object = None, axis: int | None = None):
        where = f" along axis {axis}" if axis is not None else ""
        what = f"index {index} " if index is not None else "index "
        super().__init__(f"{what}out of bounds for dimension of length {dim_len}{where}")


class NegativeStepError(ArrayIndexError):
    """Slices with a negative step are not supported."""

    def __init__(self) -> None:
        super().__init__("only slices with step >= 1 are supported")


class VindexInvalidSelectionError(ArrayIndexError):
    """``vindex`` was given something other than integer arrays or one Boolean mask."""

    def __init__(self, selection: object):
        super().__init__(
            "unsupported selection type for vectorized indexing; only "
            "coordinate selection (tuple of integer arrays) and mask selection "
            f"(single Boolean array) are supported; got {selection!r}"
        )


# --- stores ----------------------------------------------------------------------------


class StoreError(ZarrflowError, OSError):
    """A storage backend failed; the backend's exception is kept as ``__cause__``."""


class InvalidKeyError(ZarrflowError, ValueError):
    """A store key is not allowed (``..`` segments, absolute paths, empty segments)."""


class FSPathExistNotDir(ZarrflowError, NotADirectoryError, ValueError):
    """A filesystem path exists but is not a directory (a ValueError too, as in zarr 2)."""


class StoreNotSupportedError(StoreError, NotImplementedError):
    """The backend cannot do this at all (e.g. a filesystem that cannot list): a
    NotImplementedError too, as zarr 2 lets the backend's one through."""


class KeyBlockedError(StoreError, KeyError):
    """A key cannot be written because a shorter key on its path holds a value (a file
    where a directory would have to be): a KeyError, as zarr 2's hierarchical stores
    raise, and a StoreError naming both keys. Nothing is written."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


class BadCompressorError(ZarrflowError, ValueError):
    """The compressor given is not a numcodecs codec."""


# --- concurrency -----------------------------------------------------------------------


class SynchronizerError(ZarrflowError, RuntimeError):
    """A synchronizer cannot provide working locks here."""


class RechunkPlanError(ZarrflowError, ValueError):
    """A rechunk cannot be planned as asked (the message says what to change)."""


class PipelineError(ZarrflowError, ValueError):
    """A pipeline file is invalid; ``path`` is the YAML path and ``line`` its line
    (1-based) when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class LeaseHeldError(ZarrflowError, RuntimeError):
    """Another run holds the lease on an output (and it has not expired)."""


class MisalignedWriteError(ZarrflowError, ValueError):
    """Blocks of a parallel write would share target chunks and nothing may arbitrate
    (no regrouping allowed, no synchronizer): refused rather than racing."""


def err_too_many_indices(selection: object, shape: tuple[int, ...]) -> ArrayIndexError:
    """The error raised when a selection has more items than the array has axes."""
    return ArrayIndexError(f"too many indices for array; expected {len(shape)}, got {selection!r}")

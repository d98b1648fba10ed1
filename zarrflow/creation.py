"""zarr 2's ``zarr.creation``: creating and opening arrays (re-exported from the engine)."""

from zarrflow.core.creation import (
    array,
    create,
    empty,
    empty_like,
    full,
    full_like,
    ones,
    ones_like,
    open_array,
    open_like,
    zeros,
    zeros_like,
)

__all__ = ["array", "create", "empty", "empty_like", "full", "full_like", "ones", "ones_like",
           "open_array", "open_like", "zeros", "zeros_like"]

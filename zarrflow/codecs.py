"""zarr 2's ``zarr.codecs``: numcodecs' codecs, re-exported (as zarr 2 does)."""

from numcodecs import *  # noqa: F403 - zarr 2 re-exports all of numcodecs
from numcodecs import AsType, Blosc, BZ2, Delta, Pickle, Zlib, Zstd, get_codec  # noqa: F401
from numcodecs.abc import Codec  # noqa: F401
from numcodecs.registry import codec_registry  # noqa: F401

"""zarr 2's ``zarr.codecs``: numcodecs' codecs, re-exported (as zarr 2 does)."""

from numcodecs import *  # noqa: F403 - zarr 2 re-exports all of numcodecs
from numcodecs import BZ2, AsType, Blosc, Delta, Pickle, Zlib, Zstd, get_codec  # noqa: F401
from numcodecs.abc import Codec  # noqa: F401
from numcodecs.registry import codec_registry  # noqa: F401

"""N5FSStore: zarr 2's fsspec-addressed N5 store, for local filesystems.

zarr 2's ``N5FSStore(url, **storage_options)`` reads and writes an N5 container
through fsspec. zarrflow's N5 translation (:class:`N5Store`) works on local
directories, so ``N5FSStore`` accepts a local path or a ``file://`` URL and is an
:class:`N5Store` there; any other fsspec protocol raises NotImplementedError naming
it (N5 over remote filesystems is not implemented yet).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import fsspec

from zarrflow.storage.n5 import N5Store

__all__ = ["N5FSStore"]


def _rebuild(url: str, normalize_keys: bool, mode: str, storage_options: dict[str, Any]) -> N5FSStore:
    """Unpickle an N5FSStore (see ``N5FSStore.__reduce__``)."""
    return N5FSStore(url, normalize_keys=normalize_keys, mode=mode, **storage_options)


class N5FSStore(N5Store):
    """An N5 container at the local ``url`` (a path or ``file://`` URL).

    ``normalize_keys``, ``mode`` (``'r'`` is read-only) and ``dimension_separator`` /
    ``key_separator`` (only ``'.'`` or None: chunk keys are N5's nested, reversed
    block paths on disk) are as zarr 2's. ``storage_options`` are accepted for local
    filesystems (``auto_mkdir`` and the like have no effect: directories are always
    created as needed). ``durable=True`` (also accepted in ``storage_options``)
    fsyncs every block, as :class:`N5Store`'s.
    """

    def __init__(self, url: str | os.PathLike[str], normalize_keys: bool = False, key_separator: str | None = None,
                 mode: str = "w", dimension_separator: str | None = None, **storage_options: Any) -> None:
        url = os.fspath(url)
        protocol, path = fsspec.core.split_protocol(url)
        if "::" in url or protocol not in (None, "file", "local"):
            raise NotImplementedError(
                f"N5FSStore({url!r}): N5 containers are supported on local filesystems only "
                f"(protocol {protocol!r} is not)"
            )
        if dimension_separator is not None:
            warnings.warn("Keyword argument `dimension_separator` will be ignored", UserWarning, stacklevel=2)
            dimension_separator = None
        if key_separator is not None:
            dimension_separator = key_separator
        if dimension_separator == "/":
            dimension_separator = "."  # zarr 2 accepts '/', and stores N5's nested paths either way
        self.mode = mode
        self.storage_options = dict(storage_options)
        super().__init__(path, normalize_keys=normalize_keys, dimension_separator=dimension_separator,
                         read_only=mode == "r", durable=bool(self.storage_options.get("durable", False)))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the path, key normalisation, mode and options."""
        return (_rebuild, (self.path, self.normalize_keys, self.mode, self.storage_options))

    @property
    def fs(self) -> Any:
        """The local fsspec filesystem this store's files live on."""
        return fsspec.filesystem("file")

    @property
    def key_separator(self) -> str:
        """The chunk-key separator of arrays here ('.')."""
        return "."

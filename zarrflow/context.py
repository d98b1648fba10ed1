"""zarr 2's ``zarr.context``: the per-key ``Context`` of ``Store.getitems(keys, contexts=...)``."""

from zarrflow.storage.base import Context

__all__ = ["Context"]

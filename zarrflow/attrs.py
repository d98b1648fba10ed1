"""zarr 2's ``zarr.attrs``: user attributes (re-exported from the engine)."""

from zarrflow.core.attrs import Attributes

__all__ = ["Attributes"]

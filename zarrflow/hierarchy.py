"""zarr 2's ``zarr.hierarchy``: groups (re-exported from the engine)."""

from zarrflow.core.hierarchy import Group, group, open_group

__all__ = ["Group", "group", "open_group"]

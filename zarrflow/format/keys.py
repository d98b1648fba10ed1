"""Store key names of the Zarr v2 metadata documents (the one place that spells them)."""

#: The only metadata format version zarrflow reads and writes.
ZARR_FORMAT = 2
#: Store key (suffix) of array metadata.
ARRAY_META_KEY = ".zarray"
#: Store key (suffix) of group metadata.
GROUP_META_KEY = ".zgroup"
#: Store key (suffix) of user attributes.
ATTRS_KEY = ".zattrs"
#: Store key of consolidated metadata.
CONSOLIDATED_KEY = ".zmetadata"
#: Every metadata document name: the suffixes above.
METADATA_KEYS = frozenset({ARRAY_META_KEY, GROUP_META_KEY, ATTRS_KEY, CONSOLIDATED_KEY})


def is_metadata_key(key: str) -> bool:
    """True when the last component of ``key`` names a metadata document."""
    return key.rpartition("/")[2] in METADATA_KEYS

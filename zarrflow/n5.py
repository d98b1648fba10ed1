"""zarr 2's ``zarr.n5``: N5 containers (re-exported from the storage engine)."""

from zarrflow.storage.n5 import N5_FORMAT, N5ChunkWrapper, N5Store
from zarrflow.storage.n5fs import N5FSStore

__all__ = ["N5ChunkWrapper", "N5FSStore", "N5Store", "N5_FORMAT", "n5_attrs_key", "n5_keywords",
           "zarr_to_n5_keys"]

#: The one metadata file of an N5 node.
n5_attrs_key = "attributes.json"
#: The N5 fields of ``attributes.json`` (the rest are user attributes).
n5_keywords = ["n5", "dataType", "dimensions", "blockSize", "compression"]
#: The Zarr metadata keys an N5 store shows as views of ``attributes.json``.
zarr_to_n5_keys = [(".zgroup", "attributes.json"), (".zarray", "attributes.json"), (".zattrs", "attributes.json")]

"""What of zarr-python 2.18's own test suite is not run against zarrflow, and why.

This one file lists:

- ``STUB_MODULES`` / ``STUB_ATTRS``: zarr 2 internals (private modules, the
  experimental v3 API) that the test files import at their top. The harness provides
  stand-ins so the files import; every test that would *use* one is in ``EXCLUDED``
  (or is skipped by the suite itself, e.g. ``v3_api_available`` is False).
- ``EXCLUDED``: tests deselected because they exercise zarr 2 internals, not its public
  behaviour. Keys are regular expressions searched in the node id relative to
  ``zarr/tests/`` (``test_core.py::TestArray::test_x[param]``).
- ``DIFFERENCES``: tests that run but are expected to fail, each a deliberate
  difference between zarrflow and zarr 2 with the reason (run as non-strict xfail, so a
  difference that starts passing shows up as XPASS in the report).
"""

from __future__ import annotations

from typing import Any

from zarrflow.storage import Store

V3 = "zarr 2's experimental Zarr v3 API (zarrflow implements Zarr v2 only)"

_V3_STORES = [
    "ABSStoreV3", "ConsolidatedMetadataStoreV3", "DBMStoreV3", "DirectoryStoreV3", "FSStoreV3", "KVStoreV3",
    "LMDBStoreV3", "LRUStoreCacheV3", "MemoryStoreV3", "MongoDBStoreV3", "RedisStoreV3", "RmdirV3",
    "SQLiteStoreV3", "StoreV3", "ZipStoreV3",
]


def _no_v3(*args: Any, **kwargs: Any) -> None:
    raise NotImplementedError(V3)


def _metadata_suffix(store: Any) -> str:
    return ".json"


STUB_MODULES: dict[str, dict[str, Any]] = {
    "zarr._storage": {"reason": "zarr 2's private storage package"},
    "zarr._storage.store": {
        "reason": "zarr 2's private store base module (v3 switches and v3 key roots)",
        "values": {
            "v3_api_available": False,
            "BaseStore": Store,
            "DEFAULT_ZARR_VERSION": 2,
            "meta_root": "meta/root/",
            "data_root": "data/root/",
            "assert_zarr_v3_api_available": _no_v3,
            "_get_hierarchy_metadata": _no_v3,
            "_get_metadata_suffix": _metadata_suffix,
        },
        "classes": ["StorageTransformer"],
    },
    "zarr._storage.v3": {"reason": V3, "classes": [*_V3_STORES, "KVStore"], "values": {}},
    "zarr._storage.v3_storage_transformers": {
        "reason": V3 + ": sharding storage transformer",
        "classes": ["ShardingStorageTransformer"],
        "values": {"v3_sharding_available": False},
    },
    "zarr.types": {
        "reason": "zarr 2's typing aliases (annotations only)",
        "values": {"DIMENSION_SEPARATOR": str, "ZARR_VERSION": int, "MEMORY_ORDER": str},
    },
    "zarr.meta_v1": {"reason": "the Zarr v1 format (zarrflow reads and writes v2 only)"},
}

STUB_ATTRS: dict[str, dict[str, tuple[Any, str]]] = {
    "zarr.storage": {
        "meta_root": ("meta/root/", V3 + ": v3 metadata key root"),
        "data_root": ("data/root/", V3 + ": v3 chunk key root"),
        "migrate_1to2": ("<placeholder>", "migration from the Zarr v1 format, which zarrflow does not read"),
    },
    "zarr.indexing": {
        "PartialChunkIterator": ("<placeholder>", "zarr 2's internal iterator of blosc partial reads"),
    },
    "zarr.meta": {
        "_v3_complex_types": ((), V3),
        "_v3_datetime_types": ((), V3),
        "_default_entry_point_metadata_v3": ({}, V3),
        "Metadata3": ("<placeholder>", V3),
        "get_extended_dtype_info": ("<placeholder>", V3 + ": extended dtypes"),
    },
    "zarr.util": {
        "tree_array_icon": ("table", "zarr 2's ipytree widget internals"),
        "tree_group_icon": ("folder", "zarr 2's ipytree widget internals"),
        "tree_get_icon": ("<placeholder>", "zarr 2's ipytree widget internals"),
        "tree_widget": ("<placeholder>", "zarr 2's ipytree widget internals"),
    },
}

_PICK = "private attribute the zarr 2 tests read to pick their Zarr v2 or v3 branch"

#: Private attributes of zarrflow classes that zarr 2's tests read directly; set on the
#: classes in the test subprocess only (``"module:Class"`` -> name -> (value, reason)).
STUB_CLASS_ATTRS: dict[str, dict[str, tuple[Any, str]]] = {
    "zarrflow.storage.base:Store": {
        "_store_version": (2, _PICK),
        "_metadata_class": (
            "<module zarrflow.meta>",
            "zarr 2's tests decode a store's documents through its private _metadata_class; "
            "zarrflow.meta has the same decode_*/encode_* functions",
        ),
    },
    "zarrflow.core.array:Array": {
        "_version": (2, _PICK),
    },
    "zarrflow.core.hierarchy:Group": {
        "_version": (2, _PICK),
    },
}

#: The suite runs with pickle decoding allowed: zarr 2 decodes the Pickle codec without
#: asking, zarrflow only after an explicit opt-in (ZARRFLOW_ALLOW_PICKLE), and numcodecs
#: 0.15 itself refuses Pickle.decode unless NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE is set
#: (zarr 2.18's suite needs that too with this numcodecs).
ENVIRONMENT = {"ZARRFLOW_ALLOW_PICKLE": "1", "NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE": "1"}

INFO = "exact text/HTML of zarr 2's InfoReporter and ipytree widget (zarrflow reports the same facts in its own layout)"

EXCLUDED: dict[str, str] = {
    r"^test_storage_v3\.py": V3,
    r"V3\b|V3::|V3\[": V3,
    r"^test_(attrs|sync)\.py::.*\[3\]$": V3 + " (the zarr_version=3 parametrization)",
    r"_v3\b|_v3\[|metadata3": V3,
    r"^test_indexing\.py::test_PartialChunkIterator": "zarr 2's private iterator of blosc partial reads",
    r"::test_ipython_repr_methods": INFO,
    r"^test_util\.py::test_tree_": INFO,
    r"^test_meta\.py::test_get_extended_dtype_info": V3 + ": extended dtypes",
    r"^test_storage\.py::test_migrate_1to2": "migration from the Zarr v1 format, which zarrflow does not read",
    r"::test_object_arrays_danger": "overwrites the private Array._filters to force an unencodable write",
    r"::test_bad_store_version": V3 + ": mixing v2 and v3 stores",
    r"^test_storage\.py::test_get_hierarchy_metadata_v2": "zarr 2's private _get_hierarchy_metadata (v3 root document)",
    r"^test_storage\.py::test_ensure_store$": (
        "zarr 2's private staticmethod Store._ensure_store, half of it checked against a v3 KVStoreV3"
    ),
}

_BYTES_ONLY = ("stores hold bytes: zarrflow's KVStore refuses a value that is not bytes-like (a list, None, "
               "an Array) with TypeError naming its type; zarr 2's KVStore keeps any Python object")
_NO_KEY_REWRITE = ("zarrflow never rewrites keys: a nested store keeps an array's chunks under the keys the "
                   "array names ('0/0'); zarr 2's nested stores also answer '0.0' for '0/0' and list chunks so")
_N5_LOCAL = "N5 containers are read and written on local filesystems only (N5FSStore over fsspec chains is not implemented)"

DIFFERENCES: dict[str, str] = {
    r"::test_array_2d_partial$": (
        "zarrflow broadcasts a value to the selection like numpy (z[2:3] = row of shape (10,) "
        "fills the (1, 10) selection); zarr 2 refuses any shape mismatch ('NumPy allows "
        "this, but we'll be strict for now', says its test)"
    ),
    r"^test_core\.py::TestArrayWith(Path|ChunkStore)::test_nbytes_stored$": _BYTES_ONLY,
    r"^test_core\.py::test_scalar_indexing$": _BYTES_ONLY + " (the test stores an Array object as a store value)",
    r"^test_storage\.py::test_getsize$": _BYTES_ONLY + " (the second half stores None and expects size -1)",
    r"^test_core\.py::TestArrayWithN5(FS)?Store::test_hexdigest$": (
        "zarr 2's N5Store presents the user attributes inside '.zarray' too, so its digests of arrays "
        "with attributes cover them twice; zarrflow presents '.zarray' and '.zattrs' separately"
    ),
    r"^test_core\.py::TestArrayWithN5(FS)?Store::test_attrs_n5_keywords$": (
        "an attribute named like an N5 field ('n5', 'dataType', ...) is refused with MetadataError and "
        "nothing is written; zarr 2 warns and silently drops it"
    ),
    r"^test_hierarchy\.py::TestGroupWithNestedFSStore::test_inconsistent_dimension_separator$": (
        "a store's dimension_separator is only the default of arrays created on it: zarrflow never "
        "rewrites keys, so an array with '.' keys on a nested store is stored as named; zarr 2 refuses"
    ),
    r"^test_meta\.py::test_encode_decode_array_(complex|datetime_timedelta)$": (
        "the test writes the dtype's character ('D', 'm') as the array's order; zarrflow refuses an "
        "order other than 'C'/'F' (MetadataError), zarr 2 does not check it"
    ),
    r"^test_meta\.py::test_encode_decode_array_dtype_shape$": (
        "zarr 2 encodes a subarray dtype as a 3-d shape with 1-d chunks, a document no reader accepts; "
        "zarrflow refuses the subarray dtype in a .zarray, naming the fix (creation still extends the shape)"
    ),
    r"^test_storage\.py::TestFSStore::test_dimension_separator$": (
        "an absolute key ('/.zarray') is refused with InvalidKeyError on every store; zarr 2's FSStore "
        "strips the '/'"
    ),
    r"^test_storage\.py::TestFSStore::test_complex$": (
        "fsspec 2026's simplecache keeps a cached copy of files written through it, which the test "
        "(written for older fsspec) says must not exist; zarrflow writes through fsspec as zarr 2 does"
    ),
    r"^test_storage\.py::TestNested(DirectoryStore|FSStore)::test_listdir$": _NO_KEY_REWRITE,
    r"^test_storage\.py::TestN5(FS)?Store::test_chunk_nesting$": (
        "zarrflow's N5Store translates chunk keys only inside N5 datasets, whose rank it knows; zarr 2 "
        "rewrites any key whose last part looks like a chunk key ('foo/10.20.30' outside any array)"
    ),
    r"^test_storage\.py::TestN5(FS)?Store::test_del_zarr_meta_key": (
        "deleting '.zattrs' of an N5 node removes only the user attributes from attributes.json, and "
        "'.zarray' where there is no array is a KeyError; zarr 2 deletes the whole attributes.json "
        "either way (with the group or array document in it)"
    ),
    r"^test_storage\.py::TestN5FSStore::test_complex$": _N5_LOCAL,
    r"^test_storage\.py::TestZipStore::test_permissions$": (
        "keys are normalised ('baz/' is the key 'baz'), so a ZipStore never writes a directory entry; "
        "zarr 2 writes 'baz/' as a zip directory"
    ),
    r"^test_storage\.py::TestConsolidatedMetadataStore::test_read_write$": (
        "consolidated metadata holds .zarray/.zgroup/.zattrs documents, which are JSON objects: other "
        "values are refused (MetadataError naming the key), and values are returned as the stored bytes; "
        "zarr 2 accepts any JSON value and returns it parsed"
    ),
}

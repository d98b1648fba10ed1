"""The zarr 2 module names exist under zarrflow and re-export the engine's objects."""

from __future__ import annotations

import importlib

import numcodecs
import pytest

import zarrflow
from zarrflow.core.array import Array
from zarrflow.storage import MemoryStore

MODULES = {
    "core": ["Array"],
    "storage": ["ABSStore", "ConsolidatedMetadataStore", "DBMStore", "DictStore", "DirectoryStore", "FSStore",
                "KVStore", "LMDBStore", "LRUStoreCache", "MemoryStore", "MongoDBStore", "N5FSStore",
                "NestedDirectoryStore", "RedisStore", "SQLiteStore", "TempStore", "ZipStore", "init_array",
                "init_group", "contains_array", "contains_group", "listdir", "rmdir", "rename", "getsize",
                "normalize_store_arg", "default_compressor", "array_meta_key", "group_meta_key", "attrs_key"],
    "hierarchy": ["Group", "group", "open_group"],
    "creation": ["create", "zeros", "open_array", "full_like"],
    "convenience": ["consolidate_metadata", "open_consolidated", "copy", "copy_all", "copy_store", "tree"],
    "n5": ["N5Store", "N5FSStore", "N5ChunkWrapper", "N5_FORMAT", "n5_attrs_key"],
    "sync": ["ThreadSynchronizer", "ProcessSynchronizer"],
    "attrs": ["Attributes"],
    "errors": ["ContainsArrayError", "ContainsGroupError", "CopyError", "MetadataError", "ReadOnlyError"],
    "codecs": ["Blosc", "Zlib", "Zstd", "Delta", "AsType", "BZ2", "Pickle", "get_codec"],
    "indexing": ["oindex", "oindex_set", "normalize_integer_selection", "replace_ellipsis"],
    "util": ["normalize_shape", "guess_chunks", "human_readable_size", "InfoReporter", "buffer_size"],
    "meta": ["json_loads", "decode_array_metadata", "encode_array_metadata", "ZARR_FORMAT"],
    "context": ["Context"],
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_exports(module: str) -> None:
    mod = importlib.import_module(f"zarrflow.{module}")
    missing = [n for n in MODULES[module] if not hasattr(mod, n)]
    assert not missing


def test_facades_are_the_engine_objects() -> None:
    assert zarrflow.core.Array is Array
    assert zarrflow.hierarchy.Group is zarrflow.Group
    assert zarrflow.Blosc is numcodecs.Blosc and zarrflow.Zlib is numcodecs.Zlib
    assert zarrflow.storage.init_array is zarrflow.core.store_init.init_array


def test_init_array_zarr2_signature_on_a_dict() -> None:
    store: dict = {}
    zarrflow.storage.init_array(store, shape=(10,), chunks=5, dtype="i4", path="a/b")
    assert {"a/.zgroup", "a/b/.zarray"} <= set(store)
    zarrflow.storage.init_group(store, path="g")
    assert "g/.zgroup" in store


def test_init_array_bad_input_writes_nothing() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="notacodec"):
        zarrflow.storage.init_array(store, shape=10, filters=["notacodec"], path="x")
    assert list(store) == []


def test_tempstore_is_a_fresh_directory() -> None:
    s = zarrflow.TempStore()
    s["a"] = b"1"
    assert s["a"] == b"1"
    assert zarrflow.TempStore().path != s.path


@pytest.mark.parametrize("cls", ["MongoDBStore"])
def test_untestable_stores_refuse_with_why(cls: str) -> None:
    with pytest.raises(NotImplementedError, match="not supported"):
        getattr(zarrflow.storage, cls)("anything")


def test_n5fsstore_local_and_refuses_remote(tmp_path) -> None:
    z = zarrflow.create(10, chunks=5, dtype="i4", store=zarrflow.N5FSStore(str(tmp_path / "d.n5")))
    z[:] = 3
    assert (tmp_path / "d.n5" / "attributes.json").exists()
    with pytest.raises(NotImplementedError, match="'memory'"):
        zarrflow.N5FSStore("memory://x.n5")


def test_oindex_matches_orthogonal_selection() -> None:
    import numpy as np

    a = np.arange(20).reshape(4, 5)
    z = zarrflow.array(a, chunks=2)
    sel = ([0, 2], slice(1, 4))
    assert (zarrflow.indexing.oindex(a, sel) == z.oindex[sel]).all()
    b = a.copy()
    zarrflow.indexing.oindex_set(b, (1, [0, 4]), 99)
    assert b[1, 0] == b[1, 4] == 99

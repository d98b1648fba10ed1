"""Consolidated metadata: ``consolidate_metadata``, ``open_consolidated``,
``check_consolidated`` and ``ConsolidatedMetadataStore``.

The ``.zmetadata`` document must be byte-identical to zarr 2.18's and readable by
zarr 2.18 and zarr 3.x; a deep hierarchy must open and be walked with one read of
the backing store; metadata opened this way are read-only while data writes work;
stale snapshots are reported, not silently served when asked to check.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter

import numpy as np
import pytest

import zarrflow
from tests.core.conftest import snapshot
from zarrflow.core.consolidated import (
    ConsolidatedMetadataStaleError,
    MetadataDifference,
)
from zarrflow.errors import MetadataError, ReadOnlyError
from zarrflow.storage import DirectoryStore, MemoryStore
from zarrflow.storage.base import Store


class CountingStore(Store):
    """Wraps a store and counts every call made to it, by method name."""

    def __init__(self, inner: Store):
        self.inner = inner
        self.calls: Counter = Counter()

    def _count(self, name):
        self.calls[name] += 1

    def __getitem__(self, key):
        self._count("__getitem__")
        return self.inner[key]

    def __setitem__(self, key, value):
        self._count("__setitem__")
        self.inner[key] = value

    def __delitem__(self, key):
        self._count("__delitem__")
        del self.inner[key]

    def __contains__(self, key):
        self._count("__contains__")
        return key in self.inner

    def __iter__(self):
        self._count("__iter__")
        return iter(self.inner)

    def __len__(self):
        self._count("__len__")
        return len(self.inner)

    def getitems(self, keys):
        self._count("getitems")
        return self.inner.getitems(keys)

    def setitems(self, items):
        self._count("setitems")
        self.inner.setitems(items)

    def listdir(self, path=""):
        self._count("listdir")
        return self.inner.listdir(path)

    def keys_under(self, path=""):
        self._count("keys_under")
        return self.inner.keys_under(path)

    def getsize(self, path=""):
        self._count("getsize")
        return self.inner.getsize(path)

    def rmdir(self, path=""):
        self._count("rmdir")
        self.inner.rmdir(path)


def build_hierarchy(store):
    root = zarrflow.group(store=store)
    root.attrs["title"] = "consolidated"
    foo = root.create_group("foo")
    foo.attrs["n"] = 1
    z = foo.zeros("bar/baz", shape=(20, 20), chunks=(10, 10), dtype="i4")
    z[:] = 7
    z.attrs["unit"] = "m"
    root.array("spam", np.arange(10), chunks=5)
    return root


# --- format ----------------------------------------------------------------------------------


def test_zmetadata_is_byte_identical_to_zarr2(zarr2, tmp_path):
    path = str(tmp_path / "c.zarr")
    build_hierarchy(DirectoryStore(path))
    zarrflow.consolidate_metadata(path)
    ours = (tmp_path / "c.zarr/.zmetadata").read_bytes()
    doc = json.loads(ours)
    assert doc["zarr_consolidated_format"] == 1
    assert sorted(doc["metadata"]) == [".zattrs", ".zgroup", "foo/.zattrs", "foo/.zgroup", "foo/bar/.zgroup",
                                       "foo/bar/baz/.zarray", "foo/bar/baz/.zattrs", "spam/.zarray"]
    theirs = zarr2.run(
        """
        store = zarr.DirectoryStore(path)
        del store['.zmetadata']
        zarr.consolidate_metadata(store)
        g = zarr.open_consolidated(path)
        result = dict(data=store['.zmetadata'].decode(), tree=repr(g.tree()), v=g['foo/bar/baz'][:].sum())
        """,
        path=path,
    )
    assert theirs["data"] == ours.decode()
    assert theirs["v"] == 7 * 400
    assert theirs["tree"] == repr(zarrflow.open_consolidated(path).tree())


def test_zarrflow_opens_zarr2_consolidated(zarr2, tmp_path):
    path = str(tmp_path / "z2.zarr")
    zarr2.run(
        """
        root = zarr.open_group(path, mode='w')
        root.attrs['who'] = 'zarr2'
        root.create_group('a').zeros('b', shape=(6,), chunks=(3,), dtype='f4')[:] = 1.5
        zarr.consolidate_metadata(path)
        """,
        path=path,
    )
    g = zarrflow.open_consolidated(path)
    assert isinstance(g.store, zarrflow.ConsolidatedMetadataStore)
    assert g.attrs.asdict() == {"who": "zarr2"}
    assert repr(g.tree()) == "/\n └── a\n     └── b (6,) float32"
    assert g["a/b"][:].tolist() == [1.5] * 6
    assert zarrflow.check_consolidated(path) == []


def test_zarr3_reads_zarrflow_consolidated_and_the_reverse(tmp_path):
    zarr3 = pytest.importorskip("zarr")
    ours = str(tmp_path / "ours.zarr")
    build_hierarchy(DirectoryStore(ours))
    zarrflow.consolidate_metadata(ours)
    g3 = zarr3.open_consolidated(ours, zarr_format=2)
    assert dict(g3.attrs) == {"title": "consolidated"}
    assert dict(g3["foo/bar/baz"].attrs) == {"unit": "m"}
    assert int(g3["foo/bar/baz"][:].sum()) == 7 * 400
    theirs = str(tmp_path / "theirs.zarr")
    root3 = zarr3.open_group(theirs, mode="w", zarr_format=2)
    root3.attrs["who"] = "zarr3"
    root3.create_group("x").create_array("y", shape=(4,), chunks=(2,), dtype="i2", fill_value=0)[:] = 3
    zarr3.consolidate_metadata(theirs, zarr_format=2)
    g = zarrflow.open_consolidated(theirs)
    assert g.attrs.asdict() == {"who": "zarr3"}
    assert repr(g.tree()) == "/\n └── x\n     └── y (4,) int16"
    assert g["x/y"][:].tolist() == [3] * 4


# --- one read --------------------------------------------------------------------------------


def test_deep_hierarchy_opens_with_one_store_read():
    inner = MemoryStore()
    root = zarrflow.group(store=inner)
    for i in range(10):
        g = root.create_group(f"g{i}")
        for j in range(10):
            sub = g.create_group(f"s{j}")
            sub.attrs["j"] = j
            for k in range(10):
                sub.zeros(f"a{k}", shape=(4,), chunks=(2,), dtype="u1")
    zarrflow.consolidate_metadata(inner)
    counting = CountingStore(inner)
    g = zarrflow.open_consolidated(counting, mode="r")
    members = []

    def visit(name, obj):
        members.append((name, obj.attrs.asdict(), getattr(obj, "shape", None)))

    g.visititems(visit)
    text = repr(g.tree())
    assert sum(1 for name, _, shape in members if shape == (4,)) == 1000
    assert len(members) == 1110 and text.count("(4,) uint8") == 1000
    assert g["g3/s4"].attrs["j"] == 4 and "g9/s9/a9" in g
    assert counting.calls == Counter({"__getitem__": 1})


def test_without_consolidation_the_same_walk_reads_many_times():
    inner = MemoryStore()
    root = zarrflow.group(store=inner)
    for i in range(5):
        root.create_group(f"g{i}").zeros("a", shape=2)
    counting = CountingStore(inner)
    repr(zarrflow.open_group(counting, mode="r").tree())
    assert sum(counting.calls.values()) > 10


# --- read-only metadata, writable data -------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda g: g.create_group("new"),
    lambda g: g.require_group("new"),
    lambda g: g.zeros("new", shape=3),
    lambda g: g.create_dataset("foo/new", data=np.arange(3)),
    lambda g: g.__setitem__("new", np.arange(3)),
    lambda g: g.__delitem__("spam"),
    lambda g: g.move("spam", "eggs"),
    lambda g: g["spam"].resize(20),
    lambda g: g["spam"].append(np.arange(3)),
    lambda g: setattr(g["spam"], "fill_value", 3),
    lambda g: g.attrs.__setitem__("x", 1),
    lambda g: g["foo"].attrs.update(x=1),
    lambda g: g["foo/bar/baz"].attrs.put({}),
    lambda g: zarrflow.group(g.store, path="other"),
])
def test_metadata_is_read_only(call):
    store = MemoryStore()
    build_hierarchy(store)
    g = zarrflow.consolidate_metadata(store)
    before = snapshot(store)
    with pytest.raises(ReadOnlyError):
        call(g)
    assert snapshot(store) == before


def test_data_writes_go_to_the_store(tmp_path):
    path = str(tmp_path / "d.zarr")
    build_hierarchy(DirectoryStore(path))
    zarrflow.consolidate_metadata(path)
    g = zarrflow.open_consolidated(path)
    g["foo/bar/baz"][:5, :5] = -1
    g["spam"][:] = np.arange(10, 20)
    fresh = zarrflow.open_group(path, mode="r")
    assert fresh["foo/bar/baz"][:].sum() == 7 * 375 - 25
    assert fresh["spam"][:].tolist() == list(range(10, 20))
    assert zarrflow.check_consolidated(path) == []  # data writes do not make it stale
    info = repr(g.info)
    assert "Store type       : zarrflow.storage.ConsolidatedMetadataStore" in info
    assert "Chunk store type : zarrflow.storage.DirectoryStore" in info


def test_mode_r_refuses_data_writes_too():
    store = MemoryStore()
    build_hierarchy(store)
    zarrflow.consolidate_metadata(store)
    g = zarrflow.open_consolidated(store, mode="r")
    before = snapshot(store)
    with pytest.raises(ReadOnlyError):
        g["spam"][:] = 1
    assert snapshot(store) == before and g.read_only


def test_open_consolidated_at_a_path_and_on_an_array():
    store = MemoryStore()
    build_hierarchy(store)
    zarrflow.consolidate_metadata(store)
    foo = zarrflow.open_consolidated(store, path="foo")
    assert repr(foo) == "<zarrflow.Group '/foo'>" and foo.attrs["n"] == 1
    spam = zarrflow.open_consolidated(store, path="spam", mode="r")
    assert repr(spam) == "<zarrflow.Array '/spam' (10,) int64 read-only>"
    assert spam[:].tolist() == list(range(10))


@pytest.mark.parametrize("setup, call, error", [
    (None, lambda s: zarrflow.open_consolidated(s), KeyError),
    (None, lambda s: zarrflow.open_consolidated(s, mode="a"), ValueError),
    (None, lambda s: zarrflow.open_consolidated(s, mode="w"), ValueError),
    (b"not json", lambda s: zarrflow.open_consolidated(s), MetadataError),
    (b'{"zarr_consolidated_format": 2, "metadata": {}}', lambda s: zarrflow.open_consolidated(s), MetadataError),
    (b'{"zarr_consolidated_format": 1, "metadata": []}', lambda s: zarrflow.open_consolidated(s), MetadataError),
    (b'{"zarr_consolidated_format": 1, "metadata": {"../x/.zgroup": {}}}',
     lambda s: zarrflow.open_consolidated(s), MetadataError),
    (None, lambda s: zarrflow.check_consolidated(s), KeyError),
])
def test_bad_consolidated_input(setup, call, error):
    store = MemoryStore()
    build_hierarchy(store)
    if setup is not None:
        store[".zmetadata"] = setup
    before = snapshot(store)
    with pytest.raises(error):
        call(store)
    assert snapshot(store) == before


def test_custom_metadata_key_and_pickling(tmp_path):
    path = str(tmp_path / "k.zarr")
    build_hierarchy(DirectoryStore(path))
    g = zarrflow.consolidate_metadata(path, metadata_key="meta.json")
    assert (tmp_path / "k.zarr/meta.json").is_file() and not (tmp_path / "k.zarr/.zmetadata").exists()
    again = pickle.loads(pickle.dumps(g))
    assert again == g and repr(again.tree()) == repr(g.tree())
    assert again["foo/bar/baz"][0, 0] == 7
    assert zarrflow.open_consolidated(path, metadata_key="meta.json")["spam"].attrs.asdict() == {}


def test_store_listing_and_sizes():
    store = MemoryStore()
    build_hierarchy(store)
    zarrflow.consolidate_metadata(store)
    meta = zarrflow.ConsolidatedMetadataStore(store)
    assert meta.listdir("") == [".zattrs", ".zgroup", "foo", "spam"]
    assert meta.listdir("foo/bar") == [".zgroup", "baz"]
    assert meta.listdir("nope") == []
    assert meta.keys_under("foo/bar") == ["foo/bar/.zgroup", "foo/bar/baz/.zarray", "foo/bar/baz/.zattrs"]
    assert meta["spam/.zarray"] == store["spam/.zarray"]
    assert meta.getsize("spam") == len(store["spam/.zarray"])
    assert "spam/0" not in meta and len(meta) == 8
    assert meta.read_only and meta.metadata_read_only
    assert repr(meta).startswith("ConsolidatedMetadataStore(")


# --- staleness -------------------------------------------------------------------------------


def test_check_consolidated_reports_each_kind_of_difference(tmp_path):
    path = str(tmp_path / "s.zarr")
    root = build_hierarchy(DirectoryStore(path))
    zarrflow.consolidate_metadata(path)
    opened = zarrflow.open_consolidated(path)
    assert zarrflow.check_consolidated(path) == [] and zarrflow.check_consolidated(opened) == []
    root.create_group("new")                 # added
    del root["spam"]                         # removed
    root["foo/bar/baz"].resize(30, 20)       # changed
    root["foo"].attrs["n"] = 2               # changed
    expected = [
        MetadataDifference("foo/.zattrs", "changed"),
        MetadataDifference("foo/bar/baz/.zarray", "changed"),
        MetadataDifference("new/.zgroup", "added"),
        MetadataDifference("spam/.zarray", "removed"),
    ]
    assert zarrflow.check_consolidated(path) == expected
    assert zarrflow.check_consolidated(opened) == expected  # the snapshot the group holds
    assert str(expected[2]) == "'new/.zgroup' in the store but not in the consolidated metadata"
    with pytest.raises(ConsolidatedMetadataStaleError, match="4 document"):
        zarrflow.check_consolidated(path, raise_on_stale=True)
    with pytest.raises(ConsolidatedMetadataStaleError) as info:
        zarrflow.open_consolidated(path, check=True)
    assert info.value.differences == expected
    assert isinstance(info.value, MetadataError)
    # the stale snapshot is still what a plain open_consolidated serves ...
    assert zarrflow.open_consolidated(path)["foo/bar/baz"].shape == (20, 20)
    # ... until it is consolidated again
    zarrflow.consolidate_metadata(path)
    assert zarrflow.check_consolidated(path) == []
    assert zarrflow.open_consolidated(path, check=True)["foo/bar/baz"].shape == (30, 20)


def test_check_consolidated_ignores_formatting_only_changes():
    store = MemoryStore()
    build_hierarchy(store)
    zarrflow.consolidate_metadata(store)
    store["foo/.zattrs"] = json.dumps({"n": 1}).encode()  # same content, other formatting
    assert zarrflow.check_consolidated(store) == []


def test_check_on_a_group_not_opened_consolidated_is_an_error():
    with pytest.raises(ValueError, match="not opened from consolidated metadata"):
        zarrflow.check_consolidated(zarrflow.group())


def test_consolidation_does_not_list_chunks_of_directory_stores(tmp_path):
    path = str(tmp_path / "many.zarr")
    root = zarrflow.open_group(path, mode="w")
    root.zeros("a/b", shape=(100,), chunks=(1,), dtype="u1")[:] = 1
    counting = CountingStore(DirectoryStore(path))
    counting.is_persistent = True
    zarrflow.consolidate_metadata(counting)
    assert counting.calls["listdir"] == 2  # the root and 'a'; never the array's 100 chunks
    assert counting.calls["__iter__"] == counting.calls["keys_under"] == 0

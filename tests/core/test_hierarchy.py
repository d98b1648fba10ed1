"""Groups, attributes, ``open``/``save``/``load`` of groups, and their on-disk format.

Behaviour is checked against zarr-python 2.18 (the ``zarr2`` oracle) by running the
same snippet under both libraries, and the files are exchanged with zarr 2.18 and
zarr 3.x (``zarr_format=2``) in both directions. Every bad input asserts that the
store is left exactly as it was.
"""

from __future__ import annotations

import json
import pickle
import threading
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
import pytest

import zarrflow
from tests.core.conftest import make_store, snapshot
from zarrflow.errors import (
    ContainsArrayError,
    ContainsGroupError,
    GroupNotFoundError,
    PathNotFoundError,
    ReadOnlyError,
)
from zarrflow.storage import DirectoryStore, KVStore, MemoryStore

GROUP_STORES = ["memory", "dict", "directory"]


def zarrflow_run(code: str, **inputs):
    """Run a zarr 2 oracle snippet with ``zarr`` bound to zarrflow; JSON-round-trip
    ``result`` as the oracle does, so both sides compare equal."""
    env = {"zarr": zarrflow, "np": np, "result": None, **inputs}
    exec(code, env)

    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(type(o))

    return json.loads(json.dumps(env["result"], default=default))


def type_names(text):
    """zarr 2's class names in zarrflow's spelling, recursively."""
    if isinstance(text, str):
        return (text.replace("zarr.hierarchy.Group", "zarrflow.Group").replace("zarr.core.Array", "zarrflow.Array")
                .replace("zarr.storage.", "zarrflow.storage."))
    if isinstance(text, list):
        return [type_names(t) for t in text]
    if isinstance(text, dict):
        return {k: type_names(v) for k, v in text.items()}
    return text


@pytest.fixture(params=GROUP_STORES)
def store(request, tmp_path):
    return make_store(request.param, tmp_path / "store")


# --- the same behaviour as zarr 2.18 ------------------------------------------------------

BEHAVIOUR = """
log = []
root = zarr.group()
foo = root.create_group('foo')
bar = foo.create_group('bar')
bar.zeros('baz', shape=(100, 100), chunks=(10, 10), dtype='i4')
bar.create_dataset('quux', shape=(5,), dtype='f8')
root.create_groups('a', 'b/c')
root.require_groups('a', 'd')
root.array('e', np.arange(3), chunks=2)
root.ones('a/x', shape=3)
root.full('a/y', 7, shape=(2, 2), dtype='u1')
root.empty_like('d/l1', root['e'])
root.zeros_like('d/l2', root['e'])
root.ones_like('d/l3', root['e'])
root.full_like('d/l4', root['e'], fill_value=9)
root['d/set'] = np.arange(4)
root.move('a/x', 'moved/x2')
del root['b']
visits = []
root.visit(lambda name: visits.append(name))
root.visititems(lambda name, obj: visits.append([name, repr(obj)]))
root.visitvalues(lambda obj: visits.append(repr(obj)))
stop = root.visit(lambda name: name if name.endswith('bar') else None)
result = dict(
    tree=repr(root.tree()),
    tree_bytes=bytes(root.tree()).decode(),
    tree_level1=repr(root.tree(level=1)),
    tree_level2=repr(root['foo'].tree(level=2)),
    tree_sub=repr(root['foo/bar'].tree()),
    keys=list(root.keys()),
    values=[repr(v) for v in root.values()],
    items=[[k, repr(v)] for k, v in root.items()],
    group_keys=list(root.group_keys()),
    groups=[[k, repr(v)] for k, v in root.groups()],
    array_keys=list(root.array_keys()),
    array_keys_recurse=list(root.array_keys(recurse=True)),
    arrays_recurse=[[k, repr(v)] for k, v in root.arrays(recurse=True)],
    len=len(root), len_foo=len(root['foo']),
    contains=['foo' in root, 'foo/bar/baz' in root, '/foo/bar' in root['foo'], 'nope' in root, 'foo/ba' in root],
    reprs=[repr(root['foo/bar']), repr(root['foo']['bar/baz']), repr(root['foo']['/e']), repr(root.foo.bar)],
    names=[root.name, root.basename, bar.name, bar.basename, bar.path, root['e'].name, root['e'].basename],
    visits=visits, stop=stop,
    info=[repr(root.info), repr(root['foo/bar'].info), repr(root['moved'].info)],
    ro_repr=repr(zarr.Group(root.store, read_only=True)),
    get=[repr(root.get('foo')), root.get('nope', 'default')],
    dir_has=['foo' in dir(root), 'e' in dir(root), 'create_group' in dir(root)],
    completions=root._ipython_key_completions_(),
)
"""


@pytest.fixture(scope="module")
def behaviour(zarr2):
    return zarrflow_run(BEHAVIOUR), type_names(zarr2.run(BEHAVIOUR))


@pytest.mark.parametrize("field", [
    "tree", "tree_bytes", "tree_level1", "tree_level2", "tree_sub", "keys", "values", "items", "group_keys",
    "groups", "array_keys", "array_keys_recurse", "arrays_recurse", "len", "len_foo", "contains", "reprs",
    "names", "visits", "stop", "info", "ro_repr", "get", "dir_has", "completions",
])
def test_same_as_zarr2(behaviour, field):
    ours, theirs = behaviour
    assert ours[field] == theirs[field]


def test_tree_text_layout():
    root = zarrflow.group()
    root.create_group("foo").create_group("bar").zeros("baz", shape=(100,), dtype="i8")
    root.zeros("spam", shape=(2, 3), dtype="f4")
    assert repr(root.tree()) == (
        "/\n"
        " ├── foo\n"
        " │   └── bar\n"
        " │       └── baz (100,) int64\n"
        " └── spam (2, 3) float32"
    )
    assert str(root.tree()) == repr(root.tree())
    assert repr(zarrflow.tree(root["foo"], level=1)) == "foo\n └── bar"
    assert repr(zarrflow.group().tree()) == "/"


def test_tree_html_for_notebooks():
    root = zarrflow.group()
    root.create_group("foo").zeros("a<b", shape=3, dtype="i1")
    html = root.tree()._repr_html_()
    assert html.startswith('<ul class="zarrflow-tree">')
    assert "a&lt;b (3,) int8" in html  # escaped
    assert html.count("<details open>") == 1  # only the root is open by default
    assert root.tree(expand=True)._repr_html_().count("<details open>") == 2
    assert root.tree(level=0)._repr_html_().count("<li") == 1


def test_tree_of_member_named_shape_is_a_group():
    root = zarrflow.group()
    root.create_group("g").zeros("shape", shape=2, dtype="i1")
    assert repr(root.tree()) == "/\n └── g\n     └── shape (2,) int8"


# --- creating members ----------------------------------------------------------------------


def test_group_round_trip_on_every_store(store):
    root = zarrflow.group(store=store)
    assert repr(root) == "<zarrflow.Group '/'>"
    foo = root.create_group("foo")
    z = foo.zeros("bar/baz", shape=(10, 10), chunks=(5, 5), dtype="i4")
    z[:] = 3
    foo.attrs["k"] = [1, "two"]
    again = zarrflow.open_group(store, mode="r")
    assert repr(again["foo/bar/baz"]) == "<zarrflow.Array '/foo/bar/baz' (10, 10) int32 read-only>"
    assert again["foo"].attrs.asdict() == {"k": [1, "two"]}
    assert again["foo/bar/baz"][:].sum() == 300
    keys = set(snapshot(store))
    assert {".zgroup", "foo/.zgroup", "foo/.zattrs", "foo/bar/.zgroup", "foo/bar/baz/.zarray"} <= keys


@pytest.mark.parametrize("call, error", [
    (lambda g: g.create_group("arr"), ContainsArrayError),
    (lambda g: g.create_group("grp"), ContainsGroupError),
    (lambda g: g.create_group("arr/inner"), ContainsArrayError),
    (lambda g: g.create_group("arr/inner/deeper"), ContainsArrayError),
    (lambda g: g.require_group("arr"), ContainsArrayError),
    (lambda g: g.zeros("arr", shape=3), ContainsArrayError),
    (lambda g: g.zeros("grp", shape=3), ContainsGroupError),
    (lambda g: g.zeros("arr/x", shape=3), ContainsArrayError),
    (lambda g: g.create_dataset("grp", shape=3), ContainsGroupError),
    (lambda g: g.array("arr/deep/x", np.arange(3)), ContainsArrayError),
    (lambda g: g.require_dataset("grp", shape=3), ContainsGroupError),
    (lambda g: g.require_dataset("arr", shape=4, dtype="i4"), TypeError),
    (lambda g: g.require_dataset("arr", shape=3, dtype="f8"), TypeError),
    (lambda g: g.require_dataset("arr", shape=3, dtype="i2", exact=True), TypeError),
    (lambda g: g.move("nope", "x"), ValueError),
    (lambda g: g.move("arr", "grp"), ValueError),
    (lambda g: g.__delitem__("nope"), KeyError),
    (lambda g: g.__getitem__("nope"), KeyError),
    (lambda g: g.attrs.__setitem__("bad", object()), TypeError),
    (lambda g: g.attrs.update(ok=1, bad={1, 2}), TypeError),
    (lambda g: g.attrs.put({"bad": np.arange(2)}), TypeError),
    (lambda g: g["arr"].attrs.__setitem__("bad", b"bytes"), TypeError),
    (lambda g: zarrflow.group(g.store, path="arr"), ContainsArrayError),
    (lambda g: zarrflow.open_group(g.store, mode="w-"), ContainsGroupError),
    (lambda g: zarrflow.open_group(g.store, mode="w-", path="arr"), ContainsArrayError),
    (lambda g: zarrflow.open_group(g.store, mode="a", path="arr"), ContainsArrayError),
    (lambda g: zarrflow.open_group(g.store, mode="r", path="nope"), GroupNotFoundError),
    (lambda g: zarrflow.open_group(g.store, mode="r+", path="arr"), ContainsArrayError),
    (lambda g: zarrflow.open_group(g.store, mode="bad"), ValueError),
    (lambda g: zarrflow.open(g.store, mode="r", path="nope"), PathNotFoundError),
    (lambda g: zarrflow.open(g.store, mode="w-"), ContainsGroupError),
    (lambda g: zarrflow.open(g.store, mode="w-", path="arr", shape=3), ContainsArrayError),
    (lambda g: zarrflow.Group(g.store, path="nope"), GroupNotFoundError),
    (lambda g: zarrflow.Group(g.store, path="arr"), ContainsArrayError),
])
def test_bad_input_leaves_store_unchanged(store, call, error):
    root = zarrflow.group(store=store)
    root.zeros("arr", shape=3, dtype="i4")
    root.create_group("grp").attrs["a"] = 1
    root.attrs["b"] = 2
    before = snapshot(store)
    with pytest.raises(error):
        call(root)
    assert snapshot(store) == before


@pytest.mark.parametrize("call", [
    lambda g: g.create_group("x"),
    lambda g: g.require_group("x"),
    lambda g: g.zeros("x", shape=3),
    lambda g: g.create_dataset("x", shape=3),
    lambda g: g.__setitem__("x", np.arange(3)),
    lambda g: g.__delitem__("arr"),
    lambda g: g.move("arr", "x"),
    lambda g: g.attrs.__setitem__("x", 1),
    lambda g: g["arr"].attrs.update(x=1),
    lambda g: g["grp"].attrs.put({}),
    lambda g: g["arr"].__setitem__(0, 1),
])
def test_read_only_group_refuses_changes(store, call):
    root = zarrflow.group(store=store)
    root.zeros("arr", shape=3, dtype="i4")
    root.create_group("grp")
    before = snapshot(store)
    ro = zarrflow.open_group(store, mode="r")
    assert ro.read_only and repr(ro) == "<zarrflow.Group '/' read-only>"
    with pytest.raises(ReadOnlyError):
        call(ro)
    assert snapshot(store) == before


def test_require_dataset_returns_existing_compatible_array():
    root = zarrflow.group()
    a = root.require_dataset("x", shape=(4, 5), dtype="i4", chunks=(2, 2))
    a[:] = 1
    assert root.require_dataset("x", shape=(4, 5), dtype="i2")[:].sum() == 20  # i2 casts safely to i4
    assert root.require_dataset("x", shape=(4, 5), dtype="i4", exact=True).chunks == (2, 2)
    b = root.require_group("g")
    assert root.require_group("g") == b
    assert root.create_groups("p", "q") == (root["p"], root["q"])


def test_overwrite_replaces_members():
    root = zarrflow.group()
    root.zeros("x", shape=3)
    root.create_group("x", overwrite=True)
    assert "x" in list(root.group_keys())
    root.zeros("x", shape=2, overwrite=True)
    assert list(root.array_keys()) == ["x"]
    root.create_group("x/y", overwrite=True)  # an array in the way of a parent is replaced
    assert repr(root.tree()) == "/\n └── x\n     └── y"


def test_multi_level_paths_and_absolute_paths():
    root = zarrflow.group()
    z = root.zeros("a/b/c/d", shape=1)
    sub = root["a/b"]
    assert sub["c/d"] == z and sub["/a/b/c/d"] == z
    assert "c/d" in sub and "/a" in sub and "a" not in sub
    del root["a/b/c"]
    assert list(root["a/b"]) == []


def test_group_is_a_mutable_mapping():
    root = zarrflow.group()
    root["x"] = np.arange(3)
    root.update({"y": np.ones(2)})
    assert sorted(root) == ["x", "y"]
    assert repr(root.pop("x")) == "<zarrflow.Array '/x' (3,) int64>"
    assert list(root.keys()) == ["y"] and len(root.keys()) == 1
    assert root.setdefault("y") == root["y"]


def test_member_access_by_attribute():
    root = zarrflow.group()
    root.create_group("foo").zeros("bar", shape=2)
    assert root.foo.bar == root["foo/bar"]
    with pytest.raises(AttributeError):
        root.nope
    with pytest.raises(AttributeError):
        root._ipython_canary_method_should_not_exist_


def test_info_fields_and_html():
    root = zarrflow.group()
    root.create_group("foo")
    root.zeros("bar", shape=3)
    info = repr(root.info)
    assert info == (
        "Name        : /\n"
        "Type        : zarrflow.Group\n"
        "Read-only   : False\n"
        "Store type  : zarrflow.storage.MemoryStore\n"
        "No. members : 2\n"
        "No. arrays  : 1\n"
        "No. groups  : 1\n"
        "Arrays      : bar\n"
        "Groups      : foo\n"
    )
    assert "<th" in root.info._repr_html_()
    chunked = zarrflow.group(store=dict(), chunk_store=dict())
    assert "Chunk store type : builtins.dict" in repr(chunked.info)


def test_context_manager_closes_the_store():
    closed = []

    class ClosingStore(MemoryStore):
        def close(self):
            closed.append(True)

    with zarrflow.group(store=ClosingStore()) as root:
        root.create_group("a")
    assert closed == [True]


@pytest.mark.parametrize("kind", ["memory", "directory"])
def test_pickling(kind, tmp_path):
    store = make_store(kind, tmp_path / "p")
    root = zarrflow.group(store=store)
    root.zeros("foo/bar", shape=10, dtype="i2")[:] = 5
    root["foo"].attrs["x"] = 1
    again = pickle.loads(pickle.dumps(root["foo"]))
    assert again == root["foo"]
    assert again["bar"][:].sum() == 50 and again.attrs["x"] == 1
    if kind == "directory":
        assert len(pickle.dumps(root)) < 300


def test_chunk_store_gets_the_chunks():
    meta, chunks = {}, {}
    root = zarrflow.group(store=meta, chunk_store=chunks)
    root.zeros("a/b", shape=4, chunks=2, dtype="i1")[:] = 1
    assert sorted(chunks) == ["a/b/0", "a/b/1"]
    root.move("a", "c")
    assert sorted(chunks) == ["c/b/0", "c/b/1"] and root["c/b"][:].tolist() == [1] * 4
    del root["c"]
    assert chunks == {} and sorted(meta) == [".zgroup"]


# --- attributes ----------------------------------------------------------------------------


def test_attributes_api(store):
    root = zarrflow.group(store=store)
    a = root.attrs
    a["foo"] = "bar"
    a.update({"n": 1}, m=[1, 2])
    assert sorted(a) == ["foo", "m", "n"] and sorted(a.keys()) == ["foo", "m", "n"]
    assert a.asdict() == {"foo": "bar", "n": 1, "m": [1, 2]}
    assert "foo" in a and len(a) == 3
    del a["n"]
    a.put({"only": {"nested": None}})
    assert a.asdict() == {"only": {"nested": None}}
    other = zarrflow.open_group(store)  # a second handle sees the writes
    other.attrs["late"] = True
    assert "late" not in root.attrs  # cached
    root.attrs.refresh()
    assert root.attrs["late"] is True
    uncached = zarrflow.Group(store, cache_attrs=False)
    other.attrs["later"] = 1
    assert uncached.attrs["later"] == 1
    assert json.loads(snapshot(store)[".zattrs"]) == {"late": True, "later": 1, "only": {"nested": None}}
    a["np"] = np.int64(3)  # numpy numbers are JSON numbers
    assert json.loads(snapshot(store)[".zattrs"])["np"] == 3


class LockPerKey:
    """A minimal synchronizer: one lock per key, counting acquisitions."""

    def __init__(self):
        self.locks = defaultdict(threading.Lock)
        self.used = defaultdict(int)

    def __getitem__(self, key):
        @contextmanager
        def held():
            with self.locks[key]:
                self.used[key] += 1
                yield

        return held()


def test_attributes_under_a_synchronizer_lose_no_update():
    sync = LockPerKey()
    root = zarrflow.group(store=MemoryStore(), synchronizer=sync)
    arr = root.zeros("a", shape=2)

    def writer(i):
        for j in range(20):
            root.attrs[f"k{i}_{j}"] = j
            arr.attrs.update({f"k{i}_{j}": i})

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(zarrflow.Group(root.store).attrs) == 80
    assert len(root["a"].attrs) == 80
    assert sync.used[".zattrs"] == 80 and sync.used["a/.zattrs"] == 80


# --- open / save / load --------------------------------------------------------------------


def test_open_modes(tmp_path):
    path = str(tmp_path / "g.zarr")
    with pytest.raises(PathNotFoundError):
        zarrflow.open(path, mode="r")
    assert not (tmp_path / "g.zarr").exists()
    g = zarrflow.open(path, mode="w")
    assert isinstance(g, zarrflow.Group) and (tmp_path / "g.zarr/.zgroup").is_file()
    g.zeros("x", shape=3)
    assert isinstance(zarrflow.open(path, mode="a"), zarrflow.Group)
    assert isinstance(zarrflow.open(path, mode="r+", path="x"), zarrflow.Array)
    assert zarrflow.open(path, mode="r").read_only
    assert isinstance(zarrflow.open(path + "/x", mode="r"), zarrflow.Array)
    with pytest.raises(ContainsGroupError):
        zarrflow.open(path, mode="w-")
    assert sorted(zarrflow.open(path, mode="w")) == []  # w replaces
    new = zarrflow.open_group(str(tmp_path / "n.zarr"), mode="w-")
    assert list(new) == []
    with pytest.raises(GroupNotFoundError):
        zarrflow.open_group(str(tmp_path / "missing.zarr"), mode="r+")
    assert not (tmp_path / "missing.zarr").exists()


def test_save_and_load_group(tmp_path):
    path = str(tmp_path / "s.zarr")
    a, b = np.arange(10), np.arange(6).reshape(2, 3)
    zarrflow.save(path, a, b, named=np.ones(2))
    loaded = zarrflow.load(path)
    assert isinstance(loaded, zarrflow.LazyLoader)
    assert repr(loaded) == "<LazyLoader: arr_0, arr_1, named>"
    assert sorted(loaded) == ["arr_0", "arr_1", "named"] and len(loaded) == 3
    np.testing.assert_array_equal(loaded["arr_1"], b)
    assert dict(loaded.items())["arr_0"].tolist() == a.tolist()
    assert "arr_0" in loaded and "nope" not in loaded
    with pytest.raises(KeyError):
        loaded["nope"]
    zarrflow.save(path, a)
    assert isinstance(zarrflow.load(path), np.ndarray)
    with pytest.raises(ValueError):
        zarrflow.save(path)


# --- on-disk format: zarr 2.18 and zarr 3.x ---------------------------------------------------


def _build_zarrflow(path):
    root = zarrflow.open_group(path, mode="w")
    root.attrs.update(title="t", n=[1, 2])
    foo = root.create_group("foo")
    foo.attrs["desc"] = "sub"
    z = foo.zeros("bar/baz", shape=(20, 10), chunks=(5, 5), dtype="i4")
    z[:] = np.arange(200).reshape(20, 10)
    z.attrs["unit"] = "m"
    root.array("spam", np.linspace(0, 1, 7), chunks=3)


def test_zarr2_reads_zarrflow_groups_and_writes_ones_zarrflow_reads(zarr2, tmp_path):
    ours, theirs = str(tmp_path / "ours.zarr"), str(tmp_path / "theirs.zarr")
    _build_zarrflow(ours)
    out = zarr2.run(
        """
        g = zarr.open_group(ours, mode='r')
        seen = dict(tree=repr(g.tree()), attrs=g.attrs.asdict(), foo=g['foo'].attrs.asdict(),
                    baz=g['foo/bar/baz'][:].sum(), unit=g['foo/bar/baz'].attrs['unit'], spam=g['spam'][:])
        root = zarr.open_group(theirs, mode='w')
        root.attrs['who'] = 'zarr2'
        root.create_group('x').zeros('y', shape=(4, 4), chunks=(2, 2), dtype='u2')[:] = 9
        root.create_group('empty')
        result = seen
        """,
        ours=ours, theirs=theirs,
    )
    assert out["tree"] == repr(zarrflow.open_group(ours, mode="r").tree())
    assert out["attrs"] == {"title": "t", "n": [1, 2]} and out["foo"] == {"desc": "sub"}
    assert out["baz"] == sum(range(200)) and out["unit"] == "m"
    assert out["spam"] == np.linspace(0, 1, 7).tolist()
    g = zarrflow.open_group(theirs, mode="r")
    assert g.attrs.asdict() == {"who": "zarr2"}
    assert repr(g.tree()) == "/\n ├── empty\n └── x\n     └── y (4, 4) uint16"
    assert g["x/y"][:].sum() == 9 * 16


def test_group_documents_are_byte_identical_to_zarr2(zarr2, tmp_path):
    ours = str(tmp_path / "ours.zarr")
    root = zarrflow.open_group(ours, mode="w")
    root.create_group("a/b").attrs.update({"z": 1, "a": [1.5, None], "u": "é"})
    theirs = zarr2.run(
        """
        s = zarr.MemoryStore()
        root = zarr.group(store=s)
        root.create_group('a/b').attrs.update({'z': 1, 'a': [1.5, None], 'u': 'é'})
        result = {k: s[k].decode() for k in s}
        """
    )
    assert {k: v.decode() for k, v in snapshot(DirectoryStore(ours)).items()} == theirs


def test_zarr3_reads_zarrflow_groups_and_writes_ones_zarrflow_reads(tmp_path):
    zarr3 = pytest.importorskip("zarr")
    ours, theirs = str(tmp_path / "ours.zarr"), str(tmp_path / "theirs.zarr")
    _build_zarrflow(ours)
    g3 = zarr3.open_group(ours, mode="r", zarr_format=2)
    assert dict(g3.attrs) == {"title": "t", "n": [1, 2]}
    assert dict(g3["foo"].attrs) == {"desc": "sub"}
    assert int(g3["foo/bar/baz"][:].sum()) == sum(range(200))
    assert sorted(g3.group_keys()) == ["foo"] and sorted(g3.array_keys()) == ["spam"]
    root3 = zarr3.open_group(theirs, mode="w", zarr_format=2)
    root3.attrs["who"] = "zarr3"
    sub = root3.create_group("x")
    a = sub.create_array("y", shape=(4, 4), chunks=(2, 2), dtype="u2", fill_value=0)
    a[:] = 9
    a.attrs["k"] = [1]
    g = zarrflow.open_group(theirs, mode="r")
    assert g.attrs.asdict() == {"who": "zarr3"}
    assert repr(g.tree()) == "/\n └── x\n     └── y (4, 4) uint16"
    assert g["x/y"][:].sum() == 9 * 16 and g["x/y"].attrs["k"] == [1]


def test_kvstore_group_reports_the_wrapped_mapping():
    root = zarrflow.group(store=KVStore(dict()))
    assert "Store type  : builtins.dict" in repr(root.info)

"""Bad input fails loudly and changes nothing.

Every case checks the error class (a zarrflow.errors class, or what zarr 2 raises),
that the message names the offending key / shape / value, and that every stored key
and value (read straight from the backing dict or directory) is byte-identical
before and after the failed call. Tests loop over tables of cases (each failure
names its case) so that the store parametrisation stays cheap.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import numcodecs
import numpy as np
import pytest

import zarrflow
from tests.core.conftest import snapshot
from zarrflow.errors import (
    ArrayIndexError,
    ArrayNotFoundError,
    BadCompressorError,
    BoundsCheckError,
    ChunkDecodeError,
    ContainsArrayError,
    ContainsGroupError,
    InvalidKeyError,
    MetadataError,
    NegativeStepError,
    PathNotFoundError,
    ReadOnlyError,
    UnknownCodecError,
    UnsafeCodecError,
)
from zarrflow.storage import DirectoryStore, KVStore, MemoryStore, NestedDirectoryStore


@contextmanager
def unchanged(store):
    """Assert that the block leaves every key and value of ``store`` as it was."""
    before = snapshot(store)
    yield
    assert snapshot(store) == before


@contextmanager
def case(name):
    """Label a failure with the case (of a test looping over a table) it happened in."""
    try:
        yield
    except BaseException as exc:
        if hasattr(exc, "add_note"):
            exc.add_note(f"in case: {name}")
        raise


DATA = np.arange(20, dtype="i4").reshape(4, 5)


@pytest.fixture
def z(array_store):
    """A 2-d int array at path 'arr', with data, over each store."""
    return zarrflow.array(DATA, chunks=(2, 2), store=array_store, path="arr")


def _chunk_key(store, path, *coords):
    sep = "/" if isinstance(store, NestedDirectoryStore) else "."
    return path + "/" + sep.join(map(str, coords))


# --- writes of the wrong shape or type -------------------------------------------------------------

SHAPE_MISMATCHES = [
    ("basic", lambda z: z.__setitem__(slice(0, 3), np.ones((3, 4))), ["(3, 4)", "(3, 5)"]),
    ("basic-column", lambda z: z.__setitem__((slice(None), 1), [1, 2]), ["(2,)", "(4,)"]),
    ("ellipsis", lambda z: z.set_basic_selection(Ellipsis, np.ones((4, 5, 1))), ["(4, 5, 1)", "(4, 5)"]),
    ("orthogonal", lambda z: z.oindex.__setitem__(([0, 1], [0, 1]), np.ones(3)), ["(3,)", "(2, 2)"]),
    ("coordinate", lambda z: z.vindex.__setitem__(([0, 1], [0, 1]), np.ones(3)), ["(3,)", "(2,)"]),
    ("mask", lambda z: z.vindex.__setitem__(np.ones((4, 5), bool), np.ones(3)), ["(3,)", "(20,)"]),
    ("block", lambda z: z.blocks.__setitem__(0, np.ones((3, 5))), ["(3, 5)", "(2, 5)"]),
    ("one-item", lambda z: z.__setitem__((0, 0), [1, 2]), ["(2,)"]),
]


def test_shape_mismatch_on_assignment(z, array_store):
    for name, write, shapes in SHAPE_MISMATCHES:
        with case(name), unchanged(array_store), pytest.raises(ValueError) as info:
            write(z)
        for shape in shapes:
            assert shape in str(info.value), name
    np.testing.assert_array_equal(z[:], DATA)


UNCONVERTIBLE = [
    ("str", "abc", "'abc'"),
    ("str-list", ["1", "x", "3", "4", "5"], "'x'"),
    ("object", object(), "object"),
    ("None", None, "NoneType"),
    ("overflow", 2**40, str(2**40)),
    ("bytes", [b"\xff"] * 5, "int32"),
]


def test_unconvertible_values_into_int_array(z, array_store):
    for name, value, named in UNCONVERTIBLE:
        with case(name), unchanged(array_store), pytest.raises(ValueError) as info:
            z[1] = value
        assert named in str(info.value) and "int32" in str(info.value), name
    np.testing.assert_array_equal(z[:], DATA)


# --- selections out of bounds or malformed ------------------------------------------------------------

OUT_OF_BOUNDS = [
    (lambda z: z[4], "4"),
    (lambda z: z[-5], "-5"),
    (lambda z: z[0, 5], "5"),
    (lambda z: z.oindex[[0, 7]], "7"),
    (lambda z: z.oindex[np.array([-9], dtype="i8"), 0], "-9"),
    (lambda z: z.vindex[[0, 4], [0, 1]], "4"),
    (lambda z: z.vindex[[0, -1], [-6, 1]], "-6"),
    (lambda z: z.get_coordinate_selection((np.array([0], dtype="u1"), np.array([200], dtype="u1"))), "200"),
    (lambda z: z.blocks[2], "2"),
    (lambda z: z.blocks[0, -4], "-4"),
    (lambda z: z.blocks[5:], "5"),
    (lambda z: z.__setitem__((0, 5), 1), "5"),
    (lambda z: z.vindex.__setitem__(([0, 9], [0, 1]), 1), "9"),
    (lambda z: z.oindex.__setitem__(([0], [10]), 1), "10"),
]


def test_out_of_bounds(z, array_store):
    for i, (op, index) in enumerate(OUT_OF_BOUNDS):
        with case(i), unchanged(array_store), pytest.raises(BoundsCheckError) as info:
            op(z)
        assert isinstance(info.value, IndexError)
        assert f"index {index} out of bounds" in str(info.value), i


def test_out_of_bounds_slices_clip_like_numpy(z):
    for sel in [np.s_[3:100], np.s_[10:20], np.s_[-100:2, 4:99], np.s_[5:, 6:]]:
        np.testing.assert_array_equal(z[sel], DATA[sel])


MALFORMED_SELECTIONS = [
    (lambda z: z[1.0], ArrayIndexError, "1.0"),
    (lambda z: z[1.0:2], ArrayIndexError, "1.0"),
    (lambda z: z[None], ArrayIndexError, "None"),
    (lambda z: z[0, 1, 2], ArrayIndexError, "too many indices"),
    (lambda z: z[..., 1, ...], ArrayIndexError, "single ellipsis"),
    (lambda z: z[::-1], NegativeStepError, "step"),
    (lambda z: z["field"], ArrayIndexError, "'field'"),
    (lambda z: z.oindex[np.ones(3, bool)], ArrayIndexError, "expected 4, got 3"),
    (lambda z: z.oindex[np.zeros((2, 2), int)], ArrayIndexError, "(2, 2)"),
    (lambda z: z.oindex[0.5], ArrayIndexError, "0.5"),
    (lambda z: z.vindex[[0, 1], [0, 1, 2]], ArrayIndexError, "(3,)"),
    (lambda z: z.vindex[[0, 1]], ArrayIndexError, "expected one integer array per dimension"),
    (lambda z: z.vindex[0:2, [1]], IndexError, "slice"),
    (lambda z: z.get_mask_selection(np.ones((3, 5), bool)), ArrayIndexError, "(3, 5)"),
    (lambda z: z.blocks[::2], ArrayIndexError, "step 1"),
    (lambda z: z.blocks[0.5], ArrayIndexError, "0.5"),
    (lambda z: z.__setitem__("1", 5), ArrayIndexError, "'1'"),
    (lambda z: z.__setitem__((slice(0, 1), 2.5), 5), ArrayIndexError, "2.5"),
    (lambda z: z.set_basic_selection(slice(None, None, -1), 5), NegativeStepError, "step"),
]


def test_malformed_selections(z, array_store):
    for i, (op, cls, text) in enumerate(MALFORMED_SELECTIONS):
        with case(i), unchanged(array_store), pytest.raises(cls) as info:
            op(z)
        assert isinstance(info.value, IndexError), i
        assert text in str(info.value), i


def test_unconvertible_lazy_source_writes_nothing(array_store, monkeypatch):
    """Copying from another Array converts everything before writing anything, even when
    the copy would go slab by slab (arrays larger than chunk_io.LAZY_SLAB_BYTES)."""
    from zarrflow.core import chunk_io

    monkeypatch.setattr(chunk_io, "LAZY_SLAB_BYTES", 1)  # stands in for a source larger than a slab
    src = zarrflow.array(np.array(["1", "2", "3", "4", "5", "x"], dtype="U2"), chunks=2)
    dst = zarrflow.zeros(6, chunks=2, dtype="i4", store=array_store)
    with unchanged(array_store), pytest.raises(ValueError, match="'x'"):
        dst[:] = src
    with unchanged(array_store), pytest.raises(ValueError, match=r"\(5,\)"):
        dst[:] = zarrflow.array(np.arange(5), chunks=2)
    dst[:] = zarrflow.array(np.array(["1", "2", "3", "4", "5", "6"], dtype="U2"), chunks=2)
    assert dst[:].tolist() == [1, 2, 3, 4, 5, 6]


# --- read-only arrays and stores ----------------------------------------------------------------------

WRITES = [
    ("setitem", lambda z: z.__setitem__(0, 1)),
    ("basic", lambda z: z.set_basic_selection(Ellipsis, 1)),
    ("oindex", lambda z: z.oindex.__setitem__([0], 1)),
    ("vindex", lambda z: z.vindex.__setitem__(([0], [0]), 1)),
    ("mask", lambda z: z.set_mask_selection(np.ones((4, 5), bool), 1)),
    ("blocks", lambda z: z.blocks.__setitem__(0, 1)),
    ("resize", lambda z: z.resize(8, 8)),
    ("shrink", lambda z: z.resize(1, 1)),
    ("append", lambda z: z.append(np.ones((1, 5), dtype="i4"))),
    ("fill_value", lambda z: setattr(z, "fill_value", 3)),
    ("attr", lambda z: z.attrs.__setitem__("a", 1)),
    ("attr-del", lambda z: z.attrs.__delitem__("keep")),
    ("attrs-update", lambda z: z.attrs.update(a=1)),
    ("attrs-put", lambda z: z.attrs.put({})),
]


@pytest.mark.parametrize("how", ["mode-r", "read_only=True"])
def test_writes_to_read_only_arrays(z, array_store, how):
    z.attrs["keep"] = True
    if how == "mode-r":
        ro = zarrflow.open_array(array_store, mode="r", path="arr")
    else:
        ro = zarrflow.Array(array_store, path="arr", read_only=True)
    assert ro.read_only
    for name, write in WRITES:
        with case(name), unchanged(array_store), pytest.raises(ReadOnlyError) as info:
            write(ro)
        assert isinstance(info.value, PermissionError)
        assert "read-only" in str(info.value), name
    np.testing.assert_array_equal(ro[:], DATA)


def test_writes_through_a_read_only_store(z, array_store, store_kind):
    z.attrs["keep"] = True
    if store_kind == "dict":
        ro_store = KVStore(array_store, read_only=True)
    elif store_kind == "kvstore":
        ro_store = KVStore(array_store.mapping, read_only=True)
    elif store_kind == "memory":
        ro_store = MemoryStore(snapshot(array_store), read_only=True)
    else:
        ro_store = type(array_store)(array_store.path, read_only=True)
    handle = zarrflow.Array(ro_store, path="arr")  # the handle itself is writable
    assert not handle.read_only
    for name, write in WRITES:
        with case(name), unchanged(ro_store), unchanged(array_store), pytest.raises(ReadOnlyError):
            write(handle)
    assert handle.shape == (4, 5)
    with pytest.raises(ReadOnlyError):
        zarrflow.create(3, store=ro_store, path="new")
    assert zarrflow.open_array(array_store, mode="r", path="arr").attrs.asdict() == {"keep": True}


# --- missing arrays, existing ones -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_missing_path(array_store, mode):
    zarrflow.zeros(3, store=array_store, path="present")
    with unchanged(array_store):
        with pytest.raises(ArrayNotFoundError, match="'absent'"):
            zarrflow.open_array(array_store, mode=mode, path="absent")
        with pytest.raises(PathNotFoundError, match="'absent'"):
            zarrflow.open(array_store, mode=mode, path="absent")
        with pytest.raises(ArrayNotFoundError, match="'absent'"):
            zarrflow.Array(array_store, path="absent")
        with pytest.raises(ContainsGroupError, match="path '' contains a group"):
            zarrflow.open_array(array_store, mode=mode)  # the root is a group


def test_missing_directory_in_mode_r(tmp_path):
    target = tmp_path / "nothing.zarr"
    with pytest.raises(ArrayNotFoundError):
        zarrflow.open_array(str(target), mode="r")
    with pytest.raises(PathNotFoundError):
        zarrflow.open(str(target), mode="r")
    with pytest.raises(PathNotFoundError):
        zarrflow.load(str(target))
    assert not target.exists()


@pytest.mark.parametrize("mode", ["w-", "x"])
def test_create_where_something_exists(array_store, mode):
    zarrflow.zeros(3, store=array_store, path="a/arr")  # a/ is now a group
    with unchanged(array_store):
        with pytest.raises(ContainsArrayError, match="'a/arr'"):
            zarrflow.open_array(array_store, mode=mode, path="a/arr", shape=4)
        with pytest.raises(ContainsGroupError, match="'a'"):
            zarrflow.open_array(array_store, mode=mode, path="a", shape=4)
        with pytest.raises(ContainsArrayError, match="'a/arr'"):
            zarrflow.open(array_store, mode=mode, path="a/arr", shape=4)
        with pytest.raises(ContainsArrayError, match="'a/arr'"):
            zarrflow.create(4, store=array_store, path="a/arr")
        with pytest.raises(ContainsGroupError, match="'a'"):
            zarrflow.zeros(4, store=array_store, path="a")
        with pytest.raises(ContainsArrayError, match="'a/arr'"):
            zarrflow.create(4, store=array_store, path="a/arr/child")  # an array can't be a parent


# --- invalid creation arguments (over an existing array, with overwrite=True) ------------------------------

BAD_CREATION = [
    ("chunks-0", dict(chunks=0), ValueError, "(0,)"),
    ("chunks-neg", dict(chunks=-2), ValueError, "(-2,)"),
    ("chunks-ndim", dict(chunks=(2, 2)), ValueError, "(2, 2)"),
    ("chunks-float", dict(chunks=(2.5,)), TypeError, "2.5"),
    ("order", dict(order="X"), ValueError, "'X'"),
    ("M8", dict(dtype="M8"), ValueError, "M8"),
    ("m8", dict(dtype="m8"), ValueError, "units"),
    ("dtype", dict(dtype="not-a-dtype"), TypeError, "not-a-dtype"),
    ("object", dict(dtype=object), ValueError, "object_codec"),
    ("compressor-str", dict(compressor="zlib"), BadCompressorError, "'zlib'"),
    ("compressor-int", dict(compressor=5), BadCompressorError, "5"),
    ("compressor-unknown", dict(compressor={"id": "no-such-codec"}), UnknownCodecError, "'no-such-codec'"),
    ("fill", dict(fill_value="abc", dtype="i4"), ValueError, "'abc'"),
    ("shape", dict(shape=(-1,)), ValueError, "-1"),
    ("separator", dict(dimension_separator=":"), ValueError, "':'"),
]


def test_invalid_creation_arguments_leave_existing_array(array_store):
    old = zarrflow.array(np.arange(6), chunks=4, store=array_store, path="old")
    for name, kwargs, cls, text in BAD_CREATION:
        kwargs = dict(kwargs)
        shape = kwargs.pop("shape", (6,))
        with case(name), unchanged(array_store):
            with pytest.raises(cls) as info:
                zarrflow.create(shape, store=array_store, path="old", overwrite=True, **kwargs)
            assert text in str(info.value)
            with pytest.raises(cls):
                zarrflow.open_array(array_store, mode="w", path="old", shape=shape, **kwargs)
    np.testing.assert_array_equal(old[:], np.arange(6))


def test_append_along_a_bad_axis(z, array_store):
    with unchanged(array_store):
        for axis in (2, -3, 10):
            with pytest.raises(ValueError, match=f"axis {axis}"):
                z.append(np.ones((4, 5), dtype="i4"), axis=axis)
    assert z.shape == (4, 5)


def test_resize_to_bad_shapes(z, array_store):
    with unchanged(array_store):
        with pytest.raises(ValueError, match=r"\(3,\)"):
            z.resize(3)
        with pytest.raises(ValueError, match="-1"):
            z.resize(-1, 5)
        with pytest.raises(ValueError, match=r"\(1, 2, 3\)"):
            z.resize((1, 2, 3))


# --- hand-edited .zarray ------------------------------------------------------------------------------


def _edit(doc):
    def edit(raw):
        d = json.loads(raw)
        doc(d)
        return json.dumps(d).encode()
    return edit


BAD_METADATA = [
    ("invalid-json", lambda raw: b"{not json", MetadataError, ["invalid JSON"]),
    ("not-an-object", lambda raw: b"[1, 2]", MetadataError, ["JSON object"]),
    ("zarr-format-3", _edit(lambda d: d.update(zarr_format=3)), MetadataError, ["zarr_format 3"]),
    ("negative-shape", _edit(lambda d: d.update(shape=[-4, 5])), MetadataError, ["shape", "-4"]),
    ("zero-chunks", _edit(lambda d: d.update(chunks=[0, 2])), MetadataError, ["chunks", "0"]),
    ("chunks-ndim", _edit(lambda d: d.update(chunks=[2])), MetadataError, ["chunks", "[2]"]),
    ("bad-dtype", _edit(lambda d: d.update(dtype="<x9")), MetadataError, ["dtype", "'<x9'"]),
    ("bad-order", _edit(lambda d: d.update(order="Q")), MetadataError, ["order", "'Q'"]),
    ("missing-field", _edit(lambda d: d.pop("compressor")), MetadataError, ["'compressor'"]),
    ("bad-fill", _edit(lambda d: d.update(fill_value="lots")), MetadataError, ["fill_value", "'lots'"]),
    ("unknown-compressor", _edit(lambda d: d.update(compressor={"id": "nosuchcodec"})), UnknownCodecError,
     ["'nosuchcodec'"]),
    ("unknown-filter", _edit(lambda d: d.update(filters=[{"id": "nosuchfilter", "x": 1}])), UnknownCodecError,
     ["'nosuchfilter'"]),
    ("bad-separator", _edit(lambda d: d.update(dimension_separator=":")), MetadataError, ["':'"]),
]


def test_malformed_zarray(z, array_store):
    good = snapshot(array_store)["arr/.zarray"]
    for name, edit, cls, texts in BAD_METADATA:
        array_store["arr/.zarray"] = edit(good)
        with case(name), unchanged(array_store):
            for open_it in (lambda: zarrflow.Array(array_store, path="arr"),
                            lambda: zarrflow.open_array(array_store, mode="r", path="arr"),
                            lambda: zarrflow.open_array(array_store, mode="a", path="arr"),
                            lambda: zarrflow.open(array_store, path="arr")):
                with pytest.raises(cls) as info:
                    open_it()
                assert isinstance(info.value, ValueError)
                message = str(info.value)
                assert "arr/.zarray" in message
                for text in texts:
                    assert text in message
    array_store["arr/.zarray"] = good
    np.testing.assert_array_equal(zarrflow.Array(array_store, path="arr")[:], DATA)


# --- corrupted chunks ----------------------------------------------------------------------------------------

COMPRESSORS = [numcodecs.Blosc(), numcodecs.Zlib(level=1), numcodecs.Zstd(), numcodecs.LZ4(), None]
COMPRESSOR_IDS = ["blosc", "zlib", "zstd", "lz4", "none"]


@pytest.mark.parametrize("compressor", COMPRESSORS, ids=COMPRESSOR_IDS)
def test_corrupted_chunk(array_store, compressor):
    a = np.arange(200, dtype="<f8").reshape(2, 100)
    z = zarrflow.array(a, chunks=(1, 100), compressor=compressor, store=array_store, path="c")
    key = _chunk_key(array_store, "c", 0, 0)
    raw = snapshot(array_store)[key]
    damages = {
        "truncated": raw[: len(raw) // 2],
        "random": bytes(np.random.default_rng(1).integers(0, 256, 336, dtype="u1")),
        "empty": b"",
    }
    if compressor is None or compressor.codec_id != "zlib":  # zlib ignores bytes after its stream
        damages["extended"] = raw + b"\x07" * 16
        damages["partial-item"] = raw + b"\x07" * 3
    for name, bad in damages.items():
        array_store[key] = bad
        with case(name), unchanged(array_store):
            for op in (lambda: z[:], lambda: z[0], lambda: z[0, 5], lambda: z.vindex[[0], [3]],
                       lambda: z.__setitem__((0, 5), 1.0)):  # a partial write reads the chunk first
                with pytest.raises(ChunkDecodeError) as info:
                    op()
                assert isinstance(info.value, ValueError)
                assert repr(key) in str(info.value)
        np.testing.assert_array_equal(z[1], a[1])  # other chunks still read


def test_truncated_small_blosc_chunk(array_store):
    """Blosc stores small chunks uncompressed; a truncated one must not decode to whatever
    lies past the end of the buffer."""
    z = zarrflow.array(np.arange(10, dtype="i4"), chunks=5, compressor=numcodecs.Blosc(), store=array_store)
    raw = snapshot(array_store)["0"]
    for cut in (len(raw) // 2, len(raw) - 1, 17):
        array_store["0"] = raw[:cut]
        ops = [("whole-chunk", lambda: z[0:5]), ("part", lambda: z[1:3]), ("write", lambda: z.__setitem__(1, 0))]
        for name, op in ops:
            with case(f"{cut}-{name}"), unchanged(array_store), pytest.raises(ChunkDecodeError, match="'0'"):
                op()


def test_chunk_of_the_wrong_size(array_store):
    for compressor, cid in zip(COMPRESSORS, COMPRESSOR_IDS):
        z = zarrflow.full(300, fill_value=7, chunks=100, dtype="<i4", compressor=compressor,
                          store=array_store, path=cid)
        for items in (50, 150):
            values = np.arange(items, dtype="<i4")
            array_store[f"{cid}/1"] = bytes(compressor.encode(values)) if compressor else values.tobytes()
            for read in ("whole-chunk", "part"):
                with case(f"{cid}-{items}-{read}"), unchanged(array_store):
                    with pytest.raises(ChunkDecodeError) as info:
                        z[100:200] if read == "whole-chunk" else z[110:120]
                    assert f"'{cid}/1'" in str(info.value)
                    np.testing.assert_array_equal(z[:100], np.full(100, 7))


# --- keys that would escape a directory store ----------------------------------------------------------------


@pytest.mark.parametrize("cls", [DirectoryStore, NestedDirectoryStore])
def test_directory_store_rejects_escaping_keys(tmp_path, cls):
    root = tmp_path / "root"
    store = cls(str(root))
    zarrflow.zeros(3, store=store, path="ok")
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    for bad in ["../escape", "a/../../escape", "a/./b", "..", "/abs/path", "\\abs", "C:\\x"]:
        with case(bad), unchanged(store):
            for key in (bad, bad + "/.zarray", bad + "/0"):
                with pytest.raises(InvalidKeyError) as info:
                    store[key] = b"x"
                assert repr(key) in str(info.value)
            if ".." in bad or "/./" in bad:  # a leading '/' in an array *path* is dropped, as in zarr 2
                with pytest.raises(InvalidKeyError, match="'..'"):
                    zarrflow.zeros(3, store=store, path=bad)
                with pytest.raises(InvalidKeyError):
                    zarrflow.open_array(store, mode="a", path=bad, shape=3)
                with pytest.raises(InvalidKeyError):
                    zarrflow.Array(store, path=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    assert not (tmp_path / "escape").exists() and not os.path.exists("/abs/path")


# --- the Pickle codec needs an opt-in ------------------------------------------------------------------------------


@pytest.fixture
def pickled_store(array_store, monkeypatch):
    monkeypatch.delenv("ZARRFLOW_ALLOW_PICKLE", raising=False)
    z = zarrflow.empty(4, chunks=2, dtype=object, object_codec=numcodecs.Pickle(), store=array_store, path="p")
    data = np.empty(4, dtype=object)
    data[:] = ["a", 1, None, [2, 3]]
    z[:] = data
    return array_store


def test_pickle_codec_refused_without_opt_in(pickled_store, monkeypatch):
    with unchanged(pickled_store):
        for handle in (zarrflow.Array(pickled_store, path="p"), zarrflow.open_array(pickled_store, path="p"),
                       zarrflow.open(pickled_store, mode="r", path="p")):
            with pytest.raises(UnsafeCodecError) as info:
                handle[:]
            message = str(info.value)
            assert "allow_pickle=True" in message and "ZARRFLOW_ALLOW_PICKLE=1" in message
            assert "'p/0'" in message
            assert isinstance(info.value, PermissionError)
            if not handle.read_only:
                with pytest.raises(UnsafeCodecError):
                    handle[0] = "x"  # a partial write decodes first
        for value in ["0", "", "no", "false"]:  # only true values open the switch
            monkeypatch.setenv("ZARRFLOW_ALLOW_PICKLE", value)
            with case(value), pytest.raises(UnsafeCodecError):
                zarrflow.Array(pickled_store, path="p")[:]


def test_pickle_codec_decodes_with_opt_in(pickled_store, monkeypatch):
    expected = ["a", 1, None, [2, 3]]
    with case("argument"):
        assert zarrflow.Array(pickled_store, path="p", allow_pickle=True)[:].tolist() == expected
    monkeypatch.setenv("ZARRFLOW_ALLOW_PICKLE", "1")
    with case("environment"):
        z = zarrflow.open_array(pickled_store, mode="r", path="p")
        assert z[:].tolist() == expected
        assert zarrflow.load(pickled_store, path="p").tolist() == expected
    monkeypatch.delenv("ZARRFLOW_ALLOW_PICKLE")
    with pytest.raises(UnsafeCodecError):  # the switch is read at open time, not remembered
        zarrflow.Array(pickled_store, path="p")[:]

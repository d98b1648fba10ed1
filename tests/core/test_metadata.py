"""Tests for zarrflow.format (and core.normalize): dtype/fill-value codecs, documents, zarr 2.18 bytes."""

from __future__ import annotations

import json
import math
import warnings

import numcodecs
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zarrflow.core.normalize import (
    normalize_dimension_separator,
    normalize_dtype,
    normalize_fill_value,
    normalize_order,
)
from zarrflow.errors import MetadataError, UnknownCodecError, UnsafeCodecError
from zarrflow.format import (
    ARRAY_META_KEY,
    ATTRS_KEY,
    CONSOLIDATED_KEY,
    GROUP_META_KEY,
    ZARR_FORMAT,
    ArrayMetadata,
    GroupMetadata,
    decode_dtype,
    decode_fill_value,
    encode_attributes,
    encode_consolidated,
    encode_dtype,
    encode_fill_value,
    get_codec,
    json_dumps,
    parse_attributes,
    parse_consolidated,
)

NESTED = [("a", "<i4"), ("b", [("c", "<f8", (2,))])]
UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]
ALL_DTYPES = (
    ["|b1", "|i1", "|u1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", ">i2", ">i4", ">i8", ">u4", ">u8"]
    + ["<f2", "<f4", "<f8", ">f2", ">f4", ">f8", "<c8", "<c16", ">c8", ">c16"]
    + [f"{e}{k}8[{u}]" for e in "<>" for k in "Mm" for u in UNITS]
    + ["|S1", "|S6", "|S100", "<U1", "<U20", ">U7", "|V1", "|V16", "|O"]
)
STRUCTURED = [
    [("x", "<i4"), ("y", "<f8")],
    NESTED,
    [("a", ">u2", (3, 2)), ("s", "|S4"), ("u", "<U3"), ("t", "<M8[s]")],
    [("p", [("q", [("r", "|b1")])]), ("z", "<c16", (2,))],
]


def _meta(**kw):
    base = dict(
        shape=(10, 20),
        chunks=(5, 5),
        dtype=np.dtype("<f8"),
        compressor=None,
        fill_value=0.0,
        order="C",
        filters=None,
        dimension_separator=None,
    )
    base.update(kw)
    return ArrayMetadata(**base)


def _doc(**kw):
    doc = json.loads(_meta().to_json())
    doc.update(kw)
    return doc


# --- dtypes ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_DTYPES)
def test_dtype_round_trip(spec):
    dtype = np.dtype(spec)
    encoded = encode_dtype(dtype)
    assert encoded == dtype.str == spec
    assert decode_dtype(json.loads(json.dumps(encoded))) == dtype


@pytest.mark.parametrize("spec", STRUCTURED, ids=str)
def test_structured_dtype_round_trip(spec):
    dtype = np.dtype(spec)
    encoded = encode_dtype(dtype)
    assert isinstance(encoded, list)
    back = decode_dtype(json.loads(json.dumps(encoded)))
    assert back == dtype and back.descr == dtype.descr


def test_structured_dtype_encoding_shape():
    assert encode_dtype(np.dtype(NESTED)) == [["a", "<i4"], ["b", [["c", "<f8", [2]]]]]


@pytest.mark.parametrize("junk", ["foo", "<i3", "", None, 5, {"a": 1}, [], [["a"]], [["a", "zz"]], True])
def test_decode_dtype_junk(junk):
    with pytest.raises(MetadataError, match=r"\.zarray.*dtype"):
        decode_dtype(junk)


def test_encode_subarray_dtype_rejected():
    with pytest.raises(ValueError, match="subarray"):
        encode_dtype(np.dtype("(2,)<i4"))


def test_normalize_dtype_object_shortcuts():
    dt, codec = normalize_dtype(str)
    assert dt == np.dtype(object) and codec.codec_id == "vlen-utf8"
    dt, codec = normalize_dtype("bytes")
    assert dt == np.dtype(object) and codec.codec_id == "vlen-bytes"
    dt, codec = normalize_dtype("array:i8")
    assert dt == np.dtype(object) and codec.get_config() == {"id": "vlen-array", "dtype": "<i8"}
    given_codec = numcodecs.JSON()
    assert normalize_dtype(str, given_codec) == (np.dtype(object), given_codec)
    assert normalize_dtype(None) == (np.dtype("<f8"), None)
    assert normalize_dtype(np.int16) == (np.dtype("<i2"), None)


def test_normalize_dtype_object_rules():
    with pytest.raises(ValueError, match="missing object_codec for object array"):
        normalize_dtype(object)
    with pytest.warns(FutureWarning, match="missing object_codec"):
        assert normalize_dtype("|O", filters=[numcodecs.VLenUTF8()]) == (np.dtype(object), None)
    with pytest.warns(UserWarning, match="only needed for object arrays"):
        assert normalize_dtype("<i4", numcodecs.VLenUTF8()) == (np.dtype("<i4"), None)
    codec = numcodecs.Pickle()
    assert normalize_dtype("|O", codec) == (np.dtype(object), codec)


@pytest.mark.parametrize("spec", ["M8", "m8", "<M8", ">m8", np.datetime64])
def test_normalize_dtype_generic_datetime_rejected(spec):
    with pytest.raises(ValueError, match="specify units"):
        normalize_dtype(spec)


def test_normalize_order_and_separator():
    assert normalize_order("c") == "C" and normalize_order("F") == "F"
    with pytest.raises(ValueError, match="'K'"):
        normalize_order("K")
    for sep in (None, ".", "/"):
        assert normalize_dimension_separator(sep) == sep
    with pytest.raises(ValueError, match="'-'"):
        normalize_dimension_separator("-")


# --- fill values -----------------------------------------------------------------------


def _json_round_trip(value, dtype, codec=None):
    encoded = encode_fill_value(value, dtype, codec)
    text = json_dumps({"fill_value": encoded})
    back = decode_fill_value(json.loads(text)["fill_value"], dtype, codec)
    assert json_dumps({"fill_value": encode_fill_value(back, dtype, codec)}) == text
    return encoded, back


@pytest.mark.parametrize(
    "dtype,value,encoded",
    [
        ("<f8", np.nan, "NaN"),
        ("<f4", np.inf, "Infinity"),
        ("<f2", -np.inf, "-Infinity"),
        ("<f8", 0, 0.0),
        ("<i8", -(2**63), -(2**63)),
        ("<u8", 2**64 - 1, 2**64 - 1),
        ("|b1", True, True),
        ("<c16", 1 + 2j, [1.0, 2.0]),
        ("<c8", complex(np.nan, -np.inf), ["NaN", "-Infinity"]),
        ("|S3", b"ab", "YWI="),
        ("<U4", "h\u00e9!", "h\u00e9!"),
        ("<M8[ns]", np.datetime64("NaT"), -(2**63)),
        ("<m8[D]", np.timedelta64(3, "D"), 3),
        ("|V2", b"\x01\x02", "AQI="),
        (NESTED, 0, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ],
    ids=str,
)
def test_fill_value_encoding(dtype, value, encoded):
    dtype = np.dtype(dtype)
    value = normalize_fill_value(value, dtype)
    assert encode_fill_value(value, dtype) == encoded
    _json_round_trip(value, dtype)


def test_fill_value_decoding_quirks():
    assert decode_fill_value(None, np.dtype("<i4")) is None
    nan = decode_fill_value("NaN", np.dtype("<f4"))
    assert isinstance(nan, float) and math.isnan(nan)  # zarr returns np.nan itself
    assert decode_fill_value("Infinity", np.dtype("<f8")) == np.inf
    assert decode_fill_value(0, np.dtype("|S3")) == b"0"  # not base64: kept as-is, like zarr
    assert decode_fill_value("foo", np.dtype("<U3")) == "foo"
    assert decode_fill_value(1.5, np.dtype("<f4")) == np.float32(1.5)
    assert type(decode_fill_value(3, np.dtype("<i2"))) is np.int16
    assert decode_fill_value("x", np.dtype(object)) == "x"
    v = decode_fill_value(["1", "Infinity"], np.dtype("<c16"))
    assert v.real == 1 and v.imag == np.inf  # zarr 2 would give nan real part here


def test_normalize_fill_value():
    assert normalize_fill_value(None, np.dtype("<i4")) is None
    assert normalize_fill_value(0, np.dtype("|S5")) == b""
    assert normalize_fill_value(0, np.dtype("<U5")) == ""
    assert normalize_fill_value(0, np.dtype("<M8[s]")) == np.datetime64(0, "s")
    zero = normalize_fill_value(0, np.dtype(NESTED))
    assert isinstance(zero, np.void) and zero.tobytes() == bytes(20)
    assert normalize_fill_value([1, 2], np.dtype(object)) == [1, 2]
    assert normalize_fill_value(b"\x01\x02", np.dtype("|V2")).tobytes() == b"\x01\x02"
    assert type(normalize_fill_value(7, np.dtype("<u2"))) is np.uint16
    with pytest.raises(ValueError, match=r"fill_value 5 .*<U3.*unicode"):
        normalize_fill_value(5, np.dtype("<U3"))
    with pytest.raises(ValueError, match=r"fill_value 'abc' is not valid for dtype int32"):
        normalize_fill_value("abc", np.dtype("<i4"))
    with pytest.raises(ValueError, match="fill_value 300 .*uint8"):
        normalize_fill_value(300, np.dtype("|u1"))


def test_object_fill_values(monkeypatch):
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)
    codec = numcodecs.Pickle()
    dtype = np.dtype([("a", "<i4"), ("o", "O")])
    value = np.array((3, "x"), dtype=dtype)[()]
    encoded = encode_fill_value(value, dtype, codec)
    assert isinstance(encoded, str)
    back = decode_fill_value(encoded, dtype, codec)
    assert back["a"] == 3 and back["o"] == "x"
    with pytest.raises(ValueError, match="missing object_codec"):
        encode_fill_value(value, dtype)
    assert encode_fill_value("abc", np.dtype(object)) == "abc"
    meta = _meta(dtype=dtype, fill_value=value, filters=[codec.get_config()])
    assert ArrayMetadata.from_json(meta.to_json()).fill_value["o"] == "x"
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", False)
    with pytest.raises(UnsafeCodecError, match=r"s/\.zarray: .*'pickle'"):
        ArrayMetadata.from_json(meta.to_json(), key="s/.zarray")


FLOAT_FILL = st.floats(allow_nan=True, allow_infinity=True)


def _same(a, b):
    if isinstance(a, (float, np.floating)) and np.isnan(a):
        return np.isnan(b)
    if isinstance(a, (np.datetime64, np.timedelta64)) and np.isnat(a):  # NaT != NaT, like NaN
        return type(b) is type(a) and np.isnat(b) and np.datetime_data(a.dtype) == np.datetime_data(b.dtype)
    return a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.tuples(st.just("<f2"), st.floats(width=16)),
        st.tuples(st.just(">f4"), st.floats(width=32)),
        st.tuples(st.just("<f8"), FLOAT_FILL),
        st.tuples(st.just("<i8"), st.integers(-(2**63), 2**63 - 1)),
        st.tuples(st.just(">u8"), st.integers(0, 2**64 - 1)),
        st.tuples(st.just("|i1"), st.integers(-128, 127)),
        st.tuples(st.just("|b1"), st.booleans()),
        st.tuples(st.just("|S8"), st.binary(max_size=8)),
        st.tuples(st.just("<U6"), st.text(max_size=6)),
        st.tuples(st.sampled_from(["<M8[ns]", ">m8[s]", "<M8[D]"]), st.integers(-(2**63), 2**63 - 1)),
    )
)
@example(("<M8[ns]", -(2**63)))  # NaT
@example((">m8[s]", -(2**63)))  # NaT
def test_fill_value_round_trip_scalars(case):
    spec, raw = case
    dtype = np.dtype(spec)
    if dtype.kind in "mM":
        raw = np.array(raw, dtype="i8").view(dtype.newbyteorder("="))[()]
    value = normalize_fill_value(raw, dtype)
    _, back = _json_round_trip(value, dtype)
    assert _same(value, back)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["<c8", "<c16", ">c16"]), FLOAT_FILL, FLOAT_FILL)
def test_fill_value_round_trip_complex(spec, re, im):
    dtype = np.dtype(spec)
    with np.errstate(over="ignore"):
        value = normalize_fill_value(complex(re, im), dtype)
    encoded, back = _json_round_trip(value, dtype)
    assert len(encoded) == 2
    assert _same(value.real, back.real) and _same(value.imag, back.imag)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(-(2**31), 2**31 - 1),
    st.lists(FLOAT_FILL, min_size=2, max_size=2),
    st.binary(max_size=4),
)
def test_fill_value_round_trip_structured(a, cs, raw):
    dtype = np.dtype([("a", ">i4"), ("b", [("c", "<f8", (2,))]), ("s", "|S4")])
    value = np.array((a, (cs,), raw), dtype=dtype)[()]
    value = normalize_fill_value(value, dtype)
    encoded, back = _json_round_trip(value, dtype)
    assert isinstance(encoded, str) and isinstance(back, np.void)
    assert back.tobytes() == value.tobytes()


# --- ArrayMetadata ---------------------------------------------------------------------


def test_array_metadata_basics():
    meta = _meta(dimension_separator="/", filters=[{"id": "delta", "dtype": "<f8"}])
    assert meta.separator == "/" and _meta().separator == "."
    assert meta.filters == ({"id": "delta", "dtype": "<f8"},)
    assert isinstance(meta.shape, tuple) and meta.zarr_format == ZARR_FORMAT
    again = ArrayMetadata.from_json(meta.to_json())
    assert again.to_json() == meta.to_json() and again == meta
    assert _meta(fill_value=np.nan) == _meta(fill_value=np.nan) != _meta()
    assert len({_meta(), _meta(), meta}) == 2
    bigger = meta.replace(shape=(100, 20))
    assert bigger.shape == (100, 20) and meta.shape == (10, 20)
    with pytest.raises(MetadataError, match="chunks"):
        meta.replace(chunks=(1,))
    doc = json.loads(_meta().to_json())
    assert "dimension_separator" not in doc
    assert doc["fill_value"] == 0.0 and "0.0" in _meta().to_json().decode()


def test_array_metadata_from_mapping_and_str_and_extra_keys():
    doc = _doc(extra="tolerated", dimension_separator=None)
    for form in (doc, json.dumps(doc), json.dumps(doc).encode()):
        meta = ArrayMetadata.from_json(form)
        assert meta.shape == (10, 20) and meta.dimension_separator is None


@pytest.mark.parametrize("spec", ALL_DTYPES[:-1] + STRUCTURED, ids=str)
def test_array_metadata_round_trip_every_dtype(spec):
    dtype = np.dtype(spec)
    meta = _meta(dtype=dtype, fill_value=normalize_fill_value(0, dtype), order="F")
    again = ArrayMetadata.from_json(meta.to_json())
    assert again.dtype == dtype and again.to_json() == meta.to_json()


def test_array_metadata_object_dtype():
    dtype, codec = normalize_dtype(str)
    meta = _meta(dtype=dtype, fill_value="", filters=[codec.get_config()])
    again = ArrayMetadata.from_json(meta.to_json())
    assert again.fill_value == "" and again.object_codec().codec_id == "vlen-utf8"
    with pytest.raises(MetadataError, match="filters"):
        _meta(dtype=dtype, fill_value=None, filters=None)


BAD_DOCS = [
    ("not json", b"{not json", r"\.zarray: invalid JSON"),
    ("not object", b"[1, 2]", r"\.zarray: array metadata must be a JSON object.*\[1, 2\]"),
    ("format 3", _doc(zarr_format=3), r"\.zarray.*zarr_format 3"),
    ("format str", _doc(zarr_format="2"), r"\.zarray.*zarr_format '2'"),
    ("missing", {"zarr_format": 2}, r"\.zarray: missing .*shape"),
    ("negative shape", _doc(shape=[-1, 20]), r"\.zarray: shape .*\[-1, 20\]"),
    ("float shape", _doc(shape=[10.5, 20]), r"\.zarray: shape .*10\.5"),
    ("shape not list", _doc(shape=10), r"\.zarray: shape .*10"),
    ("chunks length", _doc(chunks=[5]), r"\.zarray: chunks \[5\] .*shape \[10, 20\]"),
    ("zero chunk", _doc(chunks=[0, 5]), r"\.zarray: chunks .*\[0, 5\]"),
    ("bool chunk", _doc(chunks=[True, 5]), r"\.zarray: chunks .*True"),
    ("order", _doc(order="K"), r"\.zarray: order .*'K'"),
    ("dtype", _doc(dtype="<q7"), r"\.zarray: invalid dtype '<q7'"),
    ("subarray dtype", _doc(dtype="(2,)<i4"), r"\.zarray: dtype .*subarray"),
    ("compressor str", _doc(compressor="zlib"), r"\.zarray: compressor .*'zlib'"),
    ("compressor no id", _doc(compressor={"level": 1}), r"\.zarray: compressor .*'level'"),
    ("filters not list", _doc(filters={"id": "zlib"}), r"\.zarray: filters must be null or a list.*zlib"),
    ("filter not dict", _doc(filters=["zlib"]), r"\.zarray: filters .*'zlib'"),
    ("separator", _doc(dimension_separator="-"), r"\.zarray: dimension_separator .*'-'"),
    ("fill value", _doc(fill_value="abc"), r"\.zarray: invalid fill_value 'abc'"),
    ("int overflow", _doc(dtype="|u1", fill_value=300), r"\.zarray: invalid fill_value 300"),
    ("object no filters", _doc(dtype="|O", fill_value=None), r"\.zarray: .*filters"),
]


@pytest.mark.parametrize("data,pattern", [c[1:] for c in BAD_DOCS], ids=[c[0] for c in BAD_DOCS])
def test_array_metadata_rejects(data, pattern):
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    with pytest.raises(MetadataError, match=pattern):
        ArrayMetadata.from_json(data)
    with pytest.raises(MetadataError, match=pattern.replace(r"\.zarray", r"foo/bar/\.zarray")):
        ArrayMetadata.from_json(data, key="foo/bar/.zarray")


def test_array_metadata_rejects_bad_utf8():
    with pytest.raises(MetadataError, match=r"a/\.zarray: invalid JSON"):
        ArrayMetadata.from_json(b'{"a": "\xff"}', key="a/.zarray")


def test_get_codec():
    assert get_codec(None) is None
    assert get_codec({"id": "zlib", "level": 3}) == numcodecs.Zlib(level=3)
    with pytest.raises(UnknownCodecError, match=r"x/\.zarray: unknown codec id 'nope'"):
        get_codec({"id": "nope"}, key="x/.zarray")
    with pytest.raises(MetadataError, match=r"\.zarray: .*'zlib'"):
        get_codec("zlib")
    with pytest.raises(MetadataError, match=r"\.zarray: invalid codec config.*bogus"):
        get_codec({"id": "zlib", "bogus": 1})
    meta = ArrayMetadata.from_json(_doc(compressor={"id": "nope"}))  # structure only at parse
    with pytest.raises(UnknownCodecError, match="'nope'"):
        get_codec(meta.compressor)


# --- group, attributes, consolidated ---------------------------------------------------


def test_group_metadata():
    assert GroupMetadata().to_json() == b'{\n    "zarr_format": 2\n}'
    assert GroupMetadata.from_json(b'{"zarr_format": 2}') == GroupMetadata()
    with pytest.raises(MetadataError, match=r"g/\.zgroup.*zarr_format 3"):
        GroupMetadata.from_json(b'{"zarr_format": 3}', key="g/.zgroup")
    with pytest.raises(MetadataError, match=r"\.zgroup: invalid JSON"):
        GroupMetadata.from_json(b"nope")
    assert GROUP_META_KEY == ".zgroup" and ARRAY_META_KEY == ".zarray"


def test_attributes():
    assert parse_attributes(None) == {}
    attrs = {"b": [1, 2.5, None], "a": "\u00e9", "n": np.int64(3), "f": np.float32(0.5), "nan": float("nan")}
    data = encode_attributes(attrs)
    assert data.decode("ascii").startswith('{\n    "a": "\\u00e9",')
    assert b"NaN" in data
    back = parse_attributes(data)
    assert back["n"] == 3 and back["f"] == 0.5 and back["b"] == [1, 2.5, None]
    with pytest.raises(MetadataError, match=r"x/\.zattrs: attributes must be a JSON object.*\[1\]"):
        parse_attributes(b"[1]", key="x/.zattrs")
    with pytest.raises(MetadataError, match=r"\.zattrs: invalid JSON"):
        parse_attributes("{'a': 1}", key=ATTRS_KEY)
    with pytest.raises(TypeError, match=r"attribute 'bad'.*type set"):
        encode_attributes({"ok": 1, "bad": {1, 2}})
    with pytest.raises(TypeError, match=r"attribute 'deep'.*type complex"):
        encode_attributes({"deep": {"x": [1, 1j]}})
    with pytest.raises(TypeError, match=r"attribute 'arr'.*ndarray"):
        encode_attributes({"arr": np.arange(3)})


def test_consolidated():
    zarray = _meta().to_json()
    meta = {".zgroup": GroupMetadata().to_json(), "a/.zarray": zarray, "a/.zattrs": {"x": 1}}
    data = encode_consolidated(meta)
    doc = json.loads(data)
    assert list(doc) == ["metadata", "zarr_consolidated_format"] and doc["zarr_consolidated_format"] == 1
    inner = parse_consolidated(data)
    assert inner["a/.zattrs"] == {"x": 1} and inner[".zgroup"] == {"zarr_format": 2}
    assert ArrayMetadata.from_json(inner["a/.zarray"]).to_json() == zarray
    with pytest.raises(MetadataError, match=r"\.zmetadata: unsupported zarr_consolidated_format 2"):
        parse_consolidated(b'{"metadata": {}, "zarr_consolidated_format": 2}')
    with pytest.raises(MetadataError, match=r"\.zmetadata: 'metadata' must be"):
        parse_consolidated(b'{"metadata": [], "zarr_consolidated_format": 1}', key=CONSOLIDATED_KEY)
    with pytest.raises(MetadataError, match=r"metadata\['k'\] must be"):
        parse_consolidated(b'{"metadata": {"k": 1}, "zarr_consolidated_format": 1}')


# --- byte-identical versus zarr 2.18 ---------------------------------------------------

CASE_DTYPES = [
    ("'<f8'", ["0", "np.nan", "np.inf", "-np.inf", "None", "1.5", "-0.25"]),
    ("'>f4'", ["0.1", "np.nan"]),
    ("'<f2'", ["0.333", "-np.inf"]),
    ("'<i8'", ["0", "-(2**63)", "None", "42"]),
    ("'>u8'", ["2**64 - 1"]),
    ("'|u1'", ["255"]),
    ("'|i1'", ["-5"]),
    ("'|b1'", ["True", "False", "0"]),
    ("'<c16'", ["0", "1+2j", "complex(np.nan, np.inf)"]),
    ("'>c8'", ["0.1-3j"]),
    ("'<M8[ns]'", ["0", "np.datetime64('2020-01-01T12:00', 'ns')", "np.datetime64('NaT')"]),
    ("'<m8[D]'", ["np.timedelta64(5, 'D')", "None"]),
    ("'>M8[s]'", ["np.datetime64(-5, 's')"]),
    ("'|S6'", ["0", "b'abc'", "b'\\x00\\xff'", "None"]),
    ("'<U20'", ["0", "'h\u00e9llo \u2603'", "''"]),
    ("'|V4'", ["0", "b'\\x01\\x02\\x03\\x04'"]),
    (repr(NESTED), ["0", "None", "(1, ([2.5, np.nan],))"]),
    ("[('x', '>u2', (2, 2)), ('s', '|S3'), ('t', '<M8[ms]')]", ["0", "(((1, 2), (3, 4)), b'hi', 7)"]),
]
CASE_CODECS = [
    ("None", "None"),
    ("numcodecs.Zlib(level=1)", "None"),
    ("numcodecs.Blosc(cname='zstd', clevel=3, shuffle=2)", "[numcodecs.Zstd(level=2)]"),
]


def _cases():
    cases = []
    for dtype, fills in CASE_DTYPES:
        for i, fill in enumerate(fills):
            compressor, filters = CASE_CODECS[i % len(CASE_CODECS)]
            sep = [None, "/", "."][i % 3]
            order = "CF"[i % 2]
            shape, chunks = ([100, 7], [10, 3]) if i % 2 == 0 else ([5], [5])
            cases.append(dict(dtype=dtype, fill=fill, compressor=compressor, filters=filters,
                              sep=sep, order=order, shape=shape, chunks=chunks))
    extra = [
        dict(dtype="'<i4'", fill="0", compressor="None", filters="None", sep=None, order="C",
             shape=[], chunks=[]),
        dict(dtype="'<f8'", fill="0", compressor="numcodecs.Zlib(level=1)",
             filters="[numcodecs.Delta(dtype='<f8'), numcodecs.Quantize(digits=2, dtype='<f8')]",
             sep="/", order="F", shape=[0, 3], chunks=[1, 1]),
        dict(dtype="'<i8'", fill="1", compressor="numcodecs.Zlib(level=1)",
             filters="[numcodecs.FixedScaleOffset(offset=0, scale=10, dtype='<i8', astype='<i2')]",
             sep=None, order="C", shape=[4], chunks=[2]),
        dict(dtype="str", fill="None", compressor="None", filters="None", sep=None, order="C",
             shape=[4], chunks=[2]),
        dict(dtype="str", fill="'x'", compressor="numcodecs.Zlib(level=1)", filters="None",
             sep="/", order="C", shape=[4], chunks=[2]),
        dict(dtype="bytes", fill="0", compressor="None", filters="[numcodecs.Zlib(level=2)]",
             sep=None, order="F", shape=[4], chunks=[2]),
        dict(dtype="'array:i4'", fill="None", compressor="None", filters="None", sep=None,
             order="C", shape=[4], chunks=[2]),
        dict(dtype="'<U3'", fill="'abc'", compressor="None", filters="None", sep=None, order="C",
             shape=[4], chunks=[2]),
    ]
    return cases + extra


ORACLE = """
import numcodecs
result = []
for c in cases:
    store = {}
    try:
        zarr.create(store=store, shape=c['shape'], chunks=c['chunks'], dtype=eval(c['dtype']),
                    fill_value=eval(c['fill']), order=c['order'], compressor=eval(c['compressor']),
                    filters=eval(c['filters']), dimension_separator=c['sep'])
        result.append(store['.zarray'].decode())
    except Exception as e:
        result.append('ERROR ' + repr(e))
"""


def _ours(case) -> str:
    env = {"np": np, "numcodecs": numcodecs}
    dtype, codec = normalize_dtype(eval(case["dtype"], env))
    fill = normalize_fill_value(eval(case["fill"], env), dtype)
    filters = [f.get_config() for f in eval(case["filters"], env) or []]
    if codec is not None:
        filters.insert(0, codec.get_config())
    compressor = eval(case["compressor"], env)
    meta = ArrayMetadata(
        shape=tuple(case["shape"]),
        chunks=tuple(case["chunks"]),
        dtype=dtype,
        compressor=compressor.get_config() if compressor is not None and case["shape"] else None,
        fill_value=fill,
        order=normalize_order(case["order"]),
        filters=filters or None,
        dimension_separator=normalize_dimension_separator(case["sep"]),
    )
    text = meta.to_json().decode()
    assert ArrayMetadata.from_json(text).to_json().decode() == text
    return text


@pytest.mark.zarr2
def test_to_json_matches_zarr2(zarr2):
    cases = _cases()
    expected = zarr2.run(ORACLE, cases=cases)
    assert len(cases) > 50
    mismatches = []
    for case, want in zip(cases, expected):
        got = _ours(case)
        if got != want:
            mismatches.append((case, want, got))
    assert not mismatches, mismatches[:3]


@pytest.mark.zarr2
def test_zarr2_reads_ours(zarr2):
    """zarr 2.18 decodes our documents (incl. NaN/structured fills) to the same values."""
    docs = [_ours(c) for c in _cases()]
    code = """
from zarr.meta import Metadata2
result = []
for d in docs:
    m = Metadata2.decode_array_metadata(d)
    result.append(Metadata2.encode_array_metadata(m).decode())
"""
    assert zarr2.run(code, docs=docs) == docs


def test_zarr3_reads_ours(tmp_path):
    zarr = pytest.importorskip("zarr")
    cases = [
        ("<f8", np.nan), ("<i4", 7), ("|S4", b"ab"), ("<U5", "h\u00e9"), ("<M8[ns]", np.datetime64(5, "ns")),
        ("<c16", 1 - 2j), ("|b1", True), (">i4", -3), ([("x", "<i4"), ("y", ">f8")], (1, 2.5)), ("<f4", None),
    ]
    for i, (spec, fill) in enumerate(cases):
        dtype = np.dtype(spec)
        fill = normalize_fill_value(fill, dtype)
        meta = _meta(shape=(4, 6), chunks=(2, 3), dtype=dtype, fill_value=fill,
                     compressor=numcodecs.Zlib(1).get_config(), dimension_separator="/" if i % 2 else None)
        path = tmp_path / f"a{i}"
        path.mkdir()
        (path / ".zarray").write_bytes(meta.to_json())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = zarr.open_array(str(path), mode="r", zarr_format=2)
            data = arr[:]
        assert arr.shape == (4, 6) and arr.dtype == dtype, spec
        assert data.dtype == dtype and data.shape == (4, 6)
        if fill is None:
            continue
        want = np.full((), fill, dtype=dtype)
        np.testing.assert_array_equal(data[0, 0], want[()], err_msg=str(spec))

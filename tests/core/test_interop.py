"""On-disk interoperability of zarrflow with zarr-python 2.18 (zarr 3 and tensorstore:
test_interop_oracles.py; the case matrix: interop_cases.py).

One matrix of cases (dtype x compressor x filters x order x dimension_separator x
fill_value x shape; a pairwise-style selection, not the full product) is written by
zarrflow into DirectoryStores, and read back by every oracle; each oracle writes the
same case, and zarrflow reads that. Per case:

* zarr 2.18 reads zarrflow's array (values, dtype, fill value, info rows), writes the
  same case with the same creation arguments: the ``.zarray`` bytes, the chunk files on
  disk and their decoded payloads must be identical; zarrflow reads zarr 2.18's array.
* zarr 3.x (``zarr_format=2``) and tensorstore read zarrflow's array, and write the
  case for zarrflow to read, where they can express it (the skips name the limitation).
* With ``dimension_separator='/'`` chunks are nested directories on disk.

All zarr 2.18 work happens in one subprocess for the whole matrix (module fixture).
Unwritten regions are part of every case, so fill values matter; with
``fill_value=None`` only the written region has defined contents and is compared.
"""


from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import zarrflow
from tests.core.interop_cases import (
    CASE_IDS,
    CASES,
    COMPRESSORS,
    DTYPES,
    FILTER_KINDS,
    ORDERS,
    SEPARATORS,
    SHAPES,
    Case,
    assert_nested_on_disk,
    assert_values,
    case_json,
    chunk_files,
    chunk_keys,
    decoded_payload,
    expected_array,
    matrix,
    np_dtype,
    zarrflow_read,
)

ZARR2_CODE = r"""
import os, traceback, numcodecs
from zarr.meta import Metadata2

def make_dtype(spec):
    if isinstance(spec, list):
        return np.dtype([tuple(f[:2]) + ((tuple(f[2]),) if len(f) > 2 else ()) for f in spec])
    return spec

def kwargs_for(c):
    kw = dict(shape=tuple(c['shape']), chunks=tuple(c['chunks']), dtype=make_dtype(c['dtype']), order=c['order'])
    if c['compressor'] != 'default':
        kw['compressor'] = None if c['compressor'] is None else numcodecs.get_codec(dict(c['compressor']))
    if c['filters']:
        kw['filters'] = [numcodecs.get_codec(dict(f)) for f in c['filters']]
    if c['sep'] is not None:
        kw['dimension_separator'] = c['sep']
    if c['fill'] != 'default':
        kw['fill_value'] = eval(c['fill'], {'np': np})
    return kw

def sel_for(c):
    if c['region'] is None:
        return None
    return tuple(slice(a, b) for a, b in c['region']) or Ellipsis

def files(path):
    out = []
    for d, _, fs in os.walk(path):
        for f in fs:
            rel = os.path.relpath(os.path.join(d, f), path).replace(os.sep, '/')
            if rel not in ('.zarray', '.zattrs'):
                out.append(rel)
    return sorted(out)

result = {}
for c in cases:
    r = result[c['id']] = {}
    src = os.path.join(root, 'zarrflow', c['id'])
    try:
        a = zarr.open_array(src, mode='r')
        np.save(os.path.join(root, 'z2_read', c['id'] + '.npy'), a[...], allow_pickle=True)
        r['read'] = dict(
            dtype=a.dtype.descr if a.dtype.names else a.dtype.str, shape=list(a.shape), chunks=list(a.chunks),
            order=a.order, fill=Metadata2.encode_fill_value(a.fill_value, a.dtype), fill_repr=repr(a.fill_value),
            compressor=a.compressor.get_config() if a.compressor else None,
            filters=[f.get_config() for f in a.filters] if a.filters else None,
            info=[list(x) for x in a.info_items()])
    except Exception:
        r['read_error'] = traceback.format_exc()
    dst = os.path.join(root, 'zarr2', c['id'])
    try:
        data = np.load(os.path.join(root, 'data', c['id'] + '.npy'), allow_pickle=True)
        z = zarr.open_array(dst, mode='w', **kwargs_for(c))
        sel = sel_for(c)
        if sel is not None:
            z[sel] = data[sel]
        np.save(os.path.join(root, 'z2_self', c['id'] + '.npy'), zarr.open_array(dst, mode='r')[...],
                allow_pickle=True)
        with open(os.path.join(dst, '.zarray')) as f:
            r['zarray'] = f.read()
        r['files'] = files(dst)
    except Exception:
        r['write_error'] = traceback.format_exc()
"""


@pytest.fixture(scope="module")
def z2(zarr2, world) -> dict[str, dict]:
    """zarr 2.18's reading of every zarrflow array and its own writing of every case."""
    return zarr2.run(ZARR2_CODE, root=str(world.root), cases=[case_json(c) for c in CASES])


def _z2_result(z2: dict, case: Case, part: str) -> dict:
    r = z2[case.id]
    assert f"{part}_error" not in r, f"zarr 2.18 failed to {part}:\n{r[f'{part}_error']}"
    return r


# --- the matrix itself --------------------------------------------------------------------


def test_matrix_covers_every_axis_value():
    assert 60 <= len(CASES) <= 150
    assert len(set(CASE_IDS)) == len(CASES)
    assert {c.dtype for c in CASES} == set(DTYPES)
    assert {c.compressor for c in CASES} == set(COMPRESSORS)
    assert {c.filters for c in CASES} == set(FILTER_KINDS)
    assert {c.order for c in CASES} == set(ORDERS)
    assert {c.sep for c in CASES} == set(SEPARATORS)
    assert {c.shape_kind for c in CASES} == set(SHAPES)
    fills = {("nan" if "nan" in c.fill else "none" if c.fill_is_none else "default" if c.fill == "default"
              else "value") for c in CASES}
    assert fills == {"default", "value", "nan", "none"}
    # pairwise: every two values of the compressor, order and separator axes meet
    assert len({(c.compressor, c.order) for c in CASES}) == len(COMPRESSORS) * len(ORDERS)
    assert len({(c.compressor, c.sep) for c in CASES}) == len(COMPRESSORS) * len(SEPARATORS)
    assert len({(c.order, c.sep) for c in CASES}) == len(ORDERS) * len(SEPARATORS)


# zarr 2.18 --------------------------------------------------------------------------------


@pytest.mark.zarr2
@matrix("writes")
def test_zarr2_reads_zarrflow(case, world, z2):
    world.zarrflow_array(case)
    _z2_result(z2, case, "read")
    got = np.load(world.root / "z2_read" / f"{case.id}.npy", allow_pickle=True)
    assert_values(got, expected_array(case), case, what="zarr 2.18 reading zarrflow")


@pytest.mark.zarr2
@matrix("writes")
def test_zarr2_sees_zarrflow_metadata(case, world, z2):
    """zarr 2.18 decodes zarrflow's metadata to what zarrflow holds, and reports the same info."""
    path = world.zarrflow_array(case)
    theirs = _z2_result(z2, case, "read")["read"]
    z = zarrflow.open_array(str(path), mode="r")
    dtype = z.dtype.descr if z.dtype.names else z.dtype.str
    assert json.loads(json.dumps(dtype)) == theirs["dtype"]
    assert [list(z.shape), list(z.chunks), z.order] == [theirs["shape"], theirs["chunks"], theirs["order"]]
    assert (z.compressor.get_config() if z.compressor else None) == theirs["compressor"]
    assert ([f.get_config() for f in z.filters] if z.filters else None) == theirs["filters"]
    # zarr 2 re-encodes the fill value it decoded: the document zarrflow wrote
    assert theirs["fill"] == json.loads((path / ".zarray").read_text())["fill_value"]
    assert repr(z.fill_value) == theirs["fill_repr"]
    compared = ["Data type", "Shape", "Chunk shape", "Order", "Read-only", "Compressor", "No. bytes"]
    if case.sep != "/":  # zarr 2.18's plain DirectoryStore counts chunk directories, not nested files
        compared += ["No. bytes stored", "Storage ratio"]
        if case.shape:  # zarr 2.18 counts '.zarray' as a chunk of a 0-d array (its key regex is '')
            compared.append("Chunks initialized")
    ours = {k: v for k, v in z.info_items() if k in compared or k.startswith("Filter")}
    want = {k: v for k, v in theirs["info"] if k in compared or k.startswith("Filter")}
    assert ours == want


@pytest.mark.zarr2
@matrix("writes")
def test_zarray_bytes_match_zarr2(case, world, z2):
    path = world.zarrflow_array(case)
    theirs = _z2_result(z2, case, "write")["zarray"]
    assert (path / ".zarray").read_text() == theirs


@pytest.mark.zarr2
@matrix("writes")
def test_chunk_files_match_zarr2(case, world, z2):
    """Same chunk keys on disk (nested with '/'), and the same decoded chunk payloads."""
    path = world.zarrflow_array(case)
    theirs = _z2_result(z2, case, "write")["files"]
    ours = chunk_files(path)
    assert ours == theirs == chunk_keys(case)
    if case.sep == "/":
        assert_nested_on_disk(path, case)
        assert_nested_on_disk(world.path("zarr2", case), case)
    for key in ours:
        assert decoded_payload(path, key) == decoded_payload(world.path("zarr2", case), key), key


@pytest.mark.zarr2
@matrix("reads")
def test_zarrflow_reads_zarr2(case, world, z2):
    _z2_result(z2, case, "write")
    theirs = np.load(world.root / "z2_self" / f"{case.id}.npy", allow_pickle=True)
    want = expected_array(case)
    assert_values(theirs, want, case, what="zarr 2.18 reading its own array (oracle sanity)")
    got = zarrflow_read(world.path("zarr2", case), case)
    assert_values(got, want, case, what="zarrflow reading zarr 2.18")


# zarr 3.x ---------------------------------------------------------------------------------


# --- default fill values: zarr 2.18's create() and open_array() ------------------------------

DEFAULT_FILL_DTYPES = ["bool", "<i4", "u8", "<f4", "c8", "M8[ns]", "S5", "<U7", "struct", "str", "bytes", "array:i4"]
#: zarr 2.18's open_array casts the default fill_value 0 through the dtype before creating
#: the array (np.array(0, dtype=dtype)[()]): '0' for U/str, b'0' for S, (0, b'0', ...) for
#: structured dtypes with an S field. zarr.create() does not; zarrflow matches both.
#: zarr 2.18's open_array cannot create these with the default fill at all (TypeError), so
#: there is nothing to compare zarrflow's success with.
OPEN_ARRAY_DEFAULT_FILL_RAISES_IN_ZARR2 = ("bytes", "array:i4")

DEFAULT_FILL_CODE = r"""
import os
def make_dtype(spec):
    if isinstance(spec, list):
        return np.dtype([tuple(f[:2]) + ((tuple(f[2]),) if len(f) > 2 else ()) for f in spec])
    return spec
result = {}
for api, i, spec in items:
    path = os.path.join(root, f'{api}-{i}')
    try:
        if api == 'create':
            zarr.create(shape=(5,), chunks=(3,), dtype=make_dtype(spec), store=path)
        else:
            zarr.open_array(path, mode='w', shape=(5,), chunks=(3,), dtype=make_dtype(spec))
        with open(os.path.join(path, '.zarray')) as f:
            result[f'{api}-{i}'] = f.read()
    except Exception as e:
        result[f'{api}-{i}'] = 'ERROR ' + type(e).__name__
"""


@pytest.fixture(scope="module")
def default_fill_docs(zarr2, tmp_path_factory) -> dict[str, str]:
    items = [[api, i, DTYPES[key]] for api in ("create", "open_array") for i, key in enumerate(DEFAULT_FILL_DTYPES)]
    return zarr2.run(DEFAULT_FILL_CODE, root=str(tmp_path_factory.mktemp("default-fill")), items=items)


def _creation_dtype(key: str) -> Any:
    return np_dtype(key) if isinstance(DTYPES[key], list) else DTYPES[key]


@pytest.mark.zarr2
@pytest.mark.parametrize("key", DEFAULT_FILL_DTYPES)
def test_create_default_fill_matches_zarr2(key, default_fill_docs, tmp_path):
    theirs = default_fill_docs[f"create-{DEFAULT_FILL_DTYPES.index(key)}"]
    assert not theirs.startswith("ERROR"), theirs
    zarrflow.create(shape=(5,), chunks=(3,), dtype=_creation_dtype(key), store=str(tmp_path / "a"))
    assert (tmp_path / "a" / ".zarray").read_text() == theirs


@pytest.mark.zarr2
@pytest.mark.parametrize("key", [k for k in DEFAULT_FILL_DTYPES if k not in OPEN_ARRAY_DEFAULT_FILL_RAISES_IN_ZARR2])
def test_open_array_default_fill_matches_zarr2(key, default_fill_docs, tmp_path):
    theirs = default_fill_docs[f"open_array-{DEFAULT_FILL_DTYPES.index(key)}"]
    assert not theirs.startswith("ERROR"), theirs
    zarrflow.open_array(str(tmp_path / "a"), mode="w", shape=(5,), chunks=(3,), dtype=_creation_dtype(key))
    assert (tmp_path / "a" / ".zarray").read_text() == theirs


@pytest.mark.zarr2
@pytest.mark.parametrize("key", OPEN_ARRAY_DEFAULT_FILL_RAISES_IN_ZARR2)
def test_open_array_default_fill_zarr2_cannot_create(key, default_fill_docs):
    """Recorded so that a zarr 2.18 change shows: these are skipped in the comparison above."""
    assert default_fill_docs[f"open_array-{DEFAULT_FILL_DTYPES.index(key)}"] == "ERROR TypeError"

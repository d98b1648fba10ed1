"""The interoperability case matrix shared by tests/core/test_interop*.py: the cases,
how zarrflow writes them (``World``), and how results are compared."""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest

import zarrflow

# --- the case matrix --------------------------------------------------------------------

#: dtype key -> the ``dtype=`` creation argument in JSON form (a list is a structured dtype).
DTYPES: dict[str, Any] = {
    "bool": "bool",
    "i1": "i1",
    "u2": "u2",
    "<i4": "<i4",
    ">i4": ">i4",
    "<i8": "<i8",
    "u8": "u8",
    "f2": "f2",
    "<f4": "<f4",
    ">f8": ">f8",
    "c8": "c8",
    "c16": "c16",
    "M8[ns]": "M8[ns]",
    "m8[s]": "m8[s]",
    "S5": "S5",
    "<U7": "<U7",
    "struct": [["a", "<i4"], ["b", "S3"], ["c", "<f8", [2]]],
    "struct_flat": [["x", "<u2"], ["y", ">f4"]],
    "str": "str",  # object dtype, VLenUTF8
    "bytes": "bytes",  # object dtype, VLenBytes
    "array:i4": "array:i4",  # object dtype, VLenArray('<i4')
}
OBJECT_KEYS = ("str", "bytes", "array:i4")
INT_KEYS = ("i1", "u2", "<i4", ">i4", "<i8", "u8")
FLOAT_KEYS = ("f2", "<f4", ">f8")

#: fill_value per dtype: "default" (argument omitted) or a Python expression (``np`` in scope).
#: Default fills of S/U/structured/object dtypes are left to the dedicated tests below:
#: zarr 2.18's ``open_array`` casts the default 0 through the dtype (see test_open_array_default_fill...).
FILLS: dict[str, list[str]] = {
    "bool": ["default", "True", "None"],
    "i1": ["default", "-7", "None"],
    "u2": ["default", "65535", "None"],
    "<i4": ["default", "-123456", "None"],
    ">i4": ["default", "77", "None"],
    "<i8": ["default", "-(2**62) - 5", "None"],
    "u8": ["default", "2**64 - 1", "None"],
    "f2": ["default", "1.5", "np.nan", "None"],
    "<f4": ["default", "-2.25", "np.nan", "None"],
    ">f8": ["default", "np.inf", "np.nan", "None"],
    "c8": ["default", "1 - 2j", "None"],
    "c16": ["default", "complex(0.25, -3.5)", "complex(np.nan, 0)", "None"],
    "M8[ns]": ["default", "np.datetime64('2001-02-03T04:05:06.123456789', 'ns')",
               "np.datetime64('NaT', 'ns')", "None"],
    "m8[s]": ["default", "np.timedelta64(-7, 's')", "None"],
    "S5": ["b'ab\\xffcd'", "b'q'", "None"],
    "<U7": ["'h\\u00e9llo\\u4e2d'", "None"],
    "struct": ["(3, b'xyz', [0.5, -1.5])", "None"],
    "struct_flat": ["(9, -0.5)", "None"],
    "str": ["'\\u00e9t\\u00e9'", "''", "None"],
    "bytes": ["None"],
    "array:i4": ["None"],
}

#: compressor key -> "default" (argument omitted), None, or a numcodecs config.
COMPRESSORS: dict[str, Any] = {
    "default": "default",
    "blosc-zstd-bitshuffle": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE).get_config(),
    "zstd": numcodecs.Zstd(level=3).get_config(),
    "zlib": numcodecs.Zlib(level=1).get_config(),
    "gzip": numcodecs.GZip(level=5).get_config(),
    "bz2": numcodecs.BZ2(level=1).get_config(),
    "lzma": numcodecs.LZMA().get_config(),
    "lz4": numcodecs.LZ4().get_config(),
    "none": None,
}
FILTER_KINDS = ("none", "delta", "quantize", "astype", "shuffle")
ORDERS = ("C", "F")
SEPARATORS = (None, ".", "/")

SHAPES = {  # name -> (shape, chunks); chunks never divide the shape
    "2d": ((7, 11), (3, 4)),
    "3d": ((5, 6, 7), (2, 4, 3)),
    "1d": ((13,), (4,)),
    "0d": ((), ()),
}


@dataclass(frozen=True)
class Case:
    dtype: str
    fill: str
    compressor: str = "default"
    filters: str = "none"
    order: str = "C"
    sep: str | None = None
    shape_kind: str = "2d"
    write: bool = True  # False: nothing is written (a 0-d array that is all fill)
    n: int = 0

    @property
    def id(self) -> str:
        fill = {"default": "dflt", "None": "none", "np.nan": "nan"}.get(self.fill, "val")
        if "nan" in self.fill and fill == "val":
            fill = "nan"
        sep = {None: "nosep", ".": "dot", "/": "slash"}[self.sep]
        dtype = self.dtype.replace("<", "L").replace(">", "B").replace("[", "_").replace("]", "").replace(":", "_")
        return (f"{self.n:03d}-{dtype}-{self.shape_kind}-{self.compressor}-{self.filters}-"
                f"{self.order}-{sep}-{fill}{'' if self.write else '-unwritten'}")

    @property
    def shape(self) -> tuple[int, ...]:
        return SHAPES[self.shape_kind][0]

    @property
    def chunks(self) -> tuple[int, ...]:
        return SHAPES[self.shape_kind][1]

    @property
    def np_dtype(self) -> np.dtype:
        return np_dtype(self.dtype)

    @property
    def fill_is_none(self) -> bool:
        return self.fill == "None"

    @property
    def small_data(self) -> bool:  # AsType to a narrower type needs values that fit
        return self.filters == "astype"


def np_dtype(key: str) -> np.dtype:
    spec = DTYPES[key]
    if key in OBJECT_KEYS:
        return np.dtype(object)
    if isinstance(spec, list):
        return np.dtype([tuple(f[:2]) + ((tuple(f[2]),) if len(f) > 2 else ()) for f in spec])
    return np.dtype(spec)


def filter_options(dtype: str, fill: str) -> list[str]:
    """Filters that round-trip exactly for this dtype, data and fill value."""
    if dtype in OBJECT_KEYS:
        return ["none"]
    nonfinite = "nan" in fill or "inf" in fill
    if dtype in INT_KEYS:
        opts = ["delta", "shuffle", "none"]
        if fill in ("default", "None") and dtype in ("<i8", "u8", "<i4"):
            opts.insert(1, "astype")
        return opts
    if dtype in FLOAT_KEYS:
        opts = ["quantize", "shuffle", "none"]
        if not nonfinite:
            opts.insert(0, "delta")
        if dtype == ">f8":
            opts.insert(1, "astype")
        return opts
    return ["shuffle", "none"]


def _build_cases() -> list[Case]:
    cases: list[Case] = []
    k = 0
    comps = list(COMPRESSORS)
    for d_index, dtype in enumerate(DTYPES):
        for f_index, fill in enumerate(FILLS[dtype]):
            opts = filter_options(dtype, fill)
            cases.append(Case(
                dtype=dtype,
                fill=fill,
                compressor=comps[k % len(comps)],
                filters=opts[(d_index + f_index) % len(opts)],
                order=ORDERS[(k % 9 + k // 9) % 2],
                sep=SEPARATORS[(k + 2 * (k // 9)) % 3],
                shape_kind="3d" if k % 5 == 3 else "2d",
            ))
            k += 1
    extras = [
        # 0-d arrays: one item, no compressor (zarr 2 drops it), key "0"
        Case("<f4", "np.nan", "zlib", shape_kind="0d"),
        Case("c16", "default", "default", order="F", sep="/", shape_kind="0d"),
        Case("<i4", "-123456", "none", shape_kind="0d", write=False),
        Case(">f8", "None", "lz4", "shuffle", shape_kind="0d"),
        Case("str", "'\\u00e9t\\u00e9'", "default", shape_kind="0d"),
        # 1-d arrays
        Case("u8", "2**64 - 1", "lzma", "delta", "F", "/", "1d"),
        Case("<U7", "'h\\u00e9llo\\u4e2d'", "bz2", "none", "C", ".", "1d"),
        Case("bytes", "None", "zstd", "none", "F", "/", "1d"),
        Case("array:i4", "None", "gzip", "none", "C", None, "1d"),
        Case("M8[ns]", "np.datetime64('NaT', 'ns')", "blosc-zstd-bitshuffle", "shuffle", "C", "/", "1d"),
        # filters on the dtypes they were made for
        Case("<f4", "np.nan", "zlib", "quantize", "F", "/", "3d"),
        Case(">f8", "default", "blosc-zstd-bitshuffle", "astype", "C", "/"),
        Case("<i8", "None", "default", "astype", "F", "."),
        Case("i1", "-7", "zlib", "delta", "F", "/"),
        Case("u2", "default", "none", "delta", "C", "/", "3d"),
        Case("f2", "1.5", "gzip", "quantize", "F", None),
        Case("struct", "(3, b'xyz', [0.5, -1.5])", "zlib", "none", "F", "/", "3d"),
        Case("str", "None", "lzma", "none", "F", "/", "3d"),
        Case("bytes", "None", "default", "none", "C", ".", "2d"),
    ]
    cases += extras
    # tensorstore's subset (no filters; blosc, zlib, gzip, bz2, zstd or no compressor): one
    # more case per dtype it can hold, so that each meets tensorstore in both directions
    ts_comps = ["bz2", "zlib", "default", "blosc-zstd-bitshuffle", "gzip", "none", "bz2"]
    ts_dtypes = [d for d in DTYPES if d not in ("M8[ns]", "m8[s]", "S5", "<U7", *OBJECT_KEYS)]
    for i, dtype in enumerate(ts_dtypes):
        fills = FILLS[dtype]
        cases.append(Case(dtype, fills[(i + 1) % len(fills)], ts_comps[i % len(ts_comps)], "none",
                          ORDERS[i % 2], SEPARATORS[(i // 2) % 3], "3d" if i % 4 == 1 else "2d"))
    return [Case(**{**c.__dict__, "n": i}) for i, c in enumerate(cases)]


CASES = _build_cases()
CASE_IDS = [c.id for c in CASES]


def fill_arg(case: Case) -> Any:
    return eval(case.fill, {"np": np})


def compressor_arg(case: Case) -> Any:
    cfg = COMPRESSORS[case.compressor]
    if cfg == "default":
        return "default"
    return None if cfg is None else numcodecs.get_codec(dict(cfg))


def filter_configs(case: Case) -> list[dict] | None:
    dt = case.np_dtype
    kind = case.filters
    if kind == "none":
        return None
    if kind == "delta":
        return [numcodecs.Delta(dtype=dt.str).get_config()]
    if kind == "quantize":
        return [numcodecs.Quantize(digits=2, dtype=dt.str).get_config()]
    if kind == "astype":
        narrow = {"<i8": "<i4", "u8": "<u2", "<i4": "<i2", ">f8": "<f4"}[case.dtype]
        return [numcodecs.AsType(encode_dtype=narrow, decode_dtype=dt.str).get_config()]
    if kind == "shuffle":
        return [numcodecs.Shuffle(elementsize=dt.itemsize).get_config()]
    raise AssertionError(kind)


def region(case: Case) -> list[list[int]] | None:
    """The written region as [start, stop] per axis ([] for a whole 0-d array), or None.

    Axis 0 stops before the last chunk row (those chunks stay missing); the other axes
    start at 1 (the first chunk column is only partly written)."""
    if not case.write:
        return None
    out = []
    for axis, (s, c) in enumerate(zip(case.shape, case.chunks)):
        last = ((s - 1) // c) * c
        if case.shape_kind == "1d":
            out.append([1, last])
        elif axis == 0:
            out.append([0, last])
        else:
            out.append([1, s])
    return out


def selection(case: Case) -> Any:
    r = region(case)
    if r is None:
        return None
    return tuple(slice(a, b) for a, b in r) or Ellipsis


def chunk_keys(case: Case) -> list[str]:
    """The chunk files a writer must create for the case's region."""
    r = region(case)
    if r is None:
        return []
    if not r:
        return ["0"]
    ranges = [range(a // c, (b - 1) // c + 1) for (a, b), c in zip(r, case.chunks)]
    sep = case.sep or "."
    return sorted(sep.join(map(str, coords)) for coords in itertools.product(*ranges))


def _objects(items: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out.reshape(shape)


UNICODE = "aZ0 \u00e9\u00df\u4e2d\u0394\U0001f600"


def make_data(case: Case) -> np.ndarray:
    """Deterministic data of the whole shape for the case (exact under its filters)."""
    rng = np.random.default_rng(1000 + case.n)
    shape, dt, key = case.shape, case.np_dtype, case.dtype
    n = int(np.prod(shape, dtype=np.int64))
    if key == "bool":
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if key in INT_KEYS:
        info = np.iinfo(dt)
        lo, hi = (0 if info.min == 0 else -100, 200) if case.small_data else (info.min, info.max)
        return rng.integers(lo, hi, n, dtype=dt.newbyteorder("="), endpoint=True).astype(dt).reshape(shape)
    if key in FLOAT_KEYS:
        scale = 8 if key == "f2" else 4
        vals = rng.integers(-1000, 1000, n) / scale
        if case.filters in ("none", "shuffle", "quantize", "astype") and n > 2:
            vals[0], vals[1] = np.inf, -0.0
        return vals.astype(dt).reshape(shape)
    if key in ("c8", "c16"):
        return (rng.integers(-1000, 1000, n) / 4 + 1j * rng.integers(-1000, 1000, n) / 8).astype(dt).reshape(shape)
    if key == "M8[ns]":
        vals = rng.integers(-(2**62), 2**62, n)
        if n > 2:
            vals[1] = np.iinfo(np.int64).min  # NaT
        return vals.view("M8[ns]").astype(dt).reshape(shape)
    if key == "m8[s]":
        return rng.integers(-(10**9), 10**9, n).astype(dt).reshape(shape)
    if key == "S5":
        return np.array([bytes(rng.integers(1, 256, rng.integers(0, 6)).tolist()) for _ in range(n)],
                        dtype=dt).reshape(shape)
    if key == "<U7":
        return np.array(["".join(rng.choice(list(UNICODE), rng.integers(0, 8))) for _ in range(n)],
                        dtype=dt).reshape(shape)
    if key == "struct":
        out = np.zeros(n, dtype=dt)
        out["a"] = rng.integers(-(2**31), 2**31 - 1, n)
        out["b"] = [bytes(rng.integers(1, 256, rng.integers(0, 4)).tolist()) for _ in range(n)]
        out["c"] = rng.integers(-1000, 1000, (n, 2)) / 4
        return out.reshape(shape)
    if key == "struct_flat":
        out = np.zeros(n, dtype=dt)
        out["x"] = rng.integers(0, 2**16, n)
        out["y"] = rng.integers(-1000, 1000, n) / 4
        return out.reshape(shape)
    if key == "str":
        return _objects(["".join(rng.choice(list(UNICODE), rng.integers(0, 9))) for _ in range(n)], shape)
    if key == "bytes":
        return _objects([bytes(rng.integers(0, 256, rng.integers(0, 9)).tolist()) for _ in range(n)], shape)
    if key == "array:i4":
        return _objects([rng.integers(-(2**31), 2**31 - 1, rng.integers(0, 5)).astype("<i4") for _ in range(n)],
                        shape)
    raise AssertionError(key)


def expected_array(case: Case) -> np.ndarray:
    """What every reader must return: the fill value, with the written region over it."""
    dt = case.np_dtype
    if case.fill == "default":
        out = np.zeros(case.shape, dtype=dt)
    elif case.fill_is_none:
        out = np.zeros(case.shape, dtype=dt)  # undefined outside the region; never compared
    else:
        fill = fill_arg(case)
        if dt.kind == "O":
            out = _objects([fill] * int(np.prod(case.shape, dtype=np.int64)), case.shape)
        else:
            out = np.full(case.shape, np.array(fill, dtype=dt), dtype=dt)
    sel = selection(case)
    if sel is not None:
        out[sel] = make_data(case)[sel]
    return out


def creation_kwargs(case: Case) -> dict[str, Any]:
    """Keyword arguments for zarrflow/zarr 2 ``open_array`` (mirrored in ZARR2_CODE)."""
    spec = DTYPES[case.dtype]
    kw: dict[str, Any] = dict(shape=case.shape, chunks=case.chunks, order=case.order,
                              dtype=np_dtype(case.dtype) if isinstance(spec, list) else spec)
    comp = compressor_arg(case)
    if not (isinstance(comp, str) and comp == "default"):
        kw["compressor"] = comp
    filters = filter_configs(case)
    if filters:
        kw["filters"] = [numcodecs.get_codec(dict(f)) for f in filters]
    if case.sep is not None:
        kw["dimension_separator"] = case.sep
    if case.fill != "default":
        kw["fill_value"] = fill_arg(case)
    return kw


def case_json(case: Case) -> dict[str, Any]:
    return dict(id=case.id, dtype=DTYPES[case.dtype], shape=list(case.shape), chunks=list(case.chunks),
                order=case.order, compressor=COMPRESSORS[case.compressor], filters=filter_configs(case),
                sep=case.sep, fill=case.fill, region=region(case))


# --- comparisons -------------------------------------------------------------------------


def _same_object(a: Any, b: Any) -> bool:
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def assert_values(got: Any, want: np.ndarray, case: Case, *, what: str, strict_dtype: bool = True,
                  whole: bool = False) -> None:
    """``got`` equals ``want`` (NaN == NaN, NaT == NaT, signs of zeros), on the written
    region only when the fill value is None (unless ``whole``). ``strict_dtype``: the dtype
    must be identical too (otherwise ``got`` is converted, for oracles whose in-memory
    types differ)."""
    got = np.asarray(got) if not isinstance(got, np.ndarray) else got
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if strict_dtype:
        assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    elif got.dtype != want.dtype:
        got = got.astype(want.dtype) if want.dtype.kind != "O" else _objects(got.ravel().tolist(), got.shape)
    if case.fill_is_none and not whole:
        sel = selection(case)
        if sel is None:
            return
        got, want = got[sel], want[sel]
    if want.dtype.kind == "O":
        bad = [(i, g, w) for i, (g, w) in enumerate(zip(got.ravel().tolist(), want.ravel().tolist()))
               if not _same_object(g, w)]
        assert not bad, f"{what}: {len(bad)} items differ, e.g. (index, got, want) {bad[:3]}"
        return
    fields = want.dtype.names or (None,)
    for name in fields:
        g, w = (got, want) if name is None else (got[name], want[name])
        label = what if name is None else f"{what} field {name!r}"
        np.testing.assert_array_equal(g, w, err_msg=label, strict=True)
        if w.dtype.kind in "fc":  # also the sign of zeros (-0.0), wherever the value is not NaN
            for part in ((np.real, np.imag) if w.dtype.kind == "c" else (np.asarray,)):
                pg, pw = part(g), part(w)
                keep = ~np.isnan(pw)
                np.testing.assert_array_equal(np.signbit(pg)[keep], np.signbit(pw)[keep], err_msg=f"{label}: signs")


def zarrflow_read(path: Path, case: Case) -> np.ndarray:
    """zarrflow's view of the whole array, read twice: ``z[...]`` and into an ``out``
    buffer pre-filled with a sentinel (so an item the read never writes cannot pass by
    luck of uninitialised memory). Both must have the same dtype, and the same values
    where those are defined (not for a None fill value)."""
    z = zarrflow.open_array(str(path), mode="r")
    plain = np.asarray(z[...])
    if z.dtype.kind == "O":
        out = _objects(["<sentinel>"] * int(np.prod(z.shape, dtype=np.int64)), z.shape)
        out = np.asfortranarray(out) if z.order == "F" else out
    else:
        raw = np.full(int(np.prod(z.shape, dtype=np.int64)) * z.dtype.itemsize, 0xA5, dtype=np.uint8)
        out = np.ndarray(z.shape, dtype=z.dtype, buffer=raw, order=z.order)
    z.get_basic_selection(Ellipsis, out=out)
    assert plain.dtype == out.dtype and plain.shape == out.shape
    if not case.fill_is_none:
        assert_values(plain, out, case, what="zarrflow z[...] vs get_basic_selection(out=)")
    return out


def chunk_files(path: Path) -> list[str]:
    """Every file under an array directory except metadata, as '/'-joined relative paths."""
    out = []
    for d, _, files in os.walk(path):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), path).replace(os.sep, "/")
            if rel not in (".zarray", ".zattrs"):
                out.append(rel)
    return sorted(out)


def decoded_payload(path: Path, key: str) -> bytes:
    doc = json.loads((path / ".zarray").read_text())
    raw = (path / key).read_bytes()
    comp = numcodecs.get_codec(doc["compressor"]) if doc["compressor"] else None
    return bytes(comp.decode(raw)) if comp is not None else raw


def assert_nested_on_disk(path: Path, case: Case) -> None:
    """With '/' every chunk is a file '<i>/<j>/...' (directories per leading index)."""
    files = chunk_files(path)
    assert files, f"no chunk files under {path}"
    for rel in files:
        parts = rel.split("/")
        assert len(parts) == max(len(case.shape), 1) and all(p.isdigit() for p in parts), rel
        assert (path / rel).is_file()
    if len(case.shape) > 1:
        assert (path / files[0].split("/")[0]).is_dir()
        assert not any("." in f for f in files), files


# --- the zarrflow side and the zarr 2.18 batch -------------------------------------------


class World:
    """The matrix written by zarrflow under ``root``, plus lazily written oracle arrays."""

    def __init__(self, root: Path):
        self.root = root
        self.errors: dict[str, BaseException] = {}
        for sub in ("data", "zarrflow", "zarr2", "z2_read", "z2_self", "zarr3", "tensorstore"):
            (root / sub).mkdir()

    def path(self, kind: str, case: Case) -> Path:
        return self.root / kind / case.id

    def write_all(self) -> None:
        for case in CASES:
            data = make_data(case)
            np.save(self.root / "data" / f"{case.id}.npy", data, allow_pickle=True)
            try:
                z = zarrflow.open_array(str(self.path("zarrflow", case)), mode="w", **creation_kwargs(case))
                sel = selection(case)
                if sel is not None:
                    z[sel] = data[sel]
            except Exception as exc:  # reported by every test of the case
                self.errors[case.id] = exc

    def zarrflow_array(self, case: Case) -> Path:
        if case.id in self.errors:
            raise AssertionError(f"zarrflow could not write the case: {self.errors[case.id]!r}") \
                from self.errors[case.id]
        return self.path("zarrflow", case)


def matrix(*uses: str):
    """``parametrize`` over CASES. ``uses`` says what of zarrflow a test exercises ("writes":
    it needs the array zarrflow wrote; "reads": zarrflow reads an oracle's array), for
    marking known zarrflow bugs per case (none open at the moment)."""
    del uses
    return pytest.mark.parametrize("case", CASES, ids=CASE_IDS)

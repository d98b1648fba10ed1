"""A complex fill value with a NaN part (``complex(1.5, nan)``) round-trips exactly
between zarrflow and the writers users have: zarr-python 2.18, zarr-python 3 and
tensorstore write ``[1.5, "NaN"]``; zarrflow writes the same bytes as zarr 2.18 and
reads each back as ``1.5+nanj`` (zarr 2.18 itself reads it back as ``nan+nanj``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import zarrflow

FILL = complex(1.5, math.nan)


def check_fill(value: complex) -> None:
    assert value.real == 1.5 and math.isnan(value.imag), value


@pytest.mark.parametrize("dtype", ["<c8", "<c16"])
def test_zarrflow_writes_what_zarr2_writes(tmp_path: Path, zarr2, dtype: str) -> None:
    z = zarrflow.full(4, dtype=dtype, fill_value=FILL, chunks=2, store=str(tmp_path / "zf"))
    theirs = zarr2.run(
        """
z = zarr.full(4, dtype=dtype, fill_value=complex(1.5, float('nan')), chunks=2, store=path)
result = json.loads(z.store['.zarray'].decode())['fill_value']
""", dtype=dtype, path=str(tmp_path / "z2"))
    assert theirs == [1.5, "NaN"]
    assert (tmp_path / "zf" / ".zarray").read_bytes() == (tmp_path / "z2" / ".zarray").read_bytes()
    check_fill(z.fill_value)
    check_fill(complex(z[0]))
    again = zarrflow.open_array(str(tmp_path / "z2"), mode="r")  # zarr 2's array, read by zarrflow
    check_fill(again.fill_value)
    got = again[:]
    assert (got.real == 1.5).all() and np.isnan(got.imag).all()


def test_reads_what_zarr3_writes(tmp_path: Path) -> None:
    zarr3 = pytest.importorskip("zarr", reason="needs zarr-python 3")
    if not zarr3.__version__.startswith("3"):
        pytest.skip("needs zarr-python 3")
    z3 = zarr3.create_array(str(tmp_path / "z3"), shape=(4,), chunks=(2,), dtype="c16", fill_value=FILL,
                            zarr_format=2)
    assert json.loads((tmp_path / "z3" / ".zarray").read_text())["fill_value"] == [1.5, "NaN"]
    z3[:2] = 0
    z = zarrflow.open_array(str(tmp_path / "z3"), mode="r")
    check_fill(z.fill_value)
    assert z[:2].tolist() == [0, 0]
    check_fill(complex(z[3]))


def test_reads_what_tensorstore_writes(tmp_path: Path) -> None:
    ts = pytest.importorskip("tensorstore")
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path / "ts")},
            "metadata": {"shape": [4], "chunks": [2], "dtype": "<c16", "fill_value": [1.5, "NaN"],
                         "compressor": None}}
    arr = ts.open(spec, create=True).result()
    arr[:2].write(np.zeros(2, dtype="c16")).result()
    assert json.loads((tmp_path / "ts" / ".zarray").read_text())["fill_value"] == [1.5, "NaN"]
    z = zarrflow.open_array(str(tmp_path / "ts"), mode="r")
    check_fill(z.fill_value)
    assert z[:2].tolist() == [0, 0]
    check_fill(complex(z[2]))

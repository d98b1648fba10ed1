"""The TIFF stack plan (pure): natural order, the stack check, slabs, export names."""

from __future__ import annotations

import pytest

from zarrflow.graph import tiff_plan
from zarrflow.graph.tiff_plan import TiffInfo


def test_natural_order():
    names = ["s10.tif", "s2.tif", "S1.tif", "s02b.tif", "a.tif", "s1.tif"]
    assert tiff_plan.natural_sorted(names) == ["a.tif", "S1.tif", "s1.tif", "s02b.tif", "s2.tif", "s10.tif"]


def test_check_stack_lists_every_odd_file():
    infos = [TiffInfo(f"f{i}", (4, 5), "<u2", 1) for i in range(13)]
    infos[3] = TiffInfo("f3", (4, 6), "<u2", 1)
    infos += [TiffInfo(f"g{i}", (4, 5), "|u1", 1) for i in range(11)]
    with pytest.raises(ValueError, match=r"12 of 24 TIFF files differ from the first \(f0: shape \(4, 5\) uint16\): "
                                         r"f3: shape \(4, 6\) uint16; g0: shape \(4, 5\) uint8; .* and 2 more"):
        tiff_plan.check_stack(infos)


def test_single_multipage_file_is_read_page_by_page():
    source = tiff_plan.check_stack([TiffInfo("m.tif", (10, 4, 5), "<u2", 10)], stacked=False)
    assert source.pagewise and not source.stacked and source.shape == (10, 4, 5)
    assert tiff_plan.import_slabs(source, (3, 4, 5), 1)[1] == (slice(3, 6), slice(0, 4), slice(0, 5))
    volume = tiff_plan.check_stack([TiffInfo("v.tif", (10, 4, 5), "<u2", 1)], stacked=False)  # one page holding a volume
    assert tiff_plan.import_slabs(volume, (3, 4, 5), 1) == [(slice(0, 10), slice(0, 4), slice(0, 5))]


def test_slabs_span_whole_images_even_with_split_chunks():
    source = tiff_plan.check_stack([TiffInfo(f"f{i}", (8, 8), "<u2", 1) for i in range(5)])
    slabs = tiff_plan.import_slabs(source, (2, 4, 4), 1)
    assert slabs == [(slice(a, min(a + 2, 5)), slice(0, 8), slice(0, 8)) for a in (0, 2, 4)]


def test_export_names():
    assert tiff_plan.export_names("out/s_{:03d}.tif", 3) == ["out/s_000.tif", "out/s_001.tif", "out/s_002.tif"]
    with pytest.raises(ValueError, match="same name"):
        tiff_plan.export_names("s{!s:.0}.tif", 3)
    with pytest.raises(ValueError, match="cannot format a slice number"):
        tiff_plan.export_names("s{:s}.tif", 3)
    assert not tiff_plan.has_field("stack.tif")


def test_a_glob_of_one_slice_is_a_stack_of_one():
    source = tiff_plan.check_stack([TiffInfo("s0.tif", (4, 5), "<u2", 1)])
    assert source.stacked and source.shape == (1, 4, 5)

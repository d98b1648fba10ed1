"""Every kernel path of zarrflow.graph.kernels against scipy.ndimage on in-memory
blocks: OpenCV (medianBlur, erode/dilate), the NumPy selection and scipy itself,
whole blocks (the kernel applies the mode) and extended blocks (cropped), every mode,
window sizes and origins; the kernel choice; kernels refusing what they cannot do."""

from __future__ import annotations

import numpy as np
import pytest

ndi = pytest.importorskip("scipy.ndimage")
pytest.importorskip("cv2")

from zarrflow.graph import kernels

MODES = kernels.MODES


def data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)
    return rng.normal(0, 1000, shape).astype(dtype)


def scipy_2d(op, block, k, mode, cval, origin, axes):
    if op == "rank":
        return ndi.median_filter(block, k, mode=mode, cval=cval, origin=origin, axes=axes)
    return getattr(ndi, f"{op}_filter")(block, k, mode=mode, cval=cval, origin=origin, axes=axes)


def footprint_for(ndim, axes, shape2):
    shape = [1] * ndim
    for a, k in zip(axes, shape2):
        shape[a] = k
    return np.ones(shape, dtype=bool)


OPENCV_MEDIAN = [("u1", k) for k in (3, 5, 7, 9)] + [(d, k) for d in ("u2", "f4") for k in (3, 5)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype,k", OPENCV_MEDIAN)
def test_opencv_median_whole_slices(dtype, k, mode):
    block = data((3, 37, 29), dtype)
    fp = footprint_for(3, (1, 2), (k, k))
    rank = fp.size // 2
    assert kernels.choose_kernel(block, "rank", rank, fp) == "opencv"
    for origin in [(0, 0, 0), (0, -(k // 2), k // 2)]:
        got = kernels.filter_block(block, "rank", rank, fp, origin, mode, 5, (False,) * 3)
        np.testing.assert_array_equal(got, scipy_2d("rank", block, k, mode, 5, origin[1:], (1, 2)))


@pytest.mark.parametrize("op", ["minimum", "maximum"])
@pytest.mark.parametrize("dtype", ["u1", "u2", "i2", "f4", "f8"])
@pytest.mark.parametrize("shape2", [(3, 3), (2, 5), (1, 4), (6, 1)])
def test_opencv_min_max(op, dtype, shape2):
    block = data((2, 31, 23), dtype, seed=1)
    fp = footprint_for(3, (1, 2), shape2)
    assert kernels.choose_kernel(block, op, 0, fp) == "opencv"
    for mode in MODES:
        origin = (0, shape2[0] - 1 - shape2[0] // 2, -(shape2[1] // 2))
        got = kernels.filter_block(block, op, 0, fp, origin, mode, 3, (False,) * 3)
        expected = getattr(ndi, f"{op}_filter")(block, footprint=fp, mode=mode, cval=3, origin=origin)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["u2", "i4", "f8"])
def test_numpy_selection_3d(dtype):
    block = data((7, 12, 10), dtype, seed=2)
    fp = np.ones((3, 3, 3), dtype=bool)
    fp[0, 0, 0] = False
    assert kernels.choose_kernel(block, "rank", 7, fp) == "numpy"
    for mode in MODES:
        for origin in [(0, 0, 0), (1, -1, 0)]:
            got = kernels.filter_block(block, "rank", 7, fp, origin, mode, 2, (False,) * 3)
            np.testing.assert_array_equal(got, ndi.rank_filter(block, 7, footprint=fp, mode=mode, cval=2,
                                                               origin=origin))


@pytest.mark.parametrize("dtype", ["bool", "i1", "u2", "i4", "u8", "f4", "f8"])
@pytest.mark.parametrize("fshape", [(3,), (5,), (1, 3), (3, 3), (7, 7), (3, 1, 5), (3, 3, 3), (1, 1, 7)])
def test_forgetful_median(dtype, fshape):
    """The NumPy median (forgetful selection) over odd point counts, boxes and sparse
    footprints, blocks longer and shorter than a batch, against scipy."""
    ndim = len(fshape)
    shape = {1: (300,), 2: (37, 1500), 3: (5, 9, 2100)}[ndim]
    rng = np.random.default_rng(sum(fshape))
    block = data(shape, dtype, seed=4) if dtype != "bool" else rng.integers(0, 2, shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        block = block % 7  # many ties
    for fp in (np.ones(fshape, dtype=bool), rng.random(fshape) < 0.6):
        if int(fp.sum()) % 2 == 0:
            fp.flat[np.argmax(fp.ravel())] = False
        if int(fp.sum()) < 3:
            continue
        rank = int(fp.sum()) // 2
        assert kernels.choose_kernel(block, "rank", rank, fp) in ("numpy", "opencv")
        for mode in ("reflect", "wrap", "constant"):
            got = kernels.filter_block(block, "rank", rank, fp, (0,) * ndim, mode, 1, (False,) * ndim, "numpy")
            if ndim == 1:
                expected = ndi.rank_filter(block[None], rank, footprint=fp[None], mode=mode, cval=1)[0]
            else:
                expected = ndi.rank_filter(block, rank, footprint=fp, mode=mode, cval=1)
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kernel", ["auto", "scipy", "opencv", "numpy"])
def test_extended_blocks_are_cropped(kernel):
    """A block holding the halo along axes 1 and 2: the kernel returns the valid windows only."""
    whole = data((4, 40, 40), "u2", seed=3)
    k = 5
    fp = footprint_for(3, (1, 2), (k, k))
    rank = fp.size // 2
    block = whole[:, 3:30, 5:37]  # output rows 5:28, cols 7:35 have their full windows inside
    got = kernels.filter_block(block, "rank", rank, fp, (0, 0, 0), "reflect", 0, (False, True, True), kernel)
    expected = ndi.median_filter(whole, k, axes=(1, 2))[:, 5:28, 7:35]
    np.testing.assert_array_equal(got, expected)


def test_nan_blocks_go_to_scipy():
    block = data((2, 20, 20), "f4")
    block[0, 3, 3] = np.nan
    fp = footprint_for(3, (1, 2), (3, 3))
    assert kernels.choose_kernel(block, "rank", 4, fp) == "scipy"
    assert kernels.choose_kernel(block, "rank", 4, fp, "opencv") == "scipy"
    np.testing.assert_array_equal(kernels.filter_block(block, "rank", 4, fp, (0, 0, 0), "nearest", 0, (False,) * 3),
                                  ndi.median_filter(block, 3, axes=(1, 2), mode="nearest"))


def test_named_kernels_refuse_what_they_cannot_compute():
    block = data((2, 20, 20), "u2")
    with pytest.raises(ValueError, match="odd square windows"):
        kernels.choose_kernel(block, "rank", 8, footprint_for(3, (1, 2), (4, 4)), "opencv")
    with pytest.raises(ValueError, match="odd square windows"):
        kernels.choose_kernel(block, "rank", 24, footprint_for(3, (1, 2), (7, 7)), "opencv")  # uint16: 3 or 5
    with pytest.raises(ValueError, match="erode/dilate"):
        kernels.choose_kernel(block.astype("i8"), "minimum", 0, footprint_for(3, (1, 2), (3, 3)), "opencv")
    with pytest.raises(ValueError, match="at most 64 points"):
        kernels.choose_kernel(block, "rank", 3, np.ones((5, 5, 5), dtype=bool), "numpy")
    with pytest.raises(ValueError, match="kernel='gpu'"):
        kernels.choose_kernel(block, "rank", 3, np.ones((3, 3, 3), dtype=bool), "gpu")


@pytest.mark.parametrize("mode,numpy_mode", [("reflect", "symmetric"), ("mirror", "reflect"), ("nearest", "edge"),
                                             ("wrap", "wrap")])
@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("pads", [(0, 0), (1, 3), (7, 12)])
def test_extend_indices_against_numpy_pad(mode, numpy_mode, n, pads):
    if mode == "mirror" and n == 1:
        expected = np.zeros(n + sum(pads), dtype=int)
    else:
        expected = np.pad(np.arange(n), pads, mode=numpy_mode)
    np.testing.assert_array_equal(kernels.extend_indices(n, *pads, mode), expected)


def test_extend_indices_constant_marks_cval():
    np.testing.assert_array_equal(kernels.extend_indices(3, 2, 1, "constant"), [-1, -1, 0, 1, 2, -1])


@pytest.mark.parametrize("k,origin,expected", [(3, 0, (1, 1)), (4, 0, (2, 1)), (4, -2, (0, 3)), (5, 2, (4, 0))])
def test_halo(k, origin, expected):
    assert kernels.halo(k, origin) == expected


def test_int64_beyond_2_53_goes_to_scipy_which_rounds():
    block = np.array([[2**62 + 1, 2**62 + 3, 2**62 + 5]], dtype="i8")
    fp = np.ones((1, 3), dtype=bool)
    assert kernels.choose_kernel(block, "rank", 1, fp) == "scipy"
    auto = kernels.filter_block(block, "rank", 1, fp, (0, 0), "nearest", 0, (False, False))
    np.testing.assert_array_equal(auto, ndi.median_filter(block, footprint=fp, mode="nearest"))
    exact = kernels.filter_block(block, "rank", 1, fp, (0, 0), "nearest", 0, (False, False), "numpy")
    assert exact.tolist() == block.tolist()  # the true medians (1 1 3, 1 3 5, 3 5 5), which scipy rounds
    assert auto.tolist() != exact.tolist()
    small = block - 2**62
    assert kernels.choose_kernel(small, "rank", 1, fp) == "numpy"

"""Tasks of TIFF stack import and export (tifffile), picklable and small: they carry
file names and an :class:`~zarrflow.core.layout.ArrayLayout`, never array data.

Slice files are written to a temporary name in the same directory and moved into
place, so a killed export never leaves a torn TIFF under a final name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence

import numpy as np
import tifffile

from zarrflow.core import chunk_io
from zarrflow.core.indexing import BasicIndexer
from zarrflow.core.layout import ArrayLayout
from zarrflow.graph.tiff_plan import TiffInfo, TiffSource

__all__ = ["read_slab", "scan", "write_slices"]


def scan(path: str) -> TiffInfo:
    """Shape, dtype and page count of the first series of the TIFF file ``path`` (header only)."""
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return TiffInfo(path, tuple(int(n) for n in series.shape), np.dtype(series.dtype).str, len(series.pages))
    except (OSError, tifffile.TiffFileError, IndexError) as exc:
        raise ValueError(f"{path}: not a readable TIFF file ({exc})") from exc


def read_slab(source: TiffSource, target: ArrayLayout, region: tuple[slice, ...]) -> int:
    """Read the images of ``region`` (a slab along axis 0) and write them into ``target``;
    for a stack of files, ``source.files`` holds the slab's files only."""
    start, stop = region[0].start, region[0].stop
    if source.stacked:
        block = np.empty(tuple(r.stop - r.start for r in region), dtype=source.dtype)
        for i, path in enumerate(source.files):
            image = tifffile.imread(path)
            if image.shape != source.shape[1:] or image.dtype != np.dtype(source.dtype):
                raise ValueError(f"{path}: shape {image.shape} {image.dtype} changed since the stack was "
                                 f"checked ({source.shape[1:]} {np.dtype(source.dtype)} expected)")
            block[i] = image
    elif source.pagewise:
        block = tifffile.imread(source.files[0], key=range(start, stop))
        block = block.reshape((stop - start, *source.shape[1:]))
    else:
        block = tifffile.imread(source.files[0])
    meta = target.metadata
    chunk_io.write(target, BasicIndexer(region, meta.shape, meta.chunks), block)
    return int(block.size)


def write_slices(layout: ArrayLayout, region: tuple[slice, ...], names: Sequence[str],
                 compression: str | None = None) -> int:
    """Write the slices ``region[0]`` of the array (one file each, ``names`` in order)."""
    meta = layout.metadata
    block = np.asarray(chunk_io.read(layout, BasicIndexer(region, meta.shape, meta.chunks)))
    for image, name in zip(block, names):
        write_tiff(name, image, compression)
    return int(block.size)


def write_tiff(name: str, data: np.ndarray, compression: str | None = None) -> None:
    """``data`` as a grayscale TIFF (pages along axis 0 past two dimensions) at ``name``,
    written to a temporary file and moved into place."""
    tmp = f"{name}.{uuid.uuid4().hex}.partial"
    try:
        tifffile.imwrite(tmp, data, photometric="minisblack", compression=compression)
        os.replace(tmp, name)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_stack(layout: ArrayLayout, name: str, regions: Sequence[tuple[slice, ...]],
                compression: str | None = None) -> int:
    """The whole array as one multi-page TIFF at ``name`` (a page per item of axis 0),
    read slab by slab (``regions``) so memory stays at one slab; BigTIFF past 4 GiB."""
    meta = layout.metadata
    nbytes = int(np.prod(meta.shape)) * meta.dtype.itemsize
    tmp = f"{name}.{uuid.uuid4().hex}.partial"
    items = 0
    try:
        with tifffile.TiffWriter(tmp, bigtiff=nbytes >= (1 << 32) - (1 << 25)) as writer:
            for region in regions:
                block = np.asarray(chunk_io.read(layout, BasicIndexer(region, meta.shape, meta.chunks)))
                for page in block:
                    writer.write(page, photometric="minisblack", compression=compression,
                                 contiguous=compression is None, metadata=None)
                items += int(block.size)
        os.replace(tmp, name)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return items

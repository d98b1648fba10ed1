"""Pure planning of TIFF stack import and export: natural sort order of slice files,
the check that every file has the same shape and dtype (naming the files that do not),
and which files or pages each task reads or writes (slabs of whole chunks along the
slice axis, from :func:`zarrflow.core.slabs.chunk_slabs`). No I/O, no tifffile."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zarrflow.core.slabs import chunk_slabs

__all__ = ["TiffInfo", "TiffSource", "check_stack", "export_names", "import_slabs", "natural_key", "natural_sorted"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key putting ``slice_2.tif`` before ``slice_10.tif`` (digit runs compare as numbers)."""
    return tuple((0, int(part), part) if part.isdigit() else (1, part.lower(), part)
                 for part in _DIGITS.split(name) if part)


def natural_sorted(names: Sequence[str]) -> list[str]:
    """``names`` in natural order."""
    return sorted(names, key=natural_key)


@dataclass(frozen=True)
class TiffInfo:
    """What a TIFF file's first series holds: its shape, dtype and page count."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    pages: int


@dataclass(frozen=True)
class TiffSource:
    """An image stack as files: ``files`` in order; ``shape`` of the stacked array;
    ``per_file``: items along axis 0 each file holds (1 for a glob of single images,
    the page count of a single multi-page file); ``pagewise``: whether a slab of a
    single file can be read page by page."""

    files: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    stacked: bool
    pagewise: bool


def check_stack(infos: Sequence[TiffInfo], stacked: bool = True) -> TiffSource:
    """The array of ``infos`` (in order): stacked along a new axis 0 (``stacked``:
    files named by a glob, a directory or a list, even a single one), else the one
    file's own series; a ValueError listing every file whose shape or dtype differs
    from the first file's."""
    if not infos:
        raise ValueError("no TIFF files to import")
    first = infos[0]
    if not stacked:
        if len(infos) != 1:
            raise ValueError(f"{len(infos)} files given where one multi-page file was expected")
        pagewise = len(first.shape) >= 1 and first.pages == first.shape[0] and first.pages > 1
        return TiffSource((first.path,), first.shape, first.dtype, stacked=False, pagewise=pagewise)
    bad = [i for i in infos[1:] if i.shape != first.shape or np.dtype(i.dtype) != np.dtype(first.dtype)]
    if bad:
        listed = "; ".join(f"{i.path}: shape {i.shape} {np.dtype(i.dtype)}" for i in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise ValueError(f"{len(bad)} of {len(infos)} TIFF files differ from the first ({first.path}: shape "
                         f"{first.shape} {np.dtype(first.dtype)}): {listed}{more}; nothing was written")
    return TiffSource(tuple(i.path for i in infos), (len(infos), *first.shape), first.dtype, stacked=True,
                      pagewise=False)


def default_chunks(source: TiffSource) -> tuple[int, ...]:
    """One chunk per slice (a 2-D image, or the file's own shape past axis 0)."""
    if not source.shape:
        return ()
    return (1, *source.shape[1:])


def import_slabs(source: TiffSource, chunks: tuple[int, ...], max_bytes: int) -> list[tuple[slice, ...]]:
    """Regions of the output one import task writes: whole chunk rows along axis 0
    (spanning the other axes, so a task reads whole images), about ``max_bytes`` each;
    one region for a single file that cannot be read page by page."""
    shape = source.shape
    if not source.stacked and not source.pagewise:
        return [tuple(slice(0, n) for n in shape)] if all(shape) else []
    itemsize = np.dtype(source.dtype).itemsize
    return list(chunk_slabs(shape, chunks, itemsize, max_bytes, axis=0, split=False))


def export_names(pattern: str, count: int) -> list[str]:
    """File names of ``count`` slices from a pattern with one ``str.format`` field
    (``"out/slice_{:05d}.tif"``); a ValueError when the pattern has none or more."""
    fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    if len(fields) != 1:
        raise ValueError(f"pattern {pattern!r} must hold exactly one format field such as {{:05d}} "
                         "(or none at all for a single multi-page file)")
    try:
        names = [pattern.format(i) for i in range(count)]
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"pattern {pattern!r} cannot format a slice number: {exc}") from None
    if len(set(names)) != len(names):
        raise ValueError(f"pattern {pattern!r} gives the same name to different slices")
    return names


def has_field(pattern: str) -> bool:
    """Whether ``pattern`` holds a ``str.format`` field (one file per slice)."""
    return any(f is not None for _, f, _, _ in string.Formatter().parse(pattern))

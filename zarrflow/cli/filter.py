"""``zarrflow filter median|rank|percentile|minimum|maximum IN OUT``: scipy.ndimage's
order-statistic filters over a stored array (``zarrflow.filters``), with a progress bar.

Example: ``zarrflow filter median stack.zarr filtered.zarr --size 5 --axes 1,2``
(slice by slice over the 2-D images of a 3-D stack).
"""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from zarrflow.cli.options import (
    cluster_option,
    load_cluster,
    parse_bytes,
    parse_int_tuple,
    parse_storage_options,
    running_on,
    scheduler_option,
)
from zarrflow.core.creation import open_array

__all__ = ["filter_group"]

_MODES = ("reflect", "nearest", "mirror", "constant", "wrap")


def _one_or_tuple(text: str | None, name: str) -> Any:
    if text is None:
        return None
    values = parse_int_tuple(text, name)
    if not values:
        raise click.BadParameter("give at least one integer", param_hint=name)
    return values[0] if len(values) == 1 else values


def _common(func: Any) -> Any:
    options = [
        click.argument("source"),
        click.argument("output"),
        click.option("--size", help="window length: one integer, or one per filtered axis (5 or 3,5,5)"),
        click.option("--footprint", type=click.Path(exists=True, dir_okay=False),
                     help="a .npy file holding the boolean footprint (instead of --size)"),
        click.option("--axes", help="the axes filtered, e.g. 1,2 for slice by slice (default: all)"),
        click.option("--mode", default="reflect", show_default=True,
                     help=f"border mode: {', '.join(_MODES)} (minimum/maximum: one per axis, comma-separated)"),
        click.option("--cval", type=float, default=0.0, show_default=True, help="the constant of --mode constant"),
        click.option("--origin", default="0", show_default=True, help="window placement: one integer or one per axis"),
        click.option("--chunks", help="chunks of the output (default: the input's)"),
        click.option("--kernel", type=click.Choice(["auto", "scipy", "opencv", "numpy"]), default="auto",
                     show_default=True, help="force one kernel (it must be able to compute the filter)"),
        click.option("--max-bytes", default="32MiB", show_default=True, help="output bytes per task"),
        click.option("--overwrite", is_flag=True, help="replace an array already at OUTPUT"),
        click.option("--storage-options", help="JSON options for fsspec URLs (both input and output)"),
        click.option("--progress/--no-progress", default=True, show_default=True, help="show a progress bar"),
        scheduler_option,
        cluster_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run(name: str, extra: dict, source: str, output: str, size: str | None, footprint: str | None,
         axes: str | None, mode: str, cval: float, origin: str, chunks: str | None, kernel: str, max_bytes: str,
         overwrite: bool, storage_options: str | None, progress: bool, scheduler: str | None,
         cluster_file: str | None) -> None:
    from zarrflow import filters  # noqa: PLC0415 - scipy/dask: only when a filter runs
    from zarrflow.graph.filter_plan import describe  # noqa: PLC0415 - as above

    cluster = load_cluster(cluster_file, scheduler)
    if (size is None) == (footprint is None):
        raise click.UsageError("give exactly one of --size and --footprint")
    kwargs = dict(size=_one_or_tuple(size, "--size"), footprint=np.load(footprint) if footprint else None,
                  mode=mode if "," not in mode else tuple(m.strip() for m in mode.split(",")), cval=cval,
                  origin=_one_or_tuple(origin, "--origin"), axes=_one_or_tuple(axes, "--axes"))
    budget = parse_bytes(max_bytes, "--max-bytes")
    opts = parse_storage_options(storage_options, "--storage-options")
    out_chunks = parse_int_tuple(chunks, "--chunks") if chunks else None
    try:
        source_array = open_array(source, mode="r", **({"storage_options": opts} if opts else {}))
        spec, tasks = filters.plan(f"{name}_filter", source_array, **kwargs, **extra, chunks=out_chunks,
                                   kernel=kernel, max_bytes=budget)
        click.echo(describe(spec, source_array.shape, tasks, source_array.dtype.itemsize))
        with running_on(cluster, scheduler) as sched:
            out = getattr(filters, f"{name}_filter")(source_array, output=output, **kwargs, **extra,
                                                     chunks=out_chunks, kernel=kernel, max_bytes=budget,
                                                     overwrite=overwrite, progress=progress, scheduler=sched,
                                                     storage_options=opts or None)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {output}: shape {out.shape} {out.dtype}, chunks {out.chunks}")


@click.group("filter")
def filter_group() -> None:
    """Order-statistic filters with scipy.ndimage's meaning (exact results, any array size)."""


@filter_group.command("median")
@_common
def median(**kw: Any) -> None:
    """Median filter of SOURCE written to OUTPUT."""
    _run("median", {}, **kw)


@filter_group.command("minimum")
@_common
def minimum(**kw: Any) -> None:
    """Minimum filter of SOURCE written to OUTPUT."""
    _run("minimum", {}, **kw)


@filter_group.command("maximum")
@_common
def maximum(**kw: Any) -> None:
    """Maximum filter of SOURCE written to OUTPUT."""
    _run("maximum", {}, **kw)


@filter_group.command("rank")
@click.option("--rank", type=int, required=True, help="0 is the smallest value, -1 the largest")
@_common
def rank(rank: int, **kw: Any) -> None:
    """Rank filter of SOURCE written to OUTPUT."""
    _run("rank", {"rank": rank}, **kw)


@filter_group.command("percentile")
@click.option("--percentile", type=float, required=True, help="in [-100, 100]")
@_common
def percentile(percentile: float, **kw: Any) -> None:
    """Percentile filter of SOURCE written to OUTPUT."""
    _run("percentile", {"percentile": percentile}, **kw)

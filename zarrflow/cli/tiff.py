"""``zarrflow tiff import SOURCE OUTPUT`` and ``zarrflow tiff export SOURCE PATTERN``:
TIFF image stacks in and out of Zarr (``zarrflow.images``), with a progress bar.

Examples: ``zarrflow tiff import 'slices/*.tif' stack.zarr --chunks 1,1024,1024`` and
``zarrflow tiff export filtered.zarr 'out/slice_{:05d}.tif'``.
"""

from __future__ import annotations

import click

from zarrflow.cli.options import (
    cluster_option,
    load_cluster,
    parse_bytes,
    parse_int_tuple,
    parse_storage_options,
    running_on,
    scheduler_option,
)

__all__ = ["tiff_group"]


@click.group("tiff")
def tiff_group() -> None:
    """TIFF image stacks in and out of Zarr arrays."""


@tiff_group.command("import")
@click.argument("source")
@click.argument("output")
@click.option("--chunks", help="chunks of the new array (default: one slice per chunk), e.g. 1,1024,1024")
@click.option("--overwrite", is_flag=True, help="replace an array already at OUTPUT")
@click.option("--max-bytes", default="64MiB", show_default=True, help="image bytes per task")
@click.option("--storage-options", help="JSON options for an fsspec OUTPUT URL")
@click.option("--progress/--no-progress", default=True, show_default=True, help="show a progress bar")
@scheduler_option
@cluster_option
def import_(source: str, output: str, chunks: str | None, overwrite: bool, max_bytes: str,
            storage_options: str | None, progress: bool, scheduler: str | None, cluster_file: str | None) -> None:
    """Import SOURCE (a glob such as 'slices/*.tif' in natural order, a directory, or one
    multi-page TIFF) into a new array at OUTPUT."""
    from zarrflow import images  # noqa: PLC0415 - tifffile/dask: only when a stack moves

    opts = parse_storage_options(storage_options, "--storage-options")
    budget = parse_bytes(max_bytes, "--max-bytes")
    try:
        files = images.list_tiffs(source)
        click.echo(f"{len(files)} TIFF file(s): {files[0]}{' ... ' + files[-1] if len(files) > 1 else ''}")
        with running_on(load_cluster(cluster_file, scheduler), scheduler) as sched:
            z = images.from_tiff(source, output,
                                 chunks=parse_int_tuple(chunks, "--chunks") if chunks else None,
                                 overwrite=overwrite, max_bytes=budget, progress=progress, scheduler=sched,
                                 storage_options=opts or None)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {output}: shape {z.shape} {z.dtype}, chunks {z.chunks}")


@tiff_group.command("export")
@click.argument("source")
@click.argument("pattern")
@click.option("--compression", help="tifffile compression, e.g. zlib (default: none)")
@click.option("--overwrite", is_flag=True, help="replace files that exist")
@click.option("--max-bytes", default="64MiB", show_default=True, help="image bytes per task")
@click.option("--storage-options", help="JSON options for an fsspec SOURCE URL")
@click.option("--progress/--no-progress", default=True, show_default=True, help="show a progress bar")
@scheduler_option
@cluster_option
def export(source: str, pattern: str, compression: str | None, overwrite: bool, max_bytes: str,
           storage_options: str | None, progress: bool, scheduler: str | None, cluster_file: str | None) -> None:
    """Export the array SOURCE as TIFF: one file per slice when PATTERN holds a format
    field ('out/slice_{:05d}.tif'), else one multi-page file."""
    from zarrflow import images  # noqa: PLC0415 - tifffile/dask: only when a stack moves

    opts = parse_storage_options(storage_options, "--storage-options")
    budget = parse_bytes(max_bytes, "--max-bytes")
    try:
        with running_on(load_cluster(cluster_file, scheduler), scheduler) as sched:
            names = images.to_tiff(source, pattern, overwrite=overwrite, compression=compression, max_bytes=budget,
                                   progress=progress, scheduler=sched, storage_options=opts or None)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {len(names)} file(s): {names[0]}{' ... ' + names[-1] if len(names) > 1 else ''}")

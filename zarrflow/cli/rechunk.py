"""``zarrflow rechunk SRC DST --chunks ... --max-mem 1GB [--temp TEMP]``."""

from __future__ import annotations

import json

import click

from zarrflow.cli.options import (
    cluster_option,
    load_cluster,
    parse_chunks,
    parse_storage_options,
    running_on,
    scheduler_option,
)

__all__ = ["rechunk_command"]


def _codec_options(text: str | None, name: str) -> dict:
    """``--target-options '{"compressor": {"id": "zstd", "level": 3}}'``: codec configs
    become numcodecs codecs."""
    if not text:
        return {}
    from zarrflow.format.codec_config import codecs_from_options  # noqa: PLC0415 - only when options are given

    try:
        return codecs_from_options(parse_storage_options(text, name), key=name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


@click.command("rechunk")
@click.argument("source")
@click.argument("target")
@click.option("--chunks", "chunks", required=True,
              help="Target chunks: '512,64,64' (-1: the whole axis), or JSON {array: [chunks]} for a group.")
@click.option("--max-mem", required=True, help="Memory per task, e.g. '1GB' or a number of bytes.")
@click.option("--temp", "temp", default=None, help="Store (path or URL) for intermediates, when the plan needs them.")
@click.option("--target-options", default=None, help="JSON creation options for the target (compressor, filters...).")
@click.option("--temp-options", default=None, help="JSON creation options for the intermediates.")
@click.option("--storage-options", default=None, help="JSON fsspec storage options for URLs.")
@click.option("--overwrite", is_flag=True, help="Replace an existing target.")
@click.option("--max-stages", default=4, show_default=True, type=click.IntRange(1, 8),
              help="Most stages the planner may use.")
@scheduler_option
@cluster_option
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def rechunk_command(source: str, target: str, chunks: str, max_mem: str, temp: str | None,
                    target_options: str | None, temp_options: str | None, storage_options: str | None,
                    overwrite: bool, max_stages: int, scheduler: str | None, cluster_file: str | None, dry_run: bool,
                    progress: bool) -> None:
    """Rechunk the array or group SOURCE into TARGET in bounded memory (prints the plan
    first; running it again after a crash resumes)."""
    import zarrflow  # noqa: PLC0415 - keeps `zarrflow --help` fast

    cluster = load_cluster(cluster_file, scheduler)
    opts = parse_storage_options(storage_options, "--storage-options")
    parsed = parse_chunks(chunks)
    mem: int | str = int(max_mem) if max_mem.isdigit() else max_mem
    try:
        src = zarrflow.open(source, mode="r", storage_options=opts or None)
        plan = zarrflow.rechunk(src, parsed, mem, target, target_options=_codec_options(target_options,
                                "--target-options"), temp_store=temp,
                                temp_options=_codec_options(temp_options, "--temp-options"),
                                overwrite=overwrite, max_stages=max_stages, storage_options=opts or None)
    except (ValueError, TypeError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(plan.describe())
    if dry_run:
        return
    with running_on(cluster, scheduler) as chosen:
        plan.execute(scheduler=chosen, progress=progress)
    click.echo(str(plan.report))
    click.echo(json.dumps({"target": target, "tasks_run": plan.report.tasks_run,
                           "tasks_skipped": plan.report.tasks_skipped}))

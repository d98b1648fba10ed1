"""``zarrflow validate FILE``, ``zarrflow plan FILE``, ``zarrflow run FILE``."""

from __future__ import annotations

import json
import logging
import signal
import sys
from typing import Any

import click

from zarrflow.cli.options import cluster_option, load_cluster, running_on, scheduler_option
from zarrflow.errors import PipelineError

__all__ = ["plan_command", "run_command", "validate_command"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per log record: time, level, message and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"time": round(record.created, 3), "level": record.levelname.lower(),
                               "message": record.getMessage()}
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        return json.dumps(doc, default=str)


def _setup_logging(json_log: bool) -> None:
    logger = logging.getLogger("zarrflow")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if json_log else logging.Formatter("zarrflow: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _load(path: str) -> Any:
    from zarrflow.pipeline import ExitCode, load_pipeline  # noqa: PLC0415 - keeps `zarrflow --help` fast

    try:
        return load_pipeline(path)
    except PipelineError as exc:
        click.echo(f"invalid pipeline: {exc}", err=True)
        sys.exit(int(ExitCode.INVALID))


@click.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def validate_command(file: str) -> None:
    """Check a pipeline FILE completely (no I/O); exit 4 when it is invalid."""
    pipeline = _load(file)
    click.echo(f"{file}: valid pipeline {pipeline.name!r}: {len(pipeline.inputs)} input(s), "
               f"{len(pipeline.outputs)} output(s), steps in order: {', '.join(s.id for s in pipeline.steps)}")


@click.command("plan")
@click.argument("file", type=click.Path(dir_okay=False))
def plan_command(file: str) -> None:
    """Say what a run of FILE would do now (reads only; writes nothing); exit 3 when
    there is nothing to do."""
    from zarrflow.pipeline import ExitCode, plan_pipeline  # noqa: PLC0415

    pipeline = _load(file)
    plans = plan_pipeline(pipeline)
    for p in plans:
        click.echo(f"{p.step.id} ({p.step.op}): {'run' if p.has_work else 'skip'} - {p.reason}")
        for name in p.step.reads:
            ref = pipeline.ref(name)
            click.echo(f"    reads {name}: {ref.url}" + (f" (path {ref.path})" if ref.path else ""))
        for name in p.step.writes:
            click.echo(f"    writes {name}: {pipeline.ref(name).url}")
        new = p.detail.get("new_items", [])
        for item in new[:20]:
            click.echo(f"    new: {item}")
        if len(new) > 20:
            click.echo(f"    ... and {len(new) - 20} more new inputs")
        if p.has_work and p.step.op == "rechunk":
            click.echo(_indent(_rechunk_plan_text(pipeline, p.step), "    "))
    if not any(p.has_work for p in plans):
        sys.exit(int(ExitCode.NOTHING_TO_DO))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _rechunk_plan_text(pipeline: Any, step: Any) -> str:
    """The rechunk plan a step would run (planning reads only), or why there is none yet."""
    import zarrflow  # noqa: PLC0415

    src_ref, out = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
    try:
        src = zarrflow.open(src_ref.url, mode="r", path=src_ref.path or None,
                            storage_options=src_ref.storage_options or None)
    except (ValueError, KeyError, FileNotFoundError):
        return f"(the rechunk is planned when {src_ref.name!r} exists)"
    chunks = step.args["chunks"]
    chunks = tuple(chunks) if isinstance(chunks, list) else chunks
    try:
        plan = zarrflow.rechunk(src, chunks, step.args["max_mem"], out.url, temp_store=step.args.get("temp"),
                                overwrite=True, max_stages=int(step.args.get("max_stages", 4)),
                                storage_options=out.storage_options or None)
    except (ValueError, TypeError) as exc:
        return f"(cannot plan the rechunk: {exc})"
    return plan.describe()


@click.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@scheduler_option
@cluster_option
@click.option("--json-log", is_flag=True, help="Log JSON lines on stderr (the default when stderr is not a terminal).")
@click.option("--dry-run", is_flag=True, help="Plan and report, write nothing.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a terminal).")
def run_command(file: str, scheduler: str | None, cluster_file: str | None, json_log: bool, dry_run: bool,
                progress: bool | None) -> None:
    """Run the pipeline FILE once: only what is new, resuming what a killed run left;
    exit 0 done, 1 a step failed, 3 nothing to do, 4 invalid file, 5 locked. With
    --cluster the cluster is started only when there is work, and torn down after."""
    from zarrflow.pipeline import run_pipeline  # noqa: PLC0415
    from zarrflow.pipeline.runner import report_json  # noqa: PLC0415

    pipeline = _load(file)
    cluster = load_cluster(cluster_file, scheduler)
    tty = sys.stderr.isatty()
    _setup_logging(json_log or not tty)
    progress = tty and not json_log if progress is None else progress
    # SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C: leases are released
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if dry_run or cluster is None:
            with running_on(None, scheduler) as chosen:
                code, report = run_pipeline(pipeline, scheduler=chosen, progress=bool(progress), dry_run=dry_run)
        else:
            # plan first: a run with nothing to do starts no cluster (and writes nothing)
            from zarrflow.pipeline import plan_pipeline  # noqa: PLC0415

            if not any(p.has_work for p in plan_pipeline(pipeline)):
                code, report = run_pipeline(pipeline)
            else:
                with running_on(cluster, None) as chosen:
                    code, report = run_pipeline(pipeline, scheduler=chosen, progress=bool(progress))
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(report_json(report))
    sys.exit(int(code))

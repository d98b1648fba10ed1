"""Option parsers the subcommands share (chunk tuples, byte sizes, storage options,
where the work runs: ``--scheduler`` / ``--cluster``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import click

__all__ = ["cluster_option", "load_cluster", "parse_bytes", "parse_chunks", "parse_int_tuple",
           "parse_storage_options", "running_on", "scheduler_option"]

#: dask's local scheduler names ``--scheduler`` takes (besides a scheduler's address)
LOCAL_SCHEDULERS = ("threads", "processes", "sync", "synchronous", "single-threaded")


def parse_int_tuple(text: str, name: str) -> tuple[int, ...]:
    """``"1,2,3"`` -> ``(1, 2, 3)``; a clear error naming ``name`` otherwise."""
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part != "")
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers", param_hint=name) from None


def parse_chunks(text: str, name: str = "--chunks") -> tuple[int, ...] | dict[str, tuple[int, ...]]:
    """Chunks on the command line: ``"512,64,64"``, or a JSON object
    ``'{"temperature": [512, 64, 64]}'`` for groups."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None
        if not isinstance(value, dict):
            raise click.BadParameter("a JSON object {array name: chunks} is expected", param_hint=name)
        return {str(k): (None if v is None else tuple(int(c) for c in v)) for k, v in value.items()}
    return parse_int_tuple(text, name)


def parse_storage_options(text: str | None, name: str) -> dict:
    """``--storage-options '{"anon": true}'`` (JSON) -> a dict."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None
    if not isinstance(value, dict):
        raise click.BadParameter("a JSON object is expected", param_hint=name)
    return value


def parse_bytes(text: str, name: str) -> int:
    """``"64MiB"``, ``"1.5GB"``, ``"1000"`` -> bytes (dask's parser: kB = 1000, KiB = 1024);
    a clear error naming ``name`` otherwise."""
    from dask.utils import parse_bytes as dask_parse_bytes  # noqa: PLC0415 - dask only when needed

    try:
        value = dask_parse_bytes(text.strip())
    except (ValueError, TypeError):
        raise click.BadParameter(f"{text!r} is not a byte size such as 64MiB, 1GB or 1000000",
                                 param_hint=name) from None
    if value < 1:
        raise click.BadParameter(f"{text!r} must be at least one byte", param_hint=name)
    return int(value)


# --- where the work runs: --cluster CLUSTER_FILE / --scheduler -----------------------------


def scheduler_option(command: Callable) -> Callable:
    """Add ``--scheduler NAME|ADDRESS`` to a click command (the parameter ``scheduler``;
    None: the threaded scheduler, or the active client)."""
    return click.option(
        "--scheduler", default=None, metavar="NAME|ADDRESS",
        help="dask scheduler: threads (default), processes, sync, or the address of a running scheduler "
             "(tcp://host:8786). Not with --cluster.")(command)


def cluster_option(command: Callable) -> Callable:
    """Add ``--cluster CLUSTER_FILE`` to a click command (the parameter ``cluster_file``);
    use it with :func:`load_cluster` and :func:`running_on`."""
    return click.option(
        "--cluster", "cluster_file", default=None, type=click.Path(dir_okay=False),
        help="Cluster file (YAML: kind local|scheduler|slurm|pbs|kubernetes and its settings): the cluster "
             "is started for the run and torn down after it. Not with --scheduler.")(command)


def load_cluster(cluster_file: str | None, scheduler: str | None = None) -> Any:
    """The checked cluster file (a ``ClusterSpec``), or None without ``--cluster``;
    a usage error when ``--scheduler`` is given too, and a bad-parameter error naming
    the file, line and key of what is wrong. Call it before doing any work."""
    if cluster_file is None:
        return None
    if scheduler is not None:
        raise click.UsageError("--cluster and --scheduler cannot be used together: the cluster file says where "
                               "the work runs (kind: scheduler for an address)")
    from zarrflow.graph.cluster_spec import ClusterSpecError, load_cluster_spec  # noqa: PLC0415 - only with --cluster

    try:
        return load_cluster_spec(cluster_file)
    except ClusterSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--cluster") from None


@contextlib.contextmanager
def running_on(spec: Any, scheduler: str | None) -> Iterator[str | None]:
    """The block runs on the cluster of ``spec`` (from :func:`load_cluster`: started,
    its client the default one, torn down after the block however it ends), or on the
    scheduler at the address ``--scheduler`` gives; yields the ``scheduler=`` argument
    for zarrflow's graph functions (None on a cluster, else ``--scheduler``'s name)."""
    if spec is not None:
        from zarrflow.graph.cluster_session import open_cluster  # noqa: PLC0415 - dask only when used

        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(open_cluster(spec))
            except (ImportError, TimeoutError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(spec.describe(), err=True)
            yield None
        return
    if scheduler and "://" not in scheduler and scheduler not in LOCAL_SCHEDULERS:
        raise click.BadParameter(f"{scheduler!r} is neither one of {', '.join(LOCAL_SCHEDULERS)} nor an address",
                                 param_hint="--scheduler")
    if scheduler and "://" in scheduler:
        import distributed  # noqa: PLC0415 - only for a cluster address

        client = distributed.Client(scheduler, set_as_default=False)
        try:
            with client.as_current():
                yield None
        finally:
            client.close()
        return
    yield scheduler

"""Where a subcommand's graph runs: ``--scheduler threads|processes|sync`` or the
address of a running dask scheduler (``tcp://host:8786``), whose client is the default
one while the command runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

__all__ = ["scheduler_option", "scheduler_context"]

scheduler_option = click.option(
    "--scheduler", default="threads", show_default=True, metavar="NAME|ADDRESS",
    help="dask scheduler: threads, processes, sync, or the address of a running scheduler (tcp://host:8786)")


@contextlib.contextmanager
def scheduler_context(scheduler: str) -> Iterator[str | None]:
    """Yields the ``scheduler=`` argument for the public API (None on a cluster: its
    client is the default one inside the context)."""
    if "://" not in scheduler:
        if scheduler not in ("threads", "processes", "sync", "synchronous", "single-threaded"):
            raise click.BadParameter(f"{scheduler!r} is neither threads, processes, sync nor an address",
                                     param_hint="--scheduler")
        yield scheduler
        return
    import distributed  # noqa: PLC0415 - optional backend, only for cluster runs

    with distributed.Client(scheduler, set_as_default=True) as client:
        click.echo(f"running on the cluster at {scheduler} ({len(client.scheduler_info()['workers'])} workers)")
        yield None

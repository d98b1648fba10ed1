"""The ``zarrflow`` command: one thin module per subcommand (``rechunk``, ``filter``,
``tiff``, ...), each a click command that parses arguments, prints the plan and calls the
public API. Nothing here does array work itself."""

from __future__ import annotations

import click

from zarrflow import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zarrflow")
def main() -> None:
    """zarrflow: chunked, compressed N-dimensional arrays (Zarr v2) and parallel jobs on them."""


def _register() -> None:
    """Attach the subcommands (each module defines one click command or group)."""
    from zarrflow.cli import commands  # noqa: PLC0415 - keeps `zarrflow --help` import light

    for command in commands.all_commands():
        main.add_command(command)


_register()

"""The list of subcommands of the ``zarrflow`` command (one module each)."""

from __future__ import annotations

import click

__all__ = ["all_commands"]


def all_commands() -> list[click.Command]:
    """Every subcommand, in the order ``zarrflow --help`` lists them."""
    from zarrflow.cli.filter import filter_group  # noqa: PLC0415 - one import per subcommand
    from zarrflow.cli.tiff import tiff_group  # noqa: PLC0415 - one import per subcommand

    found: list[click.Command] = []
    found.append(filter_group)
    found.append(tiff_group)
    return found

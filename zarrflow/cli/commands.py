"""The list of subcommands of the ``zarrflow`` command (one module each)."""

from __future__ import annotations

import click

__all__ = ["all_commands"]


def all_commands() -> list[click.Command]:
    """Every subcommand, in the order ``zarrflow --help`` lists them."""
    from zarrflow.cli.filter import filter_group  # noqa: PLC0415 - one import per subcommand
    from zarrflow.cli.pipeline import plan_command, run_command, validate_command  # noqa: PLC0415
    from zarrflow.cli.rechunk import rechunk_command  # noqa: PLC0415
    from zarrflow.cli.tiff import tiff_group  # noqa: PLC0415

    found: list[click.Command] = [run_command, plan_command, validate_command, rechunk_command, filter_group,
                                  tiff_group]
    return found

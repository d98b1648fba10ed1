"""Failures of zarr 2.18 suite against zarrflow that are not yet fixed nor analysed as
deliberate differences: open work, recorded by ``python -m tests.compat.suite --record``.
Each is run as a non-strict xfail, so CI fails on any *new* failure and a fixed one shows
up as XPASS; remove it from here when it passes. Deliberate differences, each with its
reason, are in exclusions.DIFFERENCES."""

OPEN: dict[str, str] = {}

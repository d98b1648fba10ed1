"""The ``info`` reports of arrays and groups, laid out exactly like zarr 2's."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from textwrap import TextWrapper
from typing import Any

Items = Sequence[tuple[str, str]]


def human_readable_size(size: int) -> str:
    """``1290562`` -> ``'1.2M'``: one decimal, binary units, as zarr prints them."""
    for limit, unit in ((2**10, ""), (2**20, "K"), (2**30, "M"), (2**40, "G"), (2**50, "T")):
        if size < limit:
            return str(size) if not unit else f"{size / (limit / 2**10):.1f}{unit}"
    return f"{size / 2**50:.1f}P"


def bytes_with_size(n: int) -> str:
    """``'400000000 (381.5M)'`` for large counts, the bare number for small ones."""
    return f"{n} ({human_readable_size(n)})" if n > 2**10 else str(n)


def type_name(obj: Any) -> str:
    """The dotted public name of ``obj``'s class, as info reports show it.

    zarrflow stores live in one module each under ``zarrflow.storage``; they are
    reported by their public name (``zarrflow.storage.DirectoryStore``).
    """
    cls = type(obj)
    module = cls.__module__
    if module.startswith("zarrflow.storage."):
        module = "zarrflow.storage"
    return f"{module}.{cls.__name__}"


def text_report(items: Items) -> str:
    """Render ``(key, value)`` rows as aligned ``key : value`` lines wrapped at 80."""
    if not items:
        return ""
    width = max(len(k) for k, _ in items)
    lines = []
    for k, v in items:
        wrapper = TextWrapper(width=80, initial_indent=k.ljust(width) + " : ",
                              subsequent_indent=" " * width + " : ")
        lines.append(wrapper.fill(str(v)))
    return "\n".join(lines) + "\n"


def html_report(items: Items) -> str:
    """An HTML table of the same rows, for notebooks."""
    rows = "".join(
        f'<tr><th style="text-align: left">{html.escape(k)}</th>'
        f'<td style="text-align: left">{html.escape(str(v))}</td></tr>'
        for k, v in items
    )
    return f'<table class="zarrflow-info"><tbody>{rows}</tbody></table>'


class InfoReporter:
    """Lazily computed report: ``repr``/``str`` give the text, notebooks the HTML."""

    def __init__(self, compute_items: Callable[[], Items]):
        self._compute_items = compute_items

    def items(self) -> Items:
        """The report's ``(key, value)`` rows."""
        return self._compute_items()

    def __repr__(self) -> str:
        return text_report(self.items())

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return html_report(self.items())

"""Text and HTML trees of a hierarchy, drawn like zarr 2's ``Group.tree()``.

Works on zarrflow groups and on any h5py-like group (``keys()``, ``[name]``, arrays
with ``shape``/``dtype``), so ``zarrflow.tree(h5py_file)`` draws HDF5 files too.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TreeNode:
    """One line of the tree: a label and its children."""

    label: str
    is_group: bool
    children: list[TreeNode] = field(default_factory=list)


def _is_group_like(obj: Any) -> bool:
    return hasattr(obj, "keys") and not hasattr(obj, "shape")


def _basename(obj: Any) -> str:
    name = getattr(obj, "name", None) or "/"
    base = name.rstrip("/").split("/")[-1]
    return base or "/"


def build_tree(obj: Any, level: int | None = None, _depth: int = 0) -> TreeNode:
    """Walk ``obj`` (down to ``level`` levels below it) into :class:`TreeNode`s."""
    if not _is_group_like(obj):
        return TreeNode(f"{_basename(obj)} {tuple(obj.shape)} {obj.dtype}", is_group=False)
    node = TreeNode(_basename(obj), is_group=True)
    if level is None or _depth < level:
        for key in sorted(obj.keys()):
            node.children.append(build_tree(obj[key], level, _depth + 1))
    return node


def render_text(node: TreeNode) -> str:
    """Box-drawing text: the root's label, then ``├── child`` lines indented by one."""
    lines = [node.label]

    def walk(n: TreeNode, prefix: str) -> None:
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            lines.append(f"{prefix}{'└' if last else '├'}── {child.label}")
            walk(child, prefix + ("    " if last else "│   "))

    walk(node, " ")
    return "\n".join(lines)


def render_html(node: TreeNode) -> str:
    """Nested HTML lists, groups expandable (``<details>``), for notebooks."""

    def item(n: TreeNode) -> str:
        label = html.escape(n.label)
        if not n.children:
            return f"<li>{label}</li>"
        inner = "".join(item(c) for c in n.children)
        return f"<li><details open><summary>{label}</summary><ul>{inner}</ul></details></li>"

    return f'<ul class="zarrflow-tree">{item(node)}</ul>'


class TreeViewer:
    """What ``Group.tree()`` returns: prints as text, renders as HTML in notebooks."""

    def __init__(self, group: Any, expand: bool = False, level: int | None = None):
        self.group = group
        self.expand = expand
        self.level = level

    def _node(self) -> TreeNode:
        return build_tree(self.group, self.level)

    def __repr__(self) -> str:
        return render_text(self._node())

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return render_html(self._node())


def tree(grp: Any, expand: bool = False, level: int | None = None) -> TreeViewer:
    """A printable tree of ``grp`` (a zarrflow group or an h5py-like group)."""
    return TreeViewer(grp, expand=expand, level=level)

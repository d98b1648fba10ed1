"""Text and HTML trees of a hierarchy, drawn like zarr 2's ``Group.tree()``.

Works on zarrflow groups and on any h5py-like group (``values()``, arrays with
``name``/``shape``/``dtype``), so ``zarrflow.tree(h5py_file)`` draws HDF5 files too.
Members appear in the group's own order, as in zarr 2 (sorted for zarrflow groups).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from zarrflow.core.array import Array


@dataclass
class TreeNode:
    """One line of the tree: a label and its children."""

    label: str
    is_group: bool
    children: list[TreeNode] = field(default_factory=list)


def _is_group_like(obj: Any) -> bool:
    # Looked up on the class: a zarrflow Group answers unknown attributes with its
    # members, so ``hasattr(group, "shape")`` would look for a member named "shape".
    if isinstance(obj, Array):
        return False
    return hasattr(type(obj), "values") and not hasattr(type(obj), "shape")


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
        # Members in the group's own order (sorted for zarrflow, name order for h5py).
        for child in obj.values():
            node.children.append(build_tree(child, level, _depth + 1))
    return node


UNICODE_BOX = ("└", "├", "─", "│")
ASCII_BOX = ("+", "+", "-", "|")


def render_text(node: TreeNode, box: tuple[str, str, str, str] = UNICODE_BOX) -> str:
    """Box-drawing text: the root's label, then ``├── child`` lines indented by one
    (``box``: the up-and-right, vertical-and-right, horizontal and vertical glyphs)."""
    up_right, vert_right, horiz, vert = box
    lines = [node.label]

    def walk(n: TreeNode, prefix: str) -> None:
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            lines.append(f"{prefix}{up_right if last else vert_right}{horiz * 2} {child.label}")
            walk(child, prefix + ("    " if last else f"{vert}   "))

    walk(node, " ")
    return "\n".join(lines)


def render_html(node: TreeNode, expand: bool | int = False) -> str:
    """Nested HTML lists for notebooks: groups are collapsible ``<details>``; the root
    is open, and so is every group with ``expand=True`` (with an int, the groups less
    than ``expand`` levels below the root)."""

    def item(n: TreeNode, depth: int) -> str:
        label = html.escape(n.label)
        if not n.is_group:
            return f'<li class="zarrflow-array">{label}</li>'
        is_open = depth == 0 or expand is True or (
            isinstance(expand, int) and not isinstance(expand, bool) and depth < expand)
        inner = "".join(item(c, depth + 1) for c in n.children)
        return (f'<li class="zarrflow-group"><details{" open" if is_open else ""}>'
                f"<summary>{label}</summary><ul>{inner}</ul></details></li>")

    return f'<ul class="zarrflow-tree">{item(node, 0)}</ul>'


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

    def __bytes__(self) -> bytes:
        """The tree drawn with ASCII characters only (zarr 2's ``bytes(tree)``)."""
        return render_text(self._node(), ASCII_BOX).encode()

    def _repr_html_(self) -> str:
        return render_html(self._node(), self.expand)


def tree(grp: Any, expand: bool = False, level: int | None = None) -> TreeViewer:
    """A printable tree of ``grp`` (a zarrflow group or an h5py-like group)."""
    return TreeViewer(grp, expand=expand, level=level)

"""The package's layers point one way: errors <- format <- storage <- core <- graph <-
public face <- pipeline <- cli. The public face (``zarrflow/__init__.py`` and the other
top-level modules but ``errors.py``) is free to compose the layers below it; pipelines
compose the public operations (copy, rechunk, the filters) and the command line
(``zarrflow/cli``) sits on top of everything.

Every import statement of every module is parsed (also those inside functions, and
``importlib.import_module`` calls with a literal or f-string module name), so a lazy
import cannot hide an arrow pointing up. See docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zarrflow"

#: Layer rank by first package component under zarrflow/ (or module name for errors).
LAYERS = {"errors": 0, "format": 1, "storage": 2, "core": 3, "graph": 4, "pipeline": 100, "cli": 101}
FACE = 99  # zarrflow/__init__.py and top-level modules: may import anything but pipeline and cli


def layer_of_module(name: str) -> int | None:
    """Rank of the zarrflow module ``name`` ('zarrflow.core.array'), FACE for the public
    face, None for modules outside the package."""
    parts = name.split(".")
    if parts[0] != "zarrflow":
        return None
    if len(parts) == 1:
        return FACE
    return LAYERS.get(parts[1], FACE)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _literal_module(node: ast.AST) -> str | None:
    """The module named by an ``import_module`` argument: a string, or the literal head
    of an f-string (enough to know the package and layer)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        head = str(node.values[0].value)
        return head.rstrip(".") or None
    return None


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``source``."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from zarrflow import graph`` names a subpackage too
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names
                         if target == "zarrflow" and alias.name in LAYERS)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "import_module" and node.args:
                target = _literal_module(node.args[0])
                if target:
                    found.append((node.lineno, target))
    return found


def violations_in(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports of ``module`` that point up a layer (or into the public face)."""
    own = layer_of_module(module)
    if own is None:
        return []
    if own == FACE:
        # the public face composes every layer but the command line above it
        # (``python -m zarrflow``, i.e. ``zarrflow/__main__.py``, is the command line)
        if module == "zarrflow.__main__":
            return []
        return [f"{module}:{line} imports {target}" for line, target in imports_of(source, module, is_package)
                if (layer_of_module(target) or 0) > FACE]
    out = []
    for line, target in imports_of(source, module, is_package):
        rank = layer_of_module(target)
        if rank is None:
            continue
        if target.split(".")[:2] == ["zarrflow", "errors"] or target == "zarrflow.errors":
            rank = 0
        if rank > own:
            out.append(f"{module}:{line} imports {target}")
    return out


def test_the_checker_finds_arrows_pointing_up():
    """The checker itself: each way of importing upwards is caught, downward ones pass."""
    bad = {
        "zarrflow.core.x": "from zarrflow.graph import ops",
        "zarrflow.storage.y": "def f():\n    from zarrflow.core.array import Array",
        "zarrflow.format.z": "import zarrflow.storage.base",
        "zarrflow.core.w": "import importlib\nimportlib.import_module(f'zarrflow.graph.{name}')",
        "zarrflow.core.v": "from zarrflow import graph",
        "zarrflow.storage.u": "from ..core import array",
        "zarrflow.core.t": "import zarrflow",
        "zarrflow.pipeline.s": "from zarrflow.cli import main",
        "zarrflow.graph.r": "from zarrflow.pipeline import runner",
    }
    bad["zarrflow"] = "from zarrflow.cli import main"
    bad["zarrflow.copying"] = "from zarrflow.pipeline import runner"
    for module, source in bad.items():
        assert violations_in(source, module), module
    good = {
        "zarrflow.core.x": "from zarrflow.storage import base\nfrom zarrflow.format import keys\nimport numpy",
        "zarrflow.format.z": "from zarrflow.errors import MetadataError",
        "zarrflow.graph.q": "from zarrflow.core.array import Array",
        "zarrflow.cli.p": "import zarrflow\nfrom zarrflow.graph import ops",
        "zarrflow.pipeline.o": "import zarrflow\nfrom zarrflow.copying import copy_all",
    }
    for module, source in good.items():
        assert violations_in(source, module) == [], module


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_package_has_the_layers():
    for name in ("errors.py", "format", "storage", "core", "graph"):
        assert (PACKAGE / name).exists(), name


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_up_a_layer(path: Path):
    module = module_name(path)
    assert violations_in(path.read_text(), module, is_package=path.name == "__init__.py") == []

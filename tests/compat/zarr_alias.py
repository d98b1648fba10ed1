"""pytest plugin that runs zarr-python 2.18's test files against zarrflow.

Loaded with ``-p tests.compat.zarr_alias`` in the subprocess that runs one copied zarr
test file. It makes ``import zarr`` give ``zarrflow`` and ``zarr.<module>`` give
``zarrflow.<module>``, while ``zarr.tests`` is the copied test package. zarr 2's
*private* modules that the test files import at their top (``zarr._storage.v3`` ...)
get stand-ins listed in :mod:`tests.compat.exclusions` (``STUB_MODULES``); every test
that would use them is excluded there, with its reason. Items are then deselected
(``EXCLUDED``) or marked as known differences (``DIFFERENCES``, run as non-strict
xfail) from the same file.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.compat import exclusions, open_failures

SUITE_DIR_ENV = "ZARRFLOW_ZARR2_SUITE"


def _placeholder(module: str, name: str) -> type:
    """A class standing in for a zarr 2 internal: it can be imported and subclassed;
    using it raises NotImplementedError."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{module}.{name} is a zarr 2 internal with no zarrflow counterpart")

    return type(name, (), {"__init__": __init__, "__module__": module})


def _stub_module(fullname: str) -> types.ModuleType:
    spec = exclusions.STUB_MODULES[fullname]
    mod = types.ModuleType(fullname, f"stand-in for {fullname}: {spec['reason']}")
    mod.__path__ = []  # every stub may be a package
    for name, value in spec.get("values", {}).items():
        setattr(mod, name, value)
    for name in spec.get("classes", ()):
        setattr(mod, name, _placeholder(fullname, name))
    return mod


class _Loader(importlib.abc.Loader):
    """Loads an already imported module under a second name (its own spec is kept)."""

    def __init__(self, module: types.ModuleType):
        self._module = module
        self._spec = getattr(module, "__spec__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        if self._spec is not None:
            module.__spec__ = self._spec


class ZarrAliasFinder(importlib.abc.MetaPathFinder):
    """``zarr`` -> ``zarrflow``; ``zarr.tests`` -> the copied suite; stubs for internals."""

    def __init__(self, suite_dir: Path):
        self.suite_dir = suite_dir

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "zarr" and not fullname.startswith("zarr."):
            return None
        if fullname == "zarr.tests":
            return importlib.util.spec_from_file_location(
                fullname, self.suite_dir / "__init__.py", submodule_search_locations=[str(self.suite_dir)]
            )
        if fullname.startswith("zarr.tests."):
            return None  # found by the path finder in zarr.tests.__path__
        if fullname in exclusions.STUB_MODULES:
            return importlib.machinery.ModuleSpec(fullname, _Loader(_stub_module(fullname)), is_package=True)
        target_name = "zarrflow" + fullname[len("zarr"):]
        module = importlib.import_module(target_name)
        return importlib.machinery.ModuleSpec(fullname, _Loader(module), is_package=hasattr(module, "__path__"))


def install(suite_dir: Path) -> None:
    """Put the alias finder first on ``sys.meta_path`` and alias ``zarr`` now."""
    import zarrflow

    sys.meta_path.insert(0, ZarrAliasFinder(suite_dir))
    sys.modules["zarr"] = zarrflow
    for dotted, names in exclusions.STUB_ATTRS.items():
        module = importlib.import_module("zarrflow" + dotted[len("zarr"):])
        for name, (value, _reason) in names.items():
            if isinstance(value, str) and value == "<placeholder>":
                value = _placeholder(dotted, name)
            if not hasattr(module, name):
                setattr(module, name, value)
    for where, names in exclusions.STUB_CLASS_ATTRS.items():
        modname, clsname = where.split(":")
        cls = getattr(importlib.import_module(modname), clsname)
        for name, (value, _reason) in names.items():
            if value == "<module zarrflow.meta>":
                value = importlib.import_module("zarrflow.meta")
            setattr(cls, name, value)


def pytest_configure(config: pytest.Config) -> None:
    """Install the alias before any test file is collected."""
    suite = os.environ.get(SUITE_DIR_ENV)
    if not suite:
        raise pytest.UsageError(f"{SUITE_DIR_ENV} must name the copied zarr/tests directory")
    install(Path(suite))


def _matches(patterns: dict[str, str], nodeid: str) -> str | None:
    for pattern, reason in patterns.items():
        if re.search(pattern, nodeid):
            return reason
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the excluded tests; mark the listed differences as (non-strict) xfail."""
    keep, drop = [], []
    for item in items:
        nodeid = item.nodeid.split("zarr/tests/", 1)[-1]
        if _matches(exclusions.EXCLUDED, nodeid):
            drop.append(item)
            continue
        reason = _matches(exclusions.DIFFERENCES, nodeid)
        if reason is None and nodeid in open_failures.OPEN:
            reason = "open (not yet fixed): " + open_failures.OPEN[nodeid]
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

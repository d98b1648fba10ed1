"""Reading a pipeline file: YAML into plain Python values, remembering the line of
every value (so errors can name it), with ``${VAR}`` / ``${VAR:-default}`` expanded
from the environment in string values. Pure: no I/O but reading the file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from zarrflow.errors import PipelineError

__all__ = ["Located", "load_yaml", "path_text"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def path_text(path: tuple[Any, ...]) -> str:
    """``('steps', 0, 'rechunk', 'max_mem')`` -> ``steps[0].rechunk.max_mem``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class Located:
    """A loaded file: its values and the line (1-based) of every path in it."""

    def __init__(self, value: Any, lines: dict[tuple[Any, ...], int], source: str):
        self.value = value
        self.lines = lines
        self.source = source

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def error(self, path: tuple[Any, ...], message: str) -> PipelineError:
        """A :class:`PipelineError` naming the file, the YAML path and its line."""
        line = self.line_of(path)
        where = f"{self.source}:{line}" if line else self.source
        return PipelineError(f"{where}: {path_text(path)}: {message}", path=path_text(path), line=line)


def _expand(text: str, path: tuple[Any, ...], env: Mapping[str, str], lines: dict, source: str) -> str:
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        line = lines.get(path)
        where = f"{source}:{line}" if line else source
        raise PipelineError(f"{where}: {path_text(path)}: environment variable {name} is not set "
                            f"(write ${{{name}:-default}} for a default)", path=path_text(path), line=line)

    return _ENV.sub(replace, text)


def _convert(node: yaml.Node, path: tuple[Any, ...], lines: dict, env: Mapping[str, str], source: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node)) if not isinstance(key_node, yaml.ScalarNode) \
                else key_node.value
            if not isinstance(key, str):
                raise PipelineError(f"{source}:{key_node.start_mark.line + 1}: keys must be strings, got {key!r}",
                                    path=path_text(path), line=key_node.start_mark.line + 1)
            if key in out:
                raise PipelineError(f"{source}:{key_node.start_mark.line + 1}: {path_text(path + (key,))}: "
                                    "appears twice", path=path_text(path + (key,)), line=key_node.start_mark.line + 1)
            out[key] = _convert(value_node, path + (key,), lines, env, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), lines, env, source) for i, item in enumerate(node.value)]
    # a scalar: let YAML resolve its type, then expand ${VAR} in strings
    value = yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value
    if isinstance(value, str) and "${" in value:
        expanded = _expand(value, path, env, lines, source)
        # an expanded plain scalar is typed as YAML would type what it expands to
        value = expanded if node.style else yaml.safe_load(expanded) if expanded.strip() else expanded
        if not isinstance(value, (str, int, float, bool)) or value is None:
            value = expanded
    return value


def load_yaml(text_or_path: str | os.PathLike, env: Mapping[str, str] | None = None) -> Located:
    """Load a pipeline file (a path, or YAML text when it contains a newline)."""
    env = os.environ if env is None else env
    if isinstance(text_or_path, os.PathLike) or "\n" not in str(text_or_path):
        path = Path(text_or_path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise PipelineError(f"{path}: cannot read the pipeline file: {exc.strerror or exc}") from None
        source = str(path)
    else:
        text, source = str(text_or_path), "<pipeline>"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PipelineError(f"{source}:{line or '?'}: not valid YAML: {getattr(exc, 'problem', exc)}",
                            line=line) from None
    if node is None:
        raise PipelineError(f"{source}: the pipeline file is empty")
    lines: dict[tuple[Any, ...], int] = {}
    value = _convert(node, (), lines, env, source)
    return Located(value, lines, source)

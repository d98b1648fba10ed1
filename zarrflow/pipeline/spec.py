"""The pipeline file: its schema, and checking a loaded file completely before any I/O.

A pipeline names its ``inputs`` (zarrflow arrays/groups by URL, or a glob of TIFF
files), its ``outputs`` (URLs) and its ``steps``, each a mapping with one operation
key::

    version: 1
    name: nightly-ingest
    inputs:
      slices: {tiff: "s3://bucket/incoming/*.tif"}
    outputs:
      stack: {zarr: "s3://bucket/stack.zarr"}
    steps:
      - append: {from: slices, to: stack, chunks: [1, 512, 512],
                 filter: {median_filter: {size: 3}}}
      - consolidate: {of: stack}

:func:`parse_pipeline` validates the structure with a JSON schema, then the references
(every ``from`` names an input or an output some step writes; every ``to`` an output;
no step reads what only a later step writes; no cycles), and returns a
:class:`Pipeline` whose steps are in run order. Every error names the file, the YAML
path and its line. Credentials are refused in the file: they come from the
environment or fsspec's configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from zarrflow.errors import PipelineError
from zarrflow.pipeline.yamlio import Located, load_yaml

__all__ = ["FILTER_OPS", "OPS", "DataRef", "Pipeline", "Step", "load_pipeline", "parse_pipeline"]

FILTER_OPS = ("median_filter", "rank_filter", "percentile_filter", "minimum_filter", "maximum_filter")
OPS = ("append", "rechunk", "copy", "map_blocks", "map_slices", "consolidate", *FILTER_OPS)

#: storage_options keys that hold secrets: refused in a pipeline file
SECRET_KEYS = {"key", "secret", "token", "password", "aws_access_key_id", "aws_secret_access_key",
               "aws_session_token", "account_key", "sas_token", "client_secret", "credentials"}

_NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.-]*$"}
_STORAGE = {"type": "object"}
_INTS = {"type": "array", "items": {"type": "integer", "minimum": -1}, "minItems": 0}
_BYTES = {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string", "minLength": 1}]}
_CODEC = {"anyOf": [{"type": "null"}, {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]}
_FILTER_ARGS = {
    "type": "object",
    "properties": {
        "size": {"anyOf": [{"type": "integer", "minimum": 1}, _INTS]},
        "footprint": {"type": "array"},
        "mode": {"enum": ["reflect", "nearest", "mirror", "constant", "wrap", "grid-mirror", "grid-constant",
                          "grid-wrap"]},
        "cval": {"type": "number"},
        "origin": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
        "axes": {"type": "array", "items": {"type": "integer"}},
        "rank": {"type": "integer"},
        "percentile": {"type": "number"},
    },
    "additionalProperties": False,
}
_FROM_TO = {"from": _NAME, "to": _NAME}


def _op(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


OP_SCHEMAS: dict[str, dict] = {
    "append": _op({**_FROM_TO, "axis": {"type": "integer", "minimum": 0}, "chunks": _INTS, "compressor": _CODEC,
                   "dtype": {"type": "string"}, "on_error": {"enum": ["stop", "skip"]},
                   "batch_bytes": {"type": "integer", "minimum": 1},
                   "filter": {"type": "object", "minProperties": 1, "maxProperties": 1,
                              "propertyNames": {"enum": list(FILTER_OPS)},
                              "additionalProperties": _FILTER_ARGS}},
                  ["from", "to"]),
    "rechunk": _op({**_FROM_TO, "chunks": {"anyOf": [_INTS, {"type": "object"}]}, "max_mem": _BYTES,
                    "temp": {"type": "string"}, "target_options": {"type": "object"},
                    "max_stages": {"type": "integer", "minimum": 1}},
                   ["from", "to", "chunks", "max_mem"]),
    "copy": _op({**_FROM_TO, "if_exists": {"enum": ["replace", "skip"]}}, ["from", "to"]),
    "map_blocks": _op({**_FROM_TO, "function": {"type": "string", "pattern": r"^[\w.]+:[\w.]+$"},
                       "depth": {"anyOf": [{"type": "integer", "minimum": 0}, _INTS]},
                       "kwargs": {"type": "object"}, "dtype": {"type": "string"}},
                      ["from", "to", "function"]),
    "map_slices": _op({**_FROM_TO, "function": {"type": "string", "pattern": r"^[\w.]+:[\w.]+$"},
                       "axis": {"type": "integer", "minimum": 0}, "kwargs": {"type": "object"},
                       "dtype": {"type": "string"}},
                      ["from", "to", "function"]),
    "consolidate": _op({"of": _NAME}, ["of"]),
    **{name: _op({**_FROM_TO, **_FILTER_ARGS["properties"]}, ["from", "to"]) for name in FILTER_OPS},
}

SCHEMA: dict = {
    "type": "object",
    "required": ["version", "name", "steps"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "name": {"type": "string", "minLength": 1},
        "storage_options": _STORAGE,
        "lease": {"type": "object", "properties": {"ttl": {"type": "number", "exclusiveMinimum": 0}},
                  "additionalProperties": False},
        "inputs": {"type": "object", "propertyNames": _NAME, "additionalProperties": {
            "oneOf": [
                _op({"zarr": {"type": "string", "minLength": 1}, "path": {"type": "string"},
                     "storage_options": _STORAGE}, ["zarr"]),
                _op({"tiff": {"type": "string", "minLength": 1}, "storage_options": _STORAGE}, ["tiff"]),
            ]}},
        "outputs": {"type": "object", "propertyNames": _NAME, "additionalProperties": _op(
            {"zarr": {"type": "string", "minLength": 1}, "path": {"type": "string"}, "storage_options": _STORAGE},
            ["zarr"])},
        "steps": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "properties": {"id": _NAME, **{op: {} for op in OPS}},
            "additionalProperties": False,
        }},
    },
}


@dataclass(frozen=True)
class DataRef:
    """An input or output: a zarrflow node at ``url`` (+ ``path``) or a TIFF glob."""

    name: str
    kind: str  # 'zarr' or 'tiff'
    url: str
    path: str = ""
    storage_options: dict = field(default_factory=dict)
    is_output: bool = False


@dataclass(frozen=True)
class Step:
    """One step: its ``op``, its arguments, what it reads and writes (names)."""

    id: str
    op: str
    args: dict
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    index: int
    line: int | None


@dataclass
class Pipeline:
    """A validated pipeline, steps in run order."""

    name: str
    inputs: dict[str, DataRef]
    outputs: dict[str, DataRef]
    steps: list[Step]
    lease_ttl: float
    source: str
    located: Located | None = None

    def ref(self, name: str) -> DataRef:
        """The input or output called ``name``."""
        return self.outputs.get(name) or self.inputs[name]


def _schema_error(located: Located, error: jsonschema.ValidationError) -> PipelineError:
    path = tuple(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties" and path[:1] == ("steps",) and len(path) == 2:
        extra = sorted(set(error.instance) - {"id", *OPS})
        message = f"unknown step {extra[0]!r}; steps are {', '.join(OPS)}" if extra else message
    elif error.validator == "additionalProperties":
        message = message.replace("Additional properties are not allowed", "unknown key(s)")
    elif error.validator == "oneOf" and path[:1] == ("inputs",):
        message = "an input is {zarr: URL} (optional path, storage_options) or {tiff: GLOB}; got " \
                  f"{error.instance!r}"
    return located.error(path, message)


def _check_secrets(located: Located, options: Any, path: tuple) -> None:
    if not isinstance(options, dict):
        return
    for key, value in options.items():
        if key.lower() in SECRET_KEYS:
            raise located.error(path + (key,), "credentials do not belong in a pipeline file: set them in the "
                                "environment (e.g. AWS_ACCESS_KEY_ID) or in fsspec's configuration")
        _check_secrets(located, value, path + (key,))


def parse_pipeline(located: Located) -> Pipeline:
    """Validate a loaded pipeline file completely (no I/O) and order its steps."""
    doc = located.value
    if not isinstance(doc, dict):
        raise located.error((), "a pipeline file is a mapping with version, name, inputs, outputs and steps")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (located.line_of(tuple(e.absolute_path)) or 0))
    if errors:
        raise _schema_error(located, errors[0])
    # each step: exactly one operation, whose arguments match its own schema
    for i, raw in enumerate(doc["steps"]):
        ops = [k for k in raw if k != "id"]
        if len(ops) != 1:
            raise located.error(("steps", i), f"a step has exactly one operation ({', '.join(OPS)}), got "
                                f"{ops or 'none'}")
        op = ops[0]
        step_errors = sorted(jsonschema.Draft202012Validator(OP_SCHEMAS[op]).iter_errors(raw[op]),
                             key=lambda e: list(e.absolute_path))
        if step_errors:
            e = step_errors[0]
            path = ("steps", i, op, *e.absolute_path)
            raise located.error(path, e.message.replace("Additional properties are not allowed", "unknown key(s)"))
    _check_secrets(located, doc.get("storage_options"), ("storage_options",))
    default_options = dict(doc.get("storage_options") or {})
    inputs, outputs = {}, {}
    for section, target, is_output in (("inputs", inputs, False), ("outputs", outputs, True)):
        for name, spec in (doc.get(section) or {}).items():
            _check_secrets(located, spec.get("storage_options"), (section, name, "storage_options"))
            kind = "tiff" if "tiff" in spec else "zarr"
            target[name] = DataRef(name, kind, spec[kind], spec.get("path", ""),
                                   {**default_options, **(spec.get("storage_options") or {})}, is_output)
    both = sorted(set(inputs) & set(outputs))
    if both:
        raise located.error(("outputs", both[0]), f"{both[0]!r} is both an input and an output")
    steps = []
    ids = set()
    for i, raw in enumerate(doc["steps"]):
        op = next(k for k in raw if k != "id")
        args = raw[op]
        step_id = raw.get("id", f"{i + 1}-{op}")
        if step_id in ids:
            raise located.error(("steps", i, "id"), f"step id {step_id!r} is used twice")
        ids.add(step_id)
        if op == "consolidate":
            reads, writes = (), (args["of"],)
        else:
            reads, writes = (args["from"],), (args["to"],)
        for key, name in [("from", n) for n in reads] + [("to" if op != "consolidate" else "of", n)
                                                        for n in writes]:
            if key == "from" and name not in inputs and name not in outputs:
                raise located.error(("steps", i, op, key), f"{name!r} is neither an input nor an output "
                                    f"(inputs: {sorted(inputs)}, outputs: {sorted(outputs)})")
            if key in ("to", "of") and name not in outputs:
                what = "an input; steps write outputs only" if name in inputs else "not an output"
                raise located.error(("steps", i, op, key), f"{name!r} is {what} (outputs: {sorted(outputs)})")
        if reads and reads[0] in writes:
            raise located.error(("steps", i, op, "to"), f"the step reads and writes {reads[0]!r}: write to "
                                "another output")
        if op == "append" and inputs.get(args["from"], DataRef("", "zarr", "")).kind == "tiff" \
                and args.get("axis", 0) != 0:
            raise located.error(("steps", i, op, "axis"), "TIFF slices are appended along axis 0")
        if op != "append" and op not in ("consolidate",) and reads[0] in inputs and inputs[reads[0]].kind == "tiff":
            raise located.error(("steps", i, op, "from"), f"{reads[0]!r} is a TIFF input: append it to an "
                                "output first (the append step imports TIFF slices)")
        steps.append(Step(step_id, op, dict(args), reads, writes, i, located.line_of(("steps", i))))
    ordered = _order(steps, located)
    ttl = float((doc.get("lease") or {}).get("ttl", 600))
    return Pipeline(doc["name"], inputs, outputs, ordered, ttl, located.source, located)


def _order(steps: list[Step], located: Located) -> list[Step]:
    """Steps in run order: a step runs after every step that writes what it reads
    (file order otherwise). A cycle, or a read of an output nothing writes before it
    and that is not an existing dataset, is reported with the step's line."""
    writers: dict[str, list[Step]] = {}
    for s in steps:
        for name in s.writes:
            writers.setdefault(name, []).append(s)
    deps = {s.id: {w.id for name in s.reads for w in writers.get(name, []) if w.id != s.id} for s in steps}
    # writers of the same output keep file order (e.g. append, then consolidate)
    for ws in writers.values():
        for earlier, later in zip(ws, ws[1:]):
            deps[later.id].add(earlier.id)
    order, state = [], {}
    by_id = {s.id: s for s in steps}

    def visit(step_id: str, chain: list[str]) -> None:
        if state.get(step_id) == "done":
            return
        if state.get(step_id) == "visiting":
            cycle = chain[chain.index(step_id):] + [step_id]
            step = by_id[step_id]
            raise located.error(("steps", step.index), "circular references between steps: " + " -> ".join(cycle))
        state[step_id] = "visiting"
        for dep in sorted(deps[step_id], key=lambda d: by_id[d].index):
            visit(dep, chain + [step_id])
        state[step_id] = "done"
        order.append(by_id[step_id])

    for s in steps:
        visit(s.id, [])
    return order


def load_pipeline(path: str | os.PathLike, env: dict | None = None) -> Pipeline:
    """Load and validate a pipeline file (no I/O besides reading it)."""
    return parse_pipeline(load_yaml(path, env=env))

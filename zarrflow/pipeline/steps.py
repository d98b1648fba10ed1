"""The pipeline steps: each is a public zarrflow operation, called as a user would.

Every step has a *plan* (reads only: is there anything to do?) and a *run*. A step
other than ``append`` has work when what it reads changed since it last completed:
the fingerprint of its source's metadata (which an append changes) and of its own
arguments is compared with the one recorded in ``<output>.zarrflow/steps/<id>.json``.
``append`` has work when its input holds items the output's record does not.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import zarrflow
from zarrflow.errors import ContainsArrayError, ContainsGroupError
from zarrflow.format.codec_config import codecs_from_options
from zarrflow.pipeline import append as appending
from zarrflow.pipeline.spec import FILTER_OPS, Pipeline, Step
from zarrflow.pipeline.state import StateDir, node_fingerprint

__all__ = ["StepPlan", "StepResult", "plan_step", "run_step"]

log = logging.getLogger("zarrflow.pipeline")


@dataclass
class StepPlan:
    """What a step would do now."""

    step: Step
    has_work: bool
    reason: str
    fingerprint: str | None = None
    append: appending.AppendPlan | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class StepResult:
    """What a step did (for the run report)."""

    id: str
    op: str
    status: str  # done | skipped | failed
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)
    error: str | None = None


def _fingerprint(pipeline: Pipeline, step: Step) -> str | None:
    parts = [json.dumps(step.args, sort_keys=True, default=str)]
    for name in step.reads:
        ref = pipeline.ref(name)
        fp = node_fingerprint(ref)
        if fp is None:
            return None
        parts.append(fp)
    if step.op == "consolidate":
        ref = pipeline.ref(step.writes[0])
        parts.append(node_fingerprint(ref) or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def plan_step(pipeline: Pipeline, step: Step) -> StepPlan:
    """Whether ``step`` has work, reading only."""
    if step.op == "append":
        source, target = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
        state = StateDir(target).read_json(f"steps/{step.id}.json") or {}
        plan = appending.plan_append(step, source, target, state.get("quarantined"))
        return StepPlan(step, plan.has_work, f"{len(plan.items)} new input item(s)" if plan.items else "no new inputs",
                        append=plan, detail={"new_items": [i["id"] for i in plan.items]})
    for name in step.reads:
        if name in pipeline.inputs and node_fingerprint(pipeline.ref(name)) is None:
            return StepPlan(step, False, f"input {name!r} does not exist yet")
    fingerprint = _fingerprint(pipeline, step)
    if fingerprint is None:
        return StepPlan(step, True, "its source is written earlier in this run")
    out = pipeline.ref(step.writes[0])
    recorded = StateDir(out).read_json(f"steps/{step.id}.json")
    if recorded is not None and recorded.get("fingerprint") == fingerprint and node_fingerprint(out) is not None:
        return StepPlan(step, False, "its source is unchanged since it last completed", fingerprint)
    return StepPlan(step, True, "its source changed" if recorded else "it has not completed before", fingerprint)


def _open_node(ref: Any, mode: str = "r") -> Any:
    return zarrflow.open(ref.url, mode=mode, path=ref.path or None, storage_options=ref.storage_options or None)


def _import_function(spec: str) -> Any:
    module, _, name = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec!r} is not callable")
    return obj


def _create_like(src: Any, ref: Any, dtype: str | None = None) -> Any:
    return zarrflow.open_array(ref.url, mode="w", path=ref.path or None, shape=src.shape, chunks=src.chunks,
                               dtype=dtype or src.dtype, compressor=src.compressor,
                               fill_value=src.fill_value if dtype is None else 0,
                               storage_options=ref.storage_options or None)


def run_step(pipeline: Pipeline, plan: StepPlan, scheduler: Any = None, progress: bool = False) -> StepResult:
    """Run one step; the result says what it did. Raises on failure."""
    step = plan.step
    started = time.perf_counter()
    detail: dict[str, Any] = {}
    args = step.args
    if step.op == "append":
        source, target = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
        res = appending.run_append(step, source, target, plan.append)
        detail = {"inputs": [e["id"] for e in res.appended], "slices": res.slices, "bytes": res.bytes,
                  "quarantined": res.quarantined}
        if res.quarantined:
            state_dir = StateDir(target)
            state = state_dir.read_json(f"steps/{step.id}.json") or {}
            bad = dict(state.get("quarantined") or {})
            bad.update({q["id"]: q["tag"] for q in res.quarantined})
            state_dir.write_json(f"steps/{step.id}.json", {**state, "quarantined": bad})
    elif step.op == "rechunk":
        src_ref, out = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
        src = _open_node(src_ref)
        chunks = args["chunks"]
        chunks = tuple(chunks) if isinstance(chunks, list) else {k: (tuple(v) if v is not None else None)
                                                                 for k, v in chunks.items()}
        options = codecs_from_options(args.get("target_options"), key=f"steps.{step.id}.target_options")
        common = dict(target_options=options or None, temp_store=args.get("temp"),
                      max_stages=int(args.get("max_stages", 4)), storage_options=out.storage_options or None)
        try:
            plan_r = zarrflow.rechunk(src, chunks, args["max_mem"], out.url, **common)
        except (ContainsArrayError, ContainsGroupError):
            plan_r = zarrflow.rechunk(src, chunks, args["max_mem"], out.url, overwrite=True, **common)
        except ValueError as exc:
            if "unfinished rechunk of a different plan" not in str(exc):
                raise
            plan_r = zarrflow.rechunk(src, chunks, args["max_mem"], out.url, overwrite=True, **common)
        plan_r.execute(scheduler=scheduler, progress=progress)
        report = plan_r.report
        detail = {"plan": plan_r.describe(), "tasks_run": report.tasks_run, "tasks_skipped": report.tasks_skipped,
                  "bytes_read": report.bytes_read, "bytes_written": report.bytes_written}
    elif step.op == "copy":
        src_ref, out = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
        src = _open_node(src_ref)
        dest_store = zarrflow.storage.normalize_store_arg(out.url, mode="a",
                                                          storage_options=out.storage_options or None)
        n_copied, n_skipped, n_bytes = zarrflow.copy_store(src.store, dest_store, source_path=src.path,
                                                           dest_path=out.path, if_exists=args.get("if_exists",
                                                                                                  "replace"),
                                                           parallel=True, progress=progress, scheduler=scheduler)
        detail = {"copied": n_copied, "skipped": n_skipped, "bytes": n_bytes}
    elif step.op in FILTER_OPS:
        from zarrflow import filters  # noqa: PLC0415 - needs scipy (the images extra)

        src_ref, out = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
        src = _open_node(src_ref)
        target = _create_like(src, out)
        kwargs = {k: (tuple(v) if isinstance(v, list) and k in ("axes", "origin", "size") else v)
                  for k, v in args.items() if k not in ("from", "to")}
        getattr(filters, step.op)(src, output=target, **kwargs)
        detail = {"shape": list(src.shape), "chunks": list(src.chunks)}
    elif step.op in ("map_blocks", "map_slices"):
        src_ref, out = pipeline.ref(step.reads[0]), pipeline.ref(step.writes[0])
        src = _open_node(src_ref)
        func = _import_function(args["function"])
        target = _create_like(src, out, args.get("dtype"))
        if step.op == "map_blocks":
            depth = args.get("depth", 0)
            n = zarrflow.map_blocks(func, src, target, depth=tuple(depth) if isinstance(depth, list) else depth,
                                    kwargs=args.get("kwargs"), scheduler=scheduler, progress=progress)
        else:
            n = zarrflow.map_slices(func, src, target, axis=int(args.get("axis", 0)), kwargs=args.get("kwargs"),
                                    scheduler=scheduler, progress=progress)
        detail = {"items": n}
    elif step.op == "consolidate":
        out = pipeline.ref(step.writes[0])
        store = zarrflow.storage.normalize_store_arg(out.url, mode="a", storage_options=out.storage_options or None)
        zarrflow.consolidate_metadata(store, path=out.path or "")
        detail = {"output": out.name}
    else:  # pragma: no cover - the schema allows no other op
        raise ValueError(f"unknown step {step.op!r}")
    if step.op != "append":
        fingerprint = _fingerprint(pipeline, step)
        StateDir(pipeline.ref(step.writes[0])).write_json(
            f"steps/{step.id}.json", {"fingerprint": fingerprint, "finished": time.time()})
    return StepResult(step.id, step.op, "done", time.perf_counter() - started, detail)

"""Running a pipeline: plan (reads only), lease the outputs, run the steps, report.

Exit codes (a scheduler can act on them; :class:`ExitCode`):

====  ===============  =========================================================
0     ``OK``           every step with work completed
1     ``FAILED``       a step failed (the report says which; later steps did not run)
2     ``USAGE``        bad command-line arguments (click's own code)
3     ``NOTHING_TO_DO`` no step had work: nothing was written, not even a lease
4     ``INVALID``      the pipeline file is invalid (nothing was read or written)
5     ``LOCKED``       another run holds the lease of an output; nothing was written
====  ===============  =========================================================
"""

from __future__ import annotations

import enum
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from zarrflow.errors import LeaseHeldError
from zarrflow.pipeline.lease import Lease
from zarrflow.pipeline.spec import Pipeline
from zarrflow.pipeline.state import StateDir
from zarrflow.pipeline.steps import StepPlan, StepResult, plan_step, run_step

__all__ = ["ExitCode", "RunReport", "plan_pipeline", "run_pipeline"]

log = logging.getLogger("zarrflow.pipeline")


class ExitCode(enum.IntEnum):
    """What ``zarrflow run`` exits with."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NOTHING_TO_DO = 3
    INVALID = 4
    LOCKED = 5


@dataclass
class RunReport:
    """The JSON report of one run (written to ``<output>.zarrflow/runs/``)."""

    run_id: str
    pipeline: str
    started: float
    finished: float = 0.0
    exit_code: int = 0
    outcome: str = ""
    steps: list[dict] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    leases_taken_over: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        """The report as JSON-able data."""
        return asdict(self)


def plan_pipeline(pipeline: Pipeline) -> list[StepPlan]:
    """What each step would do now, in run order; reads only. A step whose source
    another step with work writes has work too."""
    plans: list[StepPlan] = []
    dirty: set[str] = set()
    for step in pipeline.steps:
        plan = plan_step(pipeline, step)
        upstream = sorted(set(step.reads) & dirty)
        if upstream and not plan.has_work:
            plan.has_work, plan.reason = True, f"an earlier step writes {upstream[0]!r} in this run"
        if plan.has_work:
            dirty.update(step.writes)
        plans.append(plan)
    return plans


def _written_outputs(pipeline: Pipeline, plans: list[StepPlan]) -> list[str]:
    names = {name for p in plans if p.has_work for name in p.step.writes}
    return sorted(names, key=lambda n: pipeline.outputs[n].url)


def run_pipeline(pipeline: Pipeline, scheduler: Any = None, progress: bool = False,
                 dry_run: bool = False, run_id: str | None = None) -> tuple[ExitCode, RunReport]:
    """Run ``pipeline`` once; returns the exit code and the report."""
    run_id = run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
    report = RunReport(run_id, pipeline.name, time.time())
    plans = plan_pipeline(pipeline)
    log.info("planned %d steps, %d with work", len(plans), sum(p.has_work for p in plans),
             extra={"event": "planned", "run_id": run_id,
                    "steps": [{"id": p.step.id, "work": p.has_work, "why": p.reason} for p in plans]})
    if not any(p.has_work for p in plans):
        return _finish(report, ExitCode.NOTHING_TO_DO, "nothing to do", plans, [], write=False)
    if dry_run:
        return _finish(report, ExitCode.OK, "dry run", plans, [], write=False)
    leases: list[Lease] = []
    results: list[StepResult] = []
    try:
        for name in _written_outputs(pipeline, plans):
            out = pipeline.outputs[name]
            lease = Lease(out.url, out.storage_options, ttl=pipeline.lease_ttl, run_id=run_id)
            lease.acquire()
            leases.append(lease)
            if lease.took_over:
                report.leases_taken_over.append({"output": name, "previous": lease.took_over})
        # what is new may have changed while we waited for the leases
        plans = plan_pipeline(pipeline)
        if not any(p.has_work for p in plans):
            return _finish(report, ExitCode.NOTHING_TO_DO, "nothing to do", plans, [], write=False)
        for plan in plans:
            if not plan.has_work:
                results.append(StepResult(plan.step.id, plan.step.op, "skipped", detail={"why": plan.reason}))
                continue
            if any(lease.lost for lease in leases):
                raise LeaseHeldError("a lease was taken over by another run; stopping before the next step")
            log.info("step %s (%s): %s", plan.step.id, plan.step.op, plan.reason,
                     extra={"event": "step-start", "step": plan.step.id, "op": plan.step.op})
            try:
                result = run_step(pipeline, plan, scheduler=scheduler, progress=progress)
            except Exception as exc:  # noqa: BLE001 - any failure of a step is reported, not raised
                results.append(StepResult(plan.step.id, plan.step.op, "failed", error=f"{type(exc).__name__}: {exc}"))
                log.error("step %s failed: %s", plan.step.id, exc, extra={"event": "step-failed",
                                                                          "step": plan.step.id})
                return _finish(report, ExitCode.FAILED, f"step {plan.step.id} failed", plans, results,
                               pipeline=pipeline)
            results.append(result)
            report.quarantined.extend(result.detail.get("quarantined", []))
            log.info("step %s done in %.2f s", plan.step.id, result.seconds,
                     extra={"event": "step-done", "step": plan.step.id, "seconds": result.seconds})
        return _finish(report, ExitCode.OK, "completed", plans, results, pipeline=pipeline)
    except LeaseHeldError as exc:
        log.error("%s", exc, extra={"event": "locked"})
        return _finish(report, ExitCode.LOCKED, str(exc), plans, results, write=False)
    finally:
        for lease in reversed(leases):
            try:
                lease.release()
            except Exception as exc:  # noqa: BLE001 - an expired lease is harmless
                log.warning("releasing %s failed: %s", lease.url, exc)


def _finish(report: RunReport, code: ExitCode, outcome: str, plans: list[StepPlan], results: list[StepResult],
            write: bool = True, pipeline: Pipeline | None = None) -> tuple[ExitCode, RunReport]:
    report.finished = time.time()
    report.exit_code = int(code)
    report.outcome = outcome
    by_id = {r.id: r for r in results}
    report.steps = []
    for plan in plans:
        r = by_id.get(plan.step.id)
        entry = {"id": plan.step.id, "op": plan.step.op, "work": plan.has_work, "why": plan.reason}
        if r is not None:
            entry.update(status=r.status, seconds=round(r.seconds, 3), **r.detail)
            if r.error:
                entry["error"] = r.error
        else:
            entry["status"] = "not run" if plan.has_work else "skipped"
        report.steps.append(entry)
    if write and pipeline is not None:
        doc = report.to_json()
        for name in sorted({n for p in plans if p.has_work for n in p.step.writes}):
            state = StateDir(pipeline.outputs[name])
            state.write_json(f"runs/{report.run_id}.json", doc)
            state.write_json("runs/latest.json", doc)
    log.info("run %s: %s (exit %d)", report.run_id, outcome, int(code),
             extra={"event": "finished", "run_id": report.run_id, "exit_code": int(code)})
    return code, report


def report_json(report: RunReport) -> str:
    """The report as one JSON line."""
    return json.dumps(report.to_json(), default=str)

"""Declarative pipelines: a YAML file of inputs, steps (zarrflow's public operations)
and outputs, run by ``zarrflow run FILE`` incrementally (only what is new), idempotently
(appends are recorded), resumably (whole-chunk writes) and never twice at once (leases).

See ``spec.py`` for the file, ``runner.py`` for exit codes, ``append.py`` for how
appends stay consistent through crashes, ``lease.py`` for the leases.
"""

from zarrflow.pipeline.runner import ExitCode, RunReport, plan_pipeline, run_pipeline
from zarrflow.pipeline.spec import Pipeline, load_pipeline, parse_pipeline

__all__ = ["ExitCode", "Pipeline", "RunReport", "load_pipeline", "parse_pipeline", "plan_pipeline", "run_pipeline"]

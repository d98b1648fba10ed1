"""Cluster files: a small YAML naming where a run's Dask workers come from (pure).

A cluster file names the ``kind`` of cluster and its settings, with dask-jobqueue's
configuration names, so a dask-jobqueue user recognises it::

    kind: slurm                  # local | scheduler | slurm | pbs | kubernetes
    workers: 4                   # a fixed number of workers, or:
    # adaptive: {minimum: 1, maximum: 16}
    cluster:                     # passed to SLURMCluster (jobqueue.yaml's names; - or _)
      cores: 8                   # per job: threads of its workers, together
      processes: 2               # workers per job (each gets cores/processes threads)
      memory: 32GiB              # per job: each worker's limit is memory/processes
      walltime: "01:00:00"
      queue: normal
      account: ${PROJECT}        # ${VAR} is read from the environment here
      local_directory: $TMPDIR   # $VAR (no braces) is left for the job's shell
      job_extra_directives: ["--exclusive"]

This module only parses and checks (no dask, no I/O beyond reading the file):
:func:`parse_cluster_spec` returns a frozen :class:`ClusterSpec`, or raises
:class:`ClusterSpecError` naming the file, the line and the key. Starting the cluster
is ``graph/cluster_session.py``'s job.

Rules worth knowing:

- ``memory``/``memory_limit`` need a unit, and only unambiguous ones: ``GB`` is 10^9
  bytes and ``GiB`` 2^30 (parsed with :func:`dask.utils.parse_bytes`); ``4G`` and a bare
  ``4`` are refused, because SLURM reads ``--mem=4G`` as GiB and dask reads ``4G`` as GB.
- ``${VAR}`` and ``${VAR:-default}`` are expanded when the file is read (a missing
  variable without a default is an error); ``$VAR`` without braces is kept, for the
  job's shell; ``$${VAR}`` is a literal ``${VAR}``.
- Walltime safety (slurm, pbs): workers are told to retire before the walltime with
  ``--lifetime``/``--lifetime-stagger`` (see :func:`lifetime_args`), so a job's worker
  leaves cleanly and the adaptive cluster submits a replacement job instead of the
  scheduler seeing ``KilledWorker``.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dask.utils import parse_bytes, parse_timedelta

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is in the 'cluster' extra
    yaml = None

__all__ = ["KINDS", "ClusterSpec", "ClusterSpecError", "lifetime_args", "load_cluster_spec", "parse_bytes_strict",
           "parse_cluster_spec", "parse_duration", "parse_walltime"]

#: The kinds of cluster a file may name.
KINDS = ("local", "scheduler", "slurm", "pbs", "kubernetes")

_TOP_KEYS = ("kind", "workers", "adaptive", "cluster", "lifetime", "lifetime_stagger", "lifetime_restart",
             "wait_for_workers", "timeout", "dask_config")

_JOBQUEUE_COMMON = ("name", "cores", "memory", "processes", "python", "interface", "death_timeout",
                    "local_directory", "shared_temp_directory", "worker_command", "worker_extra_args", "shebang",
                    "queue", "account", "walltime", "job_script_prologue", "job_extra_directives",
                    "job_directives_skip", "log_directory", "scheduler_options", "nanny", "protocol", "job_name",
                    "silence_logs")
#: Settings each kind accepts under ``cluster:`` (dask-jobqueue's / LocalCluster's / KubeCluster's names).
SETTINGS: dict[str, tuple[str, ...]] = {
    "local": ("threads_per_worker", "memory_limit", "processes", "local_directory", "dashboard_address"),
    "scheduler": ("address", "scheduler_file"),
    "slurm": _JOBQUEUE_COMMON + ("job_cpu", "job_mem"),
    "pbs": _JOBQUEUE_COMMON + ("resource_spec", "project"),
    "kubernetes": ("name", "namespace", "image", "resources", "env", "worker_command", "port_forward_cluster_ip",
                   "scheduler_service_type", "custom_cluster_spec", "shutdown_on_close", "idle_timeout"),
}
#: dask-jobqueue's deprecated names and what replaced them.
_DEPRECATED = {"extra": "worker_extra_args", "env_extra": "job_script_prologue", "job_extra": "job_extra_directives",
               "header_skip": "job_directives_skip"}
_BYTES_KEYS = ("memory", "memory_limit", "job_mem")
_LIST_KEYS = ("worker_extra_args", "job_script_prologue", "job_extra_directives", "job_directives_skip")
_AMBIGUOUS_UNIT = re.compile(r"^\s*[0-9.]+\s*([kKmMgGtTpP])\s*$")
_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ClusterSpecError(ValueError):
    """A cluster file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class ClusterSpec:
    """A checked cluster file.

    ``kind``: one of :data:`KINDS`; ``settings``: the ``cluster:`` mapping with names
    normalised to underscores, values checked and ``${VAR}`` expanded; ``workers``: a
    fixed number of workers, or ``minimum``/``maximum`` for an adaptive cluster (a fixed
    batch cluster is adaptive between N and N, so a worker whose job ends is replaced);
    ``lifetime``/``lifetime_stagger`` (seconds, or None to derive them from the
    walltime), ``lifetime_restart``; ``wait_for_workers``: how many workers to wait for
    before the run starts, at most ``timeout`` seconds; ``dask_config``: dask settings
    for the block (e.g. ``distributed.deploy.lost-worker-timeout``); ``source``: where it
    was read from.
    """

    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    lifetime: float | None = None
    lifetime_stagger: float | None = None
    lifetime_restart: bool = False
    wait_for_workers: int = 1
    timeout: float = 600.0
    dask_config: dict[str, Any] = field(default_factory=dict)
    source: str = "<cluster file>"

    @property
    def adaptive(self) -> bool:
        """True when the file asked for ``adaptive: {minimum, maximum}``."""
        return self.minimum is not None

    @property
    def is_batch(self) -> bool:
        """True for the kinds whose workers run in batch jobs with a walltime."""
        return self.kind in ("slurm", "pbs")

    def describe(self) -> str:
        """One line: the kind, its size and the settings that matter most."""
        size = (f"adaptive {self.minimum}..{self.maximum} workers" if self.adaptive
                else f"{self.workers} workers" if self.workers is not None else "its workers")
        shown = {k: v for k, v in self.settings.items()
                 if k in ("address", "cores", "processes", "memory", "walltime", "queue", "threads_per_worker",
                          "memory_limit", "namespace", "image")}
        extra = ", ".join(f"{k}={v}" for k, v in shown.items())
        return f"cluster: {self.kind}, {size}" + (f" ({extra})" if extra else "") + f" from {self.source}"


# --- YAML with line numbers -------------------------------------------------------------------


def _compose(text: str, source: str) -> Any:
    if yaml is None:  # pragma: no cover - PyYAML is in the 'cluster' extra
        raise ImportError("cluster files need PyYAML, which is not installed: pip install 'zarrflow[cluster]'")
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ClusterSpecError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def _to_python(node: Any, lines: dict[str, int], path: str) -> Any:
    """The plain Python value of a YAML node; ``lines[dotted key] = line``."""
    if node is None:
        return None
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(yaml.SafeLoader(" ").construct_object(key_node))
            sub = f"{path}.{key}" if path else key
            lines[sub] = key_node.start_mark.line + 1
            if key in out:
                raise ClusterSpecError(f"line {lines[sub]}: {sub}: given twice")
            out[key] = _to_python(value_node, lines, sub)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, lines, f"{path}[{i}]") for i, item in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node)


# --- values ---------------------------------------------------------------------------------------


def parse_bytes_strict(value: Any) -> int:
    """A byte size with an unambiguous unit (``"32GiB"``, ``"500MB"``) -> bytes, with
    :func:`dask.utils.parse_bytes`. Bare numbers and one-letter units (``"4G"``) raise
    ValueError: SLURM reads ``--mem=4G`` as GiB, dask reads ``4G`` as GB."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{value!r} is not a byte size; write e.g. 4GB (10^9 bytes) or 4GiB (2^30 bytes)")
    text = str(value).strip()
    if re.fullmatch(r"[0-9.]+", text):
        raise ValueError(f"{text} has no unit; write {text}GB (10^9 bytes) or {text}GiB (2^30 bytes)")
    match = _AMBIGUOUS_UNIT.match(text)
    if match:
        number = text[:-1].strip()
        raise ValueError(f"{text!r} is ambiguous (SLURM reads {match.group(1).upper()} as 2^n, dask as 10^n); "
                         f"write {number}{match.group(1).upper()}B or {number}{match.group(1).upper()}iB")
    try:
        n = parse_bytes(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a byte size ({exc})") from None
    if n <= 0:
        raise ValueError(f"{text!r} is not a positive byte size")
    return int(n)


def parse_walltime(value: Any) -> float:
    """A batch walltime (``"HH:MM:SS"``, ``"MM:SS"``, ``"D-HH:MM:SS"``, or minutes as a
    number, as SLURM and PBS read them) -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a walltime")
    if isinstance(value, (int, float)):
        return float(value) * 60.0  # SLURM and PBS: a bare number is minutes
    text = str(value).strip()
    days = 0
    if "-" in text:
        d, _, text = text.partition("-")
        if not d.isdigit():
            raise ValueError(f"{value!r} is not a walltime (D-HH:MM:SS, HH:MM:SS or MM:SS)")
        days = int(d)
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{value!r} is not a walltime (D-HH:MM:SS, HH:MM:SS or MM:SS)")
    nums = [int(p) for p in parts]
    if len(nums) == 1:
        seconds = nums[0] * 60
    elif len(nums) == 2:
        seconds = nums[0] * 60 + nums[1] if not days else nums[0] * 3600 + nums[1] * 60
    else:
        seconds = nums[0] * 3600 + nums[1] * 60 + nums[2]
    total = days * 86400 + seconds
    if total <= 0:
        raise ValueError(f"{value!r} is not a positive walltime")
    return float(total)


def parse_duration(value: Any) -> float:
    """A duration (``"55m"``, ``"90s"``, ``"1h"``, or seconds as a number) -> seconds,
    with :func:`dask.utils.parse_timedelta`."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a duration")
    try:
        seconds = parse_timedelta(value, default="seconds")
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{value!r} is not a duration (e.g. 90s, 55m, 1h)") from None
    if seconds is None or seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return float(seconds)


def lifetime_args(walltime: float, lifetime: float | None = None, stagger: float | None = None,
                  restart: bool = False) -> list[str]:
    """``dask worker`` arguments that retire a worker before its job's walltime.

    Without explicit values: a margin of a tenth of the walltime (at least 60 s, at most
    half of it), ``--lifetime`` = walltime - margin and ``--lifetime-stagger`` = margin/2,
    so the last worker leaves margin/2 before the batch system kills the job. With
    explicit values, ``lifetime + stagger`` must stay below the walltime. ``restart``
    adds ``--lifetime-restart`` (the nanny restarts the worker in the same job; useful
    only where the job outlives its workers, not against the walltime)."""
    if lifetime is None:
        margin = min(max(walltime / 10.0, 60.0), walltime / 2.0)
        lifetime = walltime - margin
        if stagger is None:
            stagger = margin / 2.0
    stagger = 0.0 if stagger is None else stagger
    if lifetime + stagger >= walltime:
        raise ValueError(f"lifetime {lifetime:g}s + lifetime_stagger {stagger:g}s is not below the walltime "
                         f"{walltime:g}s: workers would be killed by the batch system instead of retiring")
    args = ["--lifetime", f"{int(lifetime)}s"]
    if stagger:
        args += ["--lifetime-stagger", f"{int(stagger)}s"]
    if restart:
        args.append("--lifetime-restart")
    return args


def _expand(value: Any, where: str, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            raise ClusterSpecError(f"{where}: ${{{name}}} is not set in the environment "
                                   f"(export it, or write ${{{name}:-default}})")
        return _ENV.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v, where, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, where, env) for k, v in value.items()}
    return value


# --- the file ---------------------------------------------------------------------------------


def load_cluster_spec(path: str | os.PathLike[str], env: dict[str, str] | None = None) -> ClusterSpec:
    """Read and check the cluster file at ``path`` (see :func:`parse_cluster_spec`)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ClusterSpecError(f"cannot read the cluster file {p}: {exc.strerror or exc}") from None
    return parse_cluster_spec(text, source=str(p), env=env)


def parse_cluster_spec(text: str, source: str = "<cluster file>", env: dict[str, str] | None = None) -> ClusterSpec:
    """Check a cluster file's text and return its :class:`ClusterSpec`;
    :class:`ClusterSpecError` names the file, the line and the key of what is wrong.
    ``env`` (default ``os.environ``) expands ``${VAR}``."""
    env = dict(os.environ) if env is None else env
    root = _compose(text, source)
    lines: dict[str, int] = {}
    try:
        doc = _to_python(root, lines, "")
    except ClusterSpecError as exc:
        raise ClusterSpecError(f"{source}:{str(exc)[5:]}") from None

    def fail(key: str, message: str) -> None:
        line = lines.get(key)
        raise ClusterSpecError(f"{source}:{line}: {key}: {message}" if line else f"{source}: {key}: {message}")

    if not isinstance(doc, dict):
        raise ClusterSpecError(f"{source}: a cluster file is a YAML mapping with at least 'kind: ...' "
                               f"(one of {', '.join(KINDS)})")
    for key in doc:
        if key not in _TOP_KEYS:
            fail(key, f"unknown key{_suggest(key, _TOP_KEYS)}; the keys are {', '.join(_TOP_KEYS)}")
    kind = doc.get("kind")
    if kind is None:
        raise ClusterSpecError(f"{source}: 'kind' is missing (one of {', '.join(KINDS)})")
    if kind not in KINDS:
        fail("kind", f"{kind!r} is not a kind of cluster{_suggest(str(kind), KINDS)}; one of {', '.join(KINDS)}")

    settings = _settings(doc.get("cluster"), kind, fail, env, source, lines)
    workers, minimum, maximum = _size(doc, kind, fail, source)
    if kind == "scheduler" and not ({"address", "scheduler_file"} & set(settings)):
        raise ClusterSpecError(f"{source}: kind: scheduler needs cluster.address (tcp://host:8786) "
                               f"or cluster.scheduler_file")
    if kind == "scheduler" and {"address", "scheduler_file"} <= set(settings):
        fail("cluster.scheduler_file", "give cluster.address or cluster.scheduler_file, not both")

    lifetime = stagger = None
    for key in ("lifetime", "lifetime_stagger"):
        if doc.get(key) is not None:
            try:
                seconds = parse_duration(doc[key])
            except ValueError as exc:
                fail(key, str(exc))
            if key == "lifetime":
                lifetime = seconds
            else:
                stagger = seconds
    restart = doc.get("lifetime_restart", False)
    if not isinstance(restart, bool):
        fail("lifetime_restart", f"{restart!r} is not true or false")
    if (lifetime or stagger or restart) and kind in ("scheduler", "kubernetes"):
        fail("lifetime" if lifetime else "lifetime_stagger" if stagger else "lifetime_restart",
             f"kind: {kind} does not start its workers here, so their lifetime is not set here")
    if "walltime" in settings and kind in ("slurm", "pbs"):
        try:
            walltime = parse_walltime(settings["walltime"])
            lifetime_args(walltime, lifetime, stagger, restart)
        except ValueError as exc:
            fail("lifetime" if lifetime is not None else "cluster.walltime", str(exc))

    wait = doc.get("wait_for_workers", 1 if (workers or minimum or kind == "scheduler") else 0)
    if isinstance(wait, bool) or not isinstance(wait, int) or wait < 0:
        fail("wait_for_workers", f"{wait!r} is not a number of workers (0 or more)")
    most = maximum if maximum is not None else workers
    if most is not None and wait > most:
        fail("wait_for_workers", f"{wait} is more than the {most} workers the cluster may have")
    timeout = 600.0
    if doc.get("timeout") is not None:
        try:
            timeout = parse_duration(doc["timeout"])
        except ValueError as exc:
            fail("timeout", str(exc))
    dask_config = doc.get("dask_config") or {}
    if not isinstance(dask_config, dict):
        fail("dask_config", "a mapping of dask settings is expected, e.g. "
                            "{distributed.deploy.lost-worker-timeout: 5s}")
    return ClusterSpec(kind=kind, settings=settings, workers=workers, minimum=minimum, maximum=maximum,
                       lifetime=lifetime, lifetime_stagger=stagger, lifetime_restart=restart,
                       wait_for_workers=wait, timeout=timeout, dask_config=dict(dask_config), source=source)


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _size(doc: dict, kind: str, fail: Any, source: str) -> tuple[int | None, int | None, int | None]:
    workers = doc.get("workers")
    adaptive = doc.get("adaptive")
    if workers is not None and adaptive is not None:
        fail("adaptive", "give 'workers: N' or 'adaptive: {minimum, maximum}', not both")
    if kind == "scheduler" and (workers is not None or adaptive is not None):
        fail("workers" if workers is not None else "adaptive",
             "kind: scheduler uses a running cluster, which this file does not size")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            fail("workers", f"{workers!r} is not a number of workers (0 or more)")
        return workers, None, None
    if adaptive is None:
        if kind in ("slurm", "pbs", "kubernetes"):
            raise ClusterSpecError(f"{source}: kind: {kind} needs 'workers: N' or "
                                   f"'adaptive: {{minimum: N, maximum: M}}'")
        return None, None, None
    if not isinstance(adaptive, dict):
        fail("adaptive", "a mapping {minimum: N, maximum: M} is expected")
    for key in adaptive:
        if key not in ("minimum", "maximum"):
            fail(f"adaptive.{key}", f"unknown key{_suggest(key, ('minimum', 'maximum'))}; "
                                    f"the keys are minimum, maximum")
    bounds = []
    for key, default in (("minimum", 0), ("maximum", None)):
        value = adaptive.get(key, default)
        if value is None:
            fail("adaptive", "adaptive.maximum is needed (the most workers it may start)")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fail(f"adaptive.{key}", f"{value!r} is not a number of workers (0 or more)")
        bounds.append(value)
    if bounds[1] < 1 or bounds[0] > bounds[1]:
        fail("adaptive.maximum", f"maximum {bounds[1]} must be at least 1 and at least minimum {bounds[0]}")
    return None, bounds[0], bounds[1]


def _settings(raw: Any, kind: str, fail: Any, env: dict[str, str], source: str,
              lines: dict[str, int]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        fail("cluster", f"a mapping of {kind} settings is expected")
    allowed = SETTINGS[kind]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        where = f"cluster.{key}"
        lines.setdefault(f"cluster.{name}", lines.get(where, 0))
        if name in _DEPRECATED and kind in ("slurm", "pbs"):
            fail(where, f"dask-jobqueue renamed {key!r} to {_DEPRECATED[name]!r}")
        if name not in allowed:
            fail(where, f"not a {kind} setting{_suggest(name, allowed)}; the settings are {', '.join(allowed)}")
        if name in out:
            fail(where, "given twice (with - and _)")
        line = lines.get(where)
        value = _expand(value, f"{source}:{line}: {where}" if line else f"{source}: {where}", env)
        if name in _BYTES_KEYS and value is not None:
            try:
                parse_bytes_strict(value)
            except ValueError as exc:
                fail(where, str(exc))
        elif name in _LIST_KEYS and value is not None:
            if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                fail(where, f"a list of strings is expected, e.g. [{value!r}]"
                     if isinstance(value, str) else "a list of strings is expected")
        elif name in ("cores", "processes", "job_cpu", "threads_per_worker") and value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(where, f"{value!r} is not a positive whole number")
        elif name == "walltime" and value is not None:
            try:
                parse_walltime(value)
            except ValueError as exc:
                fail(where, str(exc))
        elif name in ("scheduler_options", "resources", "env") and value is not None and not isinstance(value, dict):
            fail(where, "a mapping is expected")
        elif name == "address" and not (isinstance(value, str) and "://" in value):
            fail(where, f"{value!r} is not a scheduler address (e.g. tcp://10.0.0.5:8786)")
        out[name] = value
    if kind in ("slurm", "pbs") and "cores" in out and "processes" in out and out["processes"] > out["cores"]:
        fail("cluster.processes", f"{out['processes']} worker processes per job but only {out['cores']} cores")
    return out

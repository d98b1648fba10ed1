"""Starting the cluster a cluster file names, for one block, and always tearing it down.

``with open_cluster("cluster.yaml") as session:`` starts the cluster
(:mod:`zarrflow.graph.cluster_spec` parses the file): a ``LocalCluster`` through
:func:`zarrflow.cluster.local`, a client of a running scheduler, a dask-jobqueue
``SLURMCluster``/``PBSCluster``, or a dask-kubernetes ``KubeCluster``; scales it (fixed
or adaptive), waits for the first workers, and makes its client the default one for
the block, so zarrflow's graph functions run there. Leaving the block closes the
client and the cluster it started (batch jobs are cancelled), also when the block
raises, on KeyboardInterrupt, and on SIGTERM (turned into :class:`ClusterInterrupted`
while the block runs in the main thread). A cluster of ``kind: scheduler`` is not ours:
only the client is closed.

Batch workers: their threads and memory limit follow the job request (dask-jobqueue
gives each of a job's ``processes`` workers ``cores/processes`` threads and
``memory/processes`` bytes), they spill to ``local_directory``, and they get
``--lifetime``/``--lifetime-stagger`` below the walltime
(:func:`~zarrflow.graph.cluster_spec.lifetime_args`). A fixed-size batch cluster is
adaptive between N and N, so when a worker's job ends (walltime, ``scancel``, a node
failure) a replacement job is submitted.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dask
import distributed

from zarrflow.graph.cluster_spec import ClusterSpec, ClusterSpecError, lifetime_args, load_cluster_spec, parse_walltime

__all__ = ["ClusterInterrupted", "ClusterSession", "jobqueue_kwargs", "open_cluster"]

#: The optional package each kind needs, and the extra that installs it.
_NEEDS = {"slurm": ("dask_jobqueue", "dask-jobqueue", "cluster"), "pbs": ("dask_jobqueue", "dask-jobqueue", "cluster"),
          "kubernetes": ("dask_kubernetes.operator", "dask-kubernetes", "kubernetes")}


class ClusterInterrupted(BaseException):
    """SIGTERM arrived while a cluster block ran (a batch system ending the job)."""


@dataclass
class ClusterSession:
    """What :func:`open_cluster` yields: the ``spec``, the ``client`` (the default one
    inside the block), the ``cluster`` object it started (None for ``kind: scheduler``)."""

    spec: ClusterSpec
    client: distributed.Client
    cluster: Any = None
    worker_args: list[str] = field(default_factory=list)

    @property
    def dashboard_link(self) -> str | None:
        """The dashboard's address, when it has one."""
        try:
            return self.client.dashboard_link
        except (AttributeError, KeyError, ValueError):  # no dashboard configured
            return None

    def job_script(self) -> str | None:
        """The batch script of one worker job (slurm, pbs), as dask-jobqueue submits it."""
        return self.cluster.job_script() if self.cluster is not None and hasattr(self.cluster, "job_script") else None


def _import(kind: str) -> Any:
    module, package, extra = _NEEDS[kind]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"kind: {kind} needs {package}, which is not installed: "
                          f"pip install 'zarrflow[{extra}]'") from exc


def jobqueue_kwargs(spec: ClusterSpec) -> tuple[dict[str, Any], list[str]]:
    """The keyword arguments for dask-jobqueue's cluster class, and the lifetime
    arguments added to ``worker_extra_args`` (the walltime comes from the file, else
    from dask's ``jobqueue.<kind>.walltime`` config, i.e. a ``jobqueue.yaml``)."""
    kwargs = dict(spec.settings)
    walltime = kwargs.get("walltime") or dask.config.get(f"jobqueue.{spec.kind}.walltime", None)
    extra = list(kwargs.get("worker_extra_args")
                 or dask.config.get(f"jobqueue.{spec.kind}.worker-extra-args", None) or [])
    added: list[str] = []
    if walltime and "--lifetime" not in extra:
        try:
            added = lifetime_args(parse_walltime(walltime), spec.lifetime, spec.lifetime_stagger,
                                  spec.lifetime_restart)
        except ValueError as exc:
            raise ClusterSpecError(f"{spec.source}: {exc}") from None
    kwargs["worker_extra_args"] = extra + added
    return kwargs, added


def _start(spec: ClusterSpec) -> tuple[Any, distributed.Client, list[str]]:
    if spec.kind == "local":
        from zarrflow.graph.cluster import local  # noqa: PLC0415 - cluster.py re-exports this module's names

        s = spec.settings
        n = spec.minimum if spec.adaptive else spec.workers
        kwargs = {k: s[k] for k in ("memory_limit", "local_directory", "dashboard_address") if k in s}
        client = local(n_workers=n, threads_per_worker=s.get("threads_per_worker"),
                       processes=s.get("processes", True), set_as_default=False, **kwargs)
        if spec.adaptive:
            client.cluster.adapt(minimum=spec.minimum, maximum=spec.maximum)
        return client.cluster, client, []
    if spec.kind == "scheduler":
        s = spec.settings
        target = s.get("address") or s.get("scheduler_file")
        key = "address" if "address" in s else "scheduler_file"
        client = distributed.Client(**{key: target}, timeout=spec.timeout, set_as_default=False)
        return None, client, []
    if spec.kind in ("slurm", "pbs"):
        jobqueue = _import(spec.kind)
        cls = jobqueue.SLURMCluster if spec.kind == "slurm" else jobqueue.PBSCluster
        kwargs, added = jobqueue_kwargs(spec)
        cluster = cls(**kwargs)
    else:
        operator = _import("kubernetes")
        kwargs = dict(spec.settings)
        kwargs.setdefault("n_workers", spec.minimum if spec.adaptive else spec.workers)
        cluster, added = operator.KubeCluster(**kwargs), []
    try:
        if spec.adaptive:
            cluster.adapt(minimum=spec.minimum, maximum=spec.maximum)
        elif spec.kind == "kubernetes":
            cluster.scale(spec.workers)
        else:
            # A fixed batch cluster adapts between N and N: a worker whose job ends is replaced.
            cluster.adapt(minimum=spec.workers, maximum=spec.workers)
        client = distributed.Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return cluster, client, added


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM raises ClusterInterrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise ClusterInterrupted(f"signal {signum} (SIGTERM): closing the cluster")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def open_cluster(spec: ClusterSpec | str | os.PathLike[str]) -> Iterator[ClusterSession]:
    """Start the cluster ``spec`` (a :class:`ClusterSpec` or the path of a cluster
    file) for the block; its client is the default one inside the block. The cluster
    and client are closed when the block ends, however it ends. Raises
    :class:`~zarrflow.graph.cluster_spec.ClusterSpecError` for a bad file,
    ImportError naming the extra when the kind's package is missing, and TimeoutError
    when ``wait_for_workers`` workers do not arrive within ``timeout``."""
    if not isinstance(spec, ClusterSpec):
        spec = load_cluster_spec(spec)
    with dask.config.set(spec.dask_config), _sigterm_raises():
        cluster = client = None
        try:
            cluster, client, added = _start(spec)
            if spec.wait_for_workers:
                try:
                    client.wait_for_workers(spec.wait_for_workers, timeout=spec.timeout)
                except TimeoutError:
                    raise TimeoutError(f"{spec.source}: {spec.wait_for_workers} worker(s) did not arrive in "
                                       f"{spec.timeout:g} s ({spec.kind}); is the queue full, or can the "
                                       f"workers not reach the scheduler (see 'interface')?") from None
            with client.as_current():
                yield ClusterSession(spec=spec, client=client, cluster=cluster, worker_args=added)
        finally:
            _close(cluster, client)


def _close(cluster: Any, client: distributed.Client | None) -> None:
    """Close the client, then the cluster we started (cancelling its jobs); the second
    step runs even when the first fails, and the first error is raised after both."""
    errors: list[BaseException] = []
    if client is not None:
        try:
            client.close()
        except BaseException as exc:  # noqa: BLE001 - the cluster is still closed; re-raised below
            errors.append(exc)
    if cluster is not None:
        try:
            cluster.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
    if errors:
        raise errors[0]

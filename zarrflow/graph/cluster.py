"""Starting a dask cluster explicitly (``zarrflow.cluster``).

zarrflow never starts a cluster implicitly: its graph functions run on the active
``distributed.Client`` when there is one, else on dask's threaded scheduler. Call
:func:`local` to get a client of a new local cluster, and close it when done; or
``with open_cluster("cluster.yaml"):`` to run a block on the cluster a cluster file
names (local, a scheduler address, SLURM, PBS, Kubernetes), torn down after it
(``graph/cluster_spec.py`` parses the file, ``graph/cluster_session.py`` starts it).
"""

from __future__ import annotations

from typing import Any

import distributed

from zarrflow.graph.cluster_session import ClusterInterrupted, ClusterSession, open_cluster
from zarrflow.graph.cluster_spec import ClusterSpec, ClusterSpecError, load_cluster_spec, parse_cluster_spec

__all__ = ["ClusterInterrupted", "ClusterSession", "ClusterSpec", "ClusterSpecError", "load_cluster_spec", "local",
           "open_cluster", "parse_cluster_spec"]


def local(n_workers: int | None = None, threads_per_worker: int | None = None, processes: bool = True,
          **kwargs: Any) -> distributed.Client:
    """A ``distributed.Client`` of a new ``LocalCluster`` listening on 127.0.0.1 only
    (with ``processes=False`` too: tcp on 127.0.0.1 rather than ``inproc://``), with the
    dashboard disabled (pass ``dashboard_address=':8787'`` to enable it; the
    scheduler's small HTTP server, health and metrics routes only, still listens on
    127.0.0.1).

    ``n_workers``/``threads_per_worker``: None lets dask choose from the machine's
    cores; ``processes``: worker processes (True) or threads of this process.
    ``kwargs`` go to ``distributed.LocalCluster`` (``memory_limit``, ...) or the
    ``Client`` (``set_as_default``, ...). The client becomes the default one, so
    zarrflow's graph functions use it. The caller closes it (``client.close()``, or
    ``with local() as client:``), which also closes the cluster it started.
    zarrflow never starts a cluster implicitly; this function is the only way it does.
    """
    if not processes:
        kwargs.setdefault("protocol", "tcp://")  # not inproc://, whose HTTP server binds the machine's address
    if kwargs.get("protocol") not in ("inproc", "inproc://"):
        kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("dashboard_address", None)
    if kwargs["dashboard_address"] is None:
        # Without this the scheduler's HTTP routes try port 8787 first and warn when it is taken.
        scheduler_kwargs = dict(kwargs.get("scheduler_kwargs") or {})
        scheduler_kwargs.setdefault("dashboard_address", "127.0.0.1:0")
        scheduler_kwargs.setdefault("dashboard", False)
        kwargs["scheduler_kwargs"] = scheduler_kwargs
    return distributed.Client(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                              **kwargs)

"""Parallel copies on Dask: ``copy_store_parallel`` (raw bytes, store to store) and
:class:`ParallelArrayCopy` (the data of the arrays ``zarrflow.copy``/``copy_all``
create, when called with ``parallel=True`` or while a client is active).

``copy_store_parallel``: the client lists and selects the keys exactly as
:func:`zarrflow.copy_store` does (same ``excludes``/``includes``, ``if_exists`` and
log lines), then the chunk keys are copied by one task per batch of keys
(``tasks.copy_keys``: one ``getitems`` and one ``setitems``), on the active
``distributed.Client``, dask's configured scheduler or ``scheduler=``. Metadata keys
(``.zarray``, ``.zgroup``, ``.zattrs``, ``.zmetadata``) are written by the client
last, after every chunk task has finished, so a reader never finds metadata
pointing at chunks not yet written. Difference from the serial version: with
``if_exists='raise'`` the conflict is found while listing, before anything is
written, so the destination is left untouched (zarr 2 copies the keys before the
conflicting one).

``ParallelArrayCopy``: the client creates every destination array (metadata first,
as the serial copy does); then one graph copies all their chunks: stored bytes as
they are when both arrays encode chunks the same way (``plan.same_encoding``: no
decode), else one task per slab of whole destination chunks decoding the source and
re-encoding for the destination (each destination chunk has one writer: no locks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from zarrflow.core.array import Array
from zarrflow.core.copying import (
    IF_EXISTS_STORE,
    LogWriter,
    describe_copy,
    log_summary,
    open_store,
    store_key_pairs,
)
from zarrflow.core.layout import ArrayLayout
from zarrflow.core.slabs import chunk_slabs
from zarrflow.errors import CopyError
from zarrflow.format import is_metadata_key
from zarrflow.graph import build, ops, plan, tasks
from zarrflow.graph.tasks import copy_keys
from zarrflow.storage import normalize_storage_path

__all__ = ["ParallelArrayCopy", "copy_keys", "copy_store_parallel"]

#: Decoded bytes one copy task handles (a slab, or a batch of stored chunks).
TASK_BYTES = 32 * 2**20


class ParallelArrayCopy:
    """The data of several array copies, gathered while a copy walks a hierarchy and
    then run as one dask graph (:meth:`run`).

    ``add(source, dest)`` plans one array: raw chunk bytes when both arrays encode
    chunks alike, decode/re-encode per slab of destination chunks otherwise. Only
    zarrflow arrays are planned; the caller copies anything else itself.
    """

    def __init__(self, progress: bool = False, scheduler: Any = None, task_bytes: int = TASK_BYTES,
                 auto: bool = False):
        self.progress = progress
        #: chosen implicitly (an active client): arrays whose stores worker processes
        #: cannot use are copied serially instead of refused
        self.auto = auto
        self.elsewhere = ops.runs_in_other_processes(scheduler)
        self.scheduler = scheduler
        self.task_bytes = int(task_bytes)
        self.raw: list[tuple[Any, Any, list[tuple[str, str]]]] = []
        self.recode: list[tuple[ArrayLayout, ArrayLayout, tuple[slice, ...]]] = []
        self.dest_stores: list[Any] = []
        self.source_stores: list[Any] = []

    def accepts(self, source: Any, dest: Any) -> bool:
        """True when this copy takes ``source``'s data: both are zarrflow arrays (h5py
        datasets are copied serially), and, when chosen implicitly with tasks running
        in other processes, the source is persistent and the destination takes writes
        from several processes (else the caller copies serially)."""
        if not (isinstance(source, Array) and isinstance(dest, Array)):
            return False
        if self.auto and self.elsewhere:
            return (bool(getattr(source.chunk_store, "is_persistent", False))
                    and bool(getattr(dest.chunk_store, "supports_multiprocess_writes", False)))
        return True

    def add(self, source: Array, dest: Array) -> str:
        """Plan the copy of ``source``'s data into ``dest`` (same shape); returns
        ``'bytes'`` or ``'recode'``, the way its chunks will travel."""
        if source.shape != dest.shape:
            raise ValueError(f"cannot copy an array of shape {source.shape} into one of shape {dest.shape}")
        self.source_stores.append(source.chunk_store)
        self.dest_stores.append(dest.chunk_store)
        if plan.same_encoding(source.layout.metadata, dest.layout.metadata):
            self._add_bytes(source, dest)
            return "bytes"
        self._add_recode(source, dest)
        return "recode"

    def _add_bytes(self, source: Array, dest: Array) -> None:
        src, dst = source.layout, dest.layout
        pairs = []
        for key in src.stored_chunk_keys():
            coords = src.chunk_coords(key)
            if coords is not None:
                pairs.append((key, dst.chunk_key(coords)))
        chunk_nbytes = math.prod(dest.chunks) * max(np.dtype(dest.dtype).itemsize, 1)
        for batch in plan.key_batches(pairs, chunk_nbytes, self.task_bytes):
            self.raw.append((source.chunk_store, dest.chunk_store, batch))

    def _add_recode(self, source: Array, dest: Array) -> None:
        src = tasks.layout_of(source, synchronizer=None)
        dst = tasks.layout_of(dest, synchronizer=None)
        itemsize = max(np.dtype(dest.dtype).itemsize, 1)
        for region in chunk_slabs(dest.shape, dest.chunks, itemsize, self.task_bytes):
            self.recode.append((src, dst, region))

    def check_destination(self, group: Any) -> None:
        """Raise now (nothing written yet) if this copy was asked for explicitly and
        worker processes cannot write ``group``'s stores."""
        if not self.auto:
            ops.check_workers_can_write([group.store, group.chunk_store], self.scheduler, "destination")

    def __len__(self) -> int:
        """Number of copy tasks planned."""
        return len(self.raw) + len(self.recode)

    def run(self) -> None:
        """Run every planned copy as one graph (nothing to do: returns at once)."""
        if not len(self):
            return
        ops.check_workers_can_write(self.dest_stores, self.scheduler, "destination")
        graph = build.array_copy_graph(self.raw, self.recode)
        ops.run(graph, progress=self.progress, scheduler=self.scheduler)


def copy_store_parallel(source: Any, dest: Any, source_path: str = "", dest_path: str = "",
                        excludes: Any = None, includes: Any = None, if_exists: str = "raise",
                        dry_run: bool = False, log: Any = None, batch: int = 256, progress: bool = False,
                        scheduler: Any = None, *, flags: int = 0) -> tuple[int, int, int]:
    """Copy the stored bytes of ``source`` (under ``source_path``) into ``dest`` (under
    ``dest_path``) in parallel, without decoding them.

    Selection, ``if_exists`` ('raise', 'replace', 'skip'), ``dry_run``, ``log`` and
    ``flags`` are those of :func:`zarrflow.copy_store`, and so are the log lines and
    the result ``(n_copied, n_skipped, n_bytes_copied)``. Chunk keys are copied by one
    task per ``batch`` keys; metadata keys are written by the client after all of
    them. ``progress`` shows dask's progress bar; ``scheduler`` as in
    ``dask.compute`` (default: the active client, else dask's configured scheduler).
    Stores travel to the tasks pickled (their location, for persistent stores).
    """
    if if_exists not in IF_EXISTS_STORE:
        raise ValueError(f"if_exists must be one of {list(IF_EXISTS_STORE)!r}; found {if_exists!r}")
    if int(batch) < 1:
        raise ValueError(f"batch must be at least 1, found {batch!r}")
    src = open_store(source, "r")
    dst = open_store(dest, "a")
    pairs = store_key_pairs(src, source_path, dest_path, excludes, includes, flags)
    # One listing of the destination instead of one lookup per key (remote stores).
    existing = set() if if_exists == "replace" else set(dst.keys_under(normalize_storage_path(dest_path)))
    chunks: list[tuple[str, str]] = []
    metadata: list[tuple[str, str]] = []
    n_copied = n_skipped = n_bytes = 0
    with LogWriter(log) as write_log:
        for key, dest_key in pairs:
            descr = describe_copy(key, dest_key)
            if dest_key in existing:
                if if_exists == "raise":
                    raise CopyError(f"key {dest_key!r} exists in destination")
                write_log(f"skip {descr}")
                n_skipped += 1
                continue
            write_log(f"copy {descr}")
            (metadata if is_metadata_key(key) else chunks).append((key, dest_key))
            n_copied += 1
        if not dry_run and (chunks or metadata):
            if chunks:
                ops.check_workers_can_write([dst], scheduler, "destination")
                batches = [chunks[i:i + batch] for i in range(0, len(chunks), batch)]
                graph = build.copy_graph(copy_keys, src, dst, batches)
                n_bytes += int(ops.run(graph, progress=progress, scheduler=scheduler))
            n_bytes += copy_keys(src, dst, metadata)
        log_summary(write_log, dry_run, n_copied, n_skipped, n_bytes)
    return n_copied, n_skipped, n_bytes

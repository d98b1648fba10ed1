"""``copy_store_parallel``: the raw-bytes ``copy_store`` run as a dask graph.

The client lists and selects the keys exactly as :func:`zarrflow.copy_store` does
(same ``excludes``/``includes``, ``if_exists`` and log lines), then the chunk keys
are copied by one task per batch of keys (``copy_keys``: one ``getitems`` and one
``setitems``), on the active ``distributed.Client``, dask's configured scheduler or
``scheduler=``. Metadata keys (``.zarray``, ``.zgroup``, ``.zattrs``,
``.zmetadata``) are written by the client last, after every chunk task has
finished, so a reader never finds metadata pointing at chunks not yet written.

Difference from the serial version: with ``if_exists='raise'`` the conflict is
found while listing, before anything is written, so the destination is left
untouched (zarr 2 copies the keys before the conflicting one).
"""

from __future__ import annotations

from typing import Any

import dask

from zarrflow.core.copying import (
    _IF_EXISTS_STORE,
    _as_store,
    _log_summary,
    _LogWriter,
    describe_copy,
    store_key_pairs,
)
from zarrflow.errors import CopyError
from zarrflow.graph import build, ops
from zarrflow.storage import normalize_storage_path

__all__ = ["copy_keys", "copy_store_parallel"]

#: Keys written by the client after the chunk tasks.
METADATA_KEYS = frozenset({".zarray", ".zgroup", ".zattrs", ".zmetadata"})


def copy_keys(source: Any, dest: Any, pairs: list[tuple[str, str]]) -> int:
    """Copy the values of ``pairs`` ``(source_key, dest_key)`` from ``source`` to
    ``dest`` (one ``getitems``, one ``setitems``); returns the bytes copied."""
    pairs = list(pairs)
    if not pairs:
        return 0
    values = source.getitems([k for k, _ in pairs])
    missing = [k for k, _ in pairs if k not in values]
    if missing:
        raise KeyError(f"key {missing[0]!r} vanished from the source store during the copy")
    dest.setitems({d: values[s] for s, d in pairs})
    return sum(len(v) for v in values.values())


def _is_metadata(key: str) -> bool:
    return key.rpartition("/")[2] in METADATA_KEYS


def _check_reachable(dest: Any, scheduler: Any) -> None:
    """Writes to an in-memory store made in other processes would be lost silently."""
    if getattr(dest, "is_persistent", False):
        return
    chosen = scheduler if scheduler is not None else dask.config.get("scheduler", None)
    if chosen in ("processes", "multiprocessing") or (scheduler is None and ops.active_client() is not None):
        raise ValueError(
            f"the destination store ({type(dest).__name__}) lives in this process's memory, so writes made "
            "by worker processes would be lost; copy to a persistent store or run on scheduler='threads'")


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
    if if_exists not in _IF_EXISTS_STORE:
        raise ValueError(f"if_exists must be one of {list(_IF_EXISTS_STORE)!r}; found {if_exists!r}")
    if int(batch) < 1:
        raise ValueError(f"batch must be at least 1, found {batch!r}")
    src = _as_store(source, "r")
    dst = _as_store(dest, "a")
    pairs = store_key_pairs(src, source_path, dest_path, excludes, includes, flags)
    # One listing of the destination instead of one lookup per key (remote stores).
    existing = set() if if_exists == "replace" else set(dst.keys_under(normalize_storage_path(dest_path)))
    chunks: list[tuple[str, str]] = []
    metadata: list[tuple[str, str]] = []
    n_copied = n_skipped = n_bytes = 0
    with _LogWriter(log) as write_log:
        for key, dest_key in pairs:
            descr = describe_copy(key, dest_key)
            if dest_key in existing:
                if if_exists == "raise":
                    raise CopyError(f"key {dest_key!r} exists in destination")
                write_log(f"skip {descr}")
                n_skipped += 1
                continue
            write_log(f"copy {descr}")
            (metadata if _is_metadata(key) else chunks).append((key, dest_key))
            n_copied += 1
        if not dry_run and (chunks or metadata):
            if chunks:
                _check_reachable(dst, scheduler)
                batches = [chunks[i:i + batch] for i in range(0, len(chunks), batch)]
                graph = build.copy_graph(copy_keys, src, dst, batches)
                n_bytes += int(ops.run(graph, progress=progress, scheduler=scheduler))
            n_bytes += copy_keys(src, dst, metadata)
        _log_summary(write_log, dry_run, n_copied, n_skipped, n_bytes)
    return n_copied, n_skipped, n_bytes

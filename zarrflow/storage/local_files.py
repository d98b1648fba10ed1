"""Files on a local disk, written atomically: the part DirectoryStore (and N5Store) and
FSStore over local paths share.

A value is written to a temporary file ``.<name>.<uuid4 hex>.partial`` in the target
directory and moved into place with ``os.replace``, so a crash never leaves a torn
value under the key; a temporary file left by a killed writer is never listed as a
key (:func:`is_temp_name`). Directories left empty by deletes are pruned, so a
"directory" exists only while it holds keys, as in every other store.

**Durability.** The rename makes a write atomic, not durable: after a power cut the
new name may point at a file whose data never reached the disk (an empty or
zero-filled chunk on ext4/XFS). ``durable=True`` fsyncs the temporary file before the
rename and then the directory (and every directory the write created, with its
parent), so the value is on disk when the call returns - what tensorstore does by
default. Stores write metadata documents durably always, chunks when asked.
:func:`write_many_durably` does a batch with the fsyncs overlapping (one fsync per
directory after all the renames), which costs a fraction of one-by-one durable writes.
"""

from __future__ import annotations

import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

__all__ = ["TEMP_SUFFIX", "fsync_dir", "is_temp_name", "prune_empty_dirs", "sync_dirs", "write_atomically",
           "write_many_durably"]

#: What every temporary file's name ends with.
TEMP_SUFFIX = ".partial"
_TEMP_NAME = re.compile(r"^\..*\.[0-9a-f]{32}\.partial$")
#: Tries at creating the temporary file when its directory is missing (or pruned meanwhile).
_MKDIR_ATTEMPTS = 3


def is_temp_name(name: str) -> bool:
    """True for the name (last component) of a temporary file of an in-flight or crashed write."""
    return name.endswith(TEMP_SUFFIX) and _TEMP_NAME.match(name) is not None


def fsync_dir(dirpath: str) -> None:
    """fsync the directory ``dirpath`` (its entries: names created, renamed, removed)."""
    fd = os.open(dirpath, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _missing_dirs(dirpath: str) -> list[str]:
    """``dirpath`` and its ancestors that do not exist, deepest first."""
    out = []
    while dirpath and not os.path.isdir(dirpath):
        out.append(dirpath)
        parent = os.path.dirname(dirpath)
        if parent == dirpath:
            break
        dirpath = parent
    return out


def write_atomically(dirpath: str, name: str, data: bytes | memoryview, durable: bool = False,
                     sync_dir: bool = True) -> list[str]:
    """Write ``data`` to ``dirpath/name`` via a temporary file and ``os.replace``,
    creating ``dirpath`` when needed; the temporary file is removed on any failure.
    ``durable``: fsync the file before the rename, then (unless ``sync_dir`` is False:
    the caller syncs many at once) its directory and the parents of the directories
    this call created. Returns the directories it created. OSErrors propagate (the
    store names its key in them)."""
    temp = os.path.join(dirpath, f".{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    created: list[str] = []
    for attempt in range(_MKDIR_ATTEMPTS):
        try:
            f = open(temp, "xb")
            break
        except FileNotFoundError:
            # first write under this directory (or it was pruned meanwhile)
            if attempt == _MKDIR_ATTEMPTS - 1:
                raise
            if durable:
                created = _missing_dirs(dirpath)
            os.makedirs(dirpath, exist_ok=True)
    try:
        with f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(temp, os.path.join(dirpath, name))
        if durable and sync_dir:
            sync_dirs({dirpath}, created)
    except BaseException:
        try:
            os.remove(temp)
        except OSError:
            pass
        raise
    return created


def sync_dirs(dirs: set[str], created: list[str]) -> None:
    """fsync each directory in ``dirs`` and the parent of each in ``created`` (so the
    names in them, and the new directories themselves, are on disk)."""
    for d in sorted(dirs | {os.path.dirname(c) for c in created}, key=len, reverse=True):
        fsync_dir(d)


def write_many_durably(writes: list[tuple[str, str, bytes | memoryview]], threads: int = 16) -> list[BaseException | None]:
    """Durable atomic writes of ``(dirpath, name, data)`` items, ``threads`` at a time
    (the fsyncs overlap, and the filesystem commits them together), then one fsync per
    directory: as durable as one :func:`write_atomically` each, far fewer waits.
    Returns, per item, None or the exception its write raised (the others still land)."""
    errors: list[BaseException | None] = [None] * len(writes)
    created: list[str] = []

    def one(i: int) -> None:
        dirpath, name, data = writes[i]
        try:
            created.extend(write_atomically(dirpath, name, data, durable=True, sync_dir=False))
        except Exception as exc:  # noqa: BLE001 - reported per item to the store, which names the key
            errors[i] = exc

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(writes))), thread_name_prefix="zarrflow-fsync") as ex:
        list(ex.map(one, range(len(writes))))
    done = {writes[i][0] for i in range(len(writes)) if errors[i] is None}
    sync_dirs(done, [c for c in created if any(d == c or d.startswith(c + os.sep) for d in done)])
    return errors


def prune_empty_dirs(dirpath: str, root: str) -> None:
    """Remove ``dirpath`` and its parents while they are empty, up to (not including)
    ``root``; stops at the first directory that is not empty (or cannot be removed)."""
    root = root.rstrip(os.sep) or os.sep
    while dirpath != root and dirpath.startswith(root + os.sep):
        try:
            os.rmdir(dirpath)
        except OSError:
            return
        dirpath = os.path.dirname(dirpath)

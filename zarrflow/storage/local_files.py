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
"""

from __future__ import annotations

import os
import re
import uuid

__all__ = ["TEMP_SUFFIX", "fsync_dir", "is_temp_name", "prune_empty_dirs", "write_atomically"]

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


def write_atomically(dirpath: str, name: str, data: bytes | memoryview, durable: bool = False) -> None:
    """Write ``data`` to ``dirpath/name`` via a temporary file and ``os.replace``,
    creating ``dirpath`` when needed; the temporary file is removed on any failure.
    ``durable``: fsync the file, then its directory (and the directories this call
    created, and their parents) before returning. OSErrors propagate (the store names
    its key in them)."""
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
        if durable:
            fsync_dir(dirpath)
            for made in created:  # each new directory's entry in its parent
                fsync_dir(os.path.dirname(made))
    except BaseException:
        try:
            os.remove(temp)
        except OSError:
            pass
        raise


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

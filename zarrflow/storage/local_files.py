"""Files on a local disk, written atomically: the part DirectoryStore (and N5Store) and
FSStore over local paths share.

A value is written to a temporary file ``.<name>.<uuid4 hex>.partial`` in the target
directory and moved into place with ``os.replace``, so a crash never leaves a torn
value under the key; a temporary file left by a killed writer is never listed as a
key (:func:`is_temp_name`). Directories left empty by deletes are pruned, so a
"directory" exists only while it holds keys, as in every other store.
"""

from __future__ import annotations

import os
import re
import uuid

__all__ = ["TEMP_SUFFIX", "is_temp_name", "prune_empty_dirs", "write_atomically"]

#: What every temporary file's name ends with.
TEMP_SUFFIX = ".partial"
_TEMP_NAME = re.compile(r"^\..*\.[0-9a-f]{32}\.partial$")
#: Tries at creating the temporary file when its directory is missing (or pruned meanwhile).
_MKDIR_ATTEMPTS = 3


def is_temp_name(name: str) -> bool:
    """True for the name (last component) of a temporary file of an in-flight or crashed write."""
    return name.endswith(TEMP_SUFFIX) and _TEMP_NAME.match(name) is not None


def write_atomically(dirpath: str, name: str, data: bytes | memoryview) -> None:
    """Write ``data`` to ``dirpath/name`` via a temporary file and ``os.replace``,
    creating ``dirpath`` when needed; the temporary file is removed on any failure.
    OSErrors propagate (the store names its key in them)."""
    temp = os.path.join(dirpath, f".{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    for attempt in range(_MKDIR_ATTEMPTS):
        try:
            f = open(temp, "xb")
            break
        except FileNotFoundError:
            # first write under this directory (or it was pruned meanwhile)
            if attempt == _MKDIR_ATTEMPTS - 1:
                raise
            os.makedirs(dirpath, exist_ok=True)
    try:
        with f:
            f.write(data)
        os.replace(temp, os.path.join(dirpath, name))
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

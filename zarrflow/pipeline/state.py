"""What a pipeline remembers between runs, and how it tells what is new.

Next to each output, ``<output URL>.zarrflow/`` holds the run's lease, one record per
step (``steps/<step id>.json``: the fingerprint of what the step read when it last
completed) and the run reports (``runs/<run id>.json``, ``runs/latest.json``). The
zarr store itself stays pure Zarr, so overwriting it (a rechunk with a new plan)
never removes the run's own state. Appends record what they appended in the output's
attributes instead (see ``pipeline/append.py``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import fsspec

from zarrflow.format.keys import ARRAY_META_KEY, ATTRS_KEY, GROUP_META_KEY
from zarrflow.pipeline.spec import DataRef
from zarrflow.storage.normalize import normalize_store_arg
from zarrflow.storage.paths import prefix_for

__all__ = ["StateDir", "node_fingerprint", "tiff_items"]


class StateDir:
    """``<output URL>.zarrflow/`` on the output's filesystem."""

    def __init__(self, ref: DataRef):
        self.url = ref.url.rstrip("/") + ".zarrflow"
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **ref.storage_options)

    def read_json(self, name: str) -> dict | None:
        """``name`` (e.g. ``steps/x.json``) as JSON, or None when it is not there."""
        try:
            return json.loads(self.fs.cat_file(f"{self.root}/{name}"))
        except FileNotFoundError:
            return None

    def write_json(self, name: str, document: dict) -> None:
        """Write ``name`` whole (one PUT on object stores; temp + rename locally)."""
        path = f"{self.root}/{name}"
        data = json.dumps(document, indent=1, sort_keys=True, default=str).encode()
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        if protocol in ("file", "local"):
            import os  # noqa: PLC0415 - local files only
            import uuid  # noqa: PLC0415

            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)


def node_fingerprint(ref: DataRef) -> str | None:
    """A hash of every stored key of the node at ``ref`` with its size and ETag (object
    stores) or modification time (files), from one listing; None when no array or
    group is there. A write of data or metadata changes it; ``.zmetadata`` (which a
    consolidate step writes) does not count."""
    store = normalize_store_arg(ref.url, mode="r", storage_options=ref.storage_options or None)
    prefix = prefix_for(ref.path)
    if store.get(prefix + ARRAY_META_KEY) is None and store.get(prefix + GROUP_META_KEY) is None:
        return None
    fs, root = fsspec.core.url_to_fs(ref.url, **ref.storage_options)
    base = f"{root.rstrip('/')}/{ref.path}".rstrip("/")
    digest = hashlib.sha256()
    for name, info in sorted(fs.find(base, detail=True).items()):
        if name.rsplit("/", 1)[-1] in (".zmetadata",) or ".partial" in name:
            continue
        tag = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
        digest.update(f"{name[len(base):]}\0{info.get('size')}\0{tag}\n".encode())
    for key in (ARRAY_META_KEY, GROUP_META_KEY, ATTRS_KEY):
        value = store.get(prefix + key)
        if value is not None:
            digest.update(bytes(value))
    return digest.hexdigest()


def tiff_items(ref: DataRef) -> list[dict[str, Any]]:
    """The files a TIFF glob matches, in natural sort order, each with its identity:
    name, size and ETag (object stores) or modification time (files)."""
    from zarrflow.graph.tiff_plan import natural_key  # noqa: PLC0415 - the order TIFF imports use

    fs, pattern = fsspec.core.url_to_fs(ref.url, **ref.storage_options)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    paths = sorted(fs.glob(pattern), key=natural_key)
    out = []
    for path in paths:
        info = fs.info(path)
        if info.get("type") == "directory":
            continue
        tag = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified")
        full = path if protocol in ("file", "local") else f"{protocol}://{path}"
        out.append({"id": full.rsplit("/", 1)[-1], "path": full, "size": int(info.get("size") or 0),
                    "tag": str(tag).strip('"')})
    return out

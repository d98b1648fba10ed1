"""Idempotent, crash-safe appends.

What an output holds is recorded in its attributes under ``zarrflow_appended``: one
entry per appended input item (a TIFF file, or a range of a growing zarr array)
with its identity and the range ``[start, stop)`` it occupies along the append
axis. An entry counts only when ``stop <= shape[axis]``: the shape in ``.zarray`` is
the commit. Each batch is written in three steps:

1. the record, with the batch's entries (ranges past the current shape: not yet
   committed);
2. the data, into the chunks past the current shape (readers do not see them: the
   shape still ends before them);
3. the new shape (``.zarray``): the commit.

A run killed anywhere leaves the committed entries and the visible data consistent;
the next run drops uncommitted entries and appends those items again (overwriting
the same chunks), so nothing is appended twice and nothing half-written is visible.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import zarrflow
from zarrflow.core.array import Array
from zarrflow.pipeline.spec import DataRef, Step
from zarrflow.pipeline.state import tiff_items

__all__ = ["RECORD_ATTR", "AppendPlan", "committed_entries", "plan_append", "run_append"]

log = logging.getLogger("zarrflow.pipeline")

RECORD_ATTR = "zarrflow_appended"
#: Input bytes gathered into one committed batch at most.
BATCH_BYTES = 256 * 2**20


def committed_entries(record: list[dict], length: int) -> list[dict]:
    """The entries of ``record`` the shape covers (the others were never committed)."""
    return [e for e in record if int(e["stop"]) <= length]


@dataclass
class AppendPlan:
    """What an append step would add: new items, and the target's state now."""

    items: list[dict]
    length: int
    exists: bool
    committed: list[dict] = field(default_factory=list)

    @property
    def has_work(self) -> bool:
        """True when there is something new to append."""
        return bool(self.items)


def _open_target(ref: DataRef, mode: str = "r") -> Array | None:
    try:
        node = zarrflow.open_array(ref.url, mode=mode, path=ref.path or None,
                                   storage_options=ref.storage_options or None)
    except (ValueError, KeyError, FileNotFoundError):
        return None
    return node


def plan_append(step: Step, source: DataRef, target: DataRef, quarantined: dict | None = None) -> AppendPlan:
    """The new items of ``source`` (reads only). ``quarantined`` maps the ids of inputs
    an earlier run quarantined to their tags: they are tried again only once they
    change."""
    quarantined = quarantined or {}
    axis = int(step.args.get("axis", 0))
    out = _open_target(target)
    length = out.shape[axis] if out is not None else 0
    committed = committed_entries(out.attrs.get(RECORD_ATTR, []), length) if out is not None else []
    if source.kind == "tiff":
        seen = {e["id"] for e in committed if e.get("input") == source.name}
        items = [dict(i, input=source.name) for i in tiff_items(source)
                 if i["id"] not in seen and quarantined.get(i["id"]) != i["tag"]]
    else:
        src = zarrflow.open_array(source.url, mode="r", path=source.path or None,
                                  storage_options=source.storage_options or None)
        taken = sum(int(e["stop"]) - int(e["start"]) for e in committed if e.get("input") == source.name)
        total = src.shape[axis]
        items = [{"input": source.name, "id": f"{source.url}:{source.path}[{taken}:{total}]", "range": [taken, total],
                  "size": int(np.prod(src.shape)) // max(total, 1) * (total - taken) * src.dtype.itemsize}] \
            if total > taken else []
    return AppendPlan(items, length, out is not None, committed)


def _read_item(item: dict, source: DataRef, axis: int) -> np.ndarray:
    if source.kind == "tiff":
        import fsspec  # noqa: PLC0415 - only for TIFF inputs
        import tifffile  # noqa: PLC0415 - optional dependency (the images extra)

        with fsspec.open(item["path"], "rb", **source.storage_options) as f:
            data = tifffile.imread(f)
        return data if data.ndim >= 3 else data[np.newaxis]
    src = zarrflow.open_array(source.url, mode="r", path=source.path or None,
                              storage_options=source.storage_options or None)
    start, stop = item["range"]
    index = [slice(None)] * src.ndim
    index[axis] = slice(start, stop)
    return src[tuple(index)]


def _apply_filter(data: np.ndarray, spec: dict | None, axis: int) -> np.ndarray:
    """The step's filter on the new slices only (slice by slice: never across ``axis``)."""
    if not spec:
        return data
    (op, args), = spec.items()
    args = dict(args)
    axes = tuple(args.pop("axes", [a for a in range(data.ndim) if a != axis]))
    if axis in axes:
        raise ValueError(f"an append filter works slice by slice: axes {axes} must not include the append "
                         f"axis {axis}")
    from zarrflow import filters  # noqa: PLC0415 - the filters need scipy (the images extra)

    store_in, store_out = zarrflow.MemoryStore(), zarrflow.MemoryStore()
    chunks = tuple(1 if a == axis else n for a, n in enumerate(data.shape))
    src = zarrflow.array(data, store=store_in, chunks=chunks)
    out = zarrflow.create(shape=data.shape, chunks=chunks, dtype=data.dtype, store=store_out)
    getattr(filters, op)(src, output=out, axes=axes, **args)
    return out[...]


@dataclass
class AppendResult:
    """What one append step did."""

    appended: list[dict] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    slices: int = 0
    bytes: int = 0


def run_append(step: Step, source: DataRef, target: DataRef, plan: AppendPlan) -> AppendResult:
    """Append ``plan.items`` to ``target`` in committed batches; unreadable or mismatched
    items are quarantined (``on_error: skip``) or stop the step (``stop``, default)."""
    args = step.args
    axis = int(args.get("axis", 0))
    on_error = args.get("on_error", "stop")
    result = AppendResult()
    out = _open_target(target, mode="r+")
    batch: list[tuple[dict, np.ndarray]] = []
    batch_bytes = 0

    def flush() -> None:
        nonlocal out, batch, batch_bytes
        if not batch:
            return
        out = _commit_batch(out, target, args, axis, batch, result)
        batch, batch_bytes = [], 0

    for item in plan.items:
        try:
            data = _read_item(item, source, axis)
            data = _apply_filter(data, args.get("filter"), axis)
            _check_fits(out, batch, data, axis, item)
        except Exception as exc:
            if on_error == "stop":
                flush()
                raise RuntimeError(f"input {item['id']!r} of {source.name!r} failed: {exc}") from exc
            log.warning("quarantined %s: %s", item["id"], exc, extra={"event": "quarantined", "item": item["id"]})
            result.quarantined.append({"input": source.name, "id": item["id"], "tag": item.get("tag"),
                                       "error": str(exc)})
            continue
        batch.append((item, data))
        batch_bytes += data.nbytes
        if batch_bytes >= int(args.get("batch_bytes", BATCH_BYTES)):
            flush()
    flush()
    return result


def _check_fits(out: Array | None, batch: list, data: np.ndarray, axis: int, item: dict) -> None:
    ref_shape = ref_dtype = None
    if out is not None:
        ref_shape, ref_dtype = out.shape, out.dtype
    elif batch:
        ref_shape, ref_dtype = batch[0][1].shape, batch[0][1].dtype
    if ref_shape is None:
        return
    want = tuple(n for a, n in enumerate(ref_shape) if a != axis)
    got = tuple(n for a, n in enumerate(data.shape) if a != axis)
    if want != got or data.ndim != len(ref_shape):
        raise ValueError(f"{item['id']} has slices of shape {got}, the output's are {want}")
    if np.dtype(ref_dtype) != data.dtype and not np.can_cast(data.dtype, ref_dtype, casting="safe"):
        raise ValueError(f"{item['id']} has dtype {data.dtype}, the output's is {ref_dtype}")


def _commit_batch(out: Array | None, target: DataRef, args: dict, axis: int, batch: list,
                  result: AppendResult) -> Array:
    first = batch[0][1]
    if out is None:
        from numcodecs import get_codec  # noqa: PLC0415

        shape = list(first.shape)
        shape[axis] = 0
        chunks = args.get("chunks") or [1 if a == axis else n for a, n in enumerate(first.shape)]
        kwargs: dict[str, Any] = {}
        if "compressor" in args:
            kwargs["compressor"] = get_codec(args["compressor"]) if args["compressor"] else None
        out = zarrflow.open_array(target.url, mode="w", path=target.path or None, shape=tuple(shape),
                                  chunks=tuple(chunks), dtype=args.get("dtype", first.dtype),
                                  storage_options=target.storage_options or None, **kwargs)
        out.attrs[RECORD_ATTR] = []
    length = out.shape[axis]
    record = committed_entries(out.attrs.get(RECORD_ATTR, []), length)
    entries, pieces, pos = [], [], length
    for item, data in batch:
        n = data.shape[axis]
        entry = {k: item[k] for k in ("input", "id", "tag", "size", "range") if k in item}
        entry.update(start=pos, stop=pos + n)
        entries.append(entry)
        pieces.append(data)
        pos += n
    # 1. the record (entries past the shape do not count yet)
    out.attrs[RECORD_ATTR] = record + entries
    # 2. the data, into chunks past the visible shape
    new_shape = list(out.shape)
    new_shape[axis] = pos
    grown = Array.from_layout(out.layout.with_metadata(out.layout.metadata.replace(shape=tuple(new_shape))))
    index = [slice(None)] * out.ndim
    index[axis] = slice(length, pos)
    grown[tuple(index)] = np.concatenate(pieces, axis=axis) if len(pieces) > 1 else pieces[0]
    # 3. the commit
    out.resize(*new_shape)
    result.appended.extend(entries)
    result.slices += pos - length
    result.bytes += sum(p.nbytes for p in pieces)
    log.info("appended %d slices (%d items) to %s", pos - length, len(entries), target.name,
             extra={"event": "appended", "output": target.name, "slices": pos - length})
    return out

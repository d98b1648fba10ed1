"""``rechunk()``: rechunker's function, on zarrflow's engine and planner.

``rechunk(source, target_chunks, max_mem, target_store, ...)`` checks everything and
plans (``graph/rechunk_plan``) without writing; the returned :class:`Rechunked`
prints the plan and runs it with :meth:`Rechunked.execute`, stage by stage, each
stage one dask graph of independent tasks (``graph/tasks.rechunk_block``) that write
whole chunks. A run records finished tasks in the target store
(``graph/rechunk_records``), so executing the same rechunk again after a crash runs
only what is missing; intermediates and the record are removed at the end.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from dask.utils import parse_bytes

from zarrflow.core.array import Array
from zarrflow.core.codecs import is_object_codec
from zarrflow.core.convenience import open as open_node
from zarrflow.core.creation import build_array_metadata, init_array, open_array
from zarrflow.core.hierarchy import Group
from zarrflow.errors import ContainsArrayError, ContainsGroupError
from zarrflow.format import ATTRS_KEY, GROUP_META_KEY, ArrayMetadata, GroupMetadata, get_codec
from zarrflow.format.jsonio import json_dumps
from zarrflow.graph import build, ops
from zarrflow.graph.rechunk_plan import ArrayRechunkPlan, RechunkPlanError, format_bytes, plan_array
from zarrflow.graph.rechunk_records import RechunkRecord
from zarrflow.storage import contains_array, contains_group
from zarrflow.storage.base import Store
from zarrflow.storage.normalize import normalize_store_arg
from zarrflow.storage.paths import prefix_for

__all__ = ["RechunkPlanError", "RechunkReport", "Rechunked", "rechunk"]

log = logging.getLogger("zarrflow.rechunk")

#: Where intermediates live inside the temp store.
TEMP_ROOT = "zarrflow-rechunk"
#: Creation arguments ``target_options``/``temp_options`` may not set (the plan does).
_PLANNED = ("shape", "chunks", "dtype")
_OPTION_NAMES = ("compressor", "filters", "order", "fill_value", "dimension_separator", "object_codec",
                 "write_empty_chunks")


@dataclass
class _Job:
    """One array to rechunk: where it comes from, where each stage writes."""

    index: int
    name: str  # path relative to the source group; '' for an array source
    source: Array
    plan: ArrayRechunkPlan
    target_path: str
    target_meta: ArrayMetadata
    temp_paths: list[str]
    temp_metas: list[ArrayMetadata]
    write_empty_chunks: bool = True

    def to_json(self) -> dict:
        return {"name": self.name, "plan": self.plan.to_json(), "target": _meta_json(self.target_meta),
                "temps": [_meta_json(m) for m in self.temp_metas], "temp_paths": self.temp_paths}


@dataclass
class RechunkReport:
    """What one :meth:`Rechunked.execute` did."""

    tasks_run: int = 0
    tasks_skipped: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    stored_bytes_read: int = 0
    stored_bytes_written: int = 0
    stages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"ran {self.tasks_run} tasks, skipped {self.tasks_skipped} finished by an earlier run; "
                f"read {format_bytes(self.bytes_read)} decoded ({format_bytes(self.stored_bytes_read)} stored), "
                f"wrote {format_bytes(self.bytes_written)} decoded ({format_bytes(self.stored_bytes_written)} stored)")
        return "\n".join([*self.stages, text])


def _meta_json(meta: ArrayMetadata) -> dict:
    return json.loads(bytes(meta.to_json()).decode())


class Rechunked:
    """A planned rechunk: prints what it will do; :meth:`execute` does it.

    Attributes: ``plans`` (one :class:`~zarrflow.graph.rechunk_plan.ArrayRechunkPlan`
    per array), ``resuming`` (True when the target holds an unfinished run of this
    same plan, which :meth:`execute` continues), ``report`` (after a run).
    """

    def __init__(self, source: Array | Group, jobs: list[_Job], target_store: Store, temp_store: Store | None,
                 max_mem: int, overwrite: bool, resuming: bool, group_paths: list[str]):
        self.source = source
        self._jobs = jobs
        self.target_store = target_store
        self.temp_store = temp_store
        self.max_mem = max_mem
        self.overwrite = overwrite
        self.resuming = resuming
        self._group_paths = group_paths
        self.report: RechunkReport | None = None
        self._record = RechunkRecord(target_store)

    # --- what it will do -------------------------------------------------------------

    @property
    def plans(self) -> dict[str, ArrayRechunkPlan]:
        """``{array name: plan}`` ('' for an array source)."""
        return {j.name: j.plan for j in self._jobs}

    @property
    def n_tasks(self) -> int:
        """Tasks over every array and stage."""
        return sum(j.plan.n_tasks for j in self._jobs)

    def document(self) -> dict:
        """The plan as JSON (what the resume record holds)."""
        return {"version": 1, "source": build.store_identity(self.source.store) + ":" + self.source.path,
                "temp": build.store_identity(self.temp_store) if self.temp_store is not None else None,
                "groups": self._group_paths, "jobs": [j.to_json() for j in self._jobs]}

    def describe(self) -> str:
        """The printout: per array its stages, tasks, bytes and memory per task."""
        lines = [f"Rechunk plan (max_mem {format_bytes(self.max_mem)} per task"
                 + (", resuming an unfinished run" if self.resuming else "") + ")"]
        for job in self._jobs:
            p = job.plan
            name = "/" + job.name if job.name else "array"
            lines.append(f"{name} {p.shape} {job.source.dtype} ({format_bytes(p.nbytes)}): "
                         f"chunks {p.source_chunks} -> {p.target_chunks}")
            lines.extend("  " + s.describe() for s in p.stages)
            lines.append(f"  total: {len(p.stages)} stage(s), {p.n_tasks} tasks, read {format_bytes(p.bytes_read)}, "
                         f"write {format_bytes(p.bytes_written)}, intermediate {format_bytes(p.intermediate_bytes)}, "
                         f"peak {format_bytes(p.peak_task_memory)} per task")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.describe()

    # --- doing it --------------------------------------------------------------------

    def execute(self, scheduler: Any = None, progress: bool = False) -> Array | Group:
        """Run the plan (the threaded scheduler, or the active ``distributed.Client``,
        unless ``scheduler`` says otherwise) and return the target. Tasks a killed
        earlier run finished are skipped (see :attr:`report`)."""
        stores = [self.target_store] + ([self.temp_store] if self.temp_store is not None else [])
        ops.check_workers_can_write(stores, scheduler, "rechunk target")
        report = RechunkReport()
        self._prepare()
        for job in self._jobs:
            self._run_job(job, scheduler, progress, report)
        if self.temp_store is not None and any(j.temp_paths for j in self._jobs):
            self.temp_store.rmdir(TEMP_ROOT)  # everything under it is this rechunk's
        self._record.clear()
        self.resuming = False
        self.report = report
        log.info("rechunk finished: %s", report)
        return open_node(self.target_store, mode="r+")

    def _prepare(self) -> None:
        """Write the record, then the target (and intermediate) metadata: each part only
        if missing, so a resumed run keeps what the killed one wrote."""
        if not self.resuming:
            if self.overwrite:
                self.target_store.rmdir("")
            self._record.write_plan(self.document())
        source_is_group = isinstance(self.source, Group)
        if source_is_group:
            for path in self._group_paths:
                key = prefix_for(path) + GROUP_META_KEY
                if key not in self.target_store:
                    self.target_store[key] = GroupMetadata().to_json()
                    attrs = self.source.store.get(prefix_for(_join(self.source.path, path)) + ATTRS_KEY)
                    if attrs is not None:
                        self.target_store[prefix_for(path) + ATTRS_KEY] = attrs
        for job in self._jobs:
            _ensure_array(self.target_store, job.target_path, job.target_meta, job.source.attrs.asdict())
            for path, meta in zip(job.temp_paths, job.temp_metas):
                _ensure_intermediate(self.temp_store, path, meta)

    def _layouts(self, job: _Job) -> list[Any]:
        """The layouts each stage reads from and writes to, in order."""
        arrays = [job.source.layout.with_options(synchronizer=None)]
        for path in job.temp_paths:
            arrays.append(open_array(self.temp_store, mode="r+", path=path).layout)
        target = open_array(self.target_store, mode="r+", path=job.target_path,
                            write_empty_chunks=job.write_empty_chunks)
        arrays.append(target.layout)
        return arrays

    def _run_job(self, job: _Job, scheduler: Any, progress: bool, report: RechunkReport) -> None:
        layouts = self._layouts(job)
        stages = job.plan.stages
        # the last stage all of whose tasks are recorded: everything up to it is done
        done = [self._record.done_tasks(job.index, s.index) for s in stages]
        complete = 0
        for i, s in enumerate(stages):
            if len(done[i]) >= s.n_tasks:
                complete = i + 1
        for i, s in enumerate(stages):
            name = "/" + job.name if job.name else "array"
            if i < complete:
                report.tasks_skipped += s.n_tasks
                report.stages.append(f"{name} stage {s.index}: finished by an earlier run ({s.n_tasks} tasks)")
                continue
            blocks = s.blocks(job.plan.shape)
            todo = [(t, region) for t, region in enumerate(blocks) if t not in done[i]]
            skipped = len(blocks) - len(todo)
            report.tasks_skipped += skipped
            report.tasks_run += len(todo)
            if todo:
                graph = build.rechunk_graph(layouts[i], layouts[i + 1], todo, s.read_batch, self.target_store,
                                            [self._record.task_key(job.index, s.index, t) for t, _ in todo])
                counts = ops.run(graph, progress=progress, scheduler=scheduler)
                report.bytes_read += counts[0]
                report.bytes_written += counts[1]
                report.stored_bytes_read += counts[2]
                report.stored_bytes_written += counts[3]
            report.stages.append(f"{name} stage {s.index}: {len(todo)} tasks run"
                                 + (f", {skipped} skipped (finished by an earlier run)" if skipped else ""))


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _ensure_array(store: Store, path: str, meta: ArrayMetadata, attrs: dict) -> None:
    """Create the array at ``path`` unless an identical one is there already."""
    key = prefix_for(path) + ".zarray"
    existing = store.get(key)
    if existing is not None:
        if bytes(existing) == bytes(meta.to_json()):
            return
    init_array(store, meta, path=path, overwrite=existing is not None)
    if attrs:
        store[prefix_for(path) + ATTRS_KEY] = json_dumps(attrs)


def _ensure_intermediate(store: Store, path: str, meta: ArrayMetadata) -> None:
    """An intermediate array: only its ``.zarray`` (no parent groups: the temp store
    holds nothing but ``TEMP_ROOT``, which is removed at the end)."""
    key = prefix_for(path) + ".zarray"
    existing = store.get(key)
    if existing is not None and bytes(existing) == bytes(meta.to_json()):
        return
    store.rmdir(path)
    store[key] = meta.to_json()


def _as_source(source: Any) -> Array | Group:
    if isinstance(source, (Array, Group)):
        return source
    if isinstance(source, (str, os.PathLike, Store)) or hasattr(source, "__getitem__"):
        return open_node(source, mode="r")
    raise TypeError(f"rechunk() takes a zarrflow Array or Group, or a path/URL/store of one, "
                    f"got {type(source).__name__}")


def _normalize_target_chunks(array: Array, chunks: Any, name: str) -> tuple[int, ...]:
    """Target chunks for one array: a tuple (-1/None: the whole axis), a dict of
    dimension names (the ``_ARRAY_DIMENSIONS`` attribute; axes not named keep their
    chunks), or None (unchanged)."""
    what = f"array {'/' + name!r}" if name else "the array"
    if chunks is None:
        return array.chunks
    if isinstance(chunks, dict):
        dims = array.attrs.get("_ARRAY_DIMENSIONS")
        if not dims:
            raise ValueError(f"target_chunks {chunks!r} names dimensions, but {what} has no _ARRAY_DIMENSIONS "
                             "attribute; give a tuple of chunk lengths")
        unknown = sorted(set(chunks) - set(dims))
        if unknown:
            raise ValueError(f"target_chunks names dimensions {unknown} that {what} does not have {tuple(dims)}")
        chunks = tuple(chunks.get(d, c) for d, c in zip(dims, array.chunks))
    if isinstance(chunks, int):
        chunks = (chunks,)
    try:
        chunks = tuple(chunks)
    except TypeError:
        raise TypeError(f"target_chunks for {what} must be a tuple of ints, got {chunks!r}") from None
    if len(chunks) != array.ndim:
        raise ValueError(f"target_chunks {chunks} has {len(chunks)} dimensions but {what} has {array.ndim} "
                         f"(shape {array.shape})")
    out = []
    for n, c in zip(array.shape, chunks):
        if c is None or (isinstance(c, int) and not isinstance(c, bool) and c == -1):
            out.append(max(int(n), 1))
        elif isinstance(c, int) and not isinstance(c, bool) and c >= 1:
            out.append(int(c))
        else:
            raise ValueError(f"target_chunks {chunks} for {what}: chunk lengths must be ints >= 1 "
                             f"(or -1/None for a whole axis), got {c!r}")
    return tuple(out)


def _check_options(options: Any, what: str) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"{what} must be a dict of creation arguments, got {type(options).__name__}")
    planned = sorted(set(options) & set(_PLANNED))
    if planned:
        raise ValueError(f"{what} may not set {planned}: rechunk() sets them")
    unknown = sorted(set(options) - set(_OPTION_NAMES))
    if unknown:
        raise ValueError(f"{what} has unknown creation arguments {unknown}; allowed: {list(_OPTION_NAMES)}")
    return dict(options)


def _options_for(options: dict, name: str, member_names: set[str], what: str) -> dict:
    """Per-array options for a group source: ``{array name: {...}}``, else the same
    options for every array."""
    if options and member_names and set(options) <= member_names:
        return _check_options(options.get(name), f"{what}[{name!r}]")
    return _check_options(options, what)


def _array_meta(source: Array, chunks: tuple[int, ...], options: dict) -> ArrayMetadata:
    meta = source.layout.metadata
    compressor = options.get("compressor", "same")
    compressor = get_codec(meta.compressor) if compressor == "same" else compressor
    filters = options.get("filters", "same")
    filters = [get_codec(f) for f in meta.filters or ()] if filters == "same" else filters
    object_codec = options.get("object_codec")
    if object_codec is None and meta.dtype.kind == "O" and filters and is_object_codec(filters[0]):
        object_codec = filters[0]  # the source's object codec, carried over
    return build_array_metadata(
        shape=meta.shape, chunks=chunks, dtype=meta.dtype, compressor=compressor,
        fill_value=options.get("fill_value", meta.fill_value), order=options.get("order", meta.order),
        filters=filters, object_codec=object_codec,
        dimension_separator=options.get("dimension_separator", meta.dimension_separator),
    )


def _n_filters(meta: ArrayMetadata) -> int:
    return len(meta.filters or ())


def _itemsize(meta: ArrayMetadata) -> int:
    # object items are counted as 8-byte references plus an allowance for the objects
    return 64 if meta.dtype.kind == "O" else max(1, meta.dtype.itemsize)


def _same_store(a: Any, b: Any) -> bool:
    return a is b or build.store_identity(a) == build.store_identity(b)


def rechunk(source: Any, target_chunks: Any, max_mem: int | str, target_store: Any,
            target_options: dict | None = None, temp_store: Any = None, temp_options: dict | None = None, *,
            overwrite: bool = False, max_stages: int = 4, storage_options: dict | None = None) -> Rechunked:
    """Plan rechunking ``source`` into ``target_store`` with chunks ``target_chunks``,
    each task holding at most ``max_mem`` (bytes, or a string such as ``"1GB"``).

    rechunker's signature and meaning: ``source`` a zarrflow Array or Group (or a
    path/URL/store of one); ``target_chunks`` a tuple (-1/None: the whole axis), a dict
    ``{dimension name: length}`` for arrays with ``_ARRAY_DIMENSIONS``, or for a group
    ``{array name: chunks}`` (arrays not named, and ``None`` values, are copied with
    their chunks); ``target_options``/``temp_options`` creation arguments (compressor,
    filters, ...) for the target and the intermediates, per array for a group when
    keyed by array name. Attributes, fill value and dtype are carried over.

    Nothing is written here: the returned :class:`Rechunked` prints its plan and runs
    it with ``.execute()``. Raises ``ValueError`` (``RechunkPlanError`` for the
    budget) before writing anything for: chunks with the wrong number of dimensions or
    lengths < 1, a budget too small (naming the smallest that works), a plan needing
    intermediates without ``temp_store``, a target that exists (unless ``overwrite``,
    or it holds an unfinished run of this same plan, which ``execute`` resumes), and a
    target or temp store that is the source's.
    """
    mem = parse_bytes(max_mem) if isinstance(max_mem, str) else max_mem
    if not isinstance(mem, (int, float)) or isinstance(mem, bool) or mem <= 0:
        raise ValueError(f"max_mem must be a positive number of bytes or a string like '1GB', got {max_mem!r}")
    mem = int(mem)
    src = _as_source(source)
    if target_store is None:
        raise ValueError("rechunk() needs a target_store (a path, URL or store)")
    tstore = normalize_store_arg(target_store, mode="a", storage_options=storage_options)
    xstore = None if temp_store is None else normalize_store_arg(temp_store, mode="a",
                                                                 storage_options=storage_options)
    if _same_store(tstore, src.store):
        raise ValueError("target_store is the source's store: rechunk() writes a new array; give another "
                         "store or path")
    if xstore is not None and (_same_store(xstore, src.store) or _same_store(xstore, tstore)):
        raise ValueError("temp_store must differ from the source's store and from target_store")
    target_options = target_options or {}
    temp_options = temp_options or {}

    if isinstance(src, Group):
        members = sorted(_array_paths(src))
        groups = [""] + sorted(_group_paths(src))
        if isinstance(target_chunks, dict):
            unknown = sorted(set(target_chunks) - set(members))
            if unknown:
                raise ValueError(f"target_chunks names arrays {unknown} that the source group does not hold "
                                 f"(it holds {members})")
            chunk_of = dict(target_chunks)
        else:
            raise TypeError("for a group source, target_chunks must be a dict {array name: chunks}")
        pairs = [(name, src[name], chunk_of.get(name)) for name in members]
    else:
        groups = []
        if isinstance(target_chunks, dict) and not src.attrs.get("_ARRAY_DIMENSIONS"):
            raise ValueError("target_chunks is a dict, but the source is an array without _ARRAY_DIMENSIONS; "
                             "give a tuple of chunk lengths")
        members = []
        pairs = [("", src, target_chunks)]

    jobs = []
    for index, (name, array, chunks) in enumerate(pairs):
        chunks = _normalize_target_chunks(array, chunks, name)
        t_opts = _options_for(target_options, name, set(members), "target_options")
        x_opts = _options_for(temp_options, name, set(members), "temp_options")
        target_meta = _array_meta(array, chunks, t_opts)
        smeta = array.layout.metadata
        temp_probe = _array_meta(array, chunks, {**t_opts, **x_opts})
        plan = plan_array(smeta.shape, _itemsize(smeta), smeta.chunks, chunks, mem,
                          source_filters=_n_filters(smeta), target_filters=_n_filters(target_meta),
                          temp_filters=_n_filters(temp_probe), max_stages=max_stages if xstore is not None else 1)
        if xstore is None and max_stages > 1:
            staged = plan_array(smeta.shape, _itemsize(smeta), smeta.chunks, chunks, mem,
                                source_filters=_n_filters(smeta), target_filters=_n_filters(target_meta),
                                temp_filters=_n_filters(temp_probe), max_stages=max_stages)
            if len(staged.stages) > 1:
                what = f"array {'/' + name!r}" if name else "the array"
                raise ValueError(
                    f"rechunking {what} {smeta.shape} from {smeta.chunks} to {chunks} in max_mem="
                    f"{format_bytes(mem)} is best done in {len(staged.stages)} stages through intermediates "
                    f"{list(staged.intermediate_chunks)} (read {format_bytes(staged.bytes_read)}, write "
                    f"{format_bytes(staged.bytes_written)}); give a temp_store for them, or pass max_stages=1 to "
                    f"read the source directly ({format_bytes(plan.bytes_read)} read)")
        temp_paths = [f"{TEMP_ROOT}/{index}/stage-{s.index}" for s in plan.stages[:-1]]
        temp_metas = [_array_meta(array, s.target_chunks, {**t_opts, **x_opts}) for s in plan.stages[:-1]]
        jobs.append(_Job(index, name, array, plan, name, target_meta, temp_paths, temp_metas,
                         write_empty_chunks=t_opts.get("write_empty_chunks", True)))

    rechunked = Rechunked(src, jobs, tstore, xstore, mem, overwrite, False, groups)
    recorded = RechunkRecord(tstore).read_plan()
    if recorded is not None and not overwrite:
        if recorded != _roundtrip(rechunked.document()):
            raise ValueError("target_store holds an unfinished rechunk of a different plan (its record is "
                             f"{RechunkRecord(tstore).plan_key!r}); pass overwrite=True to start again")
        rechunked.resuming = True
    elif not overwrite:
        for exists, error in ((contains_array, ContainsArrayError), (contains_group, ContainsGroupError)):
            if exists(tstore, ""):
                exc = error("")
                kind = "an array" if error is ContainsArrayError else "a group"
                exc.args = (f"target_store already holds {kind} at its root; pass overwrite=True to replace it",)
                raise exc
    return rechunked


def _roundtrip(document: dict) -> dict:
    return json.loads(json.dumps(document, sort_keys=True))


def _array_paths(group: Group, prefix: str = "") -> list[str]:
    out = []
    for name, node in group.items():
        path = _join(prefix, name)
        if isinstance(node, Group):
            out.extend(_array_paths(node, path))
        else:
            out.append(path)
    return out


def _group_paths(group: Group, prefix: str = "") -> list[str]:
    out = []
    for name, node in group.groups():
        path = _join(prefix, name)
        out.append(path)
        out.extend(_group_paths(node, path))
    return out


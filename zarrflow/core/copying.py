"""``copy``, ``copy_all`` and ``copy_store``: move data between hierarchies.

``copy``/``copy_all`` copy groups and arrays between zarrflow and h5py hierarchies
(either side), decoding and re-encoding the data, slab by slab: a slab is one or
more whole rows of destination chunks, or a row cut at chunk boundaries when one
row would exceed ``max_slab_bytes``, so memory stays bounded whatever the array's
size. ``copy_store`` copies
the raw stored bytes between two stores, in batched ``getitems``/``setitems`` calls,
without decoding anything.

The log lines and the returned ``(n_copied, n_skipped, n_bytes_copied)`` are those of
zarr-python 2.18. h5py is never imported here: h5py objects are recognised by their
module name.

Serial here: the engine never imports the Dask layer. ``copy``/``copy_all`` take a
``data_copy`` object that, when given, takes over copying the arrays' data (the
public face passes the Dask layer's ``ParallelArrayCopy`` for ``parallel=True``;
see ``zarrflow/copying.py``).

Failure: with ``if_exists='raise'``, every conflict is looked for before the first
write (the source tree is walked as the copy would walk it; ``copy_store`` lists the
destination once), so a refused copy changes nothing - zarr 2 would have copied the
members before the conflict. An array whose data copy fails part way is removed
again when the copy created it.
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from zarrflow.core.hierarchy import Group, group
from zarrflow.core.slabs import chunk_slabs
from zarrflow.errors import CopyError
from zarrflow.storage import normalize_storage_path
from zarrflow.storage.base import Store, getitems_with_contexts
from zarrflow.storage.kvstore import KVStore, is_mapping_like
from zarrflow.storage.memory import MemoryStore
from zarrflow.storage.normalize import normalize_store_arg

__all__ = ["IF_EXISTS", "IF_EXISTS_STORE", "LogWriter", "copy", "copy_all", "copy_store", "describe_copy",
           "log_summary", "open_store", "store_key_pairs"]

#: Default upper bound on the bytes of one slab copied by ``copy``.
MAX_SLAB_BYTES = 64 * 2**20
#: Default upper bound on the bytes of one batch of values copied by ``copy_store``.
MAX_BATCH_BYTES = 64 * 2**20
#: ``copy_store`` batch sizes (number of keys): the first in each directory, and the ceiling.
_FIRST_BATCH, _MAX_BATCH = 4, 4096

#: ``if_exists`` choices of ``copy``/``copy_all``, and of ``copy_store``.
IF_EXISTS = ("raise", "replace", "skip", "skip_initialized")
IF_EXISTS_STORE = ("raise", "replace", "skip")


# --- logging ---------------------------------------------------------------------------


class LogWriter:
    """``log`` as zarr 2 takes it: None, a callable, a file path or a file-like object."""

    def __init__(self, log: Any):
        self.func: Callable[..., Any] | None = None
        self.file: Any = None
        self.owns_file = False
        if log is None:
            pass
        elif callable(log):
            self.func = log
        elif isinstance(log, str):
            self.file = builtins.open(log, mode="w")
            self.owns_file = True
        elif hasattr(log, "write"):
            self.file = log
        else:
            raise TypeError(f"log must be a callable function, file path or file-like object, found {log!r}")

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.owns_file:
            self.file.close()

    def __call__(self, message: str) -> None:
        if self.file is not None:
            print(message, file=self.file)
            if hasattr(self.file, "flush"):
                self.file.flush()
        elif self.func is not None:
            self.func(message)


def log_summary(log: LogWriter, dry_run: bool, n_copied: int, n_skipped: int, n_bytes: int) -> None:
    message = ("dry run: " if dry_run else "all done: ") + f"{n_copied:,} copied, {n_skipped:,} skipped"
    if not dry_run:
        message += f", {n_bytes:,} bytes copied"
    log(message)


# --- copy_store ------------------------------------------------------------------------


def open_store(store: Any, mode: str) -> Store:
    """The Store a copy reads (mode 'r') or writes (mode 'a'): a Store, any mapping (a
    read-only one is copied into a read-only KVStore), or a path/URL."""
    if isinstance(store, Mapping) and not isinstance(store, Store) and not is_mapping_like(store):
        store = KVStore(dict(store), read_only=True)
    return normalize_store_arg(store, mode=mode, default=MemoryStore)


def _patterns(value: Any, flags: int) -> list[re.Pattern]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return [re.compile(v, flags) for v in value]


def store_key_pairs(src: Store, source_path: str = "", dest_path: str = "", excludes: Any = None,
                    includes: Any = None, flags: int = 0) -> list[tuple[str, str]]:
    """``(source key, destination key)`` for every key ``copy_store`` copies: the keys
    under ``source_path`` that no ``excludes`` pattern matches, or that an ``includes``
    pattern matches too, moved from under ``source_path`` to under ``dest_path``."""
    source_path = normalize_storage_path(source_path)
    dest_path = normalize_storage_path(dest_path)
    src_prefix = source_path + "/" if source_path else ""
    dst_prefix = dest_path + "/" if dest_path else ""
    exclude_res = _patterns(excludes, flags)
    include_res = _patterns(includes, flags)

    def wanted(key: str) -> bool:
        if any(p.search(key) for p in exclude_res):
            return any(p.search(key) for p in include_res)
        return True

    return [(k, dst_prefix + k[len(src_prefix):]) for k in src.keys_under(source_path)
            if k.startswith(src_prefix) and wanted(k)]


def describe_copy(key: str, dest_key: str) -> str:
    """How a log line names a copied key: ``key``, or ``key -> dest_key`` when it moves."""
    return key if dest_key == key else f"{key} -> {dest_key}"


def copy_store(source: Any, dest: Any, source_path: str = "", dest_path: str = "", excludes: Any = None,
               includes: Any = None, flags: int = 0, if_exists: str = "raise", dry_run: bool = False,
               log: Any = None) -> tuple[int, int, int]:
    """Copy the stored bytes of ``source`` (under ``source_path``) into ``dest`` (under
    ``dest_path``) without decoding them, preserving every setting and attribute.

    ``excludes``/``includes`` are regular expressions searched in source keys: an
    excluded key is skipped unless an include also matches it. ``if_exists``:
    'raise' (CopyError naming a key already in ``dest``, found before anything is
    written, so nothing is copied), 'replace' or 'skip'. ``dry_run`` logs what would happen and writes
    nothing. ``log``: a callable, a file path or a file-like object.

    Keys are read and written in batches (``getitems``/``setitems``) of keys of one
    directory, sized from the largest value seen there to hold about 64 MiB
    (``MAX_BATCH_BYTES``). Returns ``(n_copied, n_skipped, n_bytes_copied)``.
    """
    src = open_store(source, "r")
    dst = open_store(dest, "a")
    if if_exists not in IF_EXISTS_STORE:
        raise ValueError(f"if_exists must be one of {list(IF_EXISTS_STORE)!r}; found {if_exists!r}")
    pairs = store_key_pairs(src, source_path, dest_path, excludes, includes, flags)
    if if_exists == "raise" and pairs:  # every conflict before the first write: one listing
        npath = normalize_storage_path(dest_path)
        there = set(dst.keys_under(npath)) | ({npath} if npath and npath in dst else set())
        conflict = next((d for _, d in pairs if d in there), None)
        if conflict is not None:
            raise CopyError(f"key {conflict!r} exists in destination")
    dest_of = dict(pairs)
    keys = [k for k, _ in pairs]
    n_copied = n_skipped = n_bytes = 0
    # Batches never span two directories: values in one directory (one array's chunks)
    # have similar sizes, so the largest seen there sizes the next batch; each new
    # directory starts small again, and batches at most double.
    directory, batch_size, largest = None, _FIRST_BATCH, 1
    with LogWriter(log) as write_log:
        pos = 0
        while pos < len(keys):
            here = keys[pos].rpartition("/")[0]
            if here != directory:
                directory, batch_size, largest = here, _FIRST_BATCH, 1
            end = pos + 1
            while end < len(keys) and end - pos < batch_size and keys[end].rpartition("/")[0] == here:
                end += 1
            batch = keys[pos:end]
            pos = end
            to_copy: dict[str, str] = {}  # source key -> dest key
            conflict = None
            for key in batch:
                dest_key = dest_of[key]
                descr = describe_copy(key, dest_key)
                if if_exists != "replace" and dest_key in dst:
                    if if_exists == "raise":
                        conflict = dest_key
                        break
                    write_log(f"skip {descr}")
                    n_skipped += 1
                    continue
                write_log(f"copy {descr}")
                to_copy[key] = dest_key
                n_copied += 1
            if to_copy and not dry_run:
                wanted = list(to_copy)
                values = getitems_with_contexts(src, wanted)
                missing = [k for k in to_copy if k not in values]
                if missing:
                    raise KeyError(f"key {missing[0]!r} vanished from the source store during the copy")
                n_bytes += sum(len(v) for v in values.values())
                largest = max(largest, *(len(v) for v in values.values()))
                dst.setitems({to_copy[k]: v for k, v in values.items()})
                del values
            batch_size = max(1, min(_MAX_BATCH, 2 * batch_size, MAX_BATCH_BYTES // largest))
            if conflict is not None:
                raise CopyError(f"key {conflict!r} exists in destination")
        log_summary(write_log, dry_run, n_copied, n_skipped, n_bytes)
    return n_copied, n_skipped, n_bytes


# --- copy / copy_all -------------------------------------------------------------------


def _is_h5py(obj: Any) -> bool:
    return obj is not None and type(obj).__module__.startswith("h5py.")


def _json_value(value: Any) -> Any:
    """An h5py attribute value as JSON can hold it (numpy scalars/arrays, bytes)."""
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()] if value.dtype.kind in "OSU" else value.tolist()
    if isinstance(value, np.generic):
        return _json_value(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _source_attrs(source: Any) -> dict:
    if _is_h5py(source):
        return {k: _json_value(v) for k, v in source.attrs.items()}
    attrs = source.attrs
    return attrs.asdict() if hasattr(attrs, "asdict") else dict(attrs)


def _copy_data(source: Any, ds: Any, max_bytes: int) -> None:
    shape = tuple(ds.shape)
    chunks = tuple(ds.chunks) if ds.chunks else shape
    for sel in chunk_slabs(shape, chunks, max(1, np.dtype(ds.dtype).itemsize), max_bytes):
        ds[sel if sel else Ellipsis] = source[sel if sel else ()]


class _Copier:
    """One ``copy``/``copy_all`` call: its options, its log and its counts."""

    def __init__(self, log: LogWriter, shallow: bool, without_attrs: bool, if_exists: str, dry_run: bool,
                 max_slab_bytes: int, create_kws: dict, data_copy: Any = None):
        self.log = log
        #: an object gathering array data to copy elsewhere (the Dask layer's
        #: ``ParallelArrayCopy``), or None: data are copied here, serially
        self.parallel = data_copy
        #: (group, name) of arrays created by this copy: removed again if the parallel data copy fails
        self.created: list[tuple[Any, str]] = []
        self.shallow = shallow
        self.without_attrs = without_attrs
        self.if_exists = if_exists
        self.dry_run = dry_run
        self.max_slab_bytes = max_slab_bytes
        self.create_kws = create_kws
        self.n_copied = self.n_skipped = self.n_bytes = 0

    def check_conflicts(self, source: Any, dest: Any, name: str | None, root: bool) -> None:
        """With ``if_exists='raise'``: raise the CopyError the copy would meet, before
        anything is written (walks the source as :meth:`copy` does; reads only)."""
        if self.if_exists != "raise" or dest is None:
            return
        name = self._name(source, name)
        if hasattr(source, "shape"):
            if name in dest:
                raise CopyError(f"an object {name!r} already exists in destination {dest.name!r}")
            return
        if not (root or not self.shallow) or name not in dest:
            return  # not copied, or a new group: nothing below it can conflict
        existing = dest[name]
        if hasattr(existing, "shape"):
            raise CopyError(f"an array {name!r} already exists in destination {dest.name!r}")
        for key in source.keys():
            self.check_conflicts(source[key], existing, key, root=False)

    @staticmethod
    def _name(source: Any, name: str | None) -> str:
        if name is None:
            name = (getattr(source, "name", None) or "").split("/")[-1]
            if not name:
                raise TypeError("source has no name, please provide the `name` parameter to indicate a "
                                "name to copy to")
        return name

    def copy(self, source: Any, dest: Any, name: str | None, root: bool) -> None:
        name = self._name(source, name)
        if hasattr(source, "shape"):
            self.copy_array(source, dest, name)
        elif root or not self.shallow:
            self.copy_group(source, dest, name)

    def _creation_kwargs(self, source: Any, dest: Any) -> dict:
        kws = dict(self.create_kws)
        kws.setdefault("chunks", source.chunks)
        source_h5py, dest_h5py = _is_h5py(source), _is_h5py(dest)
        if source_h5py and dest_h5py:
            kws.setdefault("compression", source.compression)
            kws.setdefault("compression_opts", source.compression_opts)
            kws.setdefault("shuffle", source.shuffle)
            kws.setdefault("fletcher32", source.fletcher32)
            kws.setdefault("fillvalue", source.fillvalue)
        elif source_h5py:
            kws.setdefault("fill_value", source.fillvalue)
        elif dest_h5py:
            kws.setdefault("compression", "gzip")
            kws.setdefault("compression_opts", 1)
            kws.setdefault("shuffle", False)
            kws.setdefault("fillvalue", source.fill_value)
        else:
            kws.setdefault("compressor", source.compressor)
            kws.setdefault("filters", source.filters)
            kws.setdefault("order", source.order)
            kws.setdefault("fill_value", source.fill_value)
        if source_h5py and kws.get("chunks") is None and not dest_h5py:
            kws["chunks"] = True  # a contiguous HDF5 dataset: let zarrflow pick chunks
        if dest_h5py and 0 in tuple(source.shape) and "chunks" not in self.create_kws:
            # HDF5 refuses chunks larger than an empty extent: store it contiguous.
            kws["chunks"] = None
            for k in ("compression", "compression_opts", "shuffle", "fletcher32"):
                if k not in self.create_kws:
                    kws.pop(k, None)
        return kws

    def copy_array(self, source: Any, dest: Any, name: str) -> None:
        exists = dest is not None and name in dest
        do_copy = True
        if exists:
            if self.if_exists == "raise":
                raise CopyError(f"an object {name!r} already exists in destination {dest.name!r}")
            if self.if_exists == "skip":
                do_copy = False
            elif self.if_exists == "skip_initialized":
                existing = dest[name]
                if hasattr(existing, "nchunks_initialized") and existing.nchunks_initialized == existing.nchunks:
                    do_copy = False
        label = f"{source.name} {source.shape} {source.dtype}"
        if not do_copy:
            self.log(f"skip {label}")
            self.n_skipped += 1
            return
        self.log(f"copy {label}")
        if not self.dry_run:
            kws = self._creation_kwargs(source, dest)
            if isinstance(dest, Group):
                # Build the array's metadata on a scratch group first: bad arguments fail
                # here, before an existing member is replaced.
                group().create_dataset("scratch", shape=source.shape, dtype=source.dtype, **kws)
            if exists:
                del dest[name]
            ds = dest.create_dataset(name, shape=source.shape, dtype=source.dtype, **kws)
            try:
                if self.parallel is not None and self.parallel.accepts(source, ds):
                    self.parallel.add(source, ds)
                    if not exists:
                        self.created.append((dest, name))
                else:
                    _copy_data(source, ds, self.max_slab_bytes)
                if not self.without_attrs:
                    attrs = _source_attrs(source)
                    if _is_h5py(dest):
                        attrs.pop("filters", None)
                    ds.attrs.update(attrs)
            except BaseException:
                if not exists:
                    try:
                        del dest[name]
                    except Exception:  # noqa: BLE001 - pragma: no cover - best effort; the original error matters
                        pass
                raise
            self.n_bytes += math.prod(ds.shape) * np.dtype(ds.dtype).itemsize
        self.n_copied += 1

    def copy_group(self, source: Any, dest: Any, name: str) -> None:
        exists_array = dest is not None and name in dest and hasattr(dest[name], "shape")
        if exists_array:
            if self.if_exists == "raise":
                raise CopyError(f"an array {name!r} already exists in destination {dest.name!r}")
            if self.if_exists == "skip":
                self.log(f"skip {source.name}")
                self.n_skipped += 1
                return
        self.log(f"copy {source.name}")
        if not self.dry_run:
            if exists_array:
                del dest[name]
            grp = dest.require_group(name)
            if not self.without_attrs:
                grp.attrs.update(_source_attrs(source))
        else:
            grp = dest.get(name, None) if dest is not None else None
            if grp is not None and hasattr(grp, "shape"):
                grp = None
        for key in source.keys():
            self.copy(source[key], grp, name=key, root=False)
        self.n_copied += 1

    def finish(self) -> None:
        """Run the gathered parallel data copy; if it fails, remove the arrays this
        copy created (as the serial copy removes a half-copied array)."""
        if self.parallel is None:
            return
        planned, self.parallel = self.parallel, None
        try:
            planned.run()
        except BaseException:
            for group_, name in reversed(self.created):
                try:
                    del group_[name]
                except Exception:  # noqa: BLE001 - pragma: no cover - best effort; the original error matters
                    pass
            raise

    def result(self) -> tuple[int, int, int]:
        self.finish()
        log_summary(self.log, self.dry_run, self.n_copied, self.n_skipped, self.n_bytes)
        return self.n_copied, self.n_skipped, self.n_bytes


def _check_args(dest: Any, if_exists: str) -> None:
    if not hasattr(dest, "create_dataset"):
        raise ValueError(f"dest must be a group, got {dest!r}")
    if if_exists not in IF_EXISTS:
        raise ValueError(f"if_exists must be one of {list(IF_EXISTS)!r}; found {if_exists!r}")
    if _is_h5py(dest) and if_exists == "skip_initialized":
        raise ValueError(f"{if_exists!r} can only be used when copying to zarr")


def copy(source: Any, dest: Any, name: str | None = None, shallow: bool = False, without_attrs: bool = False,
         log: Any = None, if_exists: str = "raise", dry_run: bool = False, *,
         max_slab_bytes: int = MAX_SLAB_BYTES, data_copy: Any = None, **create_kws: Any) -> tuple[int, int, int]:
    """Copy the array or group ``source`` (zarrflow or h5py) into the group ``dest``
    (zarrflow or h5py), as ``name`` (default: the source's name).

    ``shallow``: copy only the immediate children of a source group.
    ``without_attrs``: do not copy user attributes. ``if_exists``: what to do with
    an array already in ``dest``: 'raise' (CopyError), 'replace', 'skip', or
    'skip_initialized' (skip it if all its chunks are written). ``dry_run``: only log
    what would happen. ``log``: a callable, a file path or a file-like object.
    ``create_kws`` go to ``dest.create_dataset`` (by default the source's chunks,
    and for zarrflow sources its compressor, filters, order and fill value).

    Data are copied one slab (whole rows of destination chunks, or a row cut at
    chunk boundaries) at a time, holding at most about ``max_slab_bytes`` (or one
    chunk, if larger). Returns
    ``(n_copied, n_skipped, n_bytes_copied)`` and logs zarr 2's lines, e.g.
    ``copy /foo/bar/baz (100,) int64`` then
    ``all done: 3 copied, 0 skipped, 800 bytes copied``.

    ``data_copy``: an object with ``accepts(source, dest)``, ``add(source, dest)`` and
    ``run()`` that takes over the data of the arrays it accepts (the public face's
    ``parallel=True`` passes the Dask layer's); the arrays are still created here.
    """
    _check_args(dest, if_exists)
    with LogWriter(log) as write_log:
        copier = _Copier(write_log, shallow, without_attrs, if_exists, dry_run, max_slab_bytes, create_kws,
                         None if dry_run else data_copy)
        copier.check_conflicts(source, dest, name, root=True)
        try:
            copier.copy(source, dest, name=name, root=True)
        except Exception:
            copier.finish()  # what was planned before the failure is copied, as a serial copy would have
            raise
        return copier.result()


def copy_all(source: Any, dest: Any, shallow: bool = False, without_attrs: bool = False, log: Any = None,
             if_exists: str = "raise", dry_run: bool = False, *, max_slab_bytes: int = MAX_SLAB_BYTES,
             data_copy: Any = None, **create_kws: Any) -> tuple[int, int, int]:
    """Copy every child of the group ``source`` into the group ``dest``, then the
    source group's attributes onto ``dest`` (unless ``without_attrs`` or
    ``dry_run``). Options (``data_copy`` included) and result as :func:`copy`.
    """
    _check_args(dest, if_exists)
    with LogWriter(log) as write_log:
        copier = _Copier(write_log, shallow, without_attrs, if_exists, dry_run, max_slab_bytes, create_kws,
                         None if dry_run else data_copy)
        for key in source.keys():
            copier.check_conflicts(source[key], dest, key, root=False)
        try:
            for key in source.keys():
                copier.copy(source[key], dest, name=key, root=False)
        except Exception:
            copier.finish()  # what was planned before the failure is copied, as a serial copy would have
            raise
        copier.finish()
        if not dry_run and not without_attrs:
            dest.attrs.update(_source_attrs(source))
        return copier.result()

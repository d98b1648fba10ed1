"""Creating and opening arrays: ``create``, ``zeros``, ``open_array``, ``*_like`` ...

Every argument is normalised and the whole ``.zarray`` document is built (so bad
input fails) before anything in the store is touched; only then does ``overwrite``
remove what was there.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numcodecs.abc import Codec
from numcodecs.registry import codec_registry

import zarrflow.storage as storage
from zarrflow.core.array import Array
from zarrflow.core.chunks import normalize_chunks, normalize_shape
from zarrflow.core.codecs import is_object_codec
from zarrflow.core.normalize import (
    normalize_dimension_separator,
    normalize_dtype,
    normalize_fill_value,
    normalize_order,
)
from zarrflow.errors import (
    ArrayNotFoundError,
    BadCompressorError,
    ContainsArrayError,
    ContainsGroupError,
    ReadOnlyError,
)
from zarrflow.format import (
    ARRAY_META_KEY,
    GROUP_META_KEY,
    ArrayMetadata,
    GroupMetadata,
    get_codec,
)
from zarrflow.storage import (
    contains_array,
    contains_group,
    normalize_storage_path,
    rmdir,
)
from zarrflow.storage.base import Store
from zarrflow.storage.kvstore import KVStore
from zarrflow.storage.normalize import normalize_store_arg

_MODES = ("r", "r+", "a", "w", "w-", "x")


def _default_array_store() -> Store:
    return KVStore(dict())


def _prefix(path: str) -> str:
    return path + "/" if path else ""


def _normalize_compressor(compressor: Any, shape: tuple[int, ...]) -> Any:
    if shape == ():
        return None  # a 0-d array holds one item: nothing to compress
    if compressor == "default":
        return storage.default_compressor
    if compressor is None or compressor == "none" or (isinstance(compressor, (list, tuple)) and not compressor):
        return None  # zarr 2 treats any empty compressor as none
    if isinstance(compressor, dict):
        return get_codec(compressor, key="compressor")
    if not isinstance(compressor, Codec) and not hasattr(compressor, "get_config"):
        raise BadCompressorError(f"compressor must be a numcodecs codec, got {compressor!r}")
    return compressor


def _filter_codec(f: Any, index: int) -> Codec:
    """One entry of ``filters=``: a codec, or a codec config dict; anything else is refused
    with an error naming it."""
    if isinstance(f, dict):
        return get_codec(f, key="filters")
    if not hasattr(f, "get_config"):
        raise ValueError(f"filters[{index}] must be a numcodecs codec or a codec config dict, got {f!r}")
    return f


def _check_object_fill_value(fill_value: Any, dtype: np.dtype, object_codec: Any) -> None:
    """An object array's fill value is stored encoded by its object codec: refuse one the
    codec cannot encode (e.g. ``fill_value=5`` for ``dtype=str``) before anything is written."""
    if fill_value is None or not dtype.hasobject or object_codec is None:
        return
    item = fill_value.item() if isinstance(fill_value, np.generic) else fill_value
    try:
        object_codec.encode(np.array([item], dtype=object))
    except Exception as exc:
        raise ValueError(
            f"fill_value {fill_value!r} cannot be stored for an object array with codec "
            f"{object_codec.codec_id!r}: {exc}"
        ) from exc


def compression_kwargs(compressor: Any, fill_value: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """h5py-style arguments, as zarr 2 accepts them: ``compression`` (a codec id such as
    ``'zlib'``, a codec, ``None``/``'none'`` or ``'default'``) with ``compression_opts``
    (one argument, a tuple of arguments or a dict of keyword arguments), and
    ``fillvalue``. They are removed from ``kwargs``; ``compressor`` wins over
    ``compression`` (with a warning, as in zarr 2). Returns ``(compressor, fill_value)``."""
    if compressor != "default":
        for name in ("compression", "compression_opts"):
            if name in kwargs:
                warnings.warn(f"{name!r} keyword argument overridden by 'compressor'", stacklevel=3)
                del kwargs[name]
    elif "compression" in kwargs:
        compression = kwargs.pop("compression")
        opts = kwargs.pop("compression_opts", None)
        if compression is None or compression == "none":
            compressor = None
        elif compression == "default":
            compressor = "default"
        elif isinstance(compression, str):
            codec_cls = codec_registry.get(compression)
            if codec_cls is None:
                raise ValueError(f"compression {compression!r} is not a known codec id; known: "
                                 f"{sorted(codec_registry)}")
            try:
                if isinstance(opts, dict):
                    compressor = codec_cls(**opts)
                elif isinstance(opts, (list, tuple)):
                    compressor = codec_cls(*opts)
                elif opts is None:
                    compressor = codec_cls()
                else:
                    compressor = codec_cls(opts)
            except Exception as exc:
                raise ValueError(f"compression_opts {opts!r} are not valid for codec {compression!r}: {exc}") from exc
        elif hasattr(compression, "get_config"):
            compressor = compression
        else:
            raise ValueError(f"bad value for compression: {compression!r}")
    elif "compression_opts" in kwargs:
        raise ValueError(f"compression_opts {kwargs['compression_opts']!r} given without compression")
    if "fillvalue" in kwargs:
        fill_value = kwargs.pop("fillvalue")
    for name in [k for k in kwargs if k in H5PY_IGNORED]:
        warnings.warn(f"ignoring keyword argument {name!r}", UserWarning, stacklevel=3)
        del kwargs[name]
    return compressor, fill_value


#: h5py ``create_dataset`` arguments with no Zarr counterpart: zarr 2 ignores them with
#: a warning, so code written for h5py runs; any other unknown argument is an error.
H5PY_IGNORED = frozenset({"shuffle", "fletcher32", "scaleoffset", "maxshape", "track_times", "track_order",
                          "dcpl", "dapl", "efile_prefix", "virtual_prefix", "allow_unknown_filter",
                          "rdcc_nbytes", "rdcc_w0", "rdcc_nslots", "external"})


def build_array_metadata(
    shape: Any,
    chunks: Any = True,
    dtype: Any = None,
    compressor: Any = "default",
    fill_value: Any = None,
    order: str = "C",
    filters: Any = None,
    object_codec: Any = None,
    dimension_separator: str | None = None,
) -> ArrayMetadata:
    """Normalise creation arguments into a validated :class:`ArrayMetadata`."""
    dtype, object_codec = normalize_dtype(dtype, object_codec, filters=filters)
    if dtype.hasobject and dtype.kind != "O" and object_codec is None and not filters:
        # refused here, before anything is written, rather than at the first chunk write
        raise ValueError(f"missing object_codec for the object fields of dtype {dtype}")
    shape = normalize_shape(shape) + dtype.shape
    dtype = dtype.base
    chunks = normalize_chunks(chunks, shape, dtype.itemsize)
    order = normalize_order(order)
    fill_value = normalize_fill_value(fill_value, dtype)
    dimension_separator = normalize_dimension_separator(dimension_separator)
    compressor = _normalize_compressor(compressor, shape)
    filter_codecs = [_filter_codec(f, i) for i, f in enumerate(filters or [])]
    _check_object_fill_value(fill_value, dtype, object_codec)
    if object_codec is not None and not (filter_codecs and filter_codecs[0].get_config() == object_codec.get_config()):
        filter_codecs.insert(0, object_codec)
    return ArrayMetadata(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor.get_config() if compressor is not None else None,
        fill_value=fill_value,
        order=order,
        filters=tuple(f.get_config() for f in filter_codecs) or None,
        dimension_separator=dimension_separator,
    )


def ancestor_arrays(store: Store, path: str) -> list[str]:
    """Paths of the ancestors of ``path`` that hold an array (nothing may live inside one)."""
    segments = path.split("/") if path else []
    parents = ["/".join(segments[:i]) for i in range(len(segments))]
    return [p for p in parents if contains_array(store, p)]


def require_parent_groups(store: Store, path: str, overwrite: bool = False) -> None:
    """Make every ancestor of ``path`` a group (zarr 2 semantics): missing ones are
    created; an array in the way raises ContainsArrayError unless ``overwrite``, and
    that check happens before anything is written."""
    if not path:
        return
    blocking = ancestor_arrays(store, path)
    if blocking and not overwrite:
        raise ContainsArrayError(blocking[0])
    segments = path.split("/")
    for parent in ("/".join(segments[:i]) for i in range(len(segments))):
        if parent in blocking:
            rmdir(store, parent)
            store[_prefix(parent) + GROUP_META_KEY] = GroupMetadata().to_json()
        elif not contains_group(store, parent):
            store[_prefix(parent) + GROUP_META_KEY] = GroupMetadata().to_json()


def prepare_node(store: Store, path: str, overwrite: bool, chunk_store: Store | None, what: str) -> None:
    """Make room for a new array or group at ``path``: with ``overwrite`` remove what is
    there; otherwise refuse an existing array or group, or an array ancestor. Then make
    the parents groups. Callers validate the new metadata before calling this."""
    if getattr(store, "read_only", False):
        raise ReadOnlyError(f"cannot create {what} at {path!r}: the store is read-only")
    if overwrite:
        rmdir(store, path)
        if chunk_store is not None:
            rmdir(chunk_store, path)
    elif contains_array(store, path):
        raise ContainsArrayError(path)
    elif contains_group(store, path):
        raise ContainsGroupError(path)
    require_parent_groups(store, path, overwrite=overwrite)


def init_array(store: Store, meta: ArrayMetadata, path: str = "", overwrite: bool = False,
               chunk_store: Store | None = None) -> None:
    """Write ``.zarray`` for ``meta`` at ``path`` (and the parent groups).

    With ``overwrite`` whatever was at ``path`` is removed first, but only after the
    metadata has been built and validated by the caller.
    """
    prepare_node(store, path, overwrite, chunk_store, "an array")
    store[_prefix(path) + ARRAY_META_KEY] = meta.to_json()


def _uses_pickle(meta: ArrayMetadata) -> bool:
    return any(f.get("id") == "pickle" for f in meta.filters or ()) or (meta.compressor or {}).get("id") == "pickle"


def store_separator(store: Any, dimension_separator: str | None) -> str | None:
    """The chunk-key separator of a new array on ``store``: the one given, else the
    store's default. (A store's separator is only a default: zarrflow never rewrites
    keys, so an array on a nested store may name its chunks with '.'; zarr 2 refuses.)"""
    given = normalize_dimension_separator(dimension_separator)
    return getattr(store, "dimension_separator", None) if given is None else given


def create(
    shape: Any,
    chunks: Any = True,
    dtype: Any = None,
    compressor: Any = "default",
    fill_value: Any = 0,
    order: str = "C",
    store: Any = None,
    synchronizer: Any = None,
    overwrite: bool = False,
    path: str | None = None,
    chunk_store: Any = None,
    filters: Any = None,
    cache_metadata: bool = True,
    cache_attrs: bool = True,
    read_only: bool = False,
    object_codec: Any = None,
    dimension_separator: str | None = None,
    write_empty_chunks: bool = True,
    *,
    zarr_version: int | None = None,
    meta_array: Any = None,
    storage_options: dict | None = None,
    allow_pickle: bool | None = None,
    chunk_cache: Any = None,
    **kwargs: Any,
) -> Array:
    """Create an array (zarr 2's ``zarr.create``).

    ``store`` may be None (in memory), a path (a directory store) or any
    MutableMapping. Arrays created here with a Pickle object codec may decode it;
    pass ``allow_pickle`` to override.
    """
    compressor, fill_value = compression_kwargs(compressor, fill_value, kwargs)
    if kwargs:
        raise TypeError(f"create() got unexpected keyword arguments {sorted(kwargs)}")
    store = normalize_store_arg(store, mode="w" if overwrite else "a", storage_options=storage_options,
                                default=_default_array_store)
    chunk_store = normalize_store_arg(chunk_store, mode="a") if chunk_store is not None else None
    dimension_separator = store_separator(store, dimension_separator)
    meta = build_array_metadata(shape, chunks, dtype, compressor, fill_value, order, filters, object_codec,
                                dimension_separator)
    path = normalize_storage_path(path)
    init_array(store, meta, path=path, overwrite=overwrite, chunk_store=chunk_store)
    if allow_pickle is None:
        allow_pickle = _uses_pickle(meta)
    return Array(store, path=path, read_only=read_only, chunk_store=chunk_store, synchronizer=synchronizer,
                 cache_metadata=cache_metadata, cache_attrs=cache_attrs, write_empty_chunks=write_empty_chunks,
                 allow_pickle=allow_pickle, meta_array=meta_array, chunk_cache=chunk_cache)


def empty(shape: Any, **kwargs: Any) -> Array:
    """Create an array whose unwritten items have no defined fill value."""
    return create(shape=shape, fill_value=None, **kwargs)


def zeros(shape: Any, **kwargs: Any) -> Array:
    """Create an array filled with zeros."""
    return create(shape=shape, fill_value=0, **kwargs)


def ones(shape: Any, **kwargs: Any) -> Array:
    """Create an array filled with ones."""
    return create(shape=shape, fill_value=1, **kwargs)


def full(shape: Any, fill_value: Any, **kwargs: Any) -> Array:
    """Create an array filled with ``fill_value``."""
    return create(shape=shape, fill_value=fill_value, **kwargs)


def _shape_chunks(a: Any) -> tuple[Any, Any]:
    shape = getattr(a, "shape", None)
    chunks = getattr(a, "chunks", None)
    if chunks is not None and not isinstance(chunks, tuple):
        chunks = None
    if chunks is None and isinstance(shape, tuple) and shape and isinstance(getattr(a, "chunklen", None), int):
        chunks = (a.chunklen, *shape[1:])  # a bcolz carray: chunks along the first axis
    if chunks is not None and chunks and isinstance(chunks[0], tuple):  # dask: tuple of tuples
        chunks = tuple(max(c) if c else 1 for c in chunks)
    return shape, chunks


def array(data: Any, **kwargs: Any) -> Array:
    """Create an array filled with ``data`` (any array-like; zarr arrays and h5py
    datasets are copied chunk by chunk, in bounded memory)."""
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        data = np.asanyarray(data)
    if kwargs.get("dtype") is None:
        kwargs["dtype"] = data.dtype
    shape, chunks = _shape_chunks(data)
    kwargs["shape"] = shape
    if kwargs.get("chunks") is None:
        kwargs["chunks"] = chunks if chunks is not None else True
    read_only = kwargs.pop("read_only", False)
    z = create(**kwargs)
    z[...] = data
    z.read_only = read_only
    return z


def _like_args(a: Any, kwargs: dict) -> None:
    shape, chunks = _shape_chunks(a)
    if shape is not None:
        kwargs.setdefault("shape", shape)
    if chunks is not None:
        kwargs.setdefault("chunks", chunks)
    if hasattr(a, "dtype"):
        kwargs.setdefault("dtype", a.dtype)
    if isinstance(a, Array):
        kwargs.setdefault("compressor", a.compressor)
        kwargs.setdefault("order", a.order)
        filters = list(a.filters or [])
        if filters and is_object_codec(filters[0]) and a.dtype.hasobject:
            kwargs.setdefault("object_codec", filters.pop(0))
        kwargs.setdefault("filters", filters or None)
    else:
        kwargs.setdefault("compressor", "default")
        kwargs.setdefault("order", "C")


def empty_like(a: Any, **kwargs: Any) -> Array:
    """An empty array with the shape, chunks, dtype and codecs of ``a``."""
    _like_args(a, kwargs)
    return empty(**kwargs)


def zeros_like(a: Any, **kwargs: Any) -> Array:
    """A zero-filled array like ``a``."""
    _like_args(a, kwargs)
    return zeros(**kwargs)


def ones_like(a: Any, **kwargs: Any) -> Array:
    """A one-filled array like ``a``."""
    _like_args(a, kwargs)
    return ones(**kwargs)


def full_like(a: Any, **kwargs: Any) -> Array:
    """An array like ``a`` filled with ``fill_value`` (default: ``a``'s)."""
    _like_args(a, kwargs)
    if isinstance(a, Array):
        kwargs.setdefault("fill_value", a.fill_value)
    return full(**kwargs)


def open_like(a: Any, path: Any, **kwargs: Any) -> Array:
    """Open or create an array at ``path`` like ``a``."""
    _like_args(a, kwargs)
    if isinstance(a, Array):
        kwargs.setdefault("fill_value", a.fill_value)
    return open_array(path, **kwargs)


def _open_array_fill(fill_value: Any, dtype: Any) -> Any:
    """zarr 2's ``open_array`` casts the fill value to the requested dtype first (so the
    default 0 becomes '0' for a str dtype); ``create`` does not. Kept for identical files."""
    if fill_value is None:
        return None
    try:
        return np.array(fill_value, dtype=dtype)[()]
    except (TypeError, ValueError):
        return fill_value  # shorthands like 'array:i4': normalised later, as create() does


def open_array(
    store: Any = None,
    mode: str = "a",
    shape: Any = None,
    chunks: Any = True,
    dtype: Any = None,
    compressor: Any = "default",
    fill_value: Any = 0,
    order: str = "C",
    synchronizer: Any = None,
    filters: Any = None,
    cache_metadata: bool = True,
    cache_attrs: bool = True,
    path: str | None = None,
    object_codec: Any = None,
    chunk_store: Any = None,
    storage_options: dict | None = None,
    partial_decompress: bool = False,
    write_empty_chunks: bool = True,
    *,
    zarr_version: int | None = None,
    dimension_separator: str | None = None,
    meta_array: Any = None,
    allow_pickle: bool | None = None,
    chunk_cache: Any = None,
    **kwargs: Any,
) -> Array:
    """Open an array, creating it if the mode allows (zarr 2's ``open_array``).

    Modes: 'r' read only, must exist; 'r+' read/write, must exist; 'a' read/write,
    create if missing (default); 'w' create, replacing what was there; 'w-'/'x'
    create, fail if anything exists. ``partial_decompress=True`` is accepted and has
    no effect (small selections are always read in part; a UserWarning says so).
    ``chunk_cache``: an :class:`~zarrflow.LRUChunkCache` keeping decoded chunks for
    repeated reads (opt-in).
    """
    compressor, fill_value = compression_kwargs(compressor, fill_value, kwargs)
    if kwargs:
        raise TypeError(f"open_array() got unexpected keyword arguments {sorted(kwargs)}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    store = normalize_store_arg(store, mode=mode, storage_options=storage_options, default=_default_array_store)
    chunk_store = normalize_store_arg(chunk_store, mode=mode) if chunk_store is not None else None
    path = normalize_storage_path(path)
    exists = contains_array(store, path)

    def make(overwrite: bool) -> Array:
        if shape is None:
            raise TypeError(f"no array at {path or 'the store root'!r}; pass shape= to create one (mode {mode!r})")
        sep = store_separator(store, dimension_separator)
        if sep is None and isinstance(store, KVStore):
            sep = "."  # zarr 2's open_array records '.' for plain mappings (not for its stores)
        meta = build_array_metadata(shape, chunks, dtype, compressor, _open_array_fill(fill_value, dtype),
                                    order, filters, object_codec, sep)
        init_array(store, meta, path=path, overwrite=overwrite, chunk_store=chunk_store)
        return meta

    created = None
    if mode in ("r", "r+"):
        if not exists:
            if contains_group(store, path):
                raise ContainsGroupError(path)
            raise ArrayNotFoundError(path)
    elif mode == "w":
        created = make(overwrite=True)
    elif mode == "a":
        if not exists:
            if contains_group(store, path):
                raise ContainsGroupError(path)
            created = make(overwrite=False)
    else:  # w- / x
        if contains_group(store, path):
            raise ContainsGroupError(path)
        if exists:
            raise ContainsArrayError(path)
        created = make(overwrite=False)
    if allow_pickle is None:
        allow_pickle = created is not None and _uses_pickle(created)
    return Array(store, path=path, read_only=(mode == "r"), chunk_store=chunk_store, synchronizer=synchronizer,
                 cache_metadata=cache_metadata, cache_attrs=cache_attrs, write_empty_chunks=write_empty_chunks,
                 allow_pickle=allow_pickle, meta_array=meta_array, partial_decompress=partial_decompress,
                 chunk_cache=chunk_cache)

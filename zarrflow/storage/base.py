"""The one small base class every store derives from.

A store is a ``MutableMapping[str, bytes]`` plus a few hierarchy operations
(``listdir``, ``rmdir``, ``getsize``, ``rename``), batched ``getitems`` /
``setitems`` / ``delitems``, and capability flags the engine reads instead of
checking classes. Every default here works from the mapping methods alone, so a
new store only needs ``__getitem__``, ``__setitem__``, ``__delitem__``,
``__iter__`` and ``__len__``; it overrides the rest where it can do better.

Keys are checked with :func:`~zarrflow.storage.paths.normalize_key`; values may be
any bytes-like object and always come back as ``bytes``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from types import TracebackType
from typing import Any, TypedDict

import numpy as np

from zarrflow.errors import InvalidKeyError, ReadOnlyError, StoreError
from zarrflow.storage.paths import normalize_key, normalize_storage_path, prefix_for

__all__ = ["Store", "byte_view", "ensure_bytes"]

_DIMENSION_SEPARATORS = (None, ".", "/")


class Context(TypedDict, total=False):
    """Per-key information given to ``Store.getitems(keys, contexts=...)`` (zarr 2.18's
    store protocol). All keys are optional: ``meta_array`` is an array-like whose type
    the caller prefers for decoded data."""

    meta_array: Any


class ConstantMap(Mapping[Any, Any]):
    """A read-only mapping of each key in ``keys`` to the one ``constant``."""

    def __init__(self, keys: Iterable[Any], constant: Any) -> None:
        self._keys = tuple(keys)
        self._key_set = frozenset(self._keys)
        self._constant = constant

    def __getitem__(self, key: Any) -> Any:
        """``constant`` for a known key, else KeyError."""
        if key not in self._key_set:
            raise KeyError(key)
        return self._constant

    def __iter__(self) -> Iterator[Any]:
        """The keys, in the order given."""
        return iter(self._keys)

    def __len__(self) -> int:
        """Number of keys."""
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is one of the keys."""
        return key in self._key_set

    def __repr__(self) -> str:
        """As the dict it stands for (zarr 2's repr)."""
        return repr(dict(self))


def contexts_for(keys: Sequence[str], meta_array: Any = None) -> Mapping[str, Context]:
    """The ``contexts=`` argument of ``getitems`` for ``keys``, as zarr 2.18 builds it:
    ``{}`` for the default (a NumPy ``meta_array``, or none), else one shared Context
    ``{"meta_array": meta_array}`` for every key."""
    if meta_array is None or type(meta_array) is np.ndarray:
        return {}
    return ConstantMap(keys, {"meta_array": meta_array})


_TAKES_CONTEXTS: dict[type, bool] = {}


def _takes_contexts(store: Any) -> bool:
    """Whether ``type(store).getitems`` accepts ``contexts=`` (remembered per class)."""
    cls = type(store)
    known = _TAKES_CONTEXTS.get(cls)
    if known is None:
        try:
            params = inspect.signature(cls.getitems).parameters.values()
            known = any(p.name == "contexts" or p.kind is p.VAR_KEYWORD for p in params)
        except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
            known = False
        _TAKES_CONTEXTS[cls] = known
    return known


def batches_getitems(store: Any) -> bool:
    """Whether reads should go through ``store.getitems`` in batches: stores that
    declare ``supports_concurrent_getitems``, and user store classes (not zarrflow's
    own) that define their own ``getitems`` - zarr 2.18 always calls it, so such a
    store sees every read with its contexts."""
    if getattr(store, "supports_concurrent_getitems", False):
        return True
    cls = type(store)
    if cls.__module__.startswith("zarrflow."):
        return False
    own = getattr(cls, "getitems", None)
    return callable(own) and own is not getattr(Store, "getitems", None)


def getitems_with_contexts(store: Any, keys: Sequence[str], meta_array: Any = None,
                           contexts: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """``store.getitems(keys, contexts=...)`` as zarr 2.18 calls it (``contexts`` as
    given, else built from ``meta_array``), or ``store.getitems(keys)`` for a store
    whose ``getitems`` takes no ``contexts`` (stores written for the older protocol
    keep working)."""
    if _takes_contexts(store):
        return store.getitems(keys, contexts=contexts_for(keys, meta_array) if contexts is None else contexts)
    return store.getitems(keys)


def byte_view(value: Any) -> bytes | memoryview:
    """A flat, C-contiguous byte view of ``value`` for writing, copying only if needed.

    Accepts ``bytes`` (returned as is), ``bytearray``, ``memoryview`` and any other
    buffer-protocol object, numpy arrays included (non-contiguous ones are copied,
    datetime ones viewed as bytes). Strings, object arrays and non-buffers raise
    TypeError naming the type: a store holds bytes, never Python objects.
    """
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        raise TypeError(f"store values must be bytes-like, got str {value[:40]!r}")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"store values must be bytes-like, got a numpy array of dtype {value.dtype}")
        return memoryview(np.ascontiguousarray(value).reshape(-1).view(np.uint8))
    try:
        view = memoryview(value)
    except TypeError:
        raise TypeError(f"store values must be bytes-like, got {type(value).__name__}") from None
    if view.format == "O":
        raise TypeError(f"store values must be bytes-like, got a buffer of Python objects ({type(value).__name__})")
    if view.ndim == 1 and view.format in ("B", "b", "c") and view.c_contiguous:
        return view
    if view.c_contiguous:
        try:
            return view.cast("B")
        except TypeError:  # formats cast() refuses (structs): copy instead
            pass
    return memoryview(view.tobytes())


def ensure_bytes(value: Any) -> bytes:
    """``value`` as ``bytes``: returned unchanged when it already is, else copied once.

    See :func:`byte_view` for what is accepted.
    """
    if type(value) is bytes:
        return value
    return bytes(byte_view(value))


def direct_keys(keys: Iterable[str], path: str, recursive: bool = False) -> list[str]:
    """The keys of ``keys`` (all under ``path``) that sit directly under ``path``
    (every one when ``recursive``): what zarr 2's ``getsize`` sums."""
    if recursive:
        return list(keys)
    n = len(prefix_for(path))
    return [k for k in keys if "/" not in k[n:]]


def capability(store: Any, name: str) -> bool:
    """A store's answer to zarr 2's ``is_readable``/``is_writeable``/``is_listable``/
    ``is_erasable`` (a method in zarr 2 and zarrflow; a plain flag is read as it is;
    a store without one can)."""
    flag = getattr(store, name, True)
    return bool(flag() if callable(flag) else flag)


def store_getsize(store: Any, path: str = "", recursive: bool = False) -> int:
    """``store.getsize(path)``, with ``recursive=`` passed only to stores whose getsize
    takes it; for other stores a recursive size is summed from their keys (-1 when a
    value has no length, as zarr 2 reports an unknown size)."""
    if not recursive:
        return store.getsize(path)
    try:
        accepts = "recursive" in inspect.signature(store.getsize).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        accepts = False
    if accepts:
        return store.getsize(path, recursive=True)
    path = normalize_storage_path(path)
    prefix = prefix_for(path)
    total = 0
    for key in list(store):
        if key == path or key.startswith(prefix):
            try:
                total += len(store[key])
            except KeyError:  # pragma: no cover - removed concurrently
                pass
            except TypeError:
                return -1
    return total


def check_dimension_separator(separator: str | None) -> str | None:
    """Return ``separator`` if it is a valid Zarr v2 dimension separator, else raise ValueError."""
    if separator not in _DIMENSION_SEPARATORS:
        raise ValueError(f"dimension_separator must be None, '.' or '/', got {separator!r}")
    return separator


class Store(MutableMapping[str, bytes]):
    """Base of every store: a mapping of str keys to bytes, plus hierarchy operations.

    Subclasses implement the five mapping methods; every other method has a
    working default built on them. Capability flags are class attributes the
    engine reads (e.g. Array pickling keys off ``is_persistent``).
    """

    #: Values can be read (answered by :meth:`is_readable`).
    _readable: bool = True
    #: Values can be written (a store class that never writes sets False).
    _writeable: bool = True
    #: Keys can be listed (``__iter__``, ``listdir``).
    _listable: bool = True
    #: Keys can be deleted.
    _erasable: bool = True

    # zarr 2's capability methods
    def is_readable(self) -> bool:
        """True when values can be read."""
        return bool(self._readable)

    def is_writeable(self) -> bool:
        """True when this store class can write values (see also :attr:`read_only`)."""
        return bool(self._writeable)

    def is_listable(self) -> bool:
        """True when keys can be listed."""
        return bool(self._listable)

    def is_erasable(self) -> bool:
        """True when keys can be deleted."""
        return bool(self._erasable)
    #: Data outlives the process; such stores pickle only their parameters.
    is_persistent: bool = False
    #: Writers in several processes at once, each with its own handle (a pickled
    #: copy), are safe: the Dask layer refuses process or cluster writes otherwise.
    supports_multiprocess_writes: bool = False
    #: ``getitems`` is worth batching (remote stores); local stores let the
    #: Array read chunk by chunk inside its own thread pool.
    supports_concurrent_getitems: bool = False
    #: ``rename`` is native and cheap; otherwise it works by copy and delete.
    supports_rename: bool = False
    #: Default chunk-key separator for arrays created on this store (None: '.').
    dimension_separator: str | None = None

    _read_only: bool = False

    @property
    def _dimension_separator(self) -> str | None:
        """zarr 2's private name of :attr:`dimension_separator` (its tests and some
        store subclasses read it)."""
        return self.dimension_separator

    # --- mode and key checks ----------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """True when writes, deletes and renames raise :class:`ReadOnlyError`."""
        return self._read_only or not self.is_writeable()

    #: Lower-case every key and path (zarr 2's ``normalize_keys`` option).
    normalize_keys: bool = False
    #: Set by stores that can be closed; operations on a closed store raise StoreError.
    _closed: bool = False

    def _normalize_key(self, key: str) -> str:
        """Check and normalise one key (lower-cased when ``normalize_keys``)."""
        key = normalize_key(key)
        return key.lower() if self.normalize_keys else key

    def _normalize_path(self, path: str | bytes | None) -> str:
        """Check and normalise a hierarchy path ('' is the root)."""
        path = normalize_storage_path(path)
        return path.lower() if self.normalize_keys else path

    def _check_open(self, action: str, key: str) -> None:
        """Raise StoreError naming this store and ``key`` if the store was closed."""
        if self._closed:
            raise StoreError(f"{self!r} is closed: cannot {action} {key!r}")

    def _error(self, action: str, key: str, exc: BaseException) -> StoreError:
        """A StoreError naming this store, the action, the key and the backend's reason."""
        return StoreError(f"{self!r}: cannot {action} {key!r}: {exc}")

    def _check_writeable(self, key: str) -> None:
        """Raise ReadOnlyError naming this store and ``key`` if the store is read-only."""
        if self.read_only:
            raise ReadOnlyError(f"{self!r} is read-only: cannot modify {key!r}")

    def _rename_paths(self, src_path: str, dst_path: str) -> tuple[str, str]:
        """Normalise rename arguments; both must be non-root and must not contain each other."""
        src = self._normalize_path(src_path)
        dst = self._normalize_path(dst_path)
        if not src or not dst:
            raise InvalidKeyError(f"cannot rename the store root ({src_path!r} -> {dst_path!r})")
        if src == dst or dst.startswith(src + "/") or src.startswith(dst + "/"):
            raise InvalidKeyError(f"cannot rename {src!r} to {dst!r}: one contains the other")
        self._check_writeable(src)
        return src, dst

    # --- mapping ------------------------------------------------------------------------

    def __contains__(self, key: object) -> bool:
        """True when ``key`` holds a value; keys that cannot exist (not str, or not
        allowed) give False. Stores answer for the normalised key in :meth:`_contains`."""
        try:
            nkey = self._normalize_key(key)  # type: ignore[arg-type]
        except (InvalidKeyError, TypeError):
            return False
        return self._contains(nkey)

    def _contains(self, nkey: str) -> bool:
        """Whether the normalised key ``nkey`` holds a value (default: try to read it)."""
        try:
            self[nkey]
        except KeyError:
            return False
        return True

    def _identity(self) -> tuple[Any, ...] | None:
        """Where and how this store keeps its data (location and parameters), for
        equality and hashing; None (the default) means only the same object is equal."""
        return None

    def __eq__(self, other: object) -> bool:
        """Stores are equal when they are of one class with the same ``_identity()``
        (never a full read of both stores), else only when they are the same object."""
        if not isinstance(other, Store):
            return NotImplemented
        if self is other:
            return True
        mine = self._identity()
        return mine is not None and type(other) is type(self) and mine == other._identity()

    def __hash__(self) -> int:
        mine = self._identity()
        if mine is None:
            return object.__hash__(self)
        try:
            return hash((type(self), mine))
        except TypeError:  # an unhashable parameter: equal stores still hash equal
            return hash(type(self))

    def __repr__(self) -> str:
        """``ClassName()``; subclasses add their location."""
        return f"{type(self).__name__}()"

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path`` (recursively), in sorted order; ``''`` lists all.

        Useful for counting or copying an array's chunks without listing the
        whole store. A key equal to ``path`` itself is not included.
        """
        prefix = prefix_for(self._normalize_path(path))
        return sorted(k for k in self if k.startswith(prefix))

    # --- batches ------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` as a dict keyed as given; missing keys are left out.

        ``contexts`` is zarr 2.18's store protocol: a mapping of each key to a
        :class:`Context` (e.g. ``meta_array``). The engine always passes one (so stores
        written for zarr 2.18, whose ``getitems`` requires it, work); zarrflow's own
        stores accept it and need nothing from it."""
        out: dict[str, bytes] = {}
        for key in keys:
            try:
                out[key] = self[key]
            except KeyError:
                pass
        return out

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values. Every key and value is checked first, so a bad one
        stores nothing; a read-only store raises ReadOnlyError before writing."""
        checked = [(self._normalize_key(k), byte_view(v)) for k, v in items.items()]
        self._check_writeable(checked[0][0] if checked else "<no keys>")  # even when empty, as in zarr 2
        for key, value in checked:
            self[key] = value

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys; missing ones are ignored."""
        keys = [self._normalize_key(k) for k in keys]
        if keys:
            self._check_writeable(keys[0])
        for key in keys:
            try:
                del self[key]
            except KeyError:
                pass

    # --- hierarchy ----------------------------------------------------------------------

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path``: keys and "directories"."""
        prefix = prefix_for(self._normalize_path(path))
        n = len(prefix)
        return sorted({k[n:].split("/", 1)[0] for k in self if k.startswith(prefix)})

    def rmdir(self, path: str = "") -> None:
        """Remove every key under ``path``, recursively; ``''`` clears the store."""
        path = self._normalize_path(path)
        self._check_writeable(path)
        for key in self.keys_under(path):
            try:
                del self[key]
            except KeyError:  # pragma: no cover - removed concurrently
                pass

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Size in bytes, as zarr 2 counts it: of the value at key ``path``, else of the
        values *directly* under ``path`` (not those in deeper "directories"), else 0.
        ``recursive=True`` (a zarrflow extension) counts every value under ``path``."""
        path = self._normalize_path(path)
        if path:
            try:
                return len(self[path])
            except KeyError:
                pass
        total = 0
        for key in direct_keys(self.keys_under(path), path, recursive):
            try:
                total += len(self[key])
            except KeyError:  # pragma: no cover - removed concurrently
                pass
        return total

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move the key ``src_path`` and/or everything under it to ``dst_path``.

        Existing values at the destination keys are overwritten. Raises KeyError
        when there is nothing to move. This default copies then deletes.
        """
        src, dst = self._rename_paths(src_path, dst_path)
        moves = {k: dst + k[len(src) :] for k in self.keys_under(src)}
        if src in self:
            moves[src] = dst
        if not moves:
            raise KeyError(src_path)
        for old, new in moves.items():
            self[new] = self[old]
        for old in moves:
            del self[old]

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Release resources (files, connections); a no-op for most stores."""

    def __enter__(self) -> Store:
        """Use the store in a ``with`` block; it is closed on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()


def ensure_parent_dir(path: str) -> None:
    """Create the directory that will hold the file or database at ``path`` (stores
    that write a single file create its parent folders, as a DirectoryStore does)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)

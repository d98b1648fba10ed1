"""``Group``: a node of the hierarchy holding arrays and other groups (h5py-like API)."""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np

from zarrflow.core import creation
from zarrflow.core.array import Array, _store_type_name
from zarrflow.core.attrs import Attributes
from zarrflow.core.chunks import normalize_shape
from zarrflow.core.info import InfoReporter, type_name
from zarrflow.core.node import Node
from zarrflow.core.tree import TreeViewer
from zarrflow.errors import (
    ContainsArrayError,
    ContainsGroupError,
    GroupNotFoundError,
    ReadOnlyError,
)
from zarrflow.format import ATTRS_KEY, GROUP_META_KEY, GroupMetadata
from zarrflow.storage import (
    contains_array,
    contains_group,
    listdir,
    normalize_storage_path,
    rename,
    rmdir,
)
from zarrflow.storage.base import Store
from zarrflow.storage.memory import MemoryStore
from zarrflow.storage.normalize import normalize_store_arg

_MODES = ("r", "r+", "a", "w", "w-", "x")


class Group(Node, MutableMapping):
    """A group in a store: members are reached by name (``g['foo/bar']``, or
    ``g.foo`` for names that are Python identifiers), created with
    ``create_group``/``zeros``/``create_dataset``..., and listed in sorted order.

    A group is a mutable mapping of member names to members (as in zarr 2):
    ``keys()``, ``values()``, ``items()``, ``get()`` and ``in`` work as for a dict;
    ``g[name] = data`` creates (replacing) an array; ``del g[name]`` removes a member.
    """

    def __init__(self, store: Any, path: str | None = None, read_only: bool = False, chunk_store: Any = None,
                 cache_attrs: bool = True, synchronizer: Any = None, zarr_version: int | None = None,
                 *, meta_array: Any = None):
        if zarr_version not in (None, 2):
            raise ValueError(f"zarrflow implements Zarr format 2, got zarr_version={zarr_version!r}")
        self._store = normalize_store_arg(store, default=MemoryStore)
        self._chunk_store = None if chunk_store is None else normalize_store_arg(chunk_store)
        self._path = normalize_storage_path(path)
        self._key_prefix = self._path + "/" if self._path else ""
        self._read_only = bool(read_only)
        self._synchronizer = synchronizer
        self._meta_array = meta_array
        if contains_array(self._store, self._path):
            raise ContainsArrayError(self._path)
        try:
            GroupMetadata.from_json(self._store[self._key_prefix + GROUP_META_KEY],
                                    key=self._key_prefix + GROUP_META_KEY)
        except KeyError:
            raise GroupNotFoundError(self._path) from None
        self._attrs = Attributes(self._store, key=self._key_prefix + ATTRS_KEY, read_only=read_only,
                                 cache=cache_attrs, synchronizer=synchronizer)

    # --- properties ------------------------------------------------------------------

    @property
    def meta_array(self) -> Any:
        """The array-like whose type the arrays of this group return (zarr 2's
        ``meta_array``; a 0-d NumPy array by default)."""
        return np.empty(()) if self._meta_array is None else self._meta_array

    @property
    def name(self) -> str:
        """The h5py-style name: '/' for the root, else '/' + path."""
        return "/" + self._path if self._path else "/"

    @property
    def basename(self) -> str:
        """The last component of ``name``."""
        return self.name.split("/")[-1]

    @property
    def read_only(self) -> bool:
        """True when members and attributes cannot be changed."""
        return self._read_only

    @property
    def info(self) -> InfoReporter:
        """A report of the group: store, members, arrays and groups."""
        return InfoReporter(self.info_items)

    def info_items(self) -> list[tuple[str, str]]:
        """The rows of :attr:`info`."""
        items = [("Name", self.name), ("Type", f"{type(self).__module__}.{type(self).__name__}"),
                 ("Read-only", str(self.read_only))]
        if self._synchronizer is not None:
            items.append(("Synchronizer type", type_name(self._synchronizer)))
        items.append(("Store type", _store_type_name(self._store)))
        if self._chunk_store is not None:
            items.append(("Chunk store type", _store_type_name(self._chunk_store)))
        arrays, groups = self._member_kinds()
        items += [("No. members", str(len(arrays) + len(groups))), ("No. arrays", str(len(arrays))),
                  ("No. groups", str(len(groups)))]
        if arrays:
            items.append(("Arrays", ", ".join(arrays)))
        if groups:
            items.append(("Groups", ", ".join(groups)))
        return items

    # --- members ---------------------------------------------------------------------

    def _item_path(self, item: str) -> str:
        absolute = isinstance(item, str) and item.startswith("/")
        path = normalize_storage_path(item)
        if not absolute and self._path:
            path = self._key_prefix + path
        return path

    def _member_kinds(self) -> tuple[list[str], list[str]]:
        arrays, groups = [], []
        for name in sorted(listdir(self._store, self._path)):
            path = self._key_prefix + name
            if contains_array(self._store, path):
                arrays.append(name)
            elif contains_group(self._store, path):
                groups.append(name)
        return arrays, groups

    def _member_kwargs(self) -> dict:
        return dict(read_only=self._read_only, chunk_store=self._chunk_store, synchronizer=self._synchronizer,
                    cache_attrs=self._attrs.cache, meta_array=self._meta_array)

    def __iter__(self) -> Iterator[str]:
        arrays, groups = self._member_kinds()
        return iter(sorted(arrays + groups))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str):
            return False
        path = self._item_path(item)
        return contains_array(self._store, path) or contains_group(self._store, path)

    def __getitem__(self, item: str) -> Array | Group:
        path = self._item_path(item)
        if contains_array(self._store, path):
            return Array(self._store, path=path, **self._member_kwargs())
        if contains_group(self._store, path):
            return Group(self._store, path=path, **self._member_kwargs())
        raise KeyError(item)

    def __setitem__(self, item: str, value: Any) -> None:
        self.array(item, value, overwrite=True)

    def __delitem__(self, item: str) -> None:
        self._check_writable()
        if item not in self:
            raise KeyError(item)
        rmdir(self._store, self._item_path(item))
        if self._chunk_store is not None:
            rmdir(self._chunk_store, self._item_path(item))

    def __getattr__(self, item: str) -> Array | Group:
        # Members by attribute (``root.foo``); private and IPython probe names never
        # reach the store (and are not looked up before __init__ has run).
        if item.startswith("_") or "_store" not in self.__dict__:
            raise AttributeError(item)
        try:
            return self[item]
        except KeyError as exc:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute or member {item!r}") from exc

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(k for k in self if k.isidentifier() and not keyword.iskeyword(k))
        return sorted(names)

    def group_keys(self) -> Iterator[str]:
        """Names of the child groups."""
        return iter(self._member_kinds()[1])

    def groups(self) -> Iterator[tuple[str, Group]]:
        """``(name, group)`` pairs of the child groups."""
        return ((k, Group(self._store, path=self._key_prefix + k, **self._member_kwargs()))
                for k in self._member_kinds()[1])

    def array_keys(self, recurse: bool = False) -> Iterator[str]:
        """Names of the child arrays; with ``recurse``, of every descendant array too,
        depth first (each by its own name, as zarr 2 does)."""
        return (name for name, _ in self._array_iter(recurse, load=False))

    def arrays(self, recurse: bool = False) -> Iterator[tuple[str, Array]]:
        """``(name, array)`` pairs of the child arrays (``recurse``: as ``array_keys``)."""
        return ((name, node) for name, node in self._array_iter(recurse, load=True))

    def _array_iter(self, recurse: bool, load: bool) -> Iterator[tuple[str, Any]]:
        for name in sorted(listdir(self._store, self._path)):
            path = self._key_prefix + name
            if contains_array(self._store, path):
                yield name, (Array(self._store, path=path, **self._member_kwargs()) if load else None)
            elif recurse and contains_group(self._store, path):
                yield from Group(self._store, path=path, **self._member_kwargs())._array_iter(recurse, load)

    def _walk(self, base: str = "") -> Iterator[tuple[str, Array | Group]]:
        for name in self:
            node = self[name]
            rel = base + name
            yield rel, node
            if isinstance(node, Group):
                yield from node._walk(rel + "/")

    def visitvalues(self, func: Callable[[Any], Any]) -> Any:
        """Call ``func(member)`` on every descendant; stop at the first non-None result."""
        for _, node in self._walk():
            result = func(node)
            if result is not None:
                return result
        return None

    def visit(self, func: Callable[[str], Any]) -> Any:
        """Call ``func(relative_path)`` on every descendant; stop at the first non-None."""
        for name, _ in self._walk():
            result = func(name)
            if result is not None:
                return result
        return None

    visitkeys = visit

    def visititems(self, func: Callable[[str, Any], Any]) -> Any:
        """Call ``func(relative_path, member)`` on every descendant; stop at non-None."""
        for name, node in self._walk():
            result = func(name, node)
            if result is not None:
                return result
        return None

    def tree(self, expand: bool = False, level: int | None = None) -> TreeViewer:
        """A printable tree of the hierarchy below this group (HTML in notebooks)."""
        return TreeViewer(self, expand=expand, level=level)

    # --- creating members ------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyError(f"group {self.name!r} is read-only")
        if getattr(self._store, "metadata_read_only", False):
            raise ReadOnlyError(f"the metadata of group {self.name!r} is read-only (consolidated metadata)")

    def create_group(self, name: str, overwrite: bool = False) -> Group:
        """Create a child group; an existing member raises unless ``overwrite``."""
        self._check_writable()
        path = self._item_path(name)
        init_group(self._store, path=path, overwrite=overwrite, chunk_store=self._chunk_store)
        return Group(self._store, path=path, **self._member_kwargs())

    def create_groups(self, *names: str, **kwargs: Any) -> tuple[Group, ...]:
        """Create several child groups."""
        return tuple(self.create_group(n, **kwargs) for n in names)

    def require_group(self, name: str, overwrite: bool = False) -> Group:
        """The child group ``name``, created if missing."""
        path = self._item_path(name)
        if overwrite or not contains_group(self._store, path):
            self._check_writable()
            try:
                init_group(self._store, path=path, overwrite=overwrite, chunk_store=self._chunk_store)
            except ContainsGroupError:
                # another writer (thread, process) created it between the check and here
                if overwrite or not contains_group(self._store, path):
                    raise
        return Group(self._store, path=path, **self._member_kwargs())

    def require_groups(self, *names: str) -> tuple[Group, ...]:
        """Several child groups, created where missing."""
        return tuple(self.require_group(n) for n in names)

    def _create_array(self, factory: Callable[..., Array], name: str, **kwargs: Any) -> Array:
        self._check_writable()
        path = self._item_path(name)
        kwargs.setdefault("synchronizer", self._synchronizer)
        kwargs.setdefault("cache_attrs", self._attrs.cache)
        if self._meta_array is not None:
            kwargs.setdefault("meta_array", self._meta_array)
        return factory(store=self._store, path=path, chunk_store=self._chunk_store, **kwargs)

    def create_dataset(self, name: str, **kwargs: Any) -> Array:
        """h5py-style: create an array, from ``data=`` if given."""
        if "data" in kwargs:
            data = kwargs.pop("data")
            return self._create_array(creation.array, name, data=data, **kwargs)
        return self._create_array(creation.create, name, **kwargs)

    def require_dataset(self, name: str, shape: Any, dtype: Any = None, exact: bool = False,
                        **kwargs: Any) -> Array:
        """The array ``name``; created if missing, else checked for a compatible shape
        and dtype (``exact``: the same dtype, else one it can be cast to)."""
        path = self._item_path(name)
        if contains_array(self._store, path):
            a = Array(self._store, path=path, **self._member_kwargs())
            shape = normalize_shape(shape)
            if shape != a.shape:
                raise TypeError(f"shape do not match existing array; expected {a.shape}, got {shape}")
            want = np.dtype(dtype)
            if exact and want != a.dtype:
                raise TypeError(f"dtypes do not match exactly; expected {a.dtype}, got {want}")
            if not exact and not np.can_cast(want, a.dtype):
                raise TypeError(f"dtypes ({want}, {a.dtype}) cannot be safely cast")
            return a
        return self.create_dataset(name, shape=shape, dtype=dtype, **kwargs)

    def create(self, name: str, **kwargs: Any) -> Array:
        """Create an array (see ``zarrflow.create``)."""
        return self._create_array(creation.create, name, **kwargs)

    def empty(self, name: str, **kwargs: Any) -> Array:
        """Create an empty array."""
        return self._create_array(creation.empty, name, **kwargs)

    def zeros(self, name: str, **kwargs: Any) -> Array:
        """Create an array of zeros."""
        return self._create_array(creation.zeros, name, **kwargs)

    def ones(self, name: str, **kwargs: Any) -> Array:
        """Create an array of ones."""
        return self._create_array(creation.ones, name, **kwargs)

    def full(self, name: str, fill_value: Any, **kwargs: Any) -> Array:
        """Create an array filled with ``fill_value``."""
        return self._create_array(creation.full, name, fill_value=fill_value, **kwargs)

    def array(self, name: str, data: Any, **kwargs: Any) -> Array:
        """Create an array holding ``data``."""
        return self._create_array(creation.array, name, data=data, **kwargs)

    def empty_like(self, name: str, data: Any, **kwargs: Any) -> Array:
        """Create an empty array like ``data``."""
        return self._create_array(creation.empty_like, name, a=data, **kwargs)

    def zeros_like(self, name: str, data: Any, **kwargs: Any) -> Array:
        """Create an array of zeros like ``data``."""
        return self._create_array(creation.zeros_like, name, a=data, **kwargs)

    def ones_like(self, name: str, data: Any, **kwargs: Any) -> Array:
        """Create an array of ones like ``data``."""
        return self._create_array(creation.ones_like, name, a=data, **kwargs)

    def full_like(self, name: str, data: Any, **kwargs: Any) -> Array:
        """Create a filled array like ``data``."""
        return self._create_array(creation.full_like, name, a=data, **kwargs)

    def move(self, source: str, dest: str) -> None:
        """Move a member (and everything below it) from ``source`` to ``dest``."""
        self._check_writable()
        src, dst = self._item_path(source), self._item_path(dest)
        if not (contains_array(self._store, src) or contains_group(self._store, src)):
            raise ValueError(f"the source {source!r} does not exist")
        if contains_array(self._store, dst) or contains_group(self._store, dst):
            raise ValueError(f"the destination {dest!r} already exists")
        creation.require_parent_groups(self._store, dst)
        rename(self._store, src, dst)
        if self._chunk_store is not None:
            rename(self._chunk_store, src, dst)

    # --- Python protocol -------------------------------------------------------------

    def __repr__(self) -> str:
        r = f"<{type(self).__module__}.{type(self).__name__} {self.name!r}"
        return r + (" read-only>" if self._read_only else ">")

    __hash__ = Node.__hash__  # defining __eq__ would otherwise unset it

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Group) and self._store == other._store
                and self._read_only == other._read_only and self._path == other._path)

    def __reduce__(self):
        return (_rebuild_group, (self._store, self._path, self._read_only, self._chunk_store,
                                 self._attrs.cache, self._synchronizer, self._meta_array))

    def _ipython_key_completions_(self) -> list[str]:
        return sorted(self)


Group.__module__ = "zarrflow"


def _rebuild_group(store, path, read_only, chunk_store, cache_attrs, synchronizer, meta_array=None):
    return Group(store, path=path, read_only=read_only, chunk_store=chunk_store, cache_attrs=cache_attrs,
                 synchronizer=synchronizer, meta_array=meta_array)


def init_group(store: Store, path: str = "", overwrite: bool = False, chunk_store: Store | None = None) -> None:
    """Write ``.zgroup`` at ``path`` (and its parents); with ``overwrite`` remove what
    was there first, otherwise refuse to replace an array or a group."""
    creation.prepare_node(store, path, overwrite, chunk_store, "a group")
    store[(path + "/" if path else "") + GROUP_META_KEY] = GroupMetadata().to_json()


def group(store: Any = None, overwrite: bool = False, chunk_store: Any = None, cache_attrs: bool = True,
          synchronizer: Any = None, path: str | None = None, *, zarr_version: int | None = None,
          meta_array: Any = None) -> Group:
    """Create a group, or open the one already at ``path`` (zarr 2's ``zarr.group``)."""
    store = normalize_store_arg(store, default=MemoryStore)
    path = normalize_storage_path(path)
    if overwrite or not contains_group(store, path):
        init_group(store, path=path, overwrite=overwrite, chunk_store=chunk_store)
    return Group(store, path=path, read_only=False, chunk_store=chunk_store, cache_attrs=cache_attrs,
                 synchronizer=synchronizer, meta_array=meta_array)


def open_group(store: Any = None, mode: str = "a", cache_attrs: bool = True, synchronizer: Any = None,
               path: str | None = None, chunk_store: Any = None, storage_options: dict | None = None, *,
               zarr_version: int | None = None, meta_array: Any = None) -> Group:
    """Open a group, creating it if the mode allows (modes as in ``open_array``)."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    store = normalize_store_arg(store, mode=mode, storage_options=storage_options, default=MemoryStore)
    if chunk_store is not None:
        chunk_store = normalize_store_arg(chunk_store, mode=mode, storage_options=storage_options)
    path = normalize_storage_path(path)
    if mode in ("r", "r+"):
        if not contains_group(store, path):
            if contains_array(store, path):
                raise ContainsArrayError(path)
            raise GroupNotFoundError(path)
    elif mode == "w":
        init_group(store, path=path, overwrite=True, chunk_store=chunk_store)
    elif mode == "a":
        if not contains_group(store, path):
            if contains_array(store, path):
                raise ContainsArrayError(path)
            init_group(store, path=path, chunk_store=chunk_store)
    else:
        if contains_array(store, path):
            raise ContainsArrayError(path)
        if contains_group(store, path):
            raise ContainsGroupError(path)
        init_group(store, path=path, chunk_store=chunk_store)
    return Group(store, path=path, read_only=(mode == "r"), chunk_store=chunk_store, cache_attrs=cache_attrs,
                 synchronizer=synchronizer, meta_array=meta_array)

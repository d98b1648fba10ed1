"""RedisStore: keys and values in a Redis database, under one key prefix.

Every zarr key ``k`` is the Redis string ``f"{prefix}:{k}"``, so several stores can
share one database without seeing each other. Batches are one round trip each:
``getitems`` is one ``MGET`` (the store says ``supports_concurrent_getitems``, so
the Array hands it whole batches of chunk keys), ``setitems`` one ``MSET``,
``delitems`` one ``DEL``. Listing walks the prefix with ``SCAN`` (never ``KEYS``,
which blocks the server), so ``listdir``/``rmdir``/``len`` cost one pass over the
keys under the path asked for.

The ``redis`` package is imported when a store is created, not when zarrflow is.
Redis errors (a refused or dropped connection, a timeout, a server error) become
:class:`~zarrflow.errors.StoreError` naming the store, its endpoint and the key,
with the redis-py exception as ``__cause__``. The store pickles as its parameters:
the data stays in the server.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from zarrflow.errors import StoreError
from zarrflow.storage.base import Store, byte_view, check_dimension_separator, direct_keys
from zarrflow.storage.paths import prefix_for

__all__ = ["RedisStore"]

#: Keys asked for per SCAN step (a hint to the server, not a limit).
SCAN_COUNT = 1000
#: Keys per DEL / STRLEN / RENAME pipeline when walking a prefix.
WALK_BATCH = 1000

_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def _glob_escape(text: str) -> str:
    """``text`` with Redis glob metacharacters escaped, for a literal MATCH prefix."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def _import_redis() -> Any:
    """The ``redis`` module; ImportError saying how to get it when it is missing."""
    try:
        return importlib.import_module("redis")
    except ImportError as exc:
        raise ImportError("RedisStore needs the 'redis' package: pip install 'redis>=4'") from exc


def _open(prefix: str, dimension_separator: str | None, read_only: bool, kwargs: dict[str, Any]) -> RedisStore:
    """Rebuild a pickled RedisStore from its parameters."""
    return RedisStore(prefix, dimension_separator, read_only=read_only, **kwargs)


class RedisStore(Store):
    """Keys under ``prefix`` in a Redis database.

    ``**kwargs`` go to ``redis.Redis`` (``host``, ``port``, ``db``, ``password``,
    ``unix_socket_path``, timeouts...); they must be picklable for the store to be.
    ``dimension_separator`` is the default chunk-key separator of arrays created
    here; ``read_only=True`` makes every write raise ReadOnlyError.
    """

    is_persistent = True
    supports_multiprocess_writes = True
    supports_concurrent_getitems = True
    supports_rename = True

    def __init__(
        self,
        prefix: str = "zarr",
        dimension_separator: str | None = None,
        *,
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(prefix, str):
            raise TypeError(f"RedisStore prefix must be str, got {type(prefix).__name__} {prefix!r}")
        if kwargs.get("decode_responses"):
            raise ValueError("RedisStore stores bytes: decode_responses=True is not supported")
        redis = _import_redis()
        self._prefix = prefix
        self._kwargs = dict(kwargs)
        self.dimension_separator = check_dimension_separator(dimension_separator)
        self._read_only = bool(read_only)
        self._redis_error: type[Exception] = redis.exceptions.RedisError
        self.client = redis.Redis(**kwargs)
        self._key_prefix = f"{prefix}:"
        self._offset = len(self._key_prefix.encode("utf-8"))

    # --- identity and pickling --------------------------------------------------------

    @property
    def prefix(self) -> str:
        """The Redis key prefix ('zarr' stores key ``k`` as ``'zarr:k'``)."""
        return self._prefix

    @property
    def endpoint(self) -> str:
        """Where the server is, as a URL: ``redis://host:port/db`` or ``unix://path?db=n``."""
        ckw = self.client.connection_pool.connection_kwargs
        db = ckw.get("db", 0)
        if "path" in ckw:
            return f"unix://{ckw['path']}?db={db}"
        return f"redis://{ckw.get('host', 'localhost')}:{ckw.get('port', 6379)}/{db}"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the parameters: the data stays in the server."""
        return (_open, (self._prefix, self.dimension_separator, self._read_only, self._kwargs))

    def _identity(self) -> tuple[Any, ...]:
        """The server and database, prefix and separator."""
        return (self.endpoint, self._prefix, self.dimension_separator)

    def __repr__(self) -> str:
        """``RedisStore('zarr' at redis://127.0.0.1:6379/0)``."""
        return f"{type(self).__name__}({self._prefix!r} at {self.endpoint})"

    # --- keys and errors ----------------------------------------------------------------

    def _rkey(self, nkey: str) -> str:
        """Redis key of a normalised store key."""
        return self._key_prefix + nkey

    def _match(self, path: str) -> str:
        """SCAN pattern of every key under the normalised ``path``."""
        return _glob_escape(self._key_prefix + prefix_for(path)) + "*"

    @contextmanager
    def _errors(self, action: str, key: str, more: int = 0) -> Iterator[None]:
        """Turn redis errors raised inside into StoreError naming store, endpoint and key
        (and how many more keys the batch held)."""
        try:
            yield
        except self._redis_error as exc:
            others = f" and {more} more key{'s' if more > 1 else ''}" if more else ""
            raise StoreError(
                f"{self!r}: cannot {action} {key!r}{others}: {type(exc).__name__}: {exc}"
            ) from exc

    def _scan(self, path: str) -> list[str]:
        """Keys (store keys, unsorted) under the normalised ``path``; '' lists all."""
        offset = self._offset
        with self._errors("list", path):
            return [
                k[offset:].decode("utf-8")
                for k in self.client.scan_iter(match=self._match(path), count=SCAN_COUNT)
            ]

    # --- mapping --------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The value at ``key`` (one GET); KeyError when missing."""
        nkey = self._normalize_key(key)
        with self._errors("read", key):
            value = self.client.get(self._rkey(nkey))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        """Store ``value`` (any bytes-like object) with one SET."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        data = byte_view(value)
        with self._errors("write", key):
            self.client.set(self._rkey(nkey), data)

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; a prefix deletes everything under it; KeyError if neither exists."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        with self._errors("delete", key):
            if self.client.delete(self._rkey(nkey)):
                return
        if not self._delete_under(nkey):
            raise KeyError(key)

    def _contains(self, nkey: str) -> bool:
        """True when ``key`` holds a value (one EXISTS); keys that cannot exist give False."""
        with self._errors("look up", nkey):
            return bool(self.client.exists(self._rkey(nkey)))

    def __iter__(self) -> Iterator[str]:
        """Every key under the prefix, sorted (one SCAN pass)."""
        return iter(sorted(self._scan("")))

    def __len__(self) -> int:
        """Number of keys under the prefix (one SCAN pass)."""
        return len(self._scan(""))

    def clear(self) -> None:
        """Remove every key under this store's prefix (nothing else in the database)."""
        self.rmdir("")

    # --- batches ----------------------------------------------------------------------------

    def getitems(self, keys: Sequence[str], *, contexts: Mapping[str, Any] | None = None) -> dict[str, bytes]:
        """Values for ``keys`` (keyed as given) with one MGET; missing keys are left out."""
        keys = list(keys)
        if not keys:
            return {}
        rkeys = [self._rkey(self._normalize_key(k)) for k in keys]
        with self._errors("read", keys[0], len(keys) - 1):
            values = self.client.mget(rkeys)
        return {k: v for k, v in zip(keys, values) if v is not None}

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values with one MSET (atomic); a bad key or value stores nothing."""
        checked = {self._rkey(self._normalize_key(k)): byte_view(v) for k, v in items.items()}
        if not checked:
            return
        first = next(iter(checked))[len(self._key_prefix) :]
        self._check_writeable(first)
        with self._errors("write", first, len(checked) - 1):
            self.client.mset(checked)

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete many keys with one DEL; missing ones are ignored."""
        nkeys = [self._normalize_key(k) for k in keys]
        if not nkeys:
            return
        self._check_writeable(nkeys[0])
        with self._errors("delete", nkeys[0], len(nkeys) - 1):
            self.client.delete(*[self._rkey(k) for k in nkeys])

    # --- hierarchy ----------------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path``, recursively, sorted (SCAN on the path's prefix)."""
        return sorted(self._scan(self._normalize_path(path)))

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names of the direct children of ``path`` (SCAN on the path's prefix)."""
        path = self._normalize_path(path)
        n = len(prefix_for(path))
        return sorted({k[n:].split("/", 1)[0] for k in self._scan(path)})

    def _delete_under(self, path: str) -> int:
        """Delete every key under the normalised ``path``, in batched DELs; the count deleted."""
        keys = self._scan(path)
        deleted = 0
        with self._errors("remove", path):
            for i in range(0, len(keys), WALK_BATCH):
                deleted += self.client.delete(*[self._rkey(k) for k in keys[i : i + WALK_BATCH]])
        return deleted

    def rmdir(self, path: str = "") -> None:
        """Remove every key under ``path``; ``''`` removes everything under the prefix."""
        path = self._normalize_path(path)
        self._check_writeable(path)
        self._delete_under(path)

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes at key ``path`` (STRLEN), else of the values directly under it (every
        value under it when ``recursive``), else 0 (zarr 2's count)."""
        path = self._normalize_path(path)
        with self._errors("size", path):
            if path:
                pipe = self.client.pipeline(transaction=False)
                pipe.exists(self._rkey(path))
                pipe.strlen(self._rkey(path))
                exists, size = pipe.execute()
                if exists:
                    return int(size)
            keys = direct_keys(self._scan(path), path, recursive)
            total = 0
            for i in range(0, len(keys), WALK_BATCH):
                pipe = self.client.pipeline(transaction=False)
                for k in keys[i : i + WALK_BATCH]:
                    pipe.strlen(self._rkey(k))
                total += sum(pipe.execute())
            return total

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move key ``src_path`` and everything under it to ``dst_path`` with RENAME
        (no data copied), in one MULTI/EXEC transaction; destinations are overwritten."""
        src, dst = self._rename_paths(src_path, dst_path)
        moves = {k: dst + k[len(src) :] for k in self._scan(src)}
        with self._errors("rename", f"{src} -> {dst}"):
            if self.client.exists(self._rkey(src)):
                moves[src] = dst
            if not moves:
                raise KeyError(src_path)
            pipe = self.client.pipeline(transaction=True)
            for old, new in moves.items():
                pipe.rename(self._rkey(old), self._rkey(new))
            pipe.execute()

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections to the server (a later call reconnects)."""
        try:
            self.client.close()
        except self._redis_error:  # pragma: no cover - closing a broken connection
            pass

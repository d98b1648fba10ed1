"""ABSStore: zarr 2's Azure Blob Storage store, on the Azure SDK (``azure-storage-blob``).

Keys are blob names under ``prefix`` in one container; a ``ContainerClient`` is passed
as ``client=`` (zarr 2.18's way). The SDK is imported only when a store is built, so
``import zarrflow`` needs no Azure package (``pip install zarrflow[azure]``).
Not-found answers from the service are missing keys; any other error raises
:class:`~zarrflow.errors.StoreError` naming the store and the key.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from zarrflow.errors import StoreError
from zarrflow.storage.base import Store, check_dimension_separator, direct_keys, ensure_bytes
from zarrflow.storage.paths import normalize_storage_path, prefix_for

__all__ = ["ABSStore"]


def _sdk() -> tuple[Any, Any]:
    """``(azure.storage.blob, azure.core.exceptions)``, or ImportError saying what to install."""
    try:
        import azure.core.exceptions as exceptions  # noqa: PLC0415 - optional dependency
        import azure.storage.blob as blob  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the test environment has the SDK
        raise ImportError(
            "ABSStore needs the Azure SDK: pip install 'zarrflow[azure]' (azure-storage-blob)"
        ) from exc
    return blob, exceptions


class ABSStore(Store):
    """A store over the blobs of one Azure container (zarr 2's ``ABSStore``).

    ``client`` is an ``azure.storage.blob.ContainerClient``. zarr 2's older arguments
    (``container``, ``account_name``, ``account_key``, ``blob_service_kwargs``) still
    build one for ``https://<account>.blob.core.windows.net``, with zarr 2's
    FutureWarning. ``prefix`` is the "directory" inside the container that is the
    store root; ``dimension_separator`` the default chunk-key separator of arrays
    created here.
    """

    is_persistent = True
    #: Every key is its own blob, uploaded whole: writers in several processes are safe.
    supports_multiprocess_writes = True

    def __init__(self, container: str | None = None, prefix: str | None = "", account_name: str | None = None,
                 account_key: str | None = None, blob_service_kwargs: dict | None = None,
                 dimension_separator: str | None = None, client: Any = None) -> None:
        blob, _ = _sdk()
        self.prefix = normalize_storage_path(prefix)
        self.dimension_separator = check_dimension_separator(dimension_separator)
        if client is None:
            warnings.warn(
                "Providing 'container', 'account_name', 'account_key', and 'blob_service_kwargs'"
                "is deprecated. Provide and instance of 'azure.storage.blob.ContainerClient' "
                "'client' instead.", FutureWarning, stacklevel=2)
            if not container:
                raise ValueError("ABSStore needs client= (a ContainerClient) or container=")
            client = blob.ContainerClient(f"https://{account_name}.blob.core.windows.net/", container,
                                          credential=account_key, **(blob_service_kwargs or {}))
        self.client = client
        self._container = container
        self._account_name = account_name
        self._account_key = account_key

    # zarr 2's deprecated properties
    def _deprecated(self, name: str) -> Any:
        warnings.warn(f"The {name} property is deprecated and will be removed in a future version. "
                      "Get the property from 'ABSStore.client' instead.", FutureWarning, stacklevel=3)
        return getattr(self, "_" + name)

    @property
    def container(self) -> str | None:
        """The container name given to the deprecated constructor form."""
        return self._deprecated("container")

    @property
    def account_name(self) -> str | None:
        """The account name given to the deprecated constructor form."""
        return self._deprecated("account_name")

    @property
    def account_key(self) -> str | None:
        """The account key given to the deprecated constructor form."""
        return self._deprecated("account_key")

    # --- names ---------------------------------------------------------------------------------

    def _blob(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key_of(self, name: str) -> str:
        return name[len(self.prefix) + 1:] if self.prefix else name

    def _error(self, action: str, key: str, exc: BaseException) -> StoreError:
        return StoreError(f"{self!r}: cannot {action} {key!r}: {type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        name = getattr(self.client, "container_name", "?")
        return f"ABSStore(container={name!r}, prefix={self.prefix!r})"

    def __eq__(self, other: object) -> bool:
        """Equal to an ABSStore on the same container URL with the same prefix."""
        if not isinstance(other, Store):
            return NotImplemented
        return (isinstance(other, ABSStore) and self.prefix == other.prefix
                and (self.client is other.client or _url(self.client) == _url(other.client)))

    def __reduce__(self) -> tuple[Any, ...]:
        """Small pickles: the container URL and a shared-key credential rebuild the
        client where it is unpickled (another credential pickles the client itself)."""
        cred = getattr(self.client, "credential", None)
        account, key = getattr(cred, "account_name", None), getattr(cred, "account_key", None)
        client: Any = self.client
        if account is not None and key is not None and _url(self.client):
            client = (_url(self.client), account, key)
        return (_rebuild, (client, self.prefix, self.dimension_separator, self._read_only))

    __hash__ = Store.__hash__

    # --- mapping -------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """The blob's bytes; KeyError when there is no such blob."""
        nkey = self._normalize_key(key)
        _, exc_mod = _sdk()
        try:
            return self.client.download_blob(self._blob(nkey)).readall()
        except exc_mod.ResourceNotFoundError:
            raise KeyError(key) from None
        except exc_mod.AzureError as exc:
            raise self._error("read", nkey, exc) from exc

    def __setitem__(self, key: str, value: Any) -> None:
        """Upload ``value`` (bytes-like), replacing any blob of that name."""
        nkey = self._normalize_key(key)
        data = ensure_bytes(value)
        self._check_writeable(nkey)
        _, exc_mod = _sdk()
        try:
            self.client.upload_blob(self._blob(nkey), data, overwrite=True)
        except exc_mod.AzureError as exc:
            raise self._error("write", nkey, exc) from exc

    def __delitem__(self, key: str) -> None:
        """Delete the blob; KeyError when it does not exist."""
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        _, exc_mod = _sdk()
        try:
            self.client.delete_blob(self._blob(nkey))
        except exc_mod.ResourceNotFoundError:
            raise KeyError(key) from None
        except exc_mod.AzureError as exc:
            raise self._error("delete", nkey, exc) from exc

    def _contains(self, nkey: str) -> bool:
        _, exc_mod = _sdk()
        try:
            return bool(self.client.get_blob_client(self._blob(nkey)).exists())
        except exc_mod.AzureError as exc:
            raise self._error("look up", nkey, exc) from exc

    def _list(self, path: str = "") -> list[tuple[str, int]]:
        """``(key, size)`` of every blob under ``path`` (one listing)."""
        start = prefix_for(self._blob(path)) if (self.prefix or path) else None
        _, exc_mod = _sdk()
        try:
            return [(self._key_of(b.name), int(b.size or 0)) for b in self.client.list_blobs(name_starts_with=start)]
        except exc_mod.AzureError as exc:
            raise self._error("list", path or "<root>", exc) from exc

    def __iter__(self) -> Iterator[str]:
        """Every key, sorted (one listing)."""
        return iter(sorted(k for k, _ in self._list()))

    def __len__(self) -> int:
        return len(self._list())

    def keys_under(self, path: str = "") -> list[str]:
        """Every key under ``path`` (one listing with the blob-name prefix)."""
        npath = self._normalize_path(path)
        return sorted(k for k, _ in self._list(npath))

    # --- hierarchy -----------------------------------------------------------------------------

    def listdir(self, path: str = "") -> list[str]:
        """Names directly under ``path`` (one delimited listing)."""
        npath = self._normalize_path(path)
        start = prefix_for(self._blob(npath)) if (self.prefix or npath) else None
        _, exc_mod = _sdk()
        try:
            names = [item.name for item in self.client.walk_blobs(name_starts_with=start, delimiter="/")]
        except exc_mod.AzureError as exc:
            raise self._error("list", npath or "<root>", exc) from exc
        n = len(start or "")
        return sorted({name[n:].rstrip("/") for name in names if name[n:].rstrip("/")})

    def rmdir(self, path: str = "") -> None:
        """Delete every blob under ``path`` (``''``: the whole store)."""
        npath = self._normalize_path(path)
        self._check_writeable(npath or "<root>")
        _, exc_mod = _sdk()
        for key, _ in self._list(npath):
            try:
                self.client.delete_blob(self._blob(key))
            except exc_mod.ResourceNotFoundError:
                pass
            except exc_mod.AzureError as exc:
                raise self._error("delete", key, exc) from exc

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes of the blob ``path``, else of the blobs directly under it (every blob
        under it when ``recursive``), else 0 (zarr 2's count), from one listing."""
        npath = self._normalize_path(path)
        if npath:
            exact = self._list_exact(npath)
            if exact:
                return exact[0][1]
        sizes = dict(self._list(npath))
        return sum(sizes[k] for k in direct_keys(list(sizes), npath, recursive))

    def _list_exact(self, key: str) -> list[tuple[str, int]]:
        _, exc_mod = _sdk()
        try:
            props = self.client.get_blob_client(self._blob(key)).get_blob_properties()
        except exc_mod.ResourceNotFoundError:
            return []
        except exc_mod.AzureError as exc:
            raise self._error("size", key, exc) from exc
        return [(key, int(props.size))]

    def clear(self) -> None:
        """Delete every blob of the store."""
        self.rmdir()


def _url(client: Any) -> str | None:
    return getattr(client, "url", None)


def _rebuild(client: Any, prefix: str, dimension_separator: str | None, read_only: bool) -> ABSStore:
    """Unpickle an ABSStore (see ``ABSStore.__reduce__``)."""
    if isinstance(client, tuple):
        blob, _ = _sdk()
        url, account, key = client
        client = blob.ContainerClient.from_container_url(url, credential={"account_name": account, "account_key": key})
    store = ABSStore(client=client, prefix=prefix, dimension_separator=dimension_separator)
    store._read_only = read_only
    return store

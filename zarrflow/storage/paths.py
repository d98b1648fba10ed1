"""Store paths and keys: one normal form, checked at the edge.

A *path* names a node in a hierarchy ("", "foo", "foo/bar"); a *key* names one
value in a store ("foo/.zarray", "foo/0.0"). Both use '/' between segments, never
start or end with '/', never hold empty, '.' or '..' segments. Keys are relative and
never empty. Normalising here, once, is what keeps a key from escaping a
directory store's root and makes every store agree on what a key means.
"""

from __future__ import annotations

import re

from zarrflow.errors import InvalidKeyError

__all__ = ["join_path", "normalize_key", "normalize_storage_path", "prefix_for"]

# "C:\x", "C:/x" and "C:" are absolute (or drive-relative) Windows paths.
_DRIVE = re.compile(r"^[A-Za-z]:(?:[\\/]|$)")
_SLASHES = re.compile(r"/{2,}")


def _collapse(path: str) -> str:
    """Backslashes to '/', repeated '/' collapsed, leading and trailing '/' removed."""
    return _SLASHES.sub("/", path.replace("\\", "/")).strip("/")


def _check_segments(path: str, original: object) -> None:
    """Raise InvalidKeyError when ``path`` has a '.' or '..' segment."""
    if "." in path and any(seg in (".", "..") for seg in path.split("/")):
        raise InvalidKeyError(f"path {original!r} contains a '.' or '..' segment, which is not allowed")


def normalize_storage_path(path: str | bytes | None) -> str:
    """Return ``path`` in normal form, with zarr 2 semantics.

    ``None`` and empty give ``''``; bytes are decoded as UTF-8; backslashes become
    '/'; leading and trailing '/' are stripped and runs of '/' collapsed. A '.' or
    '..' segment raises :class:`InvalidKeyError` naming the path. Any other object is
    turned into its ``str()`` as zarr 2 does (a path object, a user's name class),
    except containers (list, tuple, dict, set), which raise TypeError.
    """
    if path is None:
        return ""
    original = path
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    elif isinstance(path, (list, tuple, dict, set, frozenset)):
        raise TypeError(f"a store path must be str, bytes or None, got {type(path).__name__} {path!r}")
    elif not isinstance(path, str):
        path = str(path)
    if not path:
        return ""
    path = _collapse(path)
    _check_segments(path, original)
    return path


#: Keys that are already normal: '/'-joined segments of word characters, '-' and '.',
#: each starting with a word character or '-', or with one '.' and then one of those
#: (so '.zarray' matches while '.' and '..' never do).
_PLAIN_KEY = re.compile(r"(?:\.?[\w\-][\w.\-]*)(?:/\.?[\w\-][\w.\-]*)*")


def normalize_key(key: str) -> str:
    """Return store key ``key`` in normal form, or raise.

    Like :func:`normalize_storage_path`, and further: a key must be a ``str``
    (TypeError otherwise), non-empty, relative (no leading '/' or '\\', no drive
    letter) and free of NUL characters (InvalidKeyError otherwise). Names that
    merely start with '.' (".zarray", "foo/.zattrs") are ordinary keys.
    """
    if not isinstance(key, str):
        raise TypeError(f"store keys must be str, got {type(key).__name__} {key!r}")
    if _PLAIN_KEY.fullmatch(key):  # fast path: the common shape of chunk and metadata keys
        return key
    if not key:
        raise InvalidKeyError("store keys must not be empty")
    if key[0] in "/\\" or _DRIVE.match(key):
        raise InvalidKeyError(f"store key {key!r} is absolute; keys are relative to the store root")
    if "\x00" in key:
        raise InvalidKeyError(f"store key {key!r} contains a NUL character")
    normal = key
    if "\\" in normal or "//" in normal or normal[-1] == "/":
        normal = _collapse(normal)
        if not normal:  # pragma: no cover - a non-absolute key always keeps a segment
            raise InvalidKeyError(f"store key {key!r} is empty once normalised")
    _check_segments(normal, key)
    return normal


def join_path(*parts: str | bytes | None) -> str:
    """Join path parts with '/', normalising each and skipping empty ones."""
    return "/".join(p for p in map(normalize_storage_path, parts) if p)


def prefix_for(path: str | bytes | None) -> str:
    """The key prefix of everything under ``path``: ``''`` for the root, else ``'a/b/'``."""
    path = normalize_storage_path(path)
    return path + "/" if path else ""

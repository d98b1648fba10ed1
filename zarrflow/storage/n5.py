"""N5Store: a Zarr hierarchy kept in the N5 format (https://github.com/saalfeldlab/n5).

An N5 container is a directory tree like a DirectoryStore's, so ``N5Store`` is a
:class:`DirectoryStore` that translates, entirely inside the store, what differs:

- **Metadata.** Each node has one ``attributes.json``: the N5 array fields
  (``dimensions``, ``blockSize``, ``dataType``, ``compression``, and ``n5`` on the
  root and on groups) next to the user attributes. The store shows it as the Zarr
  documents ``.zarray`` or ``.zgroup`` plus ``.zattrs`` (the non-N5 entries), and
  writing those documents updates the one file. N5 lists dimensions fastest-first,
  Zarr slowest-first, so shapes and chunk shapes are reversed.
- **Chunk keys.** Arrays here use '.' chunk keys (``'3.1'``); inside an N5 array
  directory such a key names the nested, reversed N5 block file ``1/3``.
- **Chunk bytes.** An N5 block is a big-endian header (mode, rank, block size per
  dimension) and big-endian data, compressed as a whole; edge blocks may be
  truncated to the array's extent. The ``.zarray`` this store shows names the
  :class:`N5ChunkWrapper` codec (id ``'n5_wrapper'``, in ``format/n5_codec``) as the
  compressor, wrapping the real one, so the engine's ordinary codec pipeline reads
  and writes N5 blocks. This is how zarr-python 2.x does it, and the files match.

Only what the store recognises is translated; everything else is stored as in a
DirectoryStore. A value written under ``.zarray`` / ``.zgroup`` / ``.zattrs`` that is
not a Zarr v2 document of that kind (not JSON, no ``zarr_format: 2``...) is kept
verbatim in a file of that name, and dotted keys are translated only inside
directories whose ``attributes.json`` declares an array of that rank. A Zarr
document that N5 cannot express (fill value other than 0, order 'F', filters, a
dtype N5 lacks) raises :class:`MetadataError` rather than being stored wrongly.

Deleting ``.zarray`` or ``.zgroup`` removes the node's whole ``attributes.json``
(user attributes included: in N5 they belong to the node); deleting ``.zattrs``
removes only the user attributes. The raw ``attributes.json`` of a node can still be
read and written by that key, but listings show its Zarr views instead.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from zarrflow.errors import MetadataError
from zarrflow.format.documents import ArrayMetadata, GroupMetadata
from zarrflow.format.jsonio import json_dumps, json_loads
from zarrflow.format.keys import ARRAY_META_KEY, ATTRS_KEY, GROUP_META_KEY
from zarrflow.format.n5 import (
    N5_ATTRS_KEY,
    N5_FORMAT,
    N5_KEYWORDS,
    array_meta_from_n5,
    array_meta_to_n5,
    user_attrs,
)
from zarrflow.format.n5_codec import N5ChunkWrapper
from zarrflow.storage.base import Store, byte_view
from zarrflow.storage.directory import DirectoryStore

__all__ = ["N5ChunkWrapper", "N5Store", "N5_FORMAT"]

_ARRAY_META, _GROUP_META, _ATTRS = ARRAY_META_KEY, GROUP_META_KEY, ATTRS_KEY
_META_NAMES = frozenset({_ARRAY_META, _GROUP_META, _ATTRS})
#: A '.'-joined chunk key of two or more dimensions.
_DOTTED_CHUNK = re.compile(r"\d+(?:\.\d+)+")


def _split(nkey: str) -> tuple[str, str]:
    """``'a/b/name'`` -> ``('a/b', 'name')``; a root-level key has dir ``''``."""
    dirpath, _, name = nkey.rpartition("/")
    return dirpath, name


def _join(dirpath: str, name: str) -> str:
    return f"{dirpath}/{name}" if dirpath else name


# --- the store ---------------------------------------------------------------------------


class N5Store(DirectoryStore):
    """A Zarr hierarchy stored as an N5 container in the directory ``path``.

    Arguments as :class:`DirectoryStore`'s (``durable`` included; ``attributes.json``
    is always written durably). Arrays created here use '.' chunk keys
    (``dimension_separator`` may only be '.' or None); on disk they are N5's nested,
    reversed block paths. See the module docstring for what is translated.
    """

    _default_separator = "."
    _durable_names = DirectoryStore._durable_names | {N5_ATTRS_KEY}

    def __init__(
        self,
        path: str | os.PathLike[str],
        normalize_keys: bool = False,
        dimension_separator: str | None = ".",
        read_only: bool = False,
        durable: bool = False,
    ) -> None:
        if dimension_separator not in (None, "."):
            raise ValueError(
                "N5Store arrays use '.' chunk keys (stored as N5's nested, reversed block paths); "
                f"got dimension_separator={dimension_separator!r}"
            )
        super().__init__(path, normalize_keys, ".", read_only, durable)
        self._lock = threading.RLock()
        self._ranks: dict[str, tuple[tuple[int, int, int, int], int | None]] = {}

    # --- attributes.json -----------------------------------------------------------------

    def _doc_error(self, key: str, what: str) -> MetadataError:
        return MetadataError(f"{key} (N5 attributes in {self!r}): {what}")

    def _read_doc(self, dirpath: str) -> dict[str, Any] | None:
        """The parsed ``attributes.json`` of node ``dirpath``, or None when it has none."""
        key = _join(dirpath, N5_ATTRS_KEY)
        try:
            raw = DirectoryStore.__getitem__(self, key)
        except KeyError:
            return None
        doc = json_loads(raw, key=f"{key} (N5 attributes in {self!r})")
        if not isinstance(doc, dict):
            raise self._doc_error(key, f"must be a JSON object, got {type(doc).__name__}")
        return doc

    def _write_doc(self, dirpath: str, doc: Mapping[str, Any]) -> None:
        DirectoryStore.__setitem__(self, _join(dirpath, N5_ATTRS_KEY), json_dumps(doc))

    def _rank(self, dirpath: str) -> int | None:
        """Rank of the N5 array at ``dirpath``, None when it is not one.

        Remembered per directory while ``attributes.json`` is unchanged (one stat per
        chunk access, not a JSON parse)."""
        fs = self._file(_join(dirpath, N5_ATTRS_KEY))
        try:
            st = os.stat(fs)
        except OSError:
            self._ranks.pop(dirpath, None)
            return None
        sig = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
        cached = self._ranks.get(dirpath)
        if cached is not None and cached[0] == sig:
            return cached[1]
        doc = self._read_doc(dirpath)
        rank = None
        if doc is not None and "dimensions" in doc:
            dims = doc["dimensions"]
            if not isinstance(dims, list):
                raise self._doc_error(_join(dirpath, N5_ATTRS_KEY), f"'dimensions' must be a list, got {dims!r}")
            rank = len(dims)
        if len(self._ranks) > 4096:
            self._ranks.clear()
        self._ranks[dirpath] = (sig, rank)
        return rank

    def _meta_view(self, doc: Mapping[str, Any] | None, dirpath: str, name: str) -> bytes | None:
        """The Zarr document ``name`` of a node whose attributes are ``doc``, or None."""
        if doc is None:
            return None
        if name == _ARRAY_META:
            if "dimensions" not in doc:
                return None
            return json_dumps(array_meta_from_n5(doc, _join(dirpath, N5_ATTRS_KEY)))
        if name == _GROUP_META:
            return None if "dimensions" in doc else GroupMetadata().to_json()
        attrs = user_attrs(doc)
        return json_dumps(attrs) if attrs else None

    def _meta_names(self, doc: Mapping[str, Any] | None) -> list[str]:
        if doc is None:
            return []
        names = [_ARRAY_META if "dimensions" in doc else _GROUP_META]
        if user_attrs(doc):
            names.append(_ATTRS)
        return names

    def _updated_doc(self, name: str, data: bytes, key: str, dirpath: str) -> dict[str, Any] | None:
        """The new attributes.json after writing Zarr document ``name``, or None when
        ``data`` is not such a document (it is then stored verbatim)."""
        try:
            if name == _ARRAY_META:
                meta = ArrayMetadata.from_json(data, key=key)
            elif name == _GROUP_META:
                GroupMetadata.from_json(data, key=key)
            else:
                attrs = json_loads(data, key)
                if not isinstance(attrs, dict):
                    return None
        except MetadataError:
            return None
        if name == _ATTRS:
            reserved = sorted(N5_KEYWORDS.intersection(attrs))
            if reserved:
                raise MetadataError(f"{key}: attribute name(s) {reserved} are reserved by N5")
            update = attrs
        elif name == _ARRAY_META:
            update = array_meta_to_n5(meta, key, top_level=not dirpath)
        else:
            update = {"n5": N5_FORMAT}
        doc = self._read_doc(dirpath) or {}
        if name == _ATTRS:
            keep = {k: v for k, v in doc.items() if k in N5_KEYWORDS}
        else:
            keep = user_attrs(doc)
        keep.update(update)
        return keep

    # --- chunk keys ----------------------------------------------------------------------

    def _to_n5_key(self, nkey: str) -> str:
        """The file key for ``nkey``: a dotted chunk key of an N5 array of that rank
        becomes its nested, reversed block path; anything else is unchanged."""
        dirpath, name = _split(nkey)
        if "." in name and _DOTTED_CHUNK.fullmatch(name):
            parts = name.split(".")
            if self._rank(dirpath) == len(parts):
                return _join(dirpath, "/".join(reversed(parts)))
        return nkey

    def _to_zarr_keys(self, raw_keys: Iterable[str]) -> list[str]:
        """Zarr keys for file keys: attributes.json becomes the node's documents and
        block paths inside N5 arrays become dotted chunk keys."""
        ranks: dict[str, int | None] = {}

        def rank(d: str) -> int | None:
            if d not in ranks:
                ranks[d] = self._rank(d)
            return ranks[d]

        out: set[str] = set()
        for key in raw_keys:
            dirpath, name = _split(key)
            if name == N5_ATTRS_KEY:
                out.update(_join(dirpath, n) for n in self._meta_names(self._read_doc(dirpath)))
                continue
            parts = key.split("/")
            found = key
            depth = 1
            while depth <= len(parts) and parts[-depth].isdigit():
                if depth >= 2:
                    d = "/".join(parts[:-depth])
                    if rank(d) == depth:
                        found = _join(d, ".".join(reversed(parts[-depth:])))
                        break
                depth += 1
            out.add(found)
        return sorted(out)

    # --- mapping -------------------------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        nkey = self._normalize_key(key)
        dirpath, name = _split(nkey)
        if name in _META_NAMES:
            try:
                return DirectoryStore.__getitem__(self, nkey)  # a verbatim (non-Zarr) value
            except KeyError:
                pass
            value = self._meta_view(self._read_doc(dirpath), dirpath, name)
            if value is None:
                raise KeyError(key)
            return value
        try:
            return DirectoryStore.__getitem__(self, self._to_n5_key(nkey))
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        dirpath, name = _split(nkey)
        if name not in _META_NAMES:
            DirectoryStore.__setitem__(self, self._to_n5_key(nkey), value)
            return
        data = bytes(byte_view(value))
        with self._lock:
            doc = self._updated_doc(name, data, key, dirpath)
            if doc is None:
                DirectoryStore.__setitem__(self, nkey, data)
                return
            self._write_doc(dirpath, doc)
            if os.path.isfile(self._file(nkey)):  # a stale verbatim value would shadow it
                DirectoryStore.__delitem__(self, nkey)

    def setitems(self, items: Mapping[str, Any]) -> None:
        """Store many values: documents first, one by one (a block path depends on its
        array's attributes.json), then chunk keys through their N5 block paths (in
        durable mode, with overlapping fsyncs)."""
        blocks, docs = {}, {}
        for key, value in items.items():
            nkey = self._normalize_key(key)
            (docs if _split(nkey)[1] in _META_NAMES else blocks)[nkey] = byte_view(value)
        for key, value in docs.items():
            self[key] = value
        if blocks:
            self._check_writeable(next(iter(blocks)))
            DirectoryStore.setitems(self, {self._to_n5_key(k): v for k, v in blocks.items()})

    def __delitem__(self, key: str) -> None:
        nkey = self._normalize_key(key)
        self._check_writeable(nkey)
        dirpath, name = _split(nkey)
        if name not in _META_NAMES:
            try:
                DirectoryStore.__delitem__(self, self._to_n5_key(nkey))
            except KeyError:
                raise KeyError(key) from None
            return
        with self._lock:
            if os.path.isfile(self._file(nkey)):
                DirectoryStore.__delitem__(self, nkey)
                return
            doc = self._read_doc(dirpath)
            if self._meta_view(doc, dirpath, name) is None:
                raise KeyError(key)
            attrs_key = _join(dirpath, N5_ATTRS_KEY)
            if name == _ATTRS:
                self._write_doc(dirpath, {k: v for k, v in doc.items() if k in N5_KEYWORDS})  # type: ignore[union-attr]
            else:
                DirectoryStore.__delitem__(self, attrs_key)

    def _contains(self, nkey: str) -> bool:
        """True when the normalised key ``nkey`` holds a value."""
        dirpath, name = _split(nkey)
        if name in _META_NAMES:
            if os.path.isfile(self._file(nkey)):
                return True
            doc = self._read_doc(dirpath)
            if doc is None:
                return False
            if name == _ARRAY_META:
                return "dimensions" in doc
            if name == _GROUP_META:
                return "dimensions" not in doc
            return bool(user_attrs(doc))
        return os.path.isfile(self._file(self._to_n5_key(nkey)))

    def __iter__(self) -> Iterator[str]:
        return iter(self._to_zarr_keys(self._walk("")))

    def __len__(self) -> int:
        return len(self._to_zarr_keys(self._walk("")))

    # --- hierarchy -----------------------------------------------------------------------

    def keys_under(self, path: str = "") -> list[str]:
        return self._to_zarr_keys(self._walk(self._normalize_path(path)))

    def listdir(self, path: str = "") -> list[str]:
        """Children of ``path`` as Zarr names: the node's documents instead of
        ``attributes.json`` and, in an array, dotted chunk keys instead of block dirs."""
        nkey = self._normalize_path(path)
        names = super().listdir(nkey)
        if N5_ATTRS_KEY not in names:
            return names
        doc = self._read_doc(nkey)
        out = set(names)
        out.discard(N5_ATTRS_KEY)
        out.update(self._meta_names(doc))
        rank = self._rank(nkey)
        if rank is not None and rank > 1:
            prefix = _join(nkey, "")
            for name in names:
                if not name.isdigit() or not os.path.isdir(self._file(prefix + name)):
                    continue
                out.discard(name)
                for k in self._walk(prefix + name):
                    parts = k[len(prefix):].split("/")
                    if len(parts) == rank and all(p.isdigit() for p in parts):
                        out.add(".".join(reversed(parts)))
                    else:
                        out.add(name)  # something else lives in there: show the directory too
        return sorted(out)

    def getsize(self, path: str = "", *, recursive: bool = False) -> int:
        """Bytes of the key ``path`` (a Zarr document is measured as zarrflow presents
        it), else of the files directly in that directory (every file under it when
        ``recursive``), else 0."""
        nkey = self._normalize_path(path)
        if nkey:
            dirpath, name = _split(nkey)
            if name in _META_NAMES and not os.path.isfile(self._file(nkey)):
                try:
                    return len(self[nkey])
                except KeyError:
                    return 0
            target = self._to_n5_key(nkey)
            if target != nkey:
                return super().getsize(target, recursive=recursive)
        total = super().getsize(nkey, recursive=recursive)
        top = self._file(nkey)
        if not os.path.isdir(top):
            return total
        # each attributes.json counts as the Zarr documents presented in its place, so
        # sizes add up to the values this store yields (what nbytes_stored reports)
        dirs = [top] if not recursive else [d for d, _, files in os.walk(top) if N5_ATTRS_KEY in files]
        for d in dirs:
            raw = os.path.join(d, N5_ATTRS_KEY)
            if not os.path.isfile(raw):
                continue
            rel = os.path.relpath(d, self.path)
            prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"
            presented = 0
            for name in sorted(_META_NAMES):
                try:
                    presented += len(self[prefix + name])
                except KeyError:
                    pass
            total += presented - os.path.getsize(raw)
        return total

    def rename(self, src_path: str, dst_path: str) -> None:
        """Move a node or key; document and chunk keys move through their translations."""
        src = self._normalize_path(src_path)
        dst = self._normalize_path(dst_path)
        for p in (src, dst):
            if p and (_split(p)[1] in _META_NAMES or self._to_n5_key(p) != p):
                Store.rename(self, src_path, dst_path)  # copy + delete, key by key
                return
        super().rename(src_path, dst_path)

    def __repr__(self) -> str:
        return f"N5Store({self.path!r})"

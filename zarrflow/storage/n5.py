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
  :class:`N5ChunkWrapper` codec (registered in numcodecs as ``'n5_wrapper'``) as the
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

import math
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ensure_ndarray_like, ndarray_copy

from zarrflow.core.metadata import ArrayMetadata, GroupMetadata, json_dumps, json_loads
from zarrflow.errors import MetadataError
from zarrflow.storage.base import Store, byte_view, ensure_bytes
from zarrflow.storage.directory import DirectoryStore

__all__ = ["N5ChunkWrapper", "N5Store", "N5_FORMAT"]

#: The N5 format version written to the root (and, as zarr 2 does, to groups).
N5_FORMAT = "2.0.0"
#: The one metadata file of an N5 node.
N5_ATTRS_KEY = "attributes.json"

_ARRAY_META, _GROUP_META, _ATTRS = ".zarray", ".zgroup", ".zattrs"
_META_NAMES = frozenset({_ARRAY_META, _GROUP_META, _ATTRS})
#: Fields of attributes.json that describe an N5 dataset (array).
_ARRAY_KEYWORDS = ("dimensions", "blockSize", "dataType", "compression", "compressionType")
#: Fields of attributes.json that are N5's, not the user's.
N5_KEYWORDS = frozenset({"n5", *_ARRAY_KEYWORDS})
#: N5 dataType names zarrflow reads and writes (numpy names them the same).
N5_DATA_TYPES = frozenset(
    {"uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64"}
)
#: A '.'-joined chunk key of two or more dimensions.
_DOTTED_CHUNK = re.compile(r"\d+(?:\.\d+)+")
_BLOSC_HEADER = struct.Struct("<BBBBIII")


def _split(nkey: str) -> tuple[str, str]:
    """``'a/b/name'`` -> ``('a/b', 'name')``; a root-level key has dir ``''``."""
    dirpath, _, name = nkey.rpartition("/")
    return dirpath, name


def _join(dirpath: str, name: str) -> str:
    return f"{dirpath}/{name}" if dirpath else name


# --- compressor configs ------------------------------------------------------------------


def compressor_to_n5(config: Mapping[str, Any] | None, dtype: np.dtype, key: str) -> dict[str, Any]:
    """The N5 ``compression`` object for a numcodecs compressor config (zarr 2's mapping).

    ``None`` is ``raw``; an ``n5_wrapper`` config is unwrapped first. Codecs N5 has no
    type for are written under their own id with a RuntimeWarning, as zarr 2 does.
    """
    if config is not None and config.get("id") == N5ChunkWrapper.codec_id:
        config = config.get("compressor_config")
    if config is None:
        return {"type": "raw"}
    codec_id = config["id"]
    if codec_id == "bz2":
        return {"type": "bzip2", "blockSize": config.get("level", 9)}
    if codec_id == "blosc":
        shuffle = config.get("shuffle", 1)
        if shuffle == -1:  # AUTOSHUFFLE, resolved as numcodecs does: N5 readers want 0, 1 or 2
            shuffle = 2 if dtype.itemsize == 1 else 1
        return {
            "type": "blosc",
            "cname": config.get("cname", "lz4"),
            "clevel": config.get("clevel", 5),
            "shuffle": shuffle,
            "blocksize": config.get("blocksize", 0),
        }
    if codec_id in ("zlib", "gzip"):
        return {"type": "gzip", "level": config.get("level", 1), "useZlib": codec_id == "zlib"}
    if codec_id == "zstd":
        return {"type": "zstd", "level": config.get("level", 0)}
    if codec_id == "lzma":
        preset = config.get("preset") or 6  # None means lzma.PRESET_DEFAULT
        if config.get("format", 1) == 1 and config.get("check", -1) in (-1, 4):
            return {"type": "xz", "preset": preset}
        warnings.warn(
            f"{key}: LZMA with format {config.get('format')} / check {config.get('check')} is not "
            "an N5 compression type; other N5 readers may not read this array (use the default "
            "xz format for portability)",
            RuntimeWarning,
            stacklevel=4,
        )
        return {"type": "lzma", "preset": preset, "format": config.get("format"),
                "check": config.get("check"), "filters": config.get("filters")}
    warnings.warn(
        f"{key}: compressor {codec_id!r} is not an N5 compression type; it is written as "
        f"type {codec_id!r}, which other N5 readers may not read",
        RuntimeWarning,
        stacklevel=4,
    )
    out = {"type": codec_id}
    out.update((k, v) for k, v in config.items() if k not in ("id", "type"))
    return out


def compressor_from_n5(compression: Any, key: str) -> dict[str, Any] | None:
    """The numcodecs config for an N5 ``compression`` object; MetadataError naming ``key``."""
    if not isinstance(compression, Mapping) or not isinstance(compression.get("type"), str):
        raise MetadataError(f"{key}: 'compression' must be an object with a string 'type', got {compression!r}")
    kind = compression["type"]
    try:
        if kind == "raw":
            return None
        if kind == "bzip2":
            return {"id": "bz2", "level": int(compression.get("blockSize", 9))}
        if kind == "blosc":
            return {
                "id": "blosc",
                "cname": compression["cname"],
                "clevel": compression["clevel"],
                "shuffle": compression["shuffle"],
                "blocksize": compression.get("blocksize", 0),
            }
        if kind == "gzip":
            return {"id": "zlib" if compression.get("useZlib") else "gzip", "level": compression.get("level", -1)}
        if kind == "zstd":
            return {"id": "zstd", "level": compression.get("level", 0)}
        if kind == "xz":
            return {"id": "lzma", "format": 1, "check": -1, "preset": compression.get("preset", 6), "filters": None}
        if kind == "lzma":
            return {"id": "lzma", "format": compression["format"], "check": compression["check"],
                    "preset": compression["preset"], "filters": compression["filters"]}
    except KeyError as exc:
        raise MetadataError(f"{key}: N5 compression {compression!r} lacks the field {exc.args[0]!r}") from None
    if kind not in numcodecs.registry.codec_registry:
        raise MetadataError(
            f"{key}: unsupported N5 compression type {kind!r}; zarrflow reads raw, gzip, bzip2, "
            "xz, blosc and zstd"
        )
    out = {"id": kind}
    out.update((k, v) for k, v in compression.items() if k != "type")
    return out


# --- array and group documents -----------------------------------------------------------


def _user_attrs(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in N5_KEYWORDS}


def array_meta_to_n5(meta: ArrayMetadata, key: str, top_level: bool) -> dict[str, Any]:
    """The N5 fields of ``attributes.json`` for a parsed ``.zarray``; MetadataError
    naming ``key`` when N5 cannot express the array."""
    dtype = meta.dtype
    if dtype.name not in N5_DATA_TYPES or dtype.fields is not None:
        raise MetadataError(
            f"{key}: N5 does not support dtype {dtype.str!r}; its data types are {sorted(N5_DATA_TYPES)}"
        )
    if meta.fill_value is not None and not (meta.fill_value == 0):
        raise MetadataError(f"{key}: N5 only supports fill_value 0 (or None), got {meta.fill_value!r}")
    if meta.order != "C":
        raise MetadataError(f"{key}: N5 only supports order 'C', got {meta.order!r}")
    if meta.filters:
        raise MetadataError(f"{key}: N5 does not support filters, got {[f['id'] for f in meta.filters]}")
    doc: dict[str, Any] = {
        "dimensions": list(meta.shape[::-1]),
        "blockSize": list(meta.chunks[::-1]),
        "dataType": dtype.name,
        "compression": compressor_to_n5(meta.compressor, dtype, key),
    }
    if top_level:
        doc["n5"] = N5_FORMAT
    return doc


def _int_list(doc: Mapping[str, Any], field: str, minimum: int, key: str) -> list[int]:
    value = doc.get(field)
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value
    ):
        raise MetadataError(f"{key}: N5 '{field}' must be a list of integers >= {minimum}, got {value!r}")
    return value


def array_meta_from_n5(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The ``.zarray`` document (as a dict) for the ``attributes.json`` of an N5
    dataset; MetadataError naming ``key`` for anything malformed or unsupported."""
    dims = _int_list(doc, "dimensions", 0, key)
    block = _int_list(doc, "blockSize", 1, key)
    if len(block) != len(dims):
        raise MetadataError(f"{key}: N5 blockSize {block} and dimensions {dims} differ in length")
    data_type = doc.get("dataType")
    if data_type not in N5_DATA_TYPES:
        raise MetadataError(
            f"{key}: unsupported N5 dataType {data_type!r}; zarrflow reads {sorted(N5_DATA_TYPES)}"
        )
    if "compression" in doc:
        compression = doc["compression"]
    elif "compressionType" in doc:  # N5 before 1.0 named only the type
        compression = {"type": doc["compressionType"]}
    else:
        compression = {"type": "raw"}
    dtype = np.dtype(data_type).str
    chunks = block[::-1]
    return {
        "zarr_format": 2,
        "shape": dims[::-1],
        "chunks": chunks,
        "dtype": dtype,
        "compressor": {
            "id": N5ChunkWrapper.codec_id,
            "compressor_config": compressor_from_n5(compression, key),
            "dtype": dtype,
            "chunk_shape": chunks,
        },
        "fill_value": 0,
        "order": "C",
        "filters": [],
        "dimension_separator": ".",
    }


# --- the chunk codec ---------------------------------------------------------------------


class N5ChunkWrapper(Codec):
    """Encodes a chunk as an N5 block: header, big-endian data, compressed by ``compressor``.

    Decoding accepts blocks smaller than ``chunk_shape`` (N5 truncates edge blocks)
    and pads them with zeros, N5's only fill value; anything inconsistent (short
    header, wrong rank, a block larger than the chunk, a payload of the wrong size)
    raises ValueError, which the array reports as a ChunkDecodeError naming the key.
    """

    codec_id = "n5_wrapper"

    def __init__(
        self,
        dtype: Any,
        chunk_shape: Iterable[int],
        compressor_config: Mapping[str, Any] | None = None,
        compressor: Codec | None = None,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.chunk_shape = tuple(int(c) for c in chunk_shape)
        if compressor is not None:
            if compressor_config is not None:
                raise ValueError("give compressor_config or compressor, not both")
            compressor_config = compressor.get_config()
        if compressor_config is None or compressor_config.get("id") == "raw":
            self._compressor: Codec | None = None
            self.compressor_config: dict[str, Any] | None = None
        else:
            self._compressor = numcodecs.get_codec(dict(compressor_config))
            self.compressor_config = self._compressor.get_config()
        self._big = self.dtype.newbyteorder(">")
        self._nitems = math.prod(self.chunk_shape)

    @property
    def compressor(self) -> Codec | None:
        """The wrapped numcodecs compressor (None for N5 'raw')."""
        return self._compressor

    def get_config(self) -> dict[str, Any]:
        return {
            "id": self.codec_id,
            "compressor_config": self.compressor_config,
            "dtype": self.dtype.str,
            "chunk_shape": list(self.chunk_shape),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dtype={self.dtype.str!r}, chunk_shape={self.chunk_shape}, "
            f"compressor={self._compressor!r})"
        )

    def _header(self) -> bytes:
        ndim = len(self.chunk_shape)
        return struct.pack(f">HH{ndim}I", 0, ndim, *self.chunk_shape[::-1])

    def encode(self, buf: Any) -> bytes:
        arr = ensure_ndarray_like(buf)
        if arr.dtype != self.dtype:
            arr = ensure_contiguous_ndarray(arr).reshape(-1).view(self.dtype)
        if arr.size != self._nitems:
            raise ValueError(
                f"chunk has {arr.size} items, an N5 block of shape {self.chunk_shape} holds {self._nitems}"
            )
        data = np.ascontiguousarray(arr).reshape(-1).astype(self._big, copy=False)
        if self._compressor is None:
            return self._header() + data.tobytes()
        return self._header() + ensure_bytes(self._compressor.encode(data))

    def _parse_header(self, view: memoryview) -> tuple[tuple[int, ...], int]:
        size = view.nbytes
        if size < 4:
            raise ValueError(f"N5 block is {size} bytes, shorter than the 4-byte block header")
        mode, ndim = struct.unpack_from(">HH", view)
        if mode not in (0, 1):
            raise ValueError(f"N5 block header has mode {mode}; only 0 (default) and 1 (varlength) are supported")
        if ndim != len(self.chunk_shape):
            raise ValueError(
                f"N5 block header declares {ndim} dimensions, the array has {len(self.chunk_shape)}"
            )
        header_len = 4 + 4 * ndim + (4 if mode == 1 else 0)
        if size < header_len:
            raise ValueError(f"N5 block is {size} bytes, shorter than its {header_len}-byte header")
        shape = struct.unpack_from(f">{ndim}I", view, 4)[::-1]
        if any(s > c for s, c in zip(shape, self.chunk_shape)):
            raise ValueError(f"N5 block header declares shape {shape}, larger than the chunk shape {self.chunk_shape}")
        if mode == 1:
            (count,) = struct.unpack_from(">I", view, 4 + 4 * ndim)
            if count != math.prod(shape):
                raise ValueError(f"N5 varlength block holds {count} elements, its shape {shape} needs {math.prod(shape)}")
        return shape, header_len

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        view = memoryview(ensure_contiguous_ndarray(buf)).cast("B")
        shape, header_len = self._parse_header(view)
        payload = view[header_len:]
        expected = math.prod(shape) * self.dtype.itemsize
        if self._compressor is None:
            raw: Any = payload
        else:
            if self._compressor.codec_id == "blosc":
                if payload.nbytes < _BLOSC_HEADER.size or _BLOSC_HEADER.unpack_from(payload)[6] != payload.nbytes:
                    raise ValueError(f"N5 block payload of {payload.nbytes} bytes is not a complete Blosc frame")
            raw = self._compressor.decode(payload)
        data = ensure_contiguous_ndarray(raw).reshape(-1).view(np.uint8)
        if data.nbytes != expected:
            raise ValueError(
                f"N5 block data is {data.nbytes} bytes, its header (shape {shape}, {self.dtype.name}) needs {expected}"
            )
        arr = data.view(self._big).reshape(shape).astype(self.dtype)
        if shape != self.chunk_shape:  # a truncated edge block: pad with N5's fill value, 0
            full = np.zeros(self.chunk_shape, dtype=self.dtype)
            full[tuple(slice(0, s) for s in shape)] = arr
            arr = full
        if out is not None:
            return ndarray_copy(arr, out)
        return arr


numcodecs.register_codec(N5ChunkWrapper)


# --- the store ---------------------------------------------------------------------------


class N5Store(DirectoryStore):
    """A Zarr hierarchy stored as an N5 container in the directory ``path``.

    Arguments as :class:`DirectoryStore`'s. Arrays created here use '.' chunk keys
    (``dimension_separator`` may only be '.' or None); on disk they are N5's nested,
    reversed block paths. See the module docstring for what is translated.
    """

    _default_separator = "."

    def __init__(
        self,
        path: str | os.PathLike[str],
        normalize_keys: bool = False,
        dimension_separator: str | None = ".",
        read_only: bool = False,
    ) -> None:
        if dimension_separator not in (None, "."):
            raise ValueError(
                "N5Store arrays use '.' chunk keys (stored as N5's nested, reversed block paths); "
                f"got dimension_separator={dimension_separator!r}"
            )
        super().__init__(path, normalize_keys, ".", read_only)
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
        attrs = _user_attrs(doc)
        return json_dumps(attrs) if attrs else None

    def _meta_names(self, doc: Mapping[str, Any] | None) -> list[str]:
        if doc is None:
            return []
        names = [_ARRAY_META if "dimensions" in doc else _GROUP_META]
        if _user_attrs(doc):
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
            keep = _user_attrs(doc)
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
            return bool(_user_attrs(doc))
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

    def getsize(self, path: str = "") -> int:
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
                return super().getsize(target)
        return super().getsize(nkey)

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

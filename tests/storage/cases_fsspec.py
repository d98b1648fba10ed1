"""FSStore in the shared store suite: over ``memory://``, ``file://`` and S3 (moto).

The S3 case runs against the process's local moto server
(:func:`tests.storage.s3_server.shared_server`, started on first use) with a fresh
bucket for every test.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.storage.cases import StoreCase
from tests.storage.s3_server import fresh_bucket, moto_available, shared_server
from zarrflow.storage.fsstore import FSStore


def _read_only(store: FSStore) -> FSStore:
    return FSStore(store.url, mode="r", **store.storage_options)


def _make_memory(tmp: Path) -> FSStore:
    return FSStore(f"memory://zf-{uuid.uuid4().hex}/store")


def _make_file(tmp: Path) -> FSStore:
    return FSStore(f"file://{tmp}/store")


def _make_s3(tmp: Path) -> FSStore:
    if not moto_available():
        pytest.skip("needs moto[server] and s3fs")
    server = shared_server()
    return FSStore(f"s3://{fresh_bucket(server)}/store", **server.storage_options())


CASES: list[StoreCase] = [
    StoreCase("fsspec-memory", make=_make_memory, read_only=_read_only),
    StoreCase("fsspec-file", make=_make_file, read_only=_read_only),
    StoreCase("fsspec-s3", make=_make_s3, read_only=_read_only, requires="s3fs"),
]

"""ABSStore in the shared store suite, against a real Azurite on 127.0.0.1 (a fresh
container for every test; see :mod:`tests.storage.azurite_server`)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tests.storage.azurite_server import azurite_available, fresh_container, shared_azurite
from tests.storage.cases import StoreCase
from zarrflow.storage.abs import ABSStore


def _make(tmp: Path) -> ABSStore:
    if not azurite_available():
        pytest.skip("needs azurite (npm) and azure-storage-blob")
    return ABSStore(client=fresh_container(shared_azurite()), prefix="root")


def _read_only(store: ABSStore) -> ABSStore:
    again = pickle.loads(pickle.dumps(store))
    again._read_only = True
    return again


CASES: list[StoreCase] = [
    StoreCase("abs-azurite", make=_make, read_only=_read_only, requires="azure.storage.blob"),
]

"""Fixtures for the schema evolution tests: the repository's store and codec, and a
scratch copy of ``schemas/`` that a test may edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.load()


@pytest.fixture(scope="session")
def codec(store: SchemaStore) -> AvroCodec:
    return AvroCodec(store)


@pytest.fixture
def schemas_copy(tmp_path: Path, store: SchemaStore) -> Path:
    """A private copy of the schemas directory, safe to add versions to."""
    root = tmp_path / "schemas"
    shutil.copytree(store.root, root)
    return root

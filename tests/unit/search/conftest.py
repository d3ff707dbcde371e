"""Fixtures shared by the search unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.backends.embedded import EmbeddedBackend


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[EmbeddedBackend]:
    """A fresh embedded index in the test's own folder, closed afterwards."""
    instance = EmbeddedBackend(str(tmp_path / "search.db"))
    instance.ensure_index()
    yield instance
    instance.close()

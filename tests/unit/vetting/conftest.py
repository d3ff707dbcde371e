"""Vetting fixtures: a local NPI registry for the whole session, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.npi_server import FakeNpiRegistry, running_registry


@pytest.fixture(scope="session")
def registry_server(app: Flask) -> Iterator[FakeNpiRegistry]:
    """Run the fake NPPES registry for the session, with the app's NPI client pointed at it."""
    with running_registry(app) as registry:
        yield registry


@pytest.fixture
def registry(registry_server: FakeNpiRegistry) -> FakeNpiRegistry:
    """Return the fake registry with no scripted answers and no recorded requests."""
    registry_server.reset()
    return registry_server

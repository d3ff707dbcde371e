"""Vetting decisions reach search through the outbox, on every backend: suspended is never found."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from directory.extensions import db
from directory.indexing.services import sync_outbox
from directory.vetting.decisions import reinstate
from directory.vetting.services import check_exclusions, record_check
from directory.vetting.sources.leie import import_exclusion_list
from search import SearchQuery
from tests.conftest import extra_app, rolled_back_session
from tests.unit.vetting.builders import DATA, NPI, admin, us_practitioner

CAMBRIDGE = dict(lat=42.3647, lon=-71.1042, radius_km=5, per_page=100, page=1)


@pytest.fixture(params=["embedded", "elasticsearch", "opensearch"])
def search_app(request: pytest.FixtureRequest, app: Flask, database_url: str, tmp_path: Path) -> Iterator[Any]:
    """An app on the test database with its own index on the given backend."""
    kind = request.param
    extra: dict[str, Any] = {"SEARCH_EMBEDDED_PATH": str(tmp_path / "vetting-search.db")}
    if kind != "embedded":
        extra.update(SEARCH_BACKEND=kind, SEARCH_URL=request.getfixturevalue(f"{kind}_url"),
                     SEARCH_INDEX_PREFIX=f"vetting-{uuid.uuid4().hex[:8]}")
    with extra_app(database_url, tmp_path, **extra) as application, rolled_back_session(application):
        backend = application.extensions["search"].backend()
        backend.ensure_index()
        yield backend


def _found(backend: Any, verified_only: bool) -> set[int]:
    """Apply the outbox, then return the ids a Cambridge search finds."""
    db.session.commit()
    report = sync_outbox(backend)
    assert not report.failed, report.last_error
    if hasattr(backend, "refresh"):
        backend.refresh()
    return {h.id for h in backend.search(SearchQuery(**CAMBRIDGE, verified_only=verified_only)).hits}


def test_verification_suspension_and_reinstatement_reach_search(search_app: Any) -> None:
    backend = search_app
    p = us_practitioner()
    assert p.id in _found(backend, verified_only=False)
    assert p.id not in _found(backend, verified_only=True), "unverified until checked"

    licence, npi = p.credentials
    record_check(p, source="state_board", outcome="pass", credential=licence)
    record_check(p, source="npi_registry", outcome="pass", credential=npi)
    record_check(p, source="exclusion_list", outcome="pass")
    assert p.id in _found(backend, verified_only=True)

    import_exclusion_list(DATA / "leie_sample.csv")
    assert p.npi == NPI and check_exclusions(p).outcome == "fail"
    assert p.id not in _found(backend, verified_only=False), "a suspended practitioner is never found"

    reinstate(p, "OIG reinstatement letter on file", admin())
    assert p.id in _found(backend, verified_only=True)

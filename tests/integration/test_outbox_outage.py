"""An engine outage delays search and loses nothing: the outbox keeps every change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.extensions import db
from directory.indexing.models import SearchOutbox
from directory.indexing.services import outbox_status, retry_now, sync_outbox
from search import SearchQuery, create_backend
from search.backends import cluster as cluster_module
from search.backends.cluster import ClusterBackend
from tests import factories
from tests.conftest import extra_app, rolled_back_session

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused at once
CAMBRIDGE = SearchQuery(lat=42.3647, lon=-71.1042, radius_km=5, per_page=100, page=1)


@pytest.fixture(params=["elasticsearch", "opensearch"])
def cluster(request: pytest.FixtureRequest, app: Flask, database_url: str, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An app on the test database whose search runs on a real engine, plus a dead twin.

    The dead twin gives up after 1 s instead of apply()'s 30 s of resending (refused connections are retryable):
    what these tests check is that the outbox keeps what was not acknowledged, not how long apply() keeps trying.
    Each sync against it waited out the whole budget, ~28 s a test.
    """
    monkeypatch.setattr(cluster_module, "APPLY_RETRY_BUDGET_S", 1.0)
    kind = request.param
    url = request.getfixturevalue(f"{kind}_url")
    prefix = f"outage-{uuid.uuid4().hex[:8]}"
    dead = create_backend(kind, url=DEAD_URL, index_prefix=prefix, timeout=1.0)
    with extra_app(database_url, tmp_path, SEARCH_BACKEND=kind, SEARCH_URL=url, SEARCH_INDEX_PREFIX=prefix) as live_app, \
            rolled_back_session(live_app):
        live = live_app.extensions["search"].backend()
        live.ensure_index()
        yield {"app": live_app, "live": live, "dead": dead, "kind": kind, "url": url}
    dead.close()


def _ids(backend: ClusterBackend, query: SearchQuery) -> list[int]:
    """Return every hit id of ``query``, page by page, after making writes visible."""
    backend.refresh()
    ids: list[int] = []
    while True:
        hits = backend.search(replace(query, page=query.page + len(ids) // query.per_page)).hits
        ids += [h.id for h in hits]
        if len(hits) < query.per_page:
            return ids


def test_two_hundred_changes_during_an_outage_are_all_applied_once(cluster: dict[str, Any]) -> None:
    live, dead = cluster["live"], cluster["dead"]
    created = [factories.practitioner(first_name="Out", last_name=f"Age{i}").id for i in range(200)]
    db.session.commit()

    down = sync_outbox(dead)
    assert down.applied == 0 and down.failed == 200
    status = outbox_status()
    assert status.pending == 200 and status.max_attempts == 1 and status.last_error
    assert _ids(live, CAMBRIDGE) == [], "nothing reached the engine while it was down"

    retry_now()
    up = sync_outbox(live)
    assert up.applied == 200 and up.failed == 0
    assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    found = _ids(live, CAMBRIDGE)
    assert sorted(found) == sorted(created)
    assert len(found) == len(set(found)) == live.count() == 200


def test_changes_made_while_down_win_over_older_ones(cluster: dict[str, Any]) -> None:
    live, dead = cluster["live"], cluster["dead"]
    people = [factories.practitioner(first_name="Kept", last_name=f"Name{i}") for i in range(20)]
    db.session.commit()
    assert sync_outbox(live).applied == 20

    for p in people:
        p.last_name = "Renamedwhiledown"
    db.session.commit()
    assert sync_outbox(dead).failed == 20
    retry_now()
    assert sync_outbox(live).applied == 20
    renamed = _ids(live, SearchQuery(lat=42.3647, lon=-71.1042, text="renamedwhiledown", per_page=100))
    assert sorted(renamed) == sorted(p.id for p in people)


def test_search_answers_503_when_the_engine_is_down(cluster: dict[str, Any], database_url: str, tmp_path: Path) -> None:
    with extra_app(database_url, tmp_path, SEARCH_BACKEND=cluster["kind"], SEARCH_URL=DEAD_URL,
                   SEARCH_TIMEOUT_S=1.0) as down_app:
        _assert_unavailable_answers(down_app.test_client())


def _assert_unavailable_answers(client: Any) -> None:
    """Assert the API, the page and the health check all say search is unavailable."""
    response = client.get("/api/v1/practitioners/search?lat=42.36&lon=-71.10")
    assert response.status_code == 503
    assert response.get_json()["error"] == "search_unavailable"
    page = client.get("/search?lat=42.36&lon=-71.10")
    assert page.status_code == 503
    assert "temporarily unavailable" in page.get_data(as_text=True)
    health = client.get("/healthz").get_json()
    assert health["database"] == "ok" and health["search"]["status"] == "unavailable"

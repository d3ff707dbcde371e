"""Two outbox workers drain one outbox into a real Elasticsearch or OpenSearch node while writes go on: the index
ends equal to the database, and each document's engine version is the database's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.backends.cluster import ClusterBackend
from tests.conftest import extra_app
from tests.support.outbox_race import Indexed, race
from tests.support.scratch import scratch_database


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Return a migrated database of this test's own (the workers must see each other's commits)."""
    with scratch_database(database_url, tmp_path) as url:
        yield url


def _indexed(backend: ClusterBackend) -> Indexed:
    """Read (version, display name, bio) of every document, checking the engine's _version against the source's."""
    backend.refresh()
    body = {"size": 100, "version": True, "query": {"match_all": {}}, "_source": ["version", "display_name", "bio"]}
    hits = backend.engine.client.search(index=backend.alias, body=body)["hits"]["hits"]
    assert all(hit["_version"] == hit["_source"]["version"] for hit in hits)
    return {int(hit["_id"]): (hit["_source"]["version"], hit["_source"]["display_name"], hit["_source"]["bio"])
            for hit in hits}


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_two_workers_leave_the_engine_equal_to_the_database(request: pytest.FixtureRequest, kind: str,
                                                            scratch_url: str, tmp_path: Path) -> None:
    settings = {"SEARCH_BACKEND": kind, "SEARCH_URL": request.getfixturevalue(f"{kind}_url"),
                "SEARCH_INDEX_PREFIX": f"workers-{uuid.uuid4().hex[:8]}"}
    with extra_app(scratch_url, tmp_path, **settings) as site, extra_app(scratch_url, tmp_path, **settings) as first, \
            extra_app(scratch_url, tmp_path, **settings) as second:
        backend = site.extensions["search"].backend()
        assert isinstance(backend, ClusterBackend)
        try:
            left, database = race(site, [first, second])
            assert left == 0
            assert _indexed(backend) == database
        finally:
            for index in backend.engine.alias_targets(backend.alias):
                backend.engine.delete_index(index)

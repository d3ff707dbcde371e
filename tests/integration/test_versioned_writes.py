"""External versioning on real Elasticsearch and OpenSearch nodes: an older write arriving late never wins."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from search import SearchQuery, create_backend
from search.backends import cluster
from search.backends.cluster import ClusterBackend
from search.documents import PlacePoint, PractitionerSource, practitioner_search_document
from search.types import Change, SearchUnavailable

BOSTON = (42.3601, -71.0589)


def _doc(pid: int, last_name: str, version: int) -> dict[str, Any]:
    return practitioner_search_document(PractitionerSource(
        id=pid, slug=f"p-{pid}", first_name="Vera", last_name=last_name, title="L.Ac.", bio="", gender="female",
        accepting_new_patients=True, telehealth=False, hidden=False, vetting_status="verified",
        locations=(PlacePoint(*BOSTON, "Boston", "MA", "02108", "US"),), version=version))


def _write(pid: int, last_name: str, version: int) -> Change:
    return Change(pid, _doc(pid, last_name, version), version)


@pytest.fixture(params=["elasticsearch", "opensearch"])
def engine(request: pytest.FixtureRequest) -> Iterator[ClusterBackend]:
    """A backend on a real node, with an index of this test's own."""
    kind = request.param
    backend = create_backend(kind, url=request.getfixturevalue(f"{kind}_url"),
                             index_prefix=f"versions-{uuid.uuid4().hex[:8]}")
    assert isinstance(backend, ClusterBackend)
    backend.ensure_index()
    yield backend
    for index in backend.engine.alias_targets(backend.alias):
        backend.engine.delete_index(index)
    backend.close()


def _names(backend: ClusterBackend) -> list[str]:
    backend.refresh()
    return sorted(backend.suggest("vera", limit=20))


def _held_versions(backend: ClusterBackend, pid: int) -> tuple[int, int]:
    """Return the engine's _version of a document and the version in its source."""
    found = backend.engine.client.get(index=backend.alias, id=str(pid))
    return int(found["_version"]), int(found["_source"]["version"])


def test_an_older_version_arriving_after_a_newer_one_is_refused_and_counts_as_done(engine: ClusterBackend) -> None:
    assert engine.apply([_write(1, "Newer", 2)]).acknowledged == [1]
    late = engine.apply([_write(1, "Older", 1)])
    assert late.acknowledged == [1] and not late.failed
    assert _names(engine) == ["Vera Newer"]
    assert _held_versions(engine, 1) == (2, 2)


def test_a_versioned_delete_wins_over_a_late_older_write(engine: ClusterBackend) -> None:
    engine.apply([_write(1, "Deleted", 1), _write(2, "Stays", 1)])
    assert engine.apply([Change(1, None, 2)]).acknowledged == [1]
    assert engine.apply([_write(1, "Deleted", 1)]).acknowledged == [1]
    assert _names(engine) == ["Vera Stays"]
    assert engine.apply([Change(1, None, 1)]).acknowledged == [1], "an older delete of a newer document is done too"
    engine.apply([_write(2, "Renamed", 2)])
    engine.apply([Change(2, None, 1)])
    assert _names(engine) == ["Vera Renamed"]


def test_a_batch_mixing_late_and_fresh_changes_applies_only_the_fresh_ones(engine: ClusterBackend) -> None:
    engine.apply([_write(1, "Kept", 5), _write(2, "Old", 1)])
    result = engine.apply([_write(1, "Stale", 4), _write(2, "Fresh", 2), _write(3, "New", 1)])
    assert sorted(result.acknowledged) == [1, 2, 3] and not result.failed
    assert _names(engine) == ["Vera Fresh", "Vera Kept", "Vera New"]
    engine.refresh()
    assert engine.search(SearchQuery(lat=BOSTON[0], lon=BOSTON[1], text="stale")).hits == []


def test_a_rebuild_indexes_each_document_at_its_own_version(engine: ClusterBackend) -> None:
    assert engine.reindex(iter([_doc(1, "Rebuilt", 7), _doc(2, "Other", 3)])) == 2
    assert _held_versions(engine, 1) == (7, 7)
    engine.apply([_write(1, "Before", 6)])
    assert _names(engine) == ["Vera Other", "Vera Rebuilt"]
    engine.apply([_write(1, "After", 8)])
    assert _names(engine) == ["Vera After", "Vera Other"]


def test_an_index_built_before_versions_asks_for_a_rebuild(request: pytest.FixtureRequest,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    kind = "elasticsearch"
    backend = create_backend(kind, url=request.getfixturevalue(f"{kind}_url"),
                             index_prefix=f"unversioned-{uuid.uuid4().hex[:8]}")
    assert isinstance(backend, ClusterBackend)
    older = {**cluster.MAPPINGS, "properties": {k: v for k, v in cluster.MAPPINGS["properties"].items()
                                                 if k != "version"}}
    try:
        with monkeypatch.context() as patched:
            patched.setattr(cluster, "MAPPINGS", older)
            patched.setattr(cluster, "INDEX_META", {})
            assert backend.ensure_index() is True, "a new index is empty"
        assert backend.ensure_index() is True, "its documents carry the engine's own versions"
        assert backend.apply([_write(1, "Upgraded", 1)]).acknowledged == [1], "writes go on meanwhile"
        assert backend.ensure_index() is True, "until a rebuild replaces it"
        backend.reindex(iter([_doc(1, "Upgraded", 1)]))
        assert backend.ensure_index() is False
    finally:
        for index in backend.engine.alias_targets(backend.alias):
            backend.engine.delete_index(index)
        backend.close()


def test_a_rebuild_that_resends_a_chunk_reports_only_the_documents_really_refused(engine: ClusterBackend) -> None:
    # A document the engine refuses for good (not a 429 or a lost node) stops the rebuild: only it is named, the
    # document the same chunk indexed is not counted as refused, and searches stay on the previous index.
    before = engine.engine.alias_targets(engine.alias)
    broken = {**_doc(2, "Broken", 1), "unmapped_field": True}
    with pytest.raises(SearchUnavailable) as refused:
        engine.reindex(iter([_doc(1, "Fine", 1), broken]))
    message = str(refused.value)
    assert "1 of 2 documents not acknowledged" in message
    assert "document 2:" in message and "document 1:" not in message
    assert "searches stay on the previous index" in message
    assert engine.engine.alias_targets(engine.alias) == before

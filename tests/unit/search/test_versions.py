"""Versioned writes on the embedded backend: whatever order they arrive in, the newest version stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search.backends.embedded import EmbeddedBackend
from search.documents import PlacePoint, PractitionerSource, practitioner_search_document
from search.types import Change, SearchQuery

SEATTLE = (47.6062, -122.3321)


def _doc(pid: int, last_name: str, version: int) -> dict[str, Any]:
    return practitioner_search_document(PractitionerSource(
        id=pid, slug=f"p-{pid}", first_name="Ann", last_name=last_name, title="L.Ac.", bio="", gender="female",
        accepting_new_patients=True, telehealth=False, hidden=False, vetting_status="verified",
        locations=(PlacePoint(*SEATTLE, "Seattle", "WA", "98101", "US"),), version=version))


def _write(pid: int, last_name: str, version: int) -> Change:
    return Change(pid, _doc(pid, last_name, version), version)


def _names(backend: EmbeddedBackend) -> list[str]:
    return sorted(backend.suggest("ann", limit=50))


def test_an_older_version_arriving_after_a_newer_one_is_refused_but_acknowledged(backend: EmbeddedBackend) -> None:
    assert backend.apply([_write(1, "Newer", 2)]).acknowledged == [1]
    late = backend.apply([_write(1, "Older", 1)])
    assert late.acknowledged == [1] and not late.failed, "already newer: nothing left to do"
    assert _names(backend) == ["Ann Newer"]


def test_an_equal_version_is_not_written_twice_and_a_newer_one_is(backend: EmbeddedBackend) -> None:
    backend.apply([_write(1, "First", 3)])
    backend.apply([_write(1, "Same", 3)])
    assert _names(backend) == ["Ann First"]
    backend.apply([_write(1, "Next", 4)])
    assert _names(backend) == ["Ann Next"]


def test_a_delete_keeps_its_version_so_a_late_older_write_cannot_bring_the_document_back(
        backend: EmbeddedBackend) -> None:
    backend.apply([_write(1, "Gone", 1)])
    backend.apply([Change(1, None, 2)])
    backend.apply([_write(1, "Gone", 1)])
    assert backend.count() == 0
    backend.apply([_write(1, "Back", 3)])
    assert _names(backend) == ["Ann Back"], "a newer write after the delete is applied"


def test_a_rebuild_replaces_the_versions_with_its_own(backend: EmbeddedBackend) -> None:
    backend.apply([_write(1, "Before", 9), Change(2, None, 4)])
    backend.reindex(iter([_doc(1, "Rebuilt", 2)]))
    backend.apply([_write(2, "Other", 1)])
    assert _names(backend) == ["Ann Other", "Ann Rebuilt"], "the database is the truth a rebuild writes"


def test_one_batch_mixes_refused_and_applied_changes(backend: EmbeddedBackend) -> None:
    backend.apply([_write(1, "Kept", 5), _write(2, "Old", 1)])
    result = backend.apply([_write(1, "Stale", 4), _write(2, "Fresh", 2), _write(3, "New", 1)])
    assert sorted(result.acknowledged) == [1, 2, 3]
    assert sorted(_names(backend)) == ["Ann Fresh", "Ann Kept", "Ann New"]
    hits = backend.search(SearchQuery(lat=SEATTLE[0], lon=SEATTLE[1], text="stale")).hits
    assert hits == [], "the refused document's text was not indexed either"


def test_a_rebuild_writes_each_document_at_its_own_version(backend: EmbeddedBackend) -> None:
    backend.reindex(iter([_doc(1, "Rebuilt", 7)]))
    backend.apply([_write(1, "Before", 6)])
    assert _names(backend) == ["Ann Rebuilt"]
    backend.apply([_write(1, "After", 8)])
    assert _names(backend) == ["Ann After"]


def test_unversioned_changes_apply_unconditionally(backend: EmbeddedBackend) -> None:
    backend.apply([_write(1, "Versioned", 9)])
    backend.apply([Change(1, _doc(1, "Plain", 0))])
    assert _names(backend) == ["Ann Plain"]


def test_ensure_index_asks_for_a_rebuild_only_when_it_made_the_index(tmp_path: Path) -> None:
    fresh = EmbeddedBackend(str(tmp_path / "fresh.db"))
    try:
        assert fresh.ensure_index() is True, "new and empty: `flask bootstrap` rebuilds it"
        assert fresh.ensure_index() is False
    finally:
        fresh.close()

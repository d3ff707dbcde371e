"""Outbox workers and versions: a late worker never undoes a newer change, claims keep workers apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from directory.clock import utcnow
from directory.extensions import db
from directory.indexing.models import SearchOutbox, SearchVersion
from directory.indexing.services import (
    SqlOutboxStore,
    documents_for,
    outbox_status,
    reindex_all,
    retry_now,
    sync_outbox,
)
from search import SearchBackend, create_backend
from tests import factories


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchBackend]:
    """An embedded index of this test's own (the app's is shared by the session)."""
    backend = create_backend("embedded", path=str(tmp_path / "index.db"))
    backend.ensure_index()
    yield backend
    backend.close()


def _version(pid: int) -> int | None:
    return db.session.scalar(select(SearchVersion.version).where(SearchVersion.practitioner_id == pid))


def _clear_outbox() -> None:
    db.session.execute(SearchOutbox.__table__.delete())
    db.session.commit()


def test_each_transaction_touching_a_practitioner_bumps_its_version_once(session: Any) -> None:
    p = factories.practitioner()
    session.commit()
    assert _version(p.id) == 1
    p.bio = "one"
    session.flush()
    p.locations[0].city = "Somerville"
    session.commit()
    assert _version(p.id) == 2
    pid = p.id
    session.delete(p)
    session.commit()
    assert _version(pid) == 3, "the counter outlives the practitioner: its delete is the newest version"


def test_documents_carry_the_version_they_were_read_at(session: Any) -> None:
    p = factories.practitioner()
    session.commit()
    p.bio = "edited"
    session.commit()
    assert documents_for([p.id])[p.id]["version"] == 2


def test_a_worker_that_read_an_older_document_cannot_overwrite_a_newer_one(session: Any, index: SearchBackend) -> None:
    p = factories.practitioner(first_name="Lena", last_name="Before")
    session.commit()
    slow_worker = SqlOutboxStore()
    read_early = slow_worker.changes([p.id])  # worker A reads version 1, then stalls
    p.last_name = "After"
    session.commit()
    assert sync_outbox(index).applied == 1  # worker B syncs version 2
    assert index.apply(read_early).acknowledged == [p.id], "refused as already newer, so the row may go"
    assert index.suggest("lena") == ["Lena After"]


def test_a_late_delete_of_an_older_version_does_not_remove_a_newer_document(session: Any, index: SearchBackend) -> None:
    p = factories.practitioner(first_name="Nora", last_name="Moved", locations=[])
    session.commit()
    read_early = SqlOutboxStore().changes([p.id])  # no location yet: a delete at version 1
    assert read_early[0].document is None
    p.locations.append(factories.location())
    session.commit()
    sync_outbox(index)
    index.apply(read_early)
    assert index.suggest("nora") == ["Nora Moved"]


def test_a_claimed_row_is_not_handed_to_a_second_worker_until_its_lease_ends(session: Any) -> None:
    _clear_outbox()
    p = factories.practitioner()
    session.commit()
    first, second = SqlOutboxStore(), SqlOutboxStore()
    assert [c.doc_id for c in first.claim(10)] == [p.id]
    assert second.claim(10) == []
    session.execute(update(SearchOutbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert [c.doc_id for c in second.claim(10)] == [p.id], "a worker that died mid-batch delays, never loses"


def test_a_newer_change_is_claimed_while_an_older_claim_is_still_out(session: Any, index: SearchBackend) -> None:
    _clear_outbox()
    p = factories.practitioner(first_name="Ida", last_name="First")
    session.commit()
    slow = SqlOutboxStore()
    slow_claim = slow.claim(10)
    slow_changes = slow.changes([p.id])
    p.last_name = "Second"
    session.commit()
    assert sync_outbox(index).applied == 1, "the new row is due although the old one is claimed"
    index.apply(slow_changes)
    slow.acknowledge(slow_claim)
    assert index.suggest("ida") == ["Ida Second"]
    assert session.scalar(select(SearchOutbox.id).where(SearchOutbox.practitioner_id == p.id)) is None


def test_a_change_made_during_a_rebuild_is_enqueued_again_after_the_switch(session: Any, index: SearchBackend) -> None:
    p = factories.practitioner(first_name="Rhea", last_name="Early")
    session.commit()
    _clear_outbox()

    def change_meanwhile(_count: int) -> None:
        # What a worker does while the rebuild runs: the change reaches the old index and its row is deleted.
        p.last_name = "Meanwhile"
        session.commit()
        _clear_outbox()

    reindex_all(index, progress=change_meanwhile)
    pending = session.scalars(select(SearchOutbox.practitioner_id)).all()
    assert pending == [p.id]
    sync_outbox(index)
    assert index.suggest("rhea") == ["Rhea Meanwhile"]


def test_a_failed_batch_keeps_its_rows_counts_attempts_and_backs_off(session: Any, tmp_path: Path) -> None:
    _clear_outbox()
    p = factories.practitioner()
    session.commit()
    unreachable = create_backend("embedded", path=str(tmp_path / "no" / "such" / "dir" / "index.db"))
    assert sync_outbox(unreachable).failed == 1
    status = outbox_status()
    assert (status.pending, status.max_attempts) == (1, 1) and status.last_error
    assert SqlOutboxStore().claim(10) == [], "backing off, not due"
    retry_now()
    assert sync_outbox(unreachable).failed == 1
    assert outbox_status().max_attempts == 2
    assert session.scalars(select(SearchOutbox.practitioner_id)).all() == [p.id]

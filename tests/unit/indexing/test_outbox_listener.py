"""The flush listener writes outbox rows in the data's transaction: once per practitioner, never lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from directory.indexing.models import SearchOutbox
from directory.models import Review
from tests import factories


def _pending(session: Any) -> list[int]:
    return list(session.scalars(select(SearchOutbox.practitioner_id).order_by(SearchOutbox.id)))


def _clean(session: Any) -> None:
    session.commit()
    session.query(SearchOutbox).delete()
    session.commit()


def test_new_practitioner_gets_an_outbox_row_in_its_transaction(session: Any) -> None:
    p = factories.practitioner()
    assert _pending(session) == [p.id]
    session.rollback()
    assert session.scalar(select(func.count(SearchOutbox.id))) == 0, "rolled back with the data"


def test_several_flushes_in_one_transaction_write_one_row(session: Any) -> None:
    p = factories.practitioner()
    _clean(session)
    p.bio = "first"
    session.flush()
    p.bio = "second"
    session.flush()
    session.commit()
    assert _pending(session) == [p.id]


def test_a_rolled_back_savepoint_does_not_swallow_later_changes(session: Any) -> None:
    p = factories.practitioner()
    _clean(session)
    savepoint = session.begin_nested()
    p.bio = "undone"
    session.flush()
    savepoint.rollback()
    p.bio = "kept"
    session.commit()
    assert _pending(session) == [p.id]


def test_a_review_and_a_location_touch_their_practitioner(session: Any) -> None:
    p = factories.practitioner()
    _clean(session)
    session.add(Review(practitioner_id=p.id, rating=5, body="Great"))
    session.commit()
    p.locations[0].city = "Somerville"
    session.commit()
    assert _pending(session) == [p.id, p.id]

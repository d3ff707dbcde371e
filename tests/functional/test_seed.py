"""The demo seed writes rows the app reads back as if the ORM had written them, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select, text

from directory.models import Location, OpeningHours, Practitioner, Review, ReviewRevision, VerificationCheck
from directory.vetting.chain import verify_chain


def test_seeded_rows_read_back_typed_with_the_defaults_core_would_give(session: Any) -> None:
    from directory.seed import seed_practitioners

    assert seed_practitioners(40, 3) == 40
    p = session.scalars(select(Practitioner).order_by(Practitioner.id.desc()).limit(1)).one()
    # Columns the seed leaves out get their model defaults, not NULL.
    assert (p.fees, p.insurance, p.hidden_reason, p.hidden) == ("", "", "", False)
    assert isinstance(p.created_at, datetime) and isinstance(p.accepting_new_patients, bool)
    hours = session.scalars(select(OpeningHours).join(Location).where(Location.practitioner_id == p.id)).first()
    assert isinstance(hours.opens, time) and isinstance(hours.closes, time)
    review = session.scalars(select(Review).where(Review.hold_reason == "")).first()
    assert review is not None and isinstance(review.visit_date, date)
    assert session.scalar(select(func.count()).select_from(ReviewRevision).where(ReviewRevision.methods == "")) > 0
    # Queries compare dates in SQL, so SQLite must hold them in SQLAlchemy's own text format.
    if session.get_bind().dialect.name == "sqlite":
        stored = session.execute(text("SELECT created_at FROM practitioner WHERE id = :id"), {"id": p.id}).scalar()
        assert stored == p.created_at.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_seeded_chains_verify_and_the_bulk_load_settings_are_restored(session: Any) -> None:
    from directory.seed import seed_practitioners

    sqlite = session.get_bind().dialect.name == "sqlite"
    cache_size = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None
    seed_practitioners(30, 4)
    assert gc.isenabled()
    if sqlite:
        assert session.execute(text("PRAGMA cache_size")).scalar() == cache_size
    pids = session.scalars(select(VerificationCheck.practitioner_id).distinct()).all()
    assert pids
    for pid in pids:
        checks = session.scalars(select(VerificationCheck).where(VerificationCheck.practitioner_id == pid)
                                 .order_by(VerificationCheck.sequence)).all()
        rows = [{c.name: getattr(check, c.name) for c in VerificationCheck.__table__.columns} for check in checks]
        assert verify_chain(rows) == []

"""The search outbox: pending index changes, written in the same transaction as the data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import _enum_check


class SearchOutbox(db.Model):  # type: ignore[name-defined,misc]
    """One practitioner whose search document must be rebuilt (or removed).

    No foreign key on purpose: a deleted practitioner still needs its delete applied.
    """

    __tablename__ = "search_outbox"
    __table_args__ = (
        _enum_check("operation", ("upsert", "delete"), "operation_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(Integer, index=True)
    operation: Mapped[str] = mapped_column(String(8), default="upsert")
    enqueued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class SearchVersion(db.Model):  # type: ignore[name-defined,misc]
    """How many committed changes a practitioner's search document has had: the engines' external version.

    Bumped once per transaction that touches the document, in the flush that writes its outbox row, so the
    row lock (PostgreSQL) or the write lock (SQLite) orders commits by version. No foreign key on purpose: the
    counter outlives a deleted practitioner, whose delete needs a version above every earlier write.
    """

    __tablename__ = "search_version"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    practitioner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CardCache(db.Model):  # type: ignore[name-defined,misc]
    """A practitioner's result card as one row, labelled with the search version it was read at.

    A results page used to read each card from five tables (practitioner, reviews, three vocabulary links,
    locations); at a million practitioners those rows lie spread over a 12 GB database and cost 3-4 ms a page.
    ``load_cards`` trusts a row only while its version equals the practitioner's current search version, which
    every committed change bumps; any other card is read fresh. The outbox worker rewrites the rows of what it
    synced, ``rebuild_cards`` all of them. No foreign key on purpose, as for SearchVersion.
    """

    __tablename__ = "practitioner_card"

    practitioner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)

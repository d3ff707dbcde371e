"""Reviews with their full revision history and moderation state."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import _enum_check

MODERATION_STATES = ("pending", "published", "rejected", "removed")
RATING_RANGE = "rating BETWEEN 1 AND 5"


class Review(db.Model):  # type: ignore[name-defined,misc]
    """A patient's review of a visit; the text shown is its latest revision."""

    __tablename__ = "review"
    __table_args__ = (
        CheckConstraint(RATING_RANGE, name="rating_range"),
        CheckConstraint("body <> ''", name="body_present"),
        CheckConstraint("(response_body IS NULL) = (response_at IS NULL)", name="response_complete"),
        _enum_check("moderation_state", MODERATION_STATES, "moderation_state_known"),
        # Ratings are read per practitioner among published reviews; with this index the
        # planner needs no statistics to avoid scanning every published review.
        Index("ix_review_practitioner_id_moderation_state", "practitioner_id", "moderation_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    # NULL once the author deleted their account: the review stays, anonymised.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    author_display_name: Mapped[str] = mapped_column(String(80), default="Anonymous")
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(160), default="")
    body: Mapped[str] = mapped_column(Text)
    visit_date: Mapped[date | None] = mapped_column(Date)
    moderation_state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    revisions: Mapped[list[ReviewRevision]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewRevision.revision"
    )


class ReviewRevision(db.Model):  # type: ignore[name-defined,misc]
    """A past or current version of a review's text, kept for moderation history."""

    __tablename__ = "review_revision"
    __table_args__ = (
        CheckConstraint(RATING_RANGE, name="rating_range"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        UniqueConstraint("review_id", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(160), default="")
    body: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="revisions")

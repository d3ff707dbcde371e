"""Reviews with their full revision history, moderation state, events and the practitioner's response."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column, relationship

from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.practitioners.models import Condition, Method, Practitioner, _enum_check

MODERATION_STATES = ("pending", "published", "rejected", "removed")
RATING_RANGE = "rating BETWEEN 1 AND 5"
BODY_MAX_LENGTH = 5000
RESPONSE_MAX_LENGTH = 3000
NOTE_MAX_LENGTH = 1000
# The sub-ratings a patient may add to the overall one (each 1-5 or blank).
SUB_RATINGS = ("communication_rating", "risks_rating", "pain_effect_rating")
EVENT_KINDS = ("submitted", "edited", "held", "approved", "rejected", "removed", "reported", "responded",
               "response_edited", "visit_confirmed", "adverse_event_signal")
ACTOR_ROLES = ("patient", "practitioner", "doctor", "admin", "system")


def _optional_range(column: str, low: int, high: int) -> CheckConstraint:
    """Return a CHECK constraint keeping an optional score inside ``low``..``high``."""
    return CheckConstraint(f"{column} IS NULL OR {column} BETWEEN {low} AND {high}", name=f"{column}_range")


def _scores() -> list[CheckConstraint]:
    """Return the range checks every copy of a review's scores carries."""
    return [CheckConstraint(RATING_RANGE, name="rating_range"),
            *(_optional_range(column, 1, 5) for column in SUB_RATINGS),
            _optional_range("pain_before", 0, 10), _optional_range("pain_after", 0, 10),
            CheckConstraint("(pain_before IS NULL) = (pain_after IS NULL)", name="pain_scores_paired"),
            CheckConstraint(f"length(body) <= {BODY_MAX_LENGTH}", name="body_length")]


review_method = Table(
    "review_method",
    db.metadata,
    Column("review_id", ForeignKey("review.id", ondelete="CASCADE"), primary_key=True),
    Column("method_id", ForeignKey("method.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Review(db.Model):  # type: ignore[name-defined,misc]
    """A patient's review of a visit; its scores and text are those of its latest revision."""

    __tablename__ = "review"
    __table_args__ = (
        *_scores(),
        CheckConstraint("body <> ''", name="body_present"),
        CheckConstraint("(response_body IS NULL) = (response_at IS NULL)", name="response_complete"),
        CheckConstraint(f"response_body IS NULL OR length(response_body) <= {RESPONSE_MAX_LENGTH}",
                        name="response_length"),
        CheckConstraint("(visit_confirmed_at IS NULL) OR (visit_confirmed_by_id IS NOT NULL)",
                        name="visit_confirmed_by_someone"),
        _enum_check("moderation_state", MODERATION_STATES, "moderation_state_known"),
        # One review per patient per practitioner (anonymised reviews, author NULL, do not collide).
        UniqueConstraint("practitioner_id", "author_id"),
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
    communication_rating: Mapped[int | None] = mapped_column(SmallInteger)
    risks_rating: Mapped[int | None] = mapped_column(SmallInteger)
    pain_effect_rating: Mapped[int | None] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(160), default="")
    body: Mapped[str] = mapped_column(Text)
    # The visit month, stored as its first day.
    visit_date: Mapped[date | None] = mapped_column(Date)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id", ondelete="RESTRICT"))
    # The referral or appointment request the visit came from (attended or completed): a verified visit.
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"), index=True)
    visit_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    visit_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Pain on the 0-10 numeric rating scale before and after the course (only with a completed referral).
    pain_before: Mapped[int | None] = mapped_column(SmallInteger)
    pain_after: Mapped[int | None] = mapped_column(SmallInteger)
    moderation_state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    # Why the review waits in the queue although moderation would let it through ("" when not held).
    hold_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # First publication: a review rejected after it was public leaves a placeholder, never a gap.
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    removal_category: Mapped[str | None] = mapped_column(String(24))
    response_body: Mapped[str | None] = mapped_column(Text)
    response_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    revisions: Mapped[list[ReviewRevision]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewRevision.revision"
    )
    responses: Mapped[list[ReviewResponseRevision]] = relationship(
        cascade="all, delete-orphan", order_by="ReviewResponseRevision.revision"
    )
    events: Mapped[list[ReviewEvent]] = relationship(order_by="ReviewEvent.id", viewonly=True)
    practitioner: Mapped[Practitioner] = relationship()
    condition: Mapped[Condition | None] = relationship()
    methods: Mapped[list[Method]] = relationship(secondary=review_method, order_by="Method.sort_order")

    @property
    def verified_visit(self) -> bool:
        """Tell whether the visit is verified: tied to an attended/completed referral, or confirmed by an admin."""
        return self.referral_id is not None or self.visit_confirmed_at is not None

    @property
    def edited_at(self) -> datetime | None:
        """Return when the latest revision was written, if the review was ever edited."""
        return self.revisions[-1].edited_at if len(self.revisions) > 1 else None


class ReviewRevision(db.Model):  # type: ignore[name-defined,misc]
    """One version of a review: text, scores, condition, methods and visit month; never changed."""

    __tablename__ = "review_revision"
    __table_args__ = (
        *_scores(),
        CheckConstraint("revision >= 1", name="revision_positive"),
        UniqueConstraint("review_id", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(SmallInteger)
    communication_rating: Mapped[int | None] = mapped_column(SmallInteger)
    risks_rating: Mapped[int | None] = mapped_column(SmallInteger)
    pain_effect_rating: Mapped[int | None] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(160), default="")
    body: Mapped[str] = mapped_column(Text)
    visit_date: Mapped[date | None] = mapped_column(Date)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id", ondelete="RESTRICT"))
    # The methods' names as the patient chose them, comma-separated: a copy, so the version stays as written.
    methods: Mapped[str] = mapped_column(Text, default="", server_default="")
    pain_before: Mapped[int | None] = mapped_column(SmallInteger)
    pain_after: Mapped[int | None] = mapped_column(SmallInteger)
    edited_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="revisions")
    condition: Mapped[Condition | None] = relationship()


class ReviewResponseRevision(db.Model):  # type: ignore[name-defined,misc]
    """One version of the practitioner's public response to a review; the latest is shown."""

    __tablename__ = "review_response_revision"
    __table_args__ = (
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint(f"body <> '' AND length(body) <= {RESPONSE_MAX_LENGTH}", name="body_length"),
        UniqueConstraint("review_id", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    written_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReviewEvent(db.Model):  # type: ignore[name-defined,misc]
    """Something that happened to a review: a decision, report, hold, response, confirmation or signal. Append-only."""

    __tablename__ = "review_event"
    __table_args__ = (
        _enum_check("kind", EVENT_KINDS, "kind_known"),
        _enum_check("actor_role", ACTOR_ROLES, "actor_role_known"),
        CheckConstraint(f"length(note) <= {NOTE_MAX_LENGTH}", name="note_length"),
        # A user reports a review once (a partial index: other kinds repeat freely).
        Index("uq_review_event_one_report", "review_id", "actor_id", unique=True,
              sqlite_where=text("kind = 'reported'"), postgresql_where=text("kind = 'reported'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class AppendOnlyReviewHistory(DomainError):
    """Review events and revisions are never changed or deleted one by one."""

    status = 409
    code = "append_only"


@event.listens_for(ReviewEvent, "before_update")
@event.listens_for(ReviewRevision, "before_update")
@event.listens_for(ReviewResponseRevision, "before_update")
def _refuse_update(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    """Refuse any ORM update of recorded review history."""
    raise AppendOnlyReviewHistory("review history is append-only; record a new revision or event instead")


@event.listens_for(ReviewEvent, "before_delete")
def _refuse_delete(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    """Refuse any ORM delete of a review event."""
    raise AppendOnlyReviewHistory("review events are append-only and cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Refuse ``update(...)``/``delete(...)`` statements on review events too."""
    if (state.is_update or state.is_delete) and any(m.class_ is ReviewEvent for m in state.all_mappers):
        raise AppendOnlyReviewHistory("review events are append-only")

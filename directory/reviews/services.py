"""Review read services: which reviews count, the ratings search and profiles show, outcomes and signals.

``COUNTED`` is the one rule for which reviews count (published ones); the search index
(``published_ratings``, ``published_rating_columns``), the profile and the history pages all use it.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import selectinload

from directory.extensions import db
from directory.practitioners.models import Condition
from directory.reviews.models import Review, ReviewEvent

COUNTED_STATES = ("published",)
# A removed review was public once: it stays as a placeholder so the count never silently drops.
SHOWN_STATES = ("published", "removed")
OUTCOME_MINIMUM = 5


def counted(review: Any = Review) -> ColumnElement[bool]:
    """Return the condition a review must meet to count in ratings (published)."""
    return review.moderation_state.in_(COUNTED_STATES)  # type: ignore[no-any-return]


def counted_reviews(practitioner_id: int | None = None) -> Select[tuple[Review]]:
    """Return a query of the reviews that count (of one practitioner, when given)."""
    query = select(Review).where(counted())
    return query.where(Review.practitioner_id == practitioner_id) if practitioner_id is not None else query


def published_ratings(practitioner_ids: Collection[int]) -> dict[int, tuple[float, int]]:
    """Return practitioner id -> (average rating, count) over published reviews."""
    if not practitioner_ids:
        return {}
    return {
        int(row[0]): (float(row[1]), int(row[2]))
        for row in db.session.execute(
            select(Review.practitioner_id, func.avg(Review.rating), func.count())
            .where(Review.practitioner_id.in_(list(practitioner_ids)), counted())
            .group_by(Review.practitioner_id)
        )
    }


def published_rating_columns(practitioner_id: Any) -> tuple[Any, Any]:
    """Return (average, count) of published reviews as scalar subqueries correlated to ``practitioner_id``.

    For queries that already select practitioners: the rating comes in the same round trip.
    """
    published = (Review.practitioner_id == practitioner_id, counted())
    return (select(func.avg(Review.rating)).where(*published).scalar_subquery(),
            select(func.count()).select_from(Review).where(*published).scalar_subquery())


@dataclass(frozen=True)
class RatingGroup:
    """The average and count of one group of counted reviews (verified visits, or the others)."""

    average: float | None
    count: int


@dataclass(frozen=True)
class RatingSummary:
    """Counted reviews: all together, verified visits and the others apart, the star distribution, removals."""

    average: float | None
    count: int
    distribution: list[tuple[int, int]]
    verified: RatingGroup
    unverified: RatingGroup
    removed: int = 0


def rating_summary(practitioner_id: int) -> RatingSummary:
    """Return the average, count and star distribution of the counted reviews, verified visits apart."""
    verified = (Review.referral_id.is_not(None)) | (Review.visit_confirmed_at.is_not(None))
    rows = db.session.execute(
        select(Review.rating, verified.label("verified"), func.count())
        .where(Review.practitioner_id == practitioner_id, counted()).group_by(Review.rating, "verified"))
    counts: dict[tuple[int, bool], int] = {(int(stars), bool(v)): int(n) for stars, v, n in rows}
    removed = db.session.scalar(select(func.count()).select_from(Review).where(
        Review.practitioner_id == practitioner_id, Review.moderation_state == "removed"))
    by_stars = {stars: counts.get((stars, True), 0) + counts.get((stars, False), 0) for stars in range(1, 6)}
    overall = _group(by_stars)
    return RatingSummary(overall.average, overall.count, [(s, by_stars[s]) for s in range(5, 0, -1)],
                         verified=_group({s: counts.get((s, True), 0) for s in range(1, 6)}),
                         unverified=_group({s: counts.get((s, False), 0) for s in range(1, 6)}),
                         removed=int(removed or 0))


def _group(by_stars: dict[int, int]) -> RatingGroup:
    """Return the average and count of a star histogram."""
    total = sum(by_stars.values())
    return RatingGroup(sum(s * n for s, n in by_stars.items()) / total if total else None, total)


def shown_reviews(practitioner_id: int, limit: int = 50) -> list[Review]:
    """Return the reviews a profile lists: verified visits first, then newest; removed ones as placeholders."""
    verified = (Review.referral_id.is_not(None)) | (Review.visit_confirmed_at.is_not(None))
    return list(db.session.scalars(
        select(Review).where(Review.practitioner_id == practitioner_id, Review.moderation_state.in_(SHOWN_STATES))
        .options(selectinload(Review.revisions), selectinload(Review.methods), selectinload(Review.condition))
        .order_by((Review.moderation_state == "removed"), verified.desc(), Review.created_at.desc(),
                  Review.id.desc()).limit(limit)))


@dataclass(frozen=True)
class ConditionOutcome:
    """Patient-reported pain change for one condition: the median change once enough reviews report it."""

    condition: str
    reports: int
    median_change: float | None


def outcomes(practitioner_id: int) -> list[ConditionOutcome]:
    """Return per condition the median pain change (after minus before) of counted reviews reporting both."""
    rows = db.session.execute(
        select(Condition.name, Review.pain_before, Review.pain_after).join(Condition, Condition.id == Review.condition_id)
        .where(Review.practitioner_id == practitioner_id, counted(), Review.pain_before.is_not(None))
        .order_by(Condition.sort_order, Condition.name))
    changes: dict[str, list[int]] = {}
    for name, before, after in rows:
        changes.setdefault(name, []).append(int(after or 0) - int(before or 0))
    return [ConditionOutcome(name, len(values),
                             float(statistics.median(values)) if len(values) >= OUTCOME_MINIMUM else None)
            for name, values in changes.items()]


@dataclass(frozen=True)
class Signal:
    """An adverse-event mention found in a review: which review, which terms, when."""

    review_id: int
    terms: tuple[str, ...]
    occurred_at: datetime


def adverse_event_signals(practitioner_ids: Collection[int] | None,
                          limit: int | None = None) -> dict[int, list[Signal]]:
    """Return practitioner id -> the adverse-event signals of their reviews, newest first, whatever the moderation.

    ``None`` reads every practitioner's (the newest ``limit``), for the admin review queue.
    """
    if practitioner_ids is not None and not practitioner_ids:
        return {}
    query = (select(Review.practitioner_id, ReviewEvent.review_id, ReviewEvent.reason, ReviewEvent.occurred_at)
             .join(Review, Review.id == ReviewEvent.review_id).where(ReviewEvent.kind == "adverse_event_signal")
             .order_by(ReviewEvent.occurred_at.desc(), ReviewEvent.id.desc()).limit(limit))
    if practitioner_ids is not None:
        query = query.where(Review.practitioner_id.in_(list(practitioner_ids)))
    rows = db.session.execute(query)
    signals: dict[int, list[Signal]] = {}
    for pid, review_id, terms, at in rows:
        signals.setdefault(int(pid), []).append(Signal(int(review_id), tuple(terms.split(", ")), at))
    return signals

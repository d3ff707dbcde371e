"""Review services: the rating summaries that search documents and result cards show."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select

from directory.extensions import db
from directory.reviews.models import Review


def published_ratings(practitioner_ids: Collection[int]) -> dict[int, tuple[float, int]]:
    """Return practitioner id -> (average rating, count) over published reviews."""
    if not practitioner_ids:
        return {}
    return {
        int(row[0]): (float(row[1]), int(row[2]))
        for row in db.session.execute(
            select(Review.practitioner_id, func.avg(Review.rating), func.count())
            .where(Review.practitioner_id.in_(list(practitioner_ids)), Review.moderation_state == "published")
            .group_by(Review.practitioner_id)
        )
    }


def published_rating_columns(practitioner_id: Any) -> tuple[Any, Any]:
    """Return (average, count) of published reviews as scalar subqueries correlated to ``practitioner_id``.

    For queries that already select practitioners: the rating comes in the same round trip.
    """
    published = (Review.practitioner_id == practitioner_id, Review.moderation_state == "published")
    return (select(func.avg(Review.rating)).where(*published).scalar_subquery(),
            select(func.count()).select_from(Review).where(*published).scalar_subquery())

"""Review services: the rating summaries that search documents and result cards show."""

from __future__ import annotations

from collections.abc import Collection

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

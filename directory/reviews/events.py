"""The review history's one writer of events, and the refusal every review service raises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.reviews.models import NOTE_MAX_LENGTH, Review, ReviewEvent


class ReviewRefused(DomainError):
    """The review action conflicts with the review's or the practitioner's state."""

    status = 409
    code = "review_refused"


def record_event(review: Review, kind: str, actor: Any, *, from_state: str | None = None,
                 to_state: str | None = None, reason: str = "", note: str = "",
                 at: datetime | None = None) -> ReviewEvent:
    """Add one event to the review's append-only history (actor None: the system)."""
    event = ReviewEvent(review_id=review.id, kind=kind, actor_id=getattr(actor, "id", None),
                        actor_role=actor.role if actor is not None else "system", from_state=from_state,
                        to_state=to_state, reason=reason[:300], note=note[:NOTE_MAX_LENGTH],
                        occurred_at=at or utcnow())
    db.session.add(event)
    return event

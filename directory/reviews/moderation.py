"""Moderating reviews: the admin queue, approve and reject with a reason, reports, visit confirmations, responses.

Plain functions over the session: they raise DomainError subclasses and never commit.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import Forbidden, InvalidParameter, NotFound
from directory.extensions import db
from directory.reviews.events import ReviewRefused, record_event
from directory.reviews.models import NOTE_MAX_LENGTH, RESPONSE_MAX_LENGTH, Review, ReviewEvent, ReviewResponseRevision

# The fixed reasons a review is rejected or reported for; the public sees the label as the removal's category.
REASONS = MappingProxyType({
    "off_topic": "Off-topic",
    "personal_data": "Personal data",
    "abusive": "Abusive",
    "conflict_of_interest": "Conflict of interest",
    "suspected_fake": "Suspected fake",
})
NO_REVIEW = "There is no review with this number."


def queue() -> list[Review]:
    """Return the reviews waiting for a moderator: pending ones and published ones reported or held, oldest first."""
    return list(db.session.scalars(
        select(Review).where(or_(Review.moderation_state == "pending",
                                 (Review.moderation_state == "published") & (Review.hold_reason != "")))
        .options(selectinload(Review.revisions), selectinload(Review.methods), selectinload(Review.practitioner))
        .order_by(Review.created_at, Review.id).limit(200)
    ))


def get_review(review_id: int) -> Review:
    """Return the review with ``review_id``, or NotFound."""
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound(NO_REVIEW)
    return review


def approve(admin: User, review_id: int, *, now: datetime | None = None) -> Review:
    """Publish a queued review (or keep a reported one up), recording the decision."""
    now = now or utcnow()
    review = get_review(review_id)
    if not in_queue(review):
        raise ReviewRefused("This review is not waiting for a decision; reload the queue.")
    before = review.moderation_state
    review.moderation_state, review.hold_reason = "published", ""
    review.moderated_by_id, review.moderated_at = admin.id, now
    review.published_at = review.published_at or now
    record_event(review, "approved", admin, from_state=before, to_state="published", at=now)
    return review


def reject(admin: User, review_id: int, reason: str, note: str = "", *, now: datetime | None = None) -> Review:
    """Reject a queued review; one that was public becomes ``removed`` and leaves a placeholder with the reason."""
    now = now or utcnow()
    review = get_review(review_id)
    _check_reason(reason)
    _check_note(note)
    if not in_queue(review):
        raise ReviewRefused("This review is not waiting for a decision; reload the queue.")
    before = review.moderation_state
    review.moderation_state = "removed" if review.published_at is not None else "rejected"
    review.removal_category, review.hold_reason = reason, ""
    review.moderated_by_id, review.moderated_at = admin.id, now
    record_event(review, "removed" if review.moderation_state == "removed" else "rejected", admin,
                 from_state=before, to_state=review.moderation_state, reason=reason, note=note, at=now)
    return review


def report(user: User, review_id: int, reason: str, note: str = "", *, now: datetime | None = None) -> Review:
    """Report a published review (once per user): it returns to the queue and stays up until an admin decides."""
    now = now or utcnow()
    review = get_review(review_id)
    if user.role not in ("patient", "practitioner"):
        raise Forbidden("Patients and practitioners can report reviews; admins moderate them from the queue.")
    if review.moderation_state != "published":
        raise NotFound(NO_REVIEW)
    _check_reason(reason)
    _check_note(note)
    if db.session.scalar(select(ReviewEvent.id).where(ReviewEvent.review_id == review.id,
                                                      ReviewEvent.actor_id == user.id,
                                                      ReviewEvent.kind == "reported")) is not None:
        raise ReviewRefused("You have already reported this review; our moderators will look at it.")
    review.hold_reason = f"reported: {REASONS[reason].lower()}"[:300]
    record_event(review, "reported", user, from_state="published", to_state="published", reason=reason, note=note,
                 at=now)
    return review


def confirm_visit(admin: User, review_id: int, note: str, *, now: datetime | None = None) -> Review:
    """Mark a review's visit verified on an admin's word (say how it was confirmed); audited."""
    now = now or utcnow()
    review = get_review(review_id)
    if not note.strip():
        raise InvalidParameter("Say how the visit was confirmed (for example: the practitioner's appointment "
                               "book).", field="note")
    _check_note(note)
    if review.verified_visit:
        raise ReviewRefused("This review's visit is verified already.")
    review.visit_confirmed_at, review.visit_confirmed_by_id = now, admin.id
    record_event(review, "visit_confirmed", admin, note=note, at=now)
    record_audit("review_visit_confirmed", actor_id=admin.id, subject_type="review", subject_id=review.id, note=note)
    return review


def respond(user: User, review_id: int, body: str, *, now: datetime | None = None) -> Review:
    """Post or edit the practitioner's one public response to a review of their own profile."""
    now = now or utcnow()
    review = get_review(review_id)
    if user.role != "practitioner" or user.practitioner_id != review.practitioner_id:
        raise Forbidden("Only the practitioner this review is about can respond to it.")
    if review.moderation_state != "published":
        raise ReviewRefused("You can respond once the review is published.")
    text = (body or "").strip()
    if not text:
        raise InvalidParameter("Write your response.", field="body")
    if len(text) > RESPONSE_MAX_LENGTH:
        raise InvalidParameter(f"Keep your response to {RESPONSE_MAX_LENGTH:,} characters; this one has "
                               f"{len(text):,}.", field="body")
    kind = "response_edited" if review.response_body is not None else "responded"
    review.responses.append(ReviewResponseRevision(revision=len(review.responses) + 1, body=text, author_id=user.id,
                                                   written_at=now))
    review.response_body, review.response_at = text, now
    record_event(review, kind, user, at=now)
    return review


def in_queue(review: Review) -> bool:
    """Tell whether a review waits for a moderator's decision."""
    return review.moderation_state == "pending" or (review.moderation_state == "published"
                                                      and bool(review.hold_reason))


def _check_reason(reason: str) -> None:
    """Refuse a reason that is not on the fixed list."""
    if reason not in REASONS:
        raise InvalidParameter(f"Choose a reason: {', '.join(REASONS.values())}.", field="reason")


def _check_note(note: str) -> None:
    """Refuse a note longer than the event column holds."""
    if len(note or "") > NOTE_MAX_LENGTH:
        raise InvalidParameter(f"Keep the note to {NOTE_MAX_LENGTH:,} characters; this one has {len(note):,}.",
                               field="note")

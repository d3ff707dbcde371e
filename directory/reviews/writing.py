"""Writing and editing reviews: who may, what a review must hold, verified visits, holds and signals.

Plain functions over the session: they raise DomainError subclasses and never commit (the view
helper commits once, with the review, its revision and its events).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import Forbidden, InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Condition, Method, Practitioner
from directory.referrals.models import Referral
from directory.reviews.events import ReviewRefused, record_event
from directory.reviews.models import BODY_MAX_LENGTH, SUB_RATINGS, Review, ReviewRevision
from directory.reviews.signals import DEFAULT_TERMS, adverse_event_terms

VISITED_STATES = ("attended", "completed")
NOT_FOUND = "There is no review with this number that you can edit."
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"(https?://|www\.)\S+|\b[\w-]+\.(com|org|net|io|co|info|biz|us|uk|de)\b", re.IGNORECASE)
# Seven or more digits, allowing the spaces, dots, dashes and brackets phone numbers are written with.
_PHONE = re.compile(r"(?:\+?\d[\s().-]{0,2}){7,}")


@dataclass(frozen=True)
class ReviewInput:
    """What a patient fills in: scores, text, the condition and methods (slugs), the visit month, pain scores."""

    rating: int | None
    body: str
    title: str = ""
    communication_rating: int | None = None
    risks_rating: int | None = None
    pain_effect_rating: int | None = None
    condition: str | None = None
    methods: tuple[str, ...] = ()
    visit_month: date | None = None
    pain_before: int | None = None
    pain_after: int | None = None


def write_review(patient: User, practitioner: Practitioner, given: ReviewInput, *,
                 now: datetime | None = None) -> Review:
    """Record a patient's first review of ``practitioner``: revision 1, its events, holds and signals."""
    now = now or utcnow()
    check_may_review(patient, practitioner)
    referral = visit_referral(patient, practitioner)
    review = Review(practitioner_id=practitioner.id, author_id=patient.id, author_display_name=_display_name(patient),
                    body="-", rating=1, created_at=now, updated_at=now, referral_id=referral.id if referral else None)
    _apply(review, given, referral, now)
    db.session.add(review)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a second tab posted the same first review at the same moment
        raise _already_reviewed(practitioner) from None
    record_event(review, "submitted", patient, to_state=review.moderation_state, at=now)
    _moderate_new_text(review, patient, now, first=True)
    return review


def edit_review(patient: User, review_id: int, given: ReviewInput, *, now: datetime | None = None) -> Review:
    """Record a new revision of the patient's own review (anyone else's answers 404)."""
    now = now or utcnow()
    review = own_review(patient, review_id)
    if review.moderation_state == "removed":
        raise ReviewRefused("This review was removed by our moderators and can no longer be edited.")
    referral = db.session.get(Referral, review.referral_id) if review.referral_id else None
    _apply(review, given, referral, now)
    if review.moderation_state == "rejected":
        review.moderation_state = "pending"  # a rejected review, rewritten, is a new submission
    record_event(review, "edited", patient, to_state=review.moderation_state, at=now)
    _moderate_new_text(review, patient, now, first=False)
    return review


def own_review(patient: User, review_id: int) -> Review:
    """Return the patient's own review, or NotFound (someone else's review is not theirs to see here)."""
    review = db.session.get(Review, review_id)
    if review is None or review.author_id is None or review.author_id != patient.id:
        raise NotFound(NOT_FOUND)
    return review


def check_may_review(user: User, practitioner: Practitioner) -> None:
    """Refuse a non-patient, a hidden or suspended practitioner, and a second review of the same one."""
    if user.role != "patient":
        raise Forbidden("Only patients can write reviews. Practitioner, doctor and admin accounts cannot review "
                        "practitioners, their own profile included.")
    if practitioner.hidden or practitioner.vetting_status == "suspended":
        raise ReviewRefused(f"{practitioner.display_name}'s listing is suspended or hidden, so it cannot be "
                            "reviewed at the moment.")
    existing = db.session.scalar(select(Review.id).where(Review.practitioner_id == practitioner.id,
                                                         Review.author_id == user.id))
    if existing is not None:
        raise _already_reviewed(practitioner)


def visit_referral(patient: User, practitioner: Practitioner) -> Referral | None:
    """Return the patient's referral/request with this practitioner that proves a visit (completed ones first)."""
    return db.session.scalars(
        select(Referral).where(Referral.practitioner_id == practitioner.id, Referral.patient_id == patient.id,
                               Referral.state.in_(VISITED_STATES))
        .order_by((Referral.state == "completed").desc(), Referral.id.desc()).limit(1)
    ).first()


def hold_reasons(review: Review, author: User, now: datetime) -> list[str]:
    """Return why a review must wait for a moderator whatever the moderation mode (empty: no hold)."""
    reasons = []
    text = f"{review.title} {review.body}"
    if _EMAIL.search(text) or _URL.search(text) or _PHONE.search(text):
        reasons.append("contact details in the text")
    min_age = int(current_app.config.get("REVIEW_MIN_ACCOUNT_AGE_DAYS", 3))
    if author.created_at > now - timedelta(days=min_age):
        reasons.append(f"account younger than {min_age} days")
    if _burst(review.practitioner_id, now):
        reasons.append("a burst of reviews for this practitioner")
    return reasons


def _burst(practitioner_id: int, now: datetime) -> bool:
    """Tell whether more than REVIEW_BURST_COUNT reviews reached this practitioner in REVIEW_BURST_HOURS."""
    count = int(current_app.config.get("REVIEW_BURST_COUNT", 5))
    hours = float(current_app.config.get("REVIEW_BURST_HOURS", 24))
    recent = db.session.scalar(select(func.count()).select_from(Review).where(
        Review.practitioner_id == practitioner_id, Review.created_at >= now - timedelta(hours=hours)))
    return int(recent or 0) > count


def _moderate_new_text(review: Review, author: User, now: datetime, *, first: bool) -> None:
    """Publish, queue or hold new text by the moderation mode and the holds; flag adverse events."""
    reasons = hold_reasons(review, author, now)
    before = review.moderation_state
    if reasons:
        review.hold_reason = "; ".join(reasons)[:300]
        review.moderation_state = "pending"
    elif first and moderation_mode() == "post":
        review.moderation_state, review.published_at = "published", now
    if reasons:
        record_event(review, "held", None, from_state=before, to_state=review.moderation_state,
                     reason=review.hold_reason, at=now)
    terms = adverse_event_terms(f"{review.title} {review.body}", signal_terms())
    if terms:
        record_event(review, "adverse_event_signal", None, reason=", ".join(terms)[:300], at=now)


def moderation_mode() -> str:
    """Return REVIEW_MODERATION: "pre" (an admin approves first, the default) or "post"."""
    mode = str(current_app.config.get("REVIEW_MODERATION", "pre"))
    return mode if mode in ("pre", "post") else "pre"


def signal_terms() -> tuple[str, ...]:
    """Return the adverse-event terms (REVIEW_ADVERSE_EVENT_TERMS: a list or a comma-separated string)."""
    configured = current_app.config.get("REVIEW_ADVERSE_EVENT_TERMS") or DEFAULT_TERMS
    if isinstance(configured, str):
        configured = configured.split(",")
    return tuple(term.strip() for term in configured if term.strip())


def _apply(review: Review, given: ReviewInput, referral: Referral | None, now: datetime) -> None:
    """Check ``given`` and make it the review's latest revision."""
    rating = _score(given.rating, "rating", "the overall rating", required=True)
    subs = {name: _score(getattr(given, name), name, "each sub-rating") for name in SUB_RATINGS}
    body, title = _body(given.body), given.title.strip()[:160]
    visit = _visit_month(given.visit_month, now)
    condition = _condition(given.condition)
    methods = _methods(given.methods)
    pain = _pain(given, referral)
    review.rating, review.body, review.title, review.visit_date = int(rating or 1), body, title, visit
    for name, value in subs.items():
        setattr(review, name, value)
    review.condition_id = condition.id if condition else None
    review.methods = methods
    review.pain_before, review.pain_after = pain
    review.updated_at = now
    number = len(review.revisions) + 1
    review.revisions.append(ReviewRevision(
        revision=number, rating=rating, title=title, body=body, visit_date=visit, edited_at=now,
        condition_id=review.condition_id, methods=", ".join(m.name for m in methods),
        pain_before=pain[0], pain_after=pain[1], **subs))


def _score(value: int | None, field: str, what: str, *, required: bool = False) -> int | None:
    """Return a 1-5 score, None when blank and optional; refuse anything else."""
    if value is None:
        if required:
            raise InvalidParameter("Choose an overall rating from 1 to 5 stars.", field=field)
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise InvalidParameter(f"Give {what} as a whole number of stars from 1 to 5.", field=field)
    return value


def _body(text: str) -> str:
    """Return the review text, refusing an empty one and one over BODY_MAX_LENGTH characters."""
    body = (text or "").strip()
    if not body:
        raise InvalidParameter("Write a few words about your visit.", field="body")
    if len(body) > BODY_MAX_LENGTH:
        raise InvalidParameter(f"Keep your review to {BODY_MAX_LENGTH:,} characters; this one has {len(body):,}.",
                               field="body")
    return body


def _visit_month(month: date | None, now: datetime) -> date | None:
    """Return the visit month as its first day; refuse a month in the future."""
    if month is None:
        return None
    first = month.replace(day=1)
    if first > now.date().replace(day=1):
        raise InvalidParameter("The visit month cannot be in the future.", field="visit_month")
    if first.year < 1990:
        raise InvalidParameter("Give the month of a visit since 1990.", field="visit_month")
    return first


def _condition(slug: str | None) -> Condition | None:
    """Return the condition with ``slug`` (None when not given); refuse one not in the vocabulary."""
    if not slug:
        return None
    condition = db.session.scalar(select(Condition).where(Condition.slug == slug[:60]))
    if condition is None:
        raise InvalidParameter("Choose the condition from the list.", field="condition")
    return condition


def _methods(slugs: tuple[str, ...]) -> list[Method]:
    """Return the methods with these slugs; refuse any not in the vocabulary."""
    wanted = {slug[:60] for slug in slugs if slug}
    if not wanted:
        return []
    methods = list(db.session.scalars(select(Method).where(Method.slug.in_(wanted)).order_by(Method.sort_order)))
    if len(methods) != len(wanted):
        raise InvalidParameter("Choose the methods from the list.", field="methods")
    return methods


def _pain(given: ReviewInput, referral: Referral | None) -> tuple[int | None, int | None]:
    """Return the before/after pain scores (0-10), allowed only with a completed referral and given as a pair."""
    before, after = given.pain_before, given.pain_after
    if before is None and after is None:
        return None, None
    if referral is None or referral.state != "completed":
        raise InvalidParameter("Pain scores can be given only for a course of treatment completed through a "
                               "Meridian referral or appointment request.")
    if before is None or after is None:
        raise InvalidParameter("Give your pain both before and after the treatment, or neither.", field="pain_after")
    for value, field in ((before, "pain_before"), (after, "pain_after")):
        if not 0 <= value <= 10:
            raise InvalidParameter("Give pain as a number from 0 (no pain) to 10 (the worst imaginable).", field=field)
    return before, after


def _display_name(user: User) -> str:
    """Return how a patient is named under a review: first name and last initial ("Lena P.")."""
    parts = (user.full_name or "").split()
    if not parts:
        return "A patient"
    return (parts[0] + (f" {parts[-1][0]}." if len(parts) > 1 else ""))[:80]


def _already_reviewed(practitioner: Practitioner) -> ReviewRefused:
    """Return the refusal of a second review of the same practitioner."""
    return ReviewRefused(f"You have already reviewed {practitioner.display_name}. Each patient writes one review "
                         "per practitioner: edit yours instead.", field="body")

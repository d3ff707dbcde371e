"""Demo reviews for a newcomer: a verified visit edited and answered, a removed review, held ones, a signal.

Everything goes through the services real users go through (write_review, edit_review, approve,
report, reject, respond); only the clock is set, so each story happened days ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from directory.accounts import services as accounts
from directory.accounts import tokens
from directory.accounts.models import User
from directory.practitioners.models import Practitioner
from directory.reviews import moderation
from directory.reviews.writing import ReviewInput, edit_review, write_review

NEW_PATIENT = ("patient.new@demo.meridian.example", "demo patient passphrase 2026", "Noor Newcomer")


def seed_reviews(users: dict[str, User], profiles: list[Practitioner], now: datetime) -> None:
    """Tell the review stories on the two demo profiles (never commits)."""
    for handle in ("patient", "patient2"):
        users[handle].created_at = now - timedelta(days=60)  # older than the new-account hold
    first, second = profiles
    _verified_and_answered(users, first, now)
    _removed_after_a_report(users, first, now)
    write_review(users["patient2"], second, ReviewInput(
        rating=5, body="Wonderful! Text me on 617 555 0142 and I will tell you everything.",
        visit_month=(now - timedelta(days=20)).date()), now=now - timedelta(days=2))
    write_review(_new_patient(), first, ReviewInput(
        rating=3, body="Helpful for my neck, but there was some bleeding at one point and I felt dizzy.",
        visit_month=(now - timedelta(days=7)).date()), now=now - timedelta(hours=5))


def _verified_and_answered(users: dict[str, User], profile: Practitioner, now: datetime) -> None:
    """The patient of the completed demo referral reviews, is approved, answered, edits; the answer is edited."""
    patient, admin, owner = users["patient"], users["admin"], users["practitioner"]
    condition = profile.conditions[0].slug if profile.conditions else None
    methods = tuple(m.slug for m in profile.methods[:1])
    review = write_review(patient, profile, ReviewInput(
        rating=5, title="My back pain is down from 7 to 3", condition=condition, methods=methods,
        body="Six sessions of needling. Clear about what to expect and the small risks, and my pain is much lower.",
        communication_rating=5, risks_rating=5, pain_effect_rating=4, pain_before=7, pain_after=3,
        visit_month=(now - timedelta(days=17)).date()), now=now - timedelta(days=15))
    moderation.approve(admin, review.id, now=now - timedelta(days=14))
    moderation.respond(owner, review.id, "Thank you for the kind words.", now=now - timedelta(days=13))
    edit_review(patient, review.id, ReviewInput(
        rating=4, title="Pain down from 7 to 3, a little back since", condition=condition, methods=methods,
        body="Six sessions of needling helped a lot. A month on, some pain is back, so four stars, not five.",
        communication_rating=5, risks_rating=5, pain_effect_rating=4, pain_before=7, pain_after=3,
        visit_month=(now - timedelta(days=17)).date()), now=now - timedelta(days=5))
    moderation.respond(owner, review.id, "Thank you for the update. Keep up the home exercises, and book a "
                                         "follow-up session if the pain stays.", now=now - timedelta(days=4))


def _removed_after_a_report(users: dict[str, User], profile: Practitioner, now: datetime) -> None:
    """A published review is reported and removed: the profile shows its placeholder."""
    review = write_review(users["patient2"], profile, ReviewInput(
        rating=1, body="Never been, but my cousin says this place is a scam and everyone should go elsewhere."),
        now=now - timedelta(days=12))
    moderation.approve(users["admin"], review.id, now=now - timedelta(days=11))
    moderation.report(users["practitioner"], review.id, "suspected_fake", "We have no record of this patient.",
                      now=now - timedelta(days=10))
    moderation.reject(users["admin"], review.id, "suspected_fake", "The author says they never visited.",
                      now=now - timedelta(days=9))


def _new_patient() -> User:
    """Sign up a patient today: their review waits under the new-account hold."""
    email, password, name = NEW_PATIENT
    user = accounts.sign_up(email, password, name, "patient", None)
    accounts.confirm_email(tokens.make_token("confirm", {"uid": user.id, "email": user.email}))
    return user

"""Review services: writing, editing, verified visits, holds, moderation, reports, responses, summaries."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from directory.clock import utcnow
from directory.errors import DomainError, Forbidden, InvalidParameter, NotFound
from directory.extensions import db
from directory.indexing.models import SearchOutbox
from directory.reviews import moderation
from directory.reviews.events import ReviewRefused
from directory.reviews.models import AppendOnlyReviewHistory, Review, ReviewEvent
from directory.reviews.services import adverse_event_signals, outcomes, published_ratings, rating_summary
from directory.reviews.writing import ReviewInput, edit_review, write_review
from tests import factories

GOOD = ReviewInput(rating=5, body="Calm, careful and my back is much better.", condition="low-back-pain",
                   methods=("filiform-needling",), visit_month=date(2026, 10, 1))


def _kinds(review: Review) -> list[str]:
    return list(db.session.scalars(select(ReviewEvent.kind).where(ReviewEvent.review_id == review.id)
                                   .order_by(ReviewEvent.id)))


def test_a_review_is_pending_with_its_first_revision_under_pre_moderation(session: Any) -> None:
    p, patient = factories.practitioner(), factories.patient()
    review = write_review(patient, p, GOOD)
    assert review.moderation_state == "pending" and review.hold_reason == ""
    assert [r.revision for r in review.revisions] == [1]
    assert review.revisions[0].methods == review.methods[0].name
    assert review.author_display_name == "Lena P."
    assert _kinds(review) == ["submitted"]
    assert not review.verified_visit


def test_post_moderation_publishes_at_once(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "REVIEW_MODERATION", "post")
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    assert review.moderation_state == "published" and review.published_at is not None


@pytest.mark.parametrize(("body", "reason"), [
    ("Call me on 617 555 0100 to compare notes", "contact details"),
    ("Write to lena@example.org", "contact details"),
    ("See my blog at www.lena-blog.example", "contact details"),
])
def test_contact_details_hold_even_under_post_moderation(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch,
                                                          body: str, reason: str) -> None:
    monkeypatch.setitem(app.config, "REVIEW_MODERATION", "post")
    review = write_review(factories.patient(), factories.practitioner(), ReviewInput(rating=4, body=body))
    assert review.moderation_state == "pending" and reason in review.hold_reason
    assert "held" in _kinds(review)


def test_a_young_account_is_held(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "REVIEW_MODERATION", "post")
    young = factories.patient(created_at=utcnow() - timedelta(days=1))
    review = write_review(young, factories.practitioner(), GOOD)
    assert review.moderation_state == "pending" and "account younger than 3 days" in review.hold_reason


def test_a_burst_of_reviews_for_one_practitioner_is_held(app: Flask, session: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "REVIEW_MODERATION", "post")
    monkeypatch.setitem(app.config, "REVIEW_BURST_COUNT", 2)
    p = factories.practitioner()
    states = [write_review(factories.patient(), p, GOOD).hold_reason for _ in range(3)]
    assert states[:2] == ["", ""] and "burst" in states[2]


def test_a_completed_referral_makes_a_verified_visit_with_pain_scores(session: Any) -> None:
    p, patient = factories.practitioner(), factories.patient()
    referral = factories.visited_referral(patient, p)
    review = write_review(patient, p, ReviewInput(rating=4, body="Helped.", pain_before=7, pain_after=3))
    assert review.referral_id == referral.id and review.verified_visit
    assert (review.pain_before, review.pain_after) == (7, 3)


def test_pain_scores_need_a_completed_referral(session: Any) -> None:
    p, patient = factories.practitioner(), factories.patient()
    factories.visited_referral(patient, p, state="attended")
    with pytest.raises(InvalidParameter, match="completed"):
        write_review(patient, p, ReviewInput(rating=4, body="Helped.", pain_before=7, pain_after=3))


def test_another_patients_referral_does_not_verify(session: Any) -> None:
    p = factories.practitioner()
    factories.visited_referral(factories.patient(), p)
    assert not write_review(factories.patient(), p, GOOD).verified_visit


@pytest.mark.parametrize("rating", [0, 6, -1, None])
def test_a_rating_outside_one_to_five_is_refused(session: Any, rating: int | None) -> None:
    with pytest.raises(InvalidParameter) as refused:
        write_review(factories.patient(), factories.practitioner(), ReviewInput(rating=rating, body="x"))
    assert refused.value.field == "rating"


def test_a_sub_rating_outside_one_to_five_is_refused(session: Any) -> None:
    with pytest.raises(InvalidParameter, match="sub-rating"):
        write_review(factories.patient(), factories.practitioner(), ReviewInput(rating=4, body="x", risks_rating=9))


def test_text_over_the_cap_is_refused(session: Any) -> None:
    with pytest.raises(InvalidParameter, match="5,000 characters"):
        write_review(factories.patient(), factories.practitioner(), ReviewInput(rating=4, body="x" * 20_000))


def test_a_future_visit_month_is_refused(session: Any) -> None:
    future = (utcnow().date().replace(day=1) + timedelta(days=40))
    with pytest.raises(InvalidParameter, match="future"):
        write_review(factories.patient(), factories.practitioner(), ReviewInput(rating=4, body="x", visit_month=future))


def test_a_second_review_of_the_same_practitioner_is_refused(session: Any) -> None:
    p, patient = factories.practitioner(), factories.patient()
    write_review(patient, p, GOOD)
    with pytest.raises(ReviewRefused, match="already reviewed"):
        write_review(patient, p, GOOD)


@pytest.mark.parametrize("role", ["practitioner", "doctor", "admin"])
def test_only_patients_write_reviews(session: Any, role: str) -> None:
    p = factories.practitioner()
    author = factories.practitioner_account(p) if role == "practitioner" else factories.user(role)
    with pytest.raises(Forbidden, match="Only patients"):
        write_review(author, p, GOOD)


@pytest.mark.parametrize("fields", [{"vetting_status": "suspended"}, {"hidden": True}])
def test_a_suspended_or_hidden_practitioner_cannot_be_reviewed(session: Any, fields: dict[str, Any]) -> None:
    with pytest.raises(ReviewRefused, match="suspended or hidden"):
        write_review(factories.patient(), factories.practitioner(**fields), GOOD)


def test_editing_adds_a_revision_and_keeps_the_first(session: Any) -> None:
    p, patient = factories.practitioner(), factories.patient()
    review = write_review(patient, p, GOOD)
    edit_review(patient, review.id, ReviewInput(rating=3, body="Second thoughts."))
    assert [(r.revision, r.rating, r.body) for r in review.revisions] == [
        (1, 5, GOOD.body), (2, 3, "Second thoughts.")]
    assert review.rating == 3 and review.body == "Second thoughts." and review.edited_at is not None
    assert _kinds(review) == ["submitted", "edited"]


def test_editing_someone_elses_review_is_not_found(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    with pytest.raises(NotFound):
        edit_review(factories.patient(), review.id, GOOD)


def test_approve_publishes_and_reject_after_publication_removes(session: Any) -> None:
    admin = factories.user("admin")
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    moderation.approve(admin, review.id)
    assert review.moderation_state == "published"
    moderation.report(factories.patient(), review.id, "suspected_fake", "Never met them")
    assert review.moderation_state == "published" and review in moderation.queue()
    moderation.reject(admin, review.id, "suspected_fake")
    assert review.moderation_state == "removed" and review.removal_category == "suspected_fake"
    assert _kinds(review) == ["submitted", "approved", "reported", "removed"]
    assert rating_summary(review.practitioner_id).removed == 1


def test_rejecting_a_never_published_review_rejects_it(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    moderation.reject(factories.user("admin"), review.id, "off_topic")
    assert review.moderation_state == "rejected"


def test_a_reason_off_the_list_is_refused(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    with pytest.raises(InvalidParameter, match="Choose a reason"):
        moderation.reject(factories.user("admin"), review.id, "i-dislike-it")


def test_a_user_reports_a_review_once(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    moderation.approve(factories.user("admin"), review.id)
    reporter = factories.patient()
    moderation.report(reporter, review.id, "abusive")
    with pytest.raises(ReviewRefused, match="already reported"):
        moderation.report(reporter, review.id, "abusive")


def test_the_owner_responds_and_edits_with_history(session: Any) -> None:
    p = factories.practitioner()
    owner = factories.practitioner_account(p)
    review = write_review(factories.patient(), p, GOOD)
    moderation.approve(factories.user("admin"), review.id)
    moderation.respond(owner, review.id, "Thank you!")
    moderation.respond(owner, review.id, "Thank you, and keep up the exercises.")
    assert [r.body for r in review.responses] == ["Thank you!", "Thank you, and keep up the exercises."]
    assert review.response_body == "Thank you, and keep up the exercises."
    assert _kinds(review)[-2:] == ["responded", "response_edited"]


def test_another_practitioner_cannot_respond(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    moderation.approve(factories.user("admin"), review.id)
    with pytest.raises(Forbidden, match="Only the practitioner"):
        moderation.respond(factories.practitioner_account(), review.id, "Rubbish review")


def test_an_admin_confirms_a_visit_and_it_is_audited(session: Any) -> None:
    from directory.accounts.models import AuditEvent

    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    moderation.confirm_visit(factories.user("admin"), review.id, "Appointment book, 12 Oct")
    assert review.verified_visit
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.subject_id == review.id,
                                                             AuditEvent.subject_type == "review"))


def test_adverse_event_signals_are_recorded_whatever_the_moderation(session: Any) -> None:
    p = factories.practitioner()
    review = write_review(factories.patient(), p, ReviewInput(rating=2, body="I fainted and there was bleeding."))
    moderation.reject(factories.user("admin"), review.id, "off_topic")
    quiet = write_review(factories.patient(), p, ReviewInput(rating=5, body="No bleeding, didn't faint."))
    signals = adverse_event_signals([p.id])[p.id]
    assert [(s.review_id, s.terms) for s in signals] == [(review.id, ("bleeding", "fainting"))]
    assert quiet.id not in {s.review_id for s in signals}


def test_an_edit_mentioning_an_adverse_event_is_flagged_too(session: Any) -> None:
    p, patient = factories.practitioner(), factories.patient()
    review = write_review(patient, p, GOOD)
    edit_review(patient, review.id, ReviewInput(rating=2, body="Later the spot got infected."))
    assert adverse_event_signals([p.id])[p.id][0].terms == ("infection",)


def test_summary_puts_verified_visits_apart_and_counts_only_published(session: Any) -> None:
    p, admin = factories.practitioner(), factories.user("admin")
    verified_patient = factories.patient()
    factories.visited_referral(verified_patient, p)
    for author, rating in ((verified_patient, 5), (factories.patient(), 3)):
        moderation.approve(admin, write_review(author, p, ReviewInput(rating=rating, body="ok")).id)
    write_review(factories.patient(), p, ReviewInput(rating=1, body="pending"))
    summary = rating_summary(p.id)
    assert (summary.count, summary.average) == (2, 4.0)
    assert (summary.verified.count, summary.verified.average) == (1, 5.0)
    assert (summary.unverified.count, summary.unverified.average) == (1, 3.0)
    assert dict(summary.distribution) == {5: 1, 4: 0, 3: 1, 2: 0, 1: 0}
    assert published_ratings([p.id]) == {p.id: (4.0, 2)}


def test_outcomes_show_a_median_only_from_five_reports(session: Any) -> None:
    p, admin = factories.practitioner(), factories.user("admin")
    for n, (before, after) in enumerate([(8, 2), (7, 3), (6, 5), (9, 4), (5, 5)]):
        patient = factories.patient()
        factories.visited_referral(patient, p)
        review = write_review(patient, p, ReviewInput(rating=4, body="ok", condition="low-back-pain",
                                                      pain_before=before, pain_after=after))
        moderation.approve(admin, review.id)
        shown = outcomes(p.id)[0]
        assert shown.reports == n + 1
        assert shown.median_change == (None if n < 4 else -4.0)


def test_moderation_enqueues_the_practitioner_for_search(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    admin = factories.user("admin")
    db.session.commit()  # a savepoint: the next flush is a new transaction for the outbox listener
    db.session.execute(SearchOutbox.__table__.delete())
    moderation.approve(admin, review.id)
    db.session.flush()
    assert db.session.scalars(select(SearchOutbox.practitioner_id)).all() == [review.practitioner_id]


def test_review_events_cannot_be_changed(session: Any) -> None:
    review = write_review(factories.patient(), factories.practitioner(), GOOD)
    db.session.flush()
    event = db.session.scalars(select(ReviewEvent).where(ReviewEvent.review_id == review.id)).first()
    assert event is not None
    event.note = "rewritten"
    with pytest.raises(DomainError):
        db.session.flush()
    db.session.rollback()
    assert AppendOnlyReviewHistory.status == 409


def test_the_database_refuses_changed_events_but_lets_a_deleted_author_go(session: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    from directory.accounts.services import delete_account

    patient = factories.patient()
    review = write_review(patient, factories.practitioner(), GOOD)
    db.session.flush()
    with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE review_event SET kind = 'approved' WHERE review_id = :id"), {"id": review.id})
    delete_account(patient)
    db.session.flush()
    actors = db.session.scalars(select(ReviewEvent.actor_id).where(ReviewEvent.review_id == review.id)).all()
    assert actors == [None]

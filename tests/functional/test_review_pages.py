"""The review pages for every role: write, edit, history, report, respond, the admin queue, and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.accounts.models import User
from directory.extensions import db
from directory.models import Practitioner
from directory.reviews import moderation
from directory.reviews.models import Review, ReviewEvent, ReviewRevision
from directory.reviews.writing import ReviewInput, write_review
from tests import factories
from tests.support.web import csrf_from, sign_in_as

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
GOOD = {"rating": "5", "body": "Careful and calm; my back is better.", "condition": "low-back-pain",
        "methods": "filiform-needling", "visit_month": "2026-10"}


def _saved(value: Any) -> Any:
    """Commit (a savepoint in tests) so a refused request's rollback keeps the test's data."""
    db.session.commit()
    return value


@pytest.fixture
def profile(session: Any) -> Practitioner:
    return _saved(factories.practitioner())


@pytest.fixture
def patient(session: Any) -> User:
    return _saved(factories.patient())


@pytest.fixture
def admin(session: Any) -> User:
    return _saved(factories.user("admin", full_name="Dana Admin"))


def _post(client: Any, url: str, data: dict[str, Any], page: str | None = None) -> Any:
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _write(client: Any, profile: Practitioner, **values: Any) -> Any:
    return _post(client, f"/practitioners/{profile.slug}/review", {**GOOD, **values})


def _reviews() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Review)) or 0)


def _published(author: User, profile: Practitioner, body: str = "Fine visit.") -> Review:
    review = write_review(author, profile, ReviewInput(rating=4, body=body))
    moderation.approve(factories.user("admin"), review.id)
    return _saved(review)


def test_a_patient_writes_a_review_that_waits_for_a_moderator(client: Any, profile: Practitioner,
                                                              patient: User) -> None:
    sign_in_as(client, patient)
    form = client.get(f"/practitioners/{profile.slug}/review").get_data(as_text=True)
    assert 'type="checkbox"' in form and 'type="month"' in form and "Explanation of risks" in form
    response = _write(client, profile)
    assert response.status_code == 303
    review = db.session.scalars(select(Review)).one()
    assert review.moderation_state == "pending" and [m.slug for m in review.methods] == ["filiform-needling"]
    assert "waiting for a moderator" in client.get(response.location).get_data(as_text=True)
    assert "Careful and calm" not in client.get(f"/practitioners/{profile.slug}").get_data(as_text=True)


@pytest.mark.parametrize("rating", ["0", "6", "-1", "9" * 80, "five", ""])
def test_a_rating_outside_one_to_five_is_refused(client: Any, profile: Practitioner, patient: User,
                                                 rating: str) -> None:
    sign_in_as(client, patient)
    response = _write(client, profile, rating=rating)
    assert response.status_code == 400
    assert "from 1 to 5" in response.get_data(as_text=True) and _reviews() == 0


def test_a_second_review_is_refused(client: Any, profile: Practitioner, patient: User) -> None:
    sign_in_as(client, patient)
    assert _write(client, profile).status_code == 303
    again = _post(client, f"/practitioners/{profile.slug}/review", GOOD, page=f"/practitioners/{profile.slug}")
    assert again.status_code == 409 and "already reviewed" in again.get_data(as_text=True)
    assert _reviews() == 1
    review_id = db.session.scalar(select(Review.id))
    page = client.get(f"/practitioners/{profile.slug}/review")
    assert page.status_code == 409 and f'href="/reviews/{review_id}/edit">Edit your review' in page.get_data(as_text=True)


@pytest.mark.parametrize("own", [True, False])
def test_a_practitioner_account_cannot_review(client: Any, profile: Practitioner, own: bool) -> None:
    account = _saved(factories.practitioner_account(profile if own else None))
    sign_in_as(client, account)
    page = client.get(f"/practitioners/{profile.slug}/review")
    assert page.status_code == 403 and "Only patients can write reviews" in page.get_data(as_text=True)
    response = _post(client, f"/practitioners/{profile.slug}/review", GOOD, page="/reset-password")
    assert response.status_code == 403 and "Only patients" in response.get_data(as_text=True)
    assert _reviews() == 0


def test_twenty_kilobytes_of_text_is_refused(client: Any, profile: Practitioner, patient: User) -> None:
    sign_in_as(client, patient)
    response = _write(client, profile, body="x" * 20_480)
    assert response.status_code == 400 and "5,000 characters" in response.get_data(as_text=True)
    assert _reviews() == 0


def test_script_tags_are_shown_escaped(client: Any, app: Flask, profile: Practitioner, patient: User,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _published(patient, profile, body=f"Great {SCRIPT}")
    for url in (f"/practitioners/{profile.slug}", f"/reviews/{db.session.scalar(select(Review.id))}"):
        page = client.get(url).get_data(as_text=True)
        assert ESCAPED in page and SCRIPT not in page


def test_a_suspended_practitioner_cannot_be_reviewed(client: Any, patient: User) -> None:
    suspended = _saved(factories.practitioner(vetting_status="suspended"))
    sign_in_as(client, patient)
    assert client.get(f"/practitioners/{suspended.slug}/review").status_code == 409
    response = _post(client, f"/practitioners/{suspended.slug}/review", GOOD, page="/reset-password")
    assert response.status_code == 409 and "suspended" in response.get_data(as_text=True)
    assert _reviews() == 0


def test_editing_someone_elses_review_is_not_found(client: Any, profile: Practitioner, patient: User) -> None:
    review = _published(patient, profile)
    sign_in_as(client, _saved(factories.patient()))
    assert client.get(f"/reviews/{review.id}/edit").status_code == 404
    response = _post(client, f"/reviews/{review.id}/edit", GOOD, page="/reset-password")
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ReviewRevision)) == 1


def test_editing_shows_edited_on_and_both_versions(client: Any, profile: Practitioner, patient: User) -> None:
    review = _published(patient, profile, body="First thoughts.")
    sign_in_as(client, patient)
    assert "First thoughts." in client.get(f"/reviews/{review.id}/edit").get_data(as_text=True)
    response = _post(client, f"/reviews/{review.id}/edit", {**GOOD, "rating": "3", "body": "Second thoughts."})
    assert response.status_code == 303
    profile_page = client.get(f"/practitioners/{profile.slug}").get_data(as_text=True)
    assert "Second thoughts." in profile_page and "Edited on" in profile_page and "earlier versions" in profile_page
    history = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "First thoughts." in history and "Second thoughts." in history


def test_a_response_by_another_practitioner_is_refused(client: Any, profile: Practitioner, patient: User) -> None:
    review = _published(patient, profile)
    other = _saved(factories.practitioner_account())
    sign_in_as(client, other)
    response = _post(client, f"/reviews/{review.id}/response", {"body": "Do not trust this."},
                     page="/reset-password")
    assert response.status_code == 403 and "Only the practitioner" in response.get_data(as_text=True)
    assert db.session.get(Review, review.id).response_body is None


def test_the_owner_responds_and_edits_and_history_shows_both(client: Any, profile: Practitioner,
                                                             patient: User) -> None:
    review = _published(patient, profile)
    sign_in_as(client, _saved(factories.practitioner_account(profile)))
    url = f"/reviews/{review.id}"
    assert _post(client, f"{url}/response", {"body": "Thank you!"}, page=url).status_code == 303
    assert _post(client, f"{url}/response", {"body": "Thank you, see you soon."}, page=url).status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Thank you!" in page and "Thank you, see you soon." in page


def test_a_report_returns_the_review_to_the_queue_once(client: Any, profile: Practitioner, patient: User,
                                                       admin: User) -> None:
    review = _published(patient, profile)
    sign_in_as(client, _saved(factories.patient()))
    url = f"/reviews/{review.id}"
    assert _post(client, f"{url}/report", {"reason": "suspected_fake", "note": "?"}, page=url).status_code == 303
    again = _post(client, f"{url}/report", {"reason": "abusive"}, page="/reset-password")
    assert again.status_code == 409 and "already reported" in again.get_data(as_text=True)
    sign_in_as(client, admin)
    assert "reported: suspected fake" in client.get("/admin/reviews").get_data(as_text=True)


def test_admin_approves_and_removal_leaves_a_placeholder(client: Any, profile: Practitioner, patient: User,
                                                         admin: User) -> None:
    review = _saved(write_review(patient, profile, ReviewInput(rating=2, body="I fainted at the second visit.")))
    sign_in_as(client, admin)
    queue = client.get("/admin/reviews").get_data(as_text=True)
    assert "I fainted" in queue and "Adverse-event signal" in queue and "fainting" in queue
    assert _post(client, f"/admin/reviews/{review.id}/approve", {}, page="/admin/reviews").status_code == 303
    assert "I fainted" in client.get(f"/practitioners/{profile.slug}").get_data(as_text=True)
    moderation.report(_saved(factories.patient()), review.id, "off_topic")
    _saved(None)
    removed = _post(client, f"/admin/reviews/{review.id}/reject", {"reason": "off_topic", "note": "n"},
                    page="/admin/reviews")
    assert removed.status_code == 303
    page = client.get(f"/practitioners/{profile.slug}").get_data(as_text=True)
    assert "Review removed on" in page and "Off-topic" in page and "I fainted" not in page
    assert "1 removed" in page
    history = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Dana Admin (admin)" in history  # admins see who


def test_a_reject_without_a_reason_is_refused(client: Any, profile: Practitioner, patient: User,
                                              admin: User) -> None:
    review = _saved(write_review(patient, profile, ReviewInput(rating=2, body="meh")))
    sign_in_as(client, admin)
    response = _post(client, f"/admin/reviews/{review.id}/reject", {"reason": "because"}, page="/admin/reviews")
    assert response.status_code == 400 and "Choose a reason" in response.get_data(as_text=True)
    assert db.session.get(Review, review.id).moderation_state == "pending"


def test_an_admin_confirms_a_visit(client: Any, profile: Practitioner, patient: User, admin: User) -> None:
    review = _saved(write_review(patient, profile, ReviewInput(rating=4, body="ok")))
    sign_in_as(client, admin)
    url = f"/admin/reviews/{review.id}/confirm-visit"
    assert _post(client, url, {"note": ""}, page="/admin/reviews").status_code == 400
    assert _post(client, url, {"note": "Appointment book"}, page="/admin/reviews").status_code == 303
    assert db.session.get(Review, review.id).verified_visit


def test_pending_reviews_are_private_to_author_and_admins(client: Any, profile: Practitioner, patient: User,
                                                          admin: User) -> None:
    review = _saved(write_review(patient, profile, ReviewInput(rating=4, body="ok")))
    assert client.get(f"/reviews/{review.id}").status_code == 404
    sign_in_as(client, patient)
    assert client.get(f"/reviews/{review.id}").status_code == 200
    sign_in_as(client, admin)
    assert client.get(f"/reviews/{review.id}").status_code == 200


def test_a_verified_visit_shows_first_with_its_badge(client: Any, profile: Practitioner, patient: User) -> None:
    _published(_saved(factories.patient()), profile, body="Unverified visit text.")
    factories.visited_referral(patient, profile)
    sign_in_as(client, patient)
    form = client.get(f"/practitioners/{profile.slug}/review").get_data(as_text=True)
    assert "Pain before the treatment" in form
    assert _write(client, profile, body="Verified visit text.", pain_before="7", pain_after="2").status_code == 303
    moderation.approve(factories.user("admin"), db.session.scalar(select(Review.id).where(
        Review.author_id == patient.id)))
    _saved(None)
    page = client.get(f"/practitioners/{profile.slug}").get_data(as_text=True)
    assert page.index("Verified visit text.") < page.index("Unverified visit text.")
    assert "Verified visits</span> 5.0 out of 5 from 1" in page
    assert "Fewer than 5 patient-reported outcomes for Low back pain yet" in page
    assert "patient-reported, not a clinical trial".lower() in page.lower()


def test_every_review_event_is_recorded(session: Any, profile: Practitioner, patient: User) -> None:
    review = _published(patient, profile)
    kinds = db.session.scalars(select(ReviewEvent.kind).where(ReviewEvent.review_id == review.id)).all()
    assert kinds == ["submitted", "approved"]


def test_the_queue_lists_signals_of_reviews_no_longer_in_it(client: Any, profile: Practitioner, patient: User,
                                                            admin: User) -> None:
    review = write_review(patient, profile, ReviewInput(rating=1, body="The moxa burned me."))
    moderation.reject(admin, review.id, "off_topic")
    _saved(None)
    sign_in_as(client, admin)
    page = client.get("/admin/reviews").get_data(as_text=True)
    assert "No review is waiting for a decision." in page
    assert f"review #{review.id}</a> (burn," in page
    assert f'/admin/vetting/practitioners/{profile.id}">{profile.display_name}</a>:' in page  # named, not numbered

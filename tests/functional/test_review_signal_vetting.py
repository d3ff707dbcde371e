"""Adverse-event signals from patient reviews reach the vetting workbench and leave it once an admin has looked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from directory.clock import today, utcnow
from directory.extensions import db
from directory.models import Practitioner, VerificationCheck
from directory.reviews.writing import ReviewInput, write_review
from directory.vetting.decisions import recompute_status
from directory.vetting.sources import registry
from directory.vetting.workbench import open_items
from tests import factories
from tests.support.web import csrf_token
from tests.support.web import sign_in_as as sign_in
from tests.unit.vetting.builders import us_practitioner


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    """A client signed in as an admin."""
    admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())
    sign_in(client, admin)
    return client


def _signals(p: Practitioner) -> list[str]:
    """Return the workbench's adverse-event items for ``p`` as 'reason (due date)'."""
    return [f"{i.reason} (due {i.due_on})" for i in open_items(today()).get(p.id, []) if i.kind == "signal"]


def _review(p: Practitioner, body: str, later: int = 0) -> int:
    """Add a patient's review of ``p``, written ``later`` seconds from now; return its id."""
    review = write_review(factories.patient(), p, ReviewInput(rating=2, body=body),
                          now=utcnow() + timedelta(seconds=later))
    return review.id


def test_a_review_that_mentions_bleeding_is_flagged_against_the_practitioner_whatever_its_moderation(
        session: object) -> None:
    p = us_practitioner()
    review_id = _review(p, "The needling left me bleeding for an hour.")
    # Pre-moderation: the review is not public, yet the signal is in the vetting queue, due within a week.
    assert _signals(p) == [f"review #{review_id} mentions bleeding (due {today() + timedelta(days=7)})"]


def test_a_negated_mention_is_no_signal(session: object) -> None:
    p = us_practitioner()
    _review(p, "No bleeding, no bruising, and my back feels better.")
    assert _signals(p) == []


def test_the_admin_s_finding_closes_the_item_and_a_later_signal_opens_it_again(admin_client: FlaskClient) -> None:
    p = us_practitioner()
    status = recompute_status(p)
    review_id = _review(p, "I fainted on the table.")
    page = admin_client.get(f"/admin/vetting/practitioners/{p.id}").get_data(as_text=True)
    assert "Adverse-event signals in patient reviews" in page and f'href="/reviews/{review_id}"' in page
    response = admin_client.post(f"/admin/vetting/practitioners/{p.id}/checks", data={
        "csrf_token": csrf_token(admin_client, f"/admin/vetting/practitioners/{p.id}"), "source": "review_signal",
        "outcome": "pass", "what": "read the review; a vasovagal faint, handled as trained", "reference": "",
        "note": "no concern for vetting", "credential_id": "0"})
    assert response.status_code == 303, response.get_data(as_text=True)
    check = db.session.scalar(select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id,
                                                              VerificationCheck.source == "review_signal"))
    assert check is not None and check.outcome == "pass"
    assert _signals(p) == []
    db.session.refresh(p)
    assert p.vetting_status == status, "a finding on a signal changes no status by itself"
    later = _review(p, "A burn from the moxa stick.", later=2)
    assert [re.sub(r" \(due .*", "", s) for s in _signals(p)] == [f"review #{later} mentions burn"]


def test_the_public_history_names_the_source_and_the_queue_filter_offers_it(admin_client: FlaskClient) -> None:
    assert registry.get("review_signal").history_label.startswith("Patient reviews screened for adverse events")
    p = us_practitioner()
    _review(p, "The needle site got an infection.")
    page = admin_client.get("/admin/vetting/?kind=signal").get_data(as_text=True)
    assert f'href="/admin/vetting/practitioners/{p.id}"' in page and "Adverse-event signal" in page


def test_a_signal_is_shown_as_a_decision_to_make_by_its_day(admin_client: FlaskClient) -> None:
    p = us_practitioner()
    _review(p, "Some bleeding after the session.")
    page = admin_client.get("/admin/vetting/?kind=signal").get_data(as_text=True)
    item = page[page.index("mentions bleeding"):][:400]
    assert "decide by" in item and '<span class="badge">decision</span>' in item

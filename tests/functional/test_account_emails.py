"""Every email a page promises is queued with the decision that causes it, with links from PUBLIC_BASE_URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import func, select

from directory.accounts.models import OutgoingEmail, PractitionerClaim, User
from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db
from tests import factories
from tests.support.web import csrf_from, last_email, link_in, post_form, sign_in_as

PASSWORD = "correct horse battery staple"


def _admin() -> User:
    return factories.user("admin", approved_at=utcnow(), email_confirmed_at=utcnow())


def _link_host(message: OutgoingEmail) -> str:
    """Return the host of the first link (the test client's requests say Host: localhost)."""
    url = next(word for word in message.body.split() if word.startswith("http"))
    return urlsplit(url).netloc


def _emails_to(recipient: str) -> int:
    return db.session.scalar(select(func.count(OutgoingEmail.id)).where(OutgoingEmail.recipient == recipient)) or 0


def _admin_post(client: Any, url: str, data: dict[str, str]) -> Any:
    return post_form(client, url, data, form_page="/admin/users")


def test_approving_a_doctor_emails_them_a_sign_in_link_from_the_configured_site(client: Any, app: Flask) -> None:
    doctor = factories.user("doctor", email="dr.approve@example.org", email_confirmed_at=utcnow())
    sign_in_as(client, _admin())
    response = _admin_post(client, f"/admin/users/{doctor.id}/approve", {"licence_number": "MD-1", "jurisdiction": "US-MA",
                          "where_checked": "https://www.mass.gov/orgs/board-of-registration-in-medicine"})
    assert response.status_code == 303
    message = last_email("dr.approve@example.org", "account_approved")
    assert message.subject == "Your Meridian account is approved"
    assert "refer patients" in message.body
    assert _link_host(message) == urlsplit(app.config["PUBLIC_BASE_URL"]).netloc != "localhost"
    assert link_in(message) == "/sign-in"


def test_refusing_a_doctor_emails_the_reason_and_leaves_a_patient_account(client: Any) -> None:
    doctor = factories.user("doctor", email="dr.refuse@example.org", email_confirmed_at=utcnow())
    sign_in_as(client, _admin())
    response = _admin_post(client, f"/admin/users/{doctor.id}/refuse", {"reason": "The licence MD-9 is not on file."})
    assert response.status_code == 303
    refused = db.session.get(User, doctor.id)
    assert refused.role == "patient" and refused.approved_at is not None
    message = last_email("dr.refuse@example.org", "account_refused")
    assert message.subject == "We could not approve your account as a doctor"
    assert "The licence MD-9 is not on file." in message.body and _link_host(message) != "localhost"
    waiting = client.get("/admin/users").get_data(as_text=True)
    assert "dr.refuse@example.org&gt; — doctor" not in waiting


def test_refusing_without_a_reason_changes_nothing_and_sends_nothing(client: Any) -> None:
    doctor = factories.user("doctor", email="dr.noreason@example.org", email_confirmed_at=utcnow())
    sign_in_as(client, _admin())
    response = _admin_post(client, f"/admin/users/{doctor.id}/refuse", {"reason": "  "})
    assert response.status_code == 400
    assert db.session.get(User, doctor.id).role == "doctor"
    assert _emails_to("dr.noreason@example.org") == 0


def _pending_claim(email: str) -> PractitionerClaim:
    profile = factories.practitioner(slug=f"claimed-{email.split('@')[0]}", first_name="Jane", last_name="Roe")
    claimant = factories.user("practitioner", email=email, email_confirmed_at=utcnow())
    claim = PractitionerClaim(user_id=claimant.id, practitioner_id=profile.id, evidence="Licence AC1")
    db.session.add(claim)
    db.session.flush()
    return claim


def test_approving_a_claim_emails_the_claimant_a_link_to_edit_the_profile(client: Any) -> None:
    claim = _pending_claim("claim.yes@example.org")
    sign_in_as(client, _admin())
    _admin_post(client, f"/admin/claims/{claim.id}", {"decision": "approve", "note": "Board record matches."})
    message = last_email("claim.yes@example.org", "claim_approved")
    assert message.subject == "Your claim of Jane Roe, L.Ac. is approved"
    assert "Board record matches." in message.body and _link_host(message) != "localhost"
    assert link_in(message) == f"/practitioners/{claim.practitioner.slug}/edit"


def test_rejecting_a_claim_emails_the_claimant_the_note(client: Any) -> None:
    claim = _pending_claim("claim.no@example.org")
    sign_in_as(client, _admin())
    _admin_post(client, f"/admin/claims/{claim.id}", {"decision": "reject", "note": "No licence under that name."})
    message = last_email("claim.no@example.org", "claim_rejected")
    assert message.subject == "Your claim of Jane Roe, L.Ac. was not approved"
    assert "No licence under that name." in message.body and link_in(message) == "/account"


def test_refusing_a_practitioner_closes_their_pending_claims(client: Any) -> None:
    claim = _pending_claim("claim.refused@example.org")
    sign_in_as(client, _admin())
    _admin_post(client, f"/admin/users/{claim.user_id}/refuse", {"reason": "Not a licensed acupuncturist."})
    assert db.session.get(PractitionerClaim, claim.id).decision == "rejected"


def test_sign_in_before_confirming_offers_a_new_link_that_works(client: Any) -> None:
    factories.user("patient", email="late@example.org", password_hash=hash_password(PASSWORD))
    page = post_form(client, "/sign-in", {"email": "late@example.org", "password": PASSWORD})
    html = page.get_data(as_text=True)
    assert page.status_code == 401 and "Resend the confirmation email" in html
    assert 'action="/confirm/resend"' in html
    resent = client.post("/confirm/resend", data={"csrf_token": csrf_from(html), "email": "late@example.org"})
    assert resent.status_code == 200 and "we sent it a new link" in resent.get_data(as_text=True)
    message = last_email("late@example.org", "confirm")
    assert message.subject == "Confirm your Meridian account"
    assert client.get(link_in(message)).status_code == 303
    assert db.session.scalars(select(User).where(User.email == "late@example.org")).one().email_confirmed_at


def test_wrong_password_offers_no_resend(client: Any) -> None:
    factories.user("patient", email="late2@example.org", password_hash=hash_password(PASSWORD))
    page = post_form(client, "/sign-in", {"email": "late2@example.org", "password": "not the password at all"})
    assert "Resend the confirmation email</button>" not in page.get_data(as_text=True)


def test_resend_answers_the_same_for_unknown_and_confirmed_addresses(client: Any) -> None:
    factories.user("patient", email="done@example.org", email_confirmed_at=utcnow())
    answers = {post_form(client, "/confirm/resend", {"email": email}).get_data(as_text=True)
               .replace(email, "EMAIL") for email in ("ghost@example.org", "done@example.org")}
    assert len(answers) == 1
    assert _emails_to("ghost@example.org") == _emails_to("done@example.org") == 0


def test_resend_refuses_a_missing_csrf_token_and_a_bad_address(client: Any) -> None:
    assert client.post("/confirm/resend", data={"email": "late@example.org"}).status_code == 400
    assert post_form(client, "/confirm/resend", {"email": "not an address"}).status_code == 400


def test_resend_is_rate_limited(app: Flask, database_url: str, tmp_path: Any) -> None:
    from directory.extensions import limiter
    from tests.conftest import extra_app, rolled_back_session

    was_enabled = limiter.enabled  # Flask-Limiter keeps one switch for every app it was bound to
    try:
        with extra_app(database_url, tmp_path, RATELIMIT_ENABLED=True) as limited, rolled_back_session(limited):
            client = limited.test_client()
            statuses = [post_form(client, "/confirm/resend", {"email": "flood@example.org"}).status_code
                        for _ in range(6)]
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
    assert statuses[:5] == [200] * 5 and statuses[5] == 429

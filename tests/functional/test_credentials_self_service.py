"""Practitioners' own credentials at /account/credentials: states, renewals through the admin queue, bad input."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from directory.accounts.models import AuditEvent, PractitionerClaim
from directory.clock import today, utcnow
from directory.extensions import db
from directory.models import Credential, VerificationCheck
from directory.vetting.evidence import format_day
from directory.vetting.runner import send_expiry_alerts
from directory.vetting.self_service import CredentialView
from directory.vetting.services import record_manual_check
from directory.vetting.workbench import open_items
from tests import factories
from tests.support.web import csrf_token, last_email, link_in, sign_in_as
from tests.unit.vetting.builders import NPI, admin, us_practitioner

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PAGE = "/account/credentials/"
RENEWAL = {"kind": "state_licence", "issuer": "MA Board of Acupuncture", "number": "AC12345", "jurisdiction": "MA"}


@pytest.fixture
def owner(client: FlaskClient, session: Any) -> Any:
    """A signed-in practitioner owning a Massachusetts listing with a licence and an NPI (never checked)."""
    practitioner = us_practitioner()
    user = factories.practitioner_account(practitioner)
    sign_in_as(client, user)
    return user


def _licence(owner: Any) -> Credential:
    return next(c for c in owner.practitioner.credentials if c.kind == "state_licence" and c.withdrawn_at is None)


def _post(client: FlaskClient, url: str, data: dict[str, Any], document: tuple[bytes, str] | None = None) -> Any:
    """Post a credential form with the page's CSRF token (and a document when given)."""
    db.session.commit()  # the test's setup, committed as before a real request (a savepoint here)
    token = csrf_token(client, PAGE)
    body: dict[str, Any] = {"csrf_token": token, **data}
    if document:
        body["document"] = (io.BytesIO(document[0]), document[1])
    return client.post(url, data=body, content_type="multipart/form-data")


def _dates(valid_from: Any = None, valid_until: Any = None) -> dict[str, str]:
    start = valid_from or today() - timedelta(days=1)
    return {"valid_from": start.isoformat(), "valid_until": (valid_until or today() + timedelta(days=730)).isoformat()}


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _reasons(practitioner_id: int) -> list[str]:
    return [f"{item.source}: {item.reason}" for item in open_items(today()).get(practitioner_id, [])]


def _credentials() -> int:
    return int(db.session.scalar(select(func.count(Credential.id))) or 0)


def test_the_page_shows_each_credentials_state_and_public_history(client: FlaskClient, owner: Any) -> None:
    boss = admin()
    record_manual_check(owner.practitioner, boss, source="state_board", outcome="pass", what="licence",
                        reference="https://mass.gov/lookup", note="", credential=_licence(owner), document=None)
    page = client.get(PAGE).get_data(as_text=True)
    assert f"Confirmed on {format_day(today())} at the state board" in page
    assert "Pending: waiting for its check at the primary source" in page  # the NPI, never checked
    assert f"{format_day(today())}</time>: State licensing board: Confirmed" in page  # its public history
    assert "Renew or correct this credential" in page


def test_an_expired_licence_shows_as_expired_with_what_is_due(client: FlaskClient, owner: Any) -> None:
    licence = _licence(owner)
    licence.valid_until = today() - timedelta(days=3)
    page = client.get(PAGE).get_data(as_text=True)
    assert f"Expired on {format_day(licence.valid_until)}" in page
    assert "a renewed credential is needed" in page


def test_the_account_page_and_the_profile_editor_link_to_the_credentials_page(client: FlaskClient,
                                                                             owner: Any) -> None:
    account = client.get("/account").get_data(as_text=True)
    assert f'href="{PAGE}"' in account
    assert f'href="/practitioners/{owner.practitioner.slug}/edit">Edit your listing' in account
    assert f'href="{PAGE}"' in client.get(f"/practitioners/{owner.practitioner.slug}/edit").get_data(as_text=True)


def test_a_renewed_licence_goes_to_the_queue_and_its_check_clears_the_dead_end(client: FlaskClient, owner: Any,
                                                                               app: Flask) -> None:
    p, old = owner.practitioner, _licence(owner)
    old.valid_until = today() - timedelta(days=3)
    db.session.flush()
    assert any("a renewed credential is needed" in r for r in _reasons(p.id))
    response = _post(client, f"{PAGE}{old.id}/renew", {**RENEWAL, **_dates()}, (PDF, "renewed-licence.pdf"))
    assert response.status_code == 303 and response.headers["Location"].endswith(PAGE)
    new = _licence(owner)
    assert new.id != old.id and old.withdrawn_at is not None and new.document_mime == "application/pdf"
    assert (Path(app.config["INSTANCE_DIR"]) / "documents" / (new.document_path or "")).read_bytes() == PDF
    event = json.loads(_audit("vetting.credential_recorded")[-1].details)
    assert event["replaces"] == old.id and _audit("vetting.credential_recorded")[-1].actor_id == owner.id
    reasons = _reasons(p.id)
    assert not any("renewed credential is needed" in r for r in reasons)
    assert "state_board: never checked" in reasons  # a manual item for an admin
    assert "Pending: waiting for its check" in client.get(PAGE).get_data(as_text=True)
    record_manual_check(p, admin(), source="state_board", outcome="pass", what="renewed licence", reference="",
                        note="", credential=new, document=None)
    assert not any(r.startswith("state_board") for r in _reasons(p.id))
    assert f"Confirmed on {format_day(today())} at the state board" in client.get(PAGE).get_data(as_text=True)


def test_changing_a_confirmed_licences_number_returns_it_to_pending_and_is_audited(client: FlaskClient,
                                                                                   owner: Any) -> None:
    p, old = owner.practitioner, _licence(owner)
    record_manual_check(p, admin(), source="state_board", outcome="pass", what="licence", reference="", note="",
                        credential=old, document=None)
    assert not any(r.startswith("state_board") for r in _reasons(p.id))
    response = _post(client, f"{PAGE}{old.id}/renew", {**RENEWAL, "number": "AC99999", **_dates()})
    assert response.status_code == 303
    new = _licence(owner)
    assert new.number == "AC99999" and old.withdrawn_at is not None and old.number == "AC12345"
    changed = _audit("vetting.credential_identity_changed")
    assert len(changed) == 1 and changed[0].actor_id == owner.id
    assert json.loads(changed[0].details)["fields"] == ["number"]
    assert "state_board: never checked" in _reasons(p.id)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Pending: waiting for its check" in page and "Replaced credentials" in page


def test_a_renewal_with_the_same_identity_is_not_an_identity_change(client: FlaskClient, owner: Any) -> None:
    assert _post(client, f"{PAGE}{_licence(owner).id}/renew", {**RENEWAL, **_dates()}).status_code == 303
    assert _audit("vetting.credential_identity_changed") == []


def test_an_added_credential_is_pending_and_queued(client: FlaskClient, owner: Any) -> None:
    data = {"kind": "certification", "issuer": "NCCAOM", "number": "NC-123", "jurisdiction": "US", **_dates()}
    assert _post(client, PAGE, data).status_code == 303
    added = db.session.scalar(select(Credential).where(Credential.number == "NC-123"))
    assert added is not None and added.practitioner_id == owner.practitioner_id
    assert any(r.endswith("never checked") and r.startswith("certification") for r in _reasons(owner.practitioner_id))


@pytest.mark.parametrize(("data", "message"), [
    ({**RENEWAL, "number": ""}, "Give the credential&#39;s number."),
    ({**RENEWAL, "kind": ""}, "Choose the kind of credential."),
    ({**RENEWAL, **_dates(today(), today() - timedelta(days=1))}, "The credential cannot expire before it starts."),
    ({"kind": "npi", "number": "1234567890", "jurisdiction": "US"}, "That is not a valid NPI"),
])
def test_bad_input_is_refused_on_the_field_and_nothing_is_written(client: FlaskClient, owner: Any,
                                                                  data: dict[str, str], message: str) -> None:
    before = _credentials()
    response = _post(client, PAGE, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _credentials() == before and _audit("vetting.credential_recorded") == []


def test_a_valid_npi_is_accepted(client: FlaskClient, owner: Any) -> None:
    old = next(c for c in owner.practitioner.credentials if c.kind == "npi")
    assert _post(client, f"{PAGE}{old.id}/renew", {"kind": "npi", "number": NPI, "jurisdiction": "US"}).status_code == 303


def test_a_30_mb_document_gets_a_plain_refusal_and_nothing_is_written(client: FlaskClient, owner: Any) -> None:
    before = _credentials()
    db.session.commit()
    fields = {"csrf_token": csrf_token(client, PAGE), **RENEWAL, **_dates(),
              "document": FileStorage(io.BytesIO(PDF + b"0" * (30 * 1024 * 1024)), "huge.pdf", "document")}
    # Encoded in memory as a browser sends it (the test client would spool it to a file it never closes).
    boundary, body = encode_multipart(fields)
    response = client.post(PAGE, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)
    assert _credentials() == before


def test_a_document_over_the_cap_is_refused_on_the_field(client: FlaskClient, owner: Any, app: Flask,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "VETTING_DOCUMENT_MAX_BYTES", 100 * 1024)
    before = _credentials()
    response = _post(client, PAGE, {**RENEWAL, **_dates()}, (PDF + b"0" * (100 * 1024), "big.pdf"))
    assert response.status_code == 400 and "larger than 100 KB" in response.get_data(as_text=True)
    assert _credentials() == before


@pytest.mark.parametrize("content", [b"<html><script>alert(1)</script>", b"MZ\x90\x00 an executable", b""])
def test_a_non_document_is_refused_whatever_its_name(client: FlaskClient, owner: Any, content: bytes) -> None:
    before = _credentials()
    response = _post(client, PAGE, {**RENEWAL, **_dates()}, (content, "licence.jpg"))
    assert response.status_code == 400
    assert "Only PDF, PNG and JPEG documents are accepted (checked by content)" in response.get_data(as_text=True)
    assert _credentials() == before


def test_a_pdf_renamed_jpg_is_stored_as_what_its_content_is(client: FlaskClient, owner: Any) -> None:
    assert _post(client, PAGE, {**RENEWAL, "number": "AC777", **_dates()}, (PDF, "licence.jpg")).status_code == 303
    added = db.session.scalar(select(Credential).where(Credential.number == "AC777"))
    assert added is not None and added.document_mime == "application/pdf"
    assert (added.document_path or "").endswith(".pdf")


def test_another_practitioners_credential_is_not_found(client: FlaskClient, owner: Any) -> None:
    other = us_practitioner(npi=None, first_name="Ana", last_name="Lopez")
    theirs = other.credentials[0]
    assert client.get(f"{PAGE}{theirs.id}/renew").status_code == 404
    before = _credentials()
    assert _post(client, f"{PAGE}{theirs.id}/renew", {**RENEWAL, **_dates()}).status_code == 404
    assert _credentials() == before and theirs.withdrawn_at is None
    assert other.display_name not in client.get(PAGE).get_data(as_text=True)


def test_a_replaced_credential_cannot_be_renewed_again(client: FlaskClient, owner: Any) -> None:
    old = _licence(owner)
    old.withdrawn_at = utcnow()
    assert client.get(f"{PAGE}{old.id}/renew").status_code == 404


def test_a_claimant_awaiting_approval_gets_a_page_that_says_so(client: FlaskClient, session: Any) -> None:
    profile = factories.practitioner()
    claimant = factories.user("practitioner", email_confirmed_at=utcnow(), approved_at=utcnow())
    db.session.add(PractitionerClaim(user_id=claimant.id, practitioner_id=profile.id, evidence="licence"))
    sign_in_as(client, claimant)
    response = client.get(PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert f"Your claim of {profile.display_name} is awaiting an admin" in page
    assert "permission to access the requested resource" not in page and 'class="error-page"' in page


def test_an_unapproved_account_gets_a_page_that_says_so(client: FlaskClient, session: Any) -> None:
    sign_in_as(client, factories.user("practitioner", email_confirmed_at=utcnow()))
    response = client.get(PAGE)
    assert response.status_code == 403
    assert "Your account is awaiting an admin" in response.get_data(as_text=True)


def test_the_expiry_reminder_links_to_the_credentials_page(client: FlaskClient, owner: Any) -> None:
    licence = _licence(owner)
    licence.valid_until = today() + timedelta(days=30)
    db.session.flush()
    assert send_expiry_alerts(today()) == 1
    message = last_email(owner.email, "credential_expiry")
    link = link_in(message)
    assert link == f"{PAGE}{licence.id}/renew"
    overview = message.body.rstrip().rsplit("\n", 1)[-1]
    assert overview.startswith("All your credentials and what is due: http") and overview.endswith(PAGE)
    assert client.get(link).status_code == 200


def test_no_check_is_written_by_a_practitioner(client: FlaskClient, owner: Any) -> None:
    _post(client, PAGE, {**RENEWAL, "number": "AC5", **_dates()}, (PDF, "l.pdf"))
    assert db.session.scalar(select(func.count(VerificationCheck.id))) == 0


def test_what_is_due_says_by_when(client: FlaskClient, owner: Any) -> None:
    licence = _licence(owner)
    record_manual_check(owner.practitioner, admin(), source="state_board", outcome="pass", what="licence",
                        reference="", note="", credential=licence, document=None)
    licence.valid_until = today() + timedelta(days=10)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Confirmed on" in page and "a new check is due" in page
    assert f"Expires on {format_day(licence.valid_until)} (due since {format_day(today() - timedelta(days=20))})" in page
    assert f"to {format_day(licence.valid_until)}" in page


def test_a_due_line_writes_its_dates_in_words_and_names_the_day_once() -> None:
    from datetime import date

    from directory.vetting.due import DueItem
    from directory.vetting.self_service import _due_line

    recheck = DueItem("npi_registry", "monitoring re-check due by 2026-12-07", date(2026, 11, 30),
                      due_by=date(2026, 12, 7))
    assert _due_line(recheck) == "Monitoring re-check due by 7 Dec 2026"
    assert _due_line(DueItem("state_board", "never checked", date(2026, 12, 1))) == "Never checked (due since 1 Dec 2026)"


@pytest.mark.parametrize(("valid_from", "valid_until", "expected"), [
    (date(2026, 4, 7), date(2028, 8, 28), "7 Apr 2026 to 28 Aug 2028"),
    (date(2026, 4, 7), None, "From 7 Apr 2026, no expiry date"),
    (None, date(2028, 8, 28), "Until 28 Aug 2028"),
    (None, None, "No expiry date"),  # an NPI: "no start date to no end date" said nothing a person could use
])
def test_the_validity_line_reads_as_a_sentence(valid_from: date | None, valid_until: date | None,
                                               expected: str) -> None:
    credential = Credential(kind="npi", number="1000000012", valid_from=valid_from, valid_until=valid_until)
    assert CredentialView(credential, "confirmed", "Confirmed").valid_label == expected

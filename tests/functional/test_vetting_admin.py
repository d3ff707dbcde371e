"""The admin verification queue: who may see it, and every action through real forms with CSRF."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from directory.accounts.models import AuditEvent
from directory.clock import utcnow
from directory.models import Credential, VerificationCheck
from directory.vetting.models import FormerName, VettingDecision, VettingIdentity
from directory.vetting.services import check_exclusions, record_check
from directory.vetting.sources.leie import import_exclusion_list
from tests import factories
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record
from tests.support.web import csrf_token
from tests.support.web import sign_in_as as sign_in
from tests.unit.vetting.builders import DATA, NPI, us_practitioner

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32



@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    """A client signed in as an admin."""
    client.admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())  # type: ignore[attr-defined]
    sign_in(client, client.admin)  # type: ignore[attr-defined]
    return client


def _page(p: Any) -> str:
    return f"/admin/vetting/practitioners/{p.id}"


def _post(client: FlaskClient, p: Any, action: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """Post a form of the practitioner's screen with the screen's CSRF token."""
    from directory.extensions import db

    db.session.commit()  # the test's setup, committed as it would be before a real request (a savepoint here)
    token = csrf_token(client, _page(p))
    return client.post(f"{_page(p)}/{action}", data={"csrf_token": token, **(data or {})}, **kw)


def _audit(action: str) -> list[AuditEvent]:
    from directory.extensions import db

    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- who may see it

@pytest.mark.parametrize("role", ["patient", "doctor", "practitioner"])
def test_other_roles_are_refused(client: FlaskClient, session: Any, role: str) -> None:
    p = us_practitioner()
    sign_in(client, factories.user(role, email_confirmed_at=utcnow(), approved_at=utcnow()))
    assert client.get("/admin/vetting/").status_code == 403
    assert client.get(_page(p)).status_code == 403
    assert client.post(f"{_page(p)}/suspend", data={"reason": "x"}).status_code in (400, 403)
    assert session.scalars(select(VettingDecision)).all() == []


def test_anonymous_users_are_sent_to_sign_in(client: FlaskClient, session: Any) -> None:
    response = client.get("/admin/vetting/")
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert "sign-in" in response.headers["Location"]


# --- the queue

def test_the_queue_lists_what_is_due_oldest_first(admin_client: FlaskClient, session: Any) -> None:
    newer = us_practitioner(npi=None, first_name="Newer", last_name="Person")
    older = us_practitioner(npi=None, first_name="Older", last_name="Person")
    for credential, days in ((newer.credentials[0], 2), (older.credentials[0], 20)):
        credential.submitted_at = utcnow() - timedelta(days=days)
    done = us_practitioner(npi=None, first_name="Nothing", last_name="Due", licence=False)
    session.flush()
    page = admin_client.get("/admin/vetting/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Older Person") < html.index("Newer Person")
    assert "Nothing Due" not in html and done.id
    assert "never checked" in html
    assert "<script" not in html and 'style="' not in html


def test_an_empty_queue_says_so(admin_client: FlaskClient, session: Any) -> None:
    assert "Nothing is waiting" in admin_client.get("/admin/vetting/").get_data(as_text=True)


# --- one practitioner

def test_the_screen_shows_credentials_and_every_check_with_its_evidence(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    check = record_check(p, source="state_board", outcome="pass", credential=p.credentials[0],
                         reference="https://board.example/lookup?id=AC12345", evidence={"looked_up": "AC12345"})
    html = admin_client.get(_page(p)).get_data(as_text=True)
    assert "AC12345" in html and "https://board.example/lookup?id=AC12345" in html
    assert "&#34;looked_up&#34;: &#34;AC12345&#34;" in html or '"looked_up": "AC12345"' in html
    assert check.row_hash in html, "the chain head is shown"
    assert "<script" not in html and 'style="' not in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "several forms share the page: every id stays unique"


def test_an_unknown_practitioner_is_404(admin_client: FlaskClient, session: Any) -> None:
    assert admin_client.get("/admin/vetting/practitioners/999999").status_code == 404


def test_run_npi_check_button(admin_client: FlaskClient, session: Any, registry: FakeNpiRegistry) -> None:
    p = us_practitioner()
    registry.answer(NPI, Scripted(body=found(npi_record(NPI))))
    response = _post(admin_client, p, "run/npi_registry")
    assert response.status_code == 303
    check = session.scalar(select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id))
    assert (check.source, check.outcome, check.performed_by_id) == ("npi_registry", "pass", admin_client.admin.id)  # type: ignore[attr-defined]
    [event] = _audit("vetting.check_run")
    assert (event.actor_id, event.subject_id, json.loads(event.details)["outcome"]) == (
        admin_client.admin.id, p.id, "pass")  # type: ignore[attr-defined]


def test_run_exclusion_check_button(admin_client: FlaskClient, session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    p = us_practitioner()
    response = _post(admin_client, p, "run/exclusion_list", follow_redirects=True)
    assert response.status_code == 200
    assert "Outcome: fail" in response.get_data(as_text=True)
    assert p.vetting_status == "suspended"
    assert len(_audit("vetting.check_run")) == 1


def test_run_without_csrf_is_refused(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    assert admin_client.post(f"{_page(p)}/run/exclusion_list").status_code == 400
    assert session.scalars(select(VerificationCheck)).all() == []


def test_an_unknown_source_is_404(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    assert _post(admin_client, p, "run/astrology").status_code == 404


def test_npi_check_without_an_npi_says_so(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner(npi=None)
    response = _post(admin_client, p, "run/npi_registry")
    assert response.status_code == 400
    assert "no NPI on file" in response.get_data(as_text=True)


def _manual(client: FlaskClient, p: Any, document: tuple[bytes, str] | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"credential_id": str(p.credentials[0].id), "source": "state_board",
                            "what": "MA board public licence look-up", "reference": "https://board.example/AC12345",
                            "outcome": "pass", "note": "active, no discipline", **fields}
    if document:
        data["document"] = (io.BytesIO(document[0]), document[1])
    return _post(client, p, "checks", data, content_type="multipart/form-data")


def test_a_manual_check_with_a_pdf_is_recorded_and_the_pdf_kept_outside_static(
        admin_client: FlaskClient, session: Any, app: Flask) -> None:
    p = us_practitioner()
    response = _manual(admin_client, p, (PDF, "licence.pdf"))
    assert response.status_code == 303, response.get_data(as_text=True)
    check = session.scalar(select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id))
    evidence = json.loads(check.evidence)
    assert (check.source, check.outcome, check.credential_id) == ("state_board", "pass", p.credentials[0].id)
    assert evidence["what_was_checked"] == "MA board public licence look-up"
    stored = Path(app.config["INSTANCE_DIR"]) / "documents" / evidence["document"]["stored_as"]
    assert stored.read_bytes() == PDF and evidence["document"]["mime"] == "application/pdf"
    assert "static" not in stored.parts
    [event] = _audit("vetting.manual_check")
    assert json.loads(event.details)["document"] == evidence["document"]["sha256"]

    with admin_client.get(f"/admin/vetting/checks/{check.id}/document") as download:
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Type"] == "application/pdf"
        assert "attachment" in download.headers["Content-Disposition"]
    assert len(_audit("vetting.document_viewed")) == 1


def test_a_png_is_accepted_whatever_its_name(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    assert _manual(admin_client, p, (PNG, "scan.bin")).status_code == 303


@pytest.mark.parametrize("content", [b"%!PS-Adobe-3.0 not a pdf", b"<html><script>alert(1)</script>", b""])
def test_a_document_that_is_not_really_a_pdf_or_image_is_refused(admin_client: FlaskClient, session: Any,
                                                                 content: bytes) -> None:
    p = us_practitioner()
    response = _manual(admin_client, p, (content, "licence.pdf"))
    assert response.status_code == 400
    assert "Only PDF, PNG and JPEG documents are accepted" in response.get_data(as_text=True)
    assert session.scalars(select(VerificationCheck)).all() == []


def test_a_document_over_the_size_cap_is_refused(admin_client: FlaskClient, session: Any, app: Flask,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Below Werkzeug's 500 KB spooling threshold, so the test client keeps the body in memory.
    monkeypatch.setitem(app.config, "VETTING_DOCUMENT_MAX_BYTES", 100 * 1024)
    p = us_practitioner()
    response = _manual(admin_client, p, (PDF + b"0" * (100 * 1024), "big.pdf"))
    assert response.status_code == 400
    assert "larger than 100 KB" in response.get_data(as_text=True)
    assert not list((Path(app.config["INSTANCE_DIR"]) / "documents").glob(".upload-*")), "no partial file is left"


def test_a_manual_check_needs_what_was_checked(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    response = _manual(admin_client, p, what="")
    assert response.status_code == 400
    assert "Say what was checked." in response.get_data(as_text=True)


def test_a_manual_check_cannot_name_another_practitioners_credential(admin_client: FlaskClient, session: Any) -> None:
    p, other = us_practitioner(), us_practitioner(npi=None, first_name="Ana", last_name="Lopez")
    response = _manual(admin_client, p, credential_id=str(other.credentials[0].id))
    assert response.status_code == 400
    assert session.scalars(select(VerificationCheck)).all() == []


def test_patients_cannot_download_documents(client: FlaskClient, session: Any) -> None:
    sign_in(client, factories.user("patient"))
    assert client.get("/admin/vetting/checks/1/document").status_code == 403


def test_a_check_without_a_document_has_nothing_to_download(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    check = record_check(p, source="exclusion_list", outcome="pass")
    assert admin_client.get(f"/admin/vetting/checks/{check.id}/document").status_code == 404


def test_suspend_needs_a_reason_then_reinstate(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    empty = _post(admin_client, p, "suspend", {"reason": "  "})
    assert empty.status_code == 400 and "Give the reason" in empty.get_data(as_text=True)
    assert _post(admin_client, p, "suspend", {"reason": "complaint under investigation"}).status_code == 303
    assert p.vetting_status == "suspended"
    assert "Reinstate" in admin_client.get(_page(p)).get_data(as_text=True)
    assert _post(admin_client, p, "reinstate", {"reason": "complaint dismissed"}).status_code == 303
    assert p.vetting_status != "suspended"
    assert [e.action for e in _audit("vetting.suspended") + _audit("vetting.reinstated")] == [
        "vetting.suspended", "vetting.reinstated"]


def test_reinstating_someone_not_suspended_is_refused(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    response = _post(admin_client, p, "reinstate", {"reason": "why not"})
    assert response.status_code == 400
    assert "not suspended" in response.get_data(as_text=True)


def test_an_exclusion_hit_is_reviewed_from_the_screen(admin_client: FlaskClient, session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    p = us_practitioner(npi=None, first_name="David", last_name="Lee")
    check_exclusions(p)
    html = admin_client.get(_page(p)).get_data(as_text=True)
    assert "Exclusion-list match awaiting review" in html and "LEE" in html
    response = _post(admin_client, p, "exclusion-review", {"decision": "clear", "reason": "born 1985, not 1960"})
    assert response.status_code == 303
    assert "awaiting review" not in admin_client.get(_page(p)).get_data(as_text=True)
    assert len(_audit("vetting.exclusion_reviewed")) == 1


def test_identity_details_are_saved(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    response = _post(admin_client, p, "identity", {"date_of_birth": "1980-05-05", "former_names": "Mei Kim"})
    assert response.status_code == 303
    assert str(session.get(VettingIdentity, p.id).date_of_birth) == "1980-05-05"
    assert [n.last_name for n in session.scalars(select(FormerName))] == ["Kim"]
    assert len(_audit("vetting.identity_updated")) == 1
    bad = _post(admin_client, p, "identity", {"date_of_birth": "05/05/1980"})
    assert bad.status_code == 400


def test_credentials_are_listed_with_their_expiry(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    html = admin_client.get(_page(p)).get_data(as_text=True)
    licence = session.scalar(select(Credential).where(Credential.practitioner_id == p.id, Credential.kind == "state_licence"))
    assert str(licence.valid_until) in html


@pytest.mark.parametrize(("action", "data"), [
    ("checks", {"what": "look-up\x00", "source": "manual", "outcome": "pass", "credential_id": "0"}),
    ("suspend", {"reason": "because\x00"}), ("identity", {"former_names": "Mei\x00 Kim"}),
])
def test_nul_bytes_are_refused_by_the_forms(admin_client: FlaskClient, session: Any, action: str,
                                            data: dict[str, str]) -> None:
    p = us_practitioner()
    response = _post(admin_client, p, action, data)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_credentials_document_is_served_to_admins_and_its_owner_only(admin_client: FlaskClient, session: Any,
                                                                      app: Flask) -> None:
    from directory.vetting.documents import store_document
    from directory.vetting.services import attach_credential_document, readable_credential_document

    p, other = us_practitioner(), factories.practitioner()
    licence = p.credentials[0]
    attach_credential_document(licence, store_document(io.BytesIO(PNG)))
    assert f"/admin/vetting/credentials/{licence.id}/document" in admin_client.get(_page(p)).get_data(as_text=True)
    with admin_client.get(f"/admin/vetting/credentials/{licence.id}/document") as response:
        assert response.status_code == 200 and response.data == PNG
    owner = factories.user("practitioner", practitioner_id=p.id)
    stranger = factories.user("practitioner", practitioner_id=other.id)
    with app.test_request_context():
        assert readable_credential_document(owner, licence.id) is licence
        from directory.errors import NotFound

        with pytest.raises(NotFound):
            readable_credential_document(stranger, licence.id)

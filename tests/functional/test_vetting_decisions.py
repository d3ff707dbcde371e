"""Exclusion-list reviews, automatic suspensions and the admin's way out of every queue item."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from directory.accounts.models import AuditEvent, OutgoingEmail
from directory.clock import today, utcnow
from directory.models import Credential, VerificationCheck
from directory.vetting.models import VettingDecision
from directory.vetting.services import check_exclusions, record_check
from directory.vetting.sources.leie import import_exclusion_list
from tests import factories
from tests.support.npi_server import FakeNpiRegistry, Scripted
from tests.support.web import csrf_token
from tests.support.web import sign_in_as as sign_in
from tests.unit.vetting.builders import DATA, NPI, credential, us_practitioner

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
UNLISTED_NPI = "1000000137"  # valid check digit; nobody on the sample list has it


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    """A client signed in as an admin."""
    client.admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())  # type: ignore[attr-defined]
    sign_in(client, client.admin)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def leie(session: Any) -> None:
    """Load the sample exclusion list."""
    import_exclusion_list(DATA / "leie_sample.csv")


def _page(p: Any) -> str:
    return f"/admin/vetting/practitioners/{p.id}"


def _post(client: FlaskClient, p: Any, action: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """Post a form of the practitioner's screen with the screen's CSRF token."""
    from directory.extensions import db

    db.session.commit()
    token = csrf_token(client, _page(p))
    return client.post(f"{_page(p)}/{action}", data={"csrf_token": token, **(data or {})}, **kw)


def _verified(p: Any) -> Any:
    """Record passing checks of every credential and a clean exclusion-list run."""
    for cred in p.credentials:
        record_check(p, source="npi_registry" if cred.kind == "npi" else "state_board", outcome="pass", credential=cred)
    record_check(p, source="exclusion_list", outcome="pass")
    assert p.vetting_status == "verified"
    return p


def _checks(p: Any, source: str) -> list[VerificationCheck]:
    from directory.extensions import db

    return list(db.session.scalars(select(VerificationCheck).where(
        VerificationCheck.practitioner_id == p.id, VerificationCheck.source == source)
        .order_by(VerificationCheck.sequence)))


def _decisions(p: Any) -> list[tuple[str, str, int | None]]:
    from directory.extensions import db

    rows = db.session.scalars(select(VettingDecision).where(VettingDecision.practitioner_id == p.id)
                              .order_by(VettingDecision.id))
    return [(d.action, d.category, d.decided_by_id) for d in rows]


# --- item 7: a name alone proves nothing

def test_a_name_only_match_keeps_a_verified_practitioner_listed_and_queues_a_review(
        admin_client: FlaskClient, session: Any, leie: None) -> None:
    p = _verified(us_practitioner(UNLISTED_NPI, first_name="David", last_name="Lee"))
    response = _post(admin_client, p, "run/exclusion_list", follow_redirects=True)
    assert "Outcome: needs_review" in response.get_data(as_text=True)
    assert p.vetting_status == "verified", "a name-only match does not hide the practitioner"
    assert _decisions(p) == []
    queue = admin_client.get("/admin/vetting/").get_data(as_text=True)
    assert "a name match awaits an admin&#39;s review" in queue or "a name match awaits an admin's review" in queue
    assert f"decide by {today() + timedelta(days=14)}" in queue
    screen = admin_client.get(_page(p)).get_data(as_text=True)
    assert "Exclusion-list match awaiting review" in screen and "the listing's status does not change" in screen


def test_dismissing_a_name_match_is_recorded_and_changes_nothing(admin_client: FlaskClient, session: Any,
                                                                 leie: None) -> None:
    p = _verified(us_practitioner(UNLISTED_NPI, first_name="David", last_name="Lee"))
    check_exclusions(p)
    response = _post(admin_client, p, "exclusion-review", {"decision": "clear", "reason": "born 1985, not 1960"})
    assert response.status_code == 303
    review = _checks(p, "exclusion_list")[-1]
    assert (review.outcome, review.performed_by_id) == ("pass", admin_client.admin.id)  # type: ignore[attr-defined]
    assert json.loads(review.evidence)["review"] == "cleared"
    assert p.vetting_status == "verified" and _decisions(p) == []
    assert "name match awaits" not in admin_client.get("/admin/vetting/").get_data(as_text=True)


def test_confirming_a_name_match_suspends_through_the_decision_service(admin_client: FlaskClient, session: Any,
                                                                      leie: None) -> None:
    p = _verified(us_practitioner(UNLISTED_NPI, first_name="David", last_name="Lee"))
    check_exclusions(p)
    response = _post(admin_client, p, "exclusion-review", {"decision": "confirm", "reason": "DOB and address match"})
    assert response.status_code == 303
    assert p.vetting_status == "suspended"
    assert _decisions(p) == [("suspend", "exclusion_list", admin_client.admin.id)]  # type: ignore[attr-defined]
    review = _checks(p, "exclusion_list")[-1]
    assert (review.outcome, json.loads(review.evidence)["review"]) == ("fail", "confirmed")


def test_a_re_check_that_finds_the_name_again_keeps_the_decide_by_date(session: Any) -> None:
    from directory.vetting.due import due_items
    from directory.vetting.facts import load_facts
    from tests.support import profiles

    p = us_practitioner()
    profiles.add_checks(p, [(None, "exclusion_list", 20, "LEIE", "needs_review"),
                            (None, "exclusion_list", 2, "LEIE", "needs_review")])
    [item] = [i for i in due_items(load_facts([p.id])[p.id], today()) if "name match" in i.reason]
    assert item.since == today() - timedelta(days=20) and item.due_by == today() - timedelta(days=6)


def test_the_review_window_is_configurable(app: Any, session: Any) -> None:
    from directory.vetting.policy import current_policy

    app.config["VETTING_NAME_MATCH_REVIEW_DAYS"] = "7"
    try:
        assert current_policy().name_match_review_days == 7
    finally:
        del app.config["VETTING_NAME_MATCH_REVIEW_DAYS"]
    assert current_policy().name_match_review_days == 14


# --- item 8: no dead ends

def test_a_name_match_without_match_rows_still_has_a_review_form(admin_client: FlaskClient, session: Any) -> None:
    p = _verified(us_practitioner())
    record_check(p, source="exclusion_list", outcome="needs_review", note="possible name match", evidence={})
    screen = admin_client.get(_page(p)).get_data(as_text=True)
    assert "Exclusion-list match awaiting review" in screen and "recorded no listed rows to compare" in screen
    assert "/exclusion-review" in screen
    response = _post(admin_client, p, "exclusion-review", {"decision": "clear", "reason": "OIG search: no such person"})
    assert response.status_code == 303
    assert "name match awaits" not in admin_client.get("/admin/vetting/").get_data(as_text=True)


def _renewal(p: Any, old: Credential, **fields: Any) -> dict[str, Any]:
    values = {"replaces": str(old.id), "kind": "state_licence", "issuer": "MA Board of Acupuncture",
              "number": "AC12345", "jurisdiction": "MA", "valid_from": str(today() - timedelta(days=1)),
              "valid_until": str(today() + timedelta(days=730))}
    values.update(fields)
    return values


def test_an_admin_records_a_renewed_credential_which_resolves_the_expired_one(admin_client: FlaskClient,
                                                                              session: Any, app: Any) -> None:
    import io

    p = us_practitioner(licence=False)
    old = credential(p, valid_from=today() - timedelta(days=800), valid_until=today() - timedelta(days=2))
    queue = admin_client.get("/admin/vetting/").get_data(as_text=True)
    assert "a renewed credential is needed" in queue
    data = {**_renewal(p, old), "document": (io.BytesIO(PDF), "licence.pdf")}
    response = _post(admin_client, p, "credentials", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert old.withdrawn_at is not None, "the old record is withdrawn, its checks stay with it"
    current = session.scalars(select(Credential).where(Credential.practitioner_id == p.id,
                                                       Credential.kind == "state_licence",
                                                       Credential.withdrawn_at.is_(None))).all()
    assert [(c.number, c.valid_until, c.document_mime) for c in current] == [
        ("AC12345", today() + timedelta(days=730), "application/pdf")]
    assert "a renewed credential is needed" not in admin_client.get("/admin/vetting/").get_data(as_text=True)
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "vetting.credential_recorded")).all()
    assert (event.actor_id, json.loads(event.details)["replaces"]) == (admin_client.admin.id, old.id)  # type: ignore[attr-defined]
    # The renewed licence gets its own primary-source check, and then the practitioner is verified.
    record_check(p, source="state_board", outcome="pass", credential=current[0])
    record_check(p, source="npi_registry", outcome="pass", credential=next(c for c in p.credentials if c.kind == "npi"))
    record_check(p, source="exclusion_list", outcome="pass")
    assert p.vetting_status == "verified"


@pytest.mark.parametrize(("fields", "message"), [
    ({"valid_until": "2020-01-01", "valid_from": "2021-01-01"}, "cannot expire before it starts"),
    ({"number": "  "}, "Give the credential&#39;s number"),
    ({"jurisdiction": ""}, "Give the state that issued the licence"),
    ({"kind": "horoscope"}, "Not a valid choice"),
    ({"valid_until": "31/12/2027"}, "Not a valid date value"),
])
def test_a_credential_the_rules_refuse_is_explained(admin_client: FlaskClient, session: Any,
                                                    fields: dict[str, str], message: str) -> None:
    p = us_practitioner()
    response = _post(admin_client, p, "credentials", _renewal(p, p.credentials[0], replaces="0", **fields))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(session.scalars(select(Credential).where(Credential.practitioner_id == p.id)).all()) == 2


def test_an_upload_that_is_not_a_document_is_refused(admin_client: FlaskClient, session: Any) -> None:
    import io

    p = us_practitioner()
    data = {**_renewal(p, p.credentials[0]), "document": (io.BytesIO(b"<html>"), "licence.pdf")}
    response = _post(admin_client, p, "credentials", data, content_type="multipart/form-data")
    assert response.status_code == 400 and "Only PDF, PNG and JPEG" in response.get_data(as_text=True)
    assert p.credentials[0].withdrawn_at is None


def test_a_npi_check_error_shows_its_reason_and_a_retry_adds_no_identical_row(
        admin_client: FlaskClient, session: Any, registry: FakeNpiRegistry) -> None:
    p = us_practitioner()
    registry.answer(NPI, Scripted(status=503, body={"error": "maintenance"}))
    first = _post(admin_client, p, "run/npi_registry", follow_redirects=True).get_data(as_text=True)
    assert "could not be completed: the registry answered HTTP 503" in first
    again = _post(admin_client, p, "run/npi_registry", follow_redirects=True).get_data(as_text=True)
    assert "could not be completed: the registry answered HTTP 503" in again
    assert "no new history row was added" in again
    assert "check recorded" not in again, "a retry that recorded nothing must not say it did"
    assert 'class="flash flash-error" role="alert"' in again
    assert [c.outcome for c in _checks(p, "npi_registry")] == ["error"]


def test_the_same_error_after_the_window_is_recorded_again(session: Any, registry: FakeNpiRegistry) -> None:
    from directory.vetting.chain import row_hash, sha256_text
    from directory.vetting.checks import REPEATED_ERROR_WINDOW
    from directory.vetting.services import check_npi
    from directory.vetting.sources.npi import NpiRegistryClient

    p = us_practitioner()
    npi = p.credentials[1]
    registry.answer(NPI, Scripted(status=503, body={}))
    row: dict[str, Any] = {
        "practitioner_id": p.id, "user_id": None, "sequence": 1, "credential_id": npi.id, "source": "npi_registry",
        "performed_by_id": None, "performed_at": utcnow().replace(microsecond=0) - REPEATED_ERROR_WINDOW
        - timedelta(minutes=1), "outcome": "error", "reference": "", "note": "the registry answered HTTP 503",
        "evidence_sha256": sha256_text("{}"), "previous_hash": None}
    session.add(VerificationCheck(**row, evidence="{}", row_hash=row_hash(row)))
    session.flush()
    client = NpiRegistryClient.from_config()
    try:
        check_npi(p, client)
        check_npi(p, client)
    finally:
        client.close()
    assert [c.outcome for c in _checks(p, "npi_registry")] == ["error", "error"], "older than the window: recorded"


# --- item 8a: automatic status changes are visible

def test_an_npi_hit_is_an_audited_queued_and_emailed_automatic_suspension(admin_client: FlaskClient, session: Any,
                                                                          leie: None) -> None:
    p = _verified(us_practitioner(NPI))
    owner = factories.user("practitioner", practitioner_id=p.id)
    check_exclusions(p)
    assert p.vetting_status == "suspended"
    assert _decisions(p) == [("suspend", "exclusion_list", None)]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "vetting.status_changed",
                                                     AuditEvent.subject_id == p.id).order_by(AuditEvent.id)).all()[-1]
    assert (json.loads(event.details)["previous"], json.loads(event.details)["status"]) == ("verified", "suspended")
    mail = session.scalars(select(OutgoingEmail).where(OutgoingEmail.recipient == owner.email)
                           .order_by(OutgoingEmail.id)).all()[-1]
    assert mail.kind == "vetting_status" and "suspended" in mail.subject
    queue = admin_client.get("/admin/vetting/").get_data(as_text=True)
    assert p.display_name in queue and "suspended automatically; an admin must review the suspension" in queue
    # The admin's confirmation is a decision of its own, and the queue item goes away.
    assert _post(admin_client, p, "exclusion-review", {"decision": "confirm", "reason": "same NPI"}).status_code == 303
    assert _decisions(p)[-1] == ("suspend", "exclusion_list", admin_client.admin.id)  # type: ignore[attr-defined]
    assert "an admin must review the suspension" not in admin_client.get("/admin/vetting/").get_data(as_text=True)


def test_clearing_an_npi_hit_lifts_the_automatic_suspension(admin_client: FlaskClient, session: Any,
                                                           leie: None) -> None:
    p = _verified(us_practitioner(NPI))
    check_exclusions(p)
    response = _post(admin_client, p, "exclusion-review", {"decision": "clear", "reason": "NPI typo in the list"})
    assert response.status_code == 303
    assert p.vetting_status == "verified"
    assert [a for a, _, _ in _decisions(p)] == ["suspend", "reinstate"]
    assert _decisions(p)[-1][1] == "exclusion_ruled_out"


def test_an_automatic_suspension_can_be_confirmed_even_after_the_listing_changed(
        admin_client: FlaskClient, session: Any, leie: None) -> None:
    p = _verified(us_practitioner(NPI))
    check_exclusions(p)
    record_check(p, source="exclusion_list", outcome="pass", note="a later run no longer finds the NPI")
    screen = admin_client.get(_page(p)).get_data(as_text=True)
    assert "Exclusion-list match awaiting review" not in screen and "Confirm the suspension" in screen
    ids = re.findall(r'\sid="([^"]+)"', screen)
    assert len(ids) == len(set(ids)), "two decision forms on one page keep their ids unique"
    response = _post(admin_client, p, "suspend", {"category": "exclusion_list", "reason": "OIG letter on file"})
    assert response.status_code == 303
    assert _decisions(p)[-1] == ("suspend", "exclusion_list", admin_client.admin.id)  # type: ignore[attr-defined]
    assert p.vetting_status == "suspended"
    assert "Confirm the suspension" not in admin_client.get(_page(p)).get_data(as_text=True)
    assert "an admin must review the suspension" not in admin_client.get("/admin/vetting/").get_data(as_text=True)


def test_a_status_change_with_time_alone_is_audited_and_emailed(app: Any, session: Any) -> None:
    from directory.vetting.cli import vetting_group

    p = _verified(us_practitioner())
    owner = factories.user("practitioner", practitioner_id=p.id)
    session.execute(delete(AuditEvent))
    p.credentials[0].valid_until = today() - timedelta(days=1)
    session.flush()
    result = app.test_cli_runner().invoke(vetting_group, ["run"])
    assert result.exit_code == 0, result.output
    assert p.vetting_status == "lapsed"
    details = [json.loads(e.details) for e in session.scalars(select(AuditEvent).where(
        AuditEvent.action == "vetting.status_changed", AuditEvent.subject_id == p.id))]
    assert [(d["previous"], d["status"]) for d in details] == [("verified", "lapsed")]
    kinds = session.scalars(select(OutgoingEmail.kind).where(OutgoingEmail.recipient == owner.email)).all()
    assert "vetting_status" in kinds


def test_seeded_suspensions_are_decisions_and_survive_a_vetting_run(app: Any, session: Any,
                                                                   registry: FakeNpiRegistry) -> None:
    from directory.models import Practitioner
    from directory.seed import seed_practitioners
    from directory.vetting.cli import vetting_group

    seed_practitioners(400, 5)
    suspended = session.scalars(select(Practitioner).where(Practitioner.vetting_status == "suspended")).all()
    assert suspended, "the seed makes a few suspended practitioners"
    for p in suspended:
        assert [a for a, _, _ in _decisions(p)] == ["suspend"]
    result = app.test_cli_runner().invoke(vetting_group, ["run"])
    assert result.exit_code in (0, 1), result.output
    for p in suspended:
        session.refresh(p)
        assert p.vetting_status == "suspended", "the first run does not silently lift a seeded suspension"

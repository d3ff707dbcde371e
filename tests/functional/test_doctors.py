"""Doctors are real doctors: the NPI or licence at sign-up, the registry check, the approval screen and rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from directory.accounts.models import AuditEvent, OutgoingEmail, User
from directory.accounts.policy import can_refer
from directory.accounts.services import delete_account
from directory.clock import utcnow
from directory.extensions import db
from directory.vetting.chain import verify_chain
from directory.vetting.models import Credential, VerificationCheck
from tests import factories
from tests.support.npi_server import NOT_FOUND, FakeNpiRegistry, Scripted, found, npi_record
from tests.support.web import last_email, post_form, sign_in_as

PASSWORD = "correct horse battery staple"
NPI = "1234567893"  # the check-digit example of the CMS NPI standard
BAD_CHECK_DIGIT = "1234567890"
FAMILY_MEDICINE = "207Q00000X"


def physician(number: str = NPI, *, taxonomy: str = FAMILY_MEDICINE, desc: str = "Family Medicine",
              **fields: Any) -> dict[str, Any]:
    """Return the registry record of an individual family physician, Ana Silva (fields override the defaults)."""
    record = npi_record(number, first="ANA", last="SILVA", licence="MD98765", taxonomy=taxonomy, **fields)
    record["taxonomies"][0]["desc"] = desc
    record["basic"]["credential"] = "M.D."
    return record


def _sign_up(client: Any, email: str, **doctor: str) -> Any:
    return post_form(client, "/sign-up", {"full_name": "Ana Silva", "email": email, "password": PASSWORD,
                                          "role": doctor.pop("role", "doctor"), **doctor})


def _user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email)).one_or_none()


def _credentials(user: User) -> list[tuple[str, str, str]]:
    rows = db.session.scalars(select(Credential).where(Credential.user_id == user.id).order_by(Credential.id))
    return [(c.kind, c.number, c.jurisdiction) for c in rows]


def _checks(user: User) -> list[VerificationCheck]:
    return list(db.session.scalars(select(VerificationCheck).where(VerificationCheck.user_id == user.id)
                                   .order_by(VerificationCheck.sequence)))


def _admin(client: Any) -> User:
    admin = factories.user("admin", approved_at=utcnow(), email_confirmed_at=utcnow())
    db.session.commit()  # a savepoint: a refused action's rollback must not take the test's rows with it
    sign_in_as(client, admin)
    return admin


def _doctor(npi: str | None = NPI, licence: tuple[str, str] | None = None, email: str = "ana@example.org") -> User:
    """Add a waiting doctor with the credentials she gave at sign-up."""
    user = factories.user("doctor", email=email, full_name="Ana Silva", email_confirmed_at=utcnow())
    if npi:
        db.session.add(Credential(user_id=user.id, kind="npi", number=npi, jurisdiction="US", issuer="NPPES"))
    if licence:
        db.session.add(Credential(user_id=user.id, kind="state_licence", number=licence[0], jurisdiction=licence[1]))
    db.session.commit()
    return user


def _check(client: Any, user: User) -> Any:
    return post_form(client, f"/admin/users/{user.id}/check-npi", {}, form_page="/admin/users")


def _approve(client: Any, user: User, **fields: str) -> Any:
    return post_form(client, f"/admin/users/{user.id}/approve", fields, form_page="/admin/users")


def _emails(kind: str) -> int:
    return db.session.scalar(select(func.count(OutgoingEmail.id)).where(OutgoingEmail.kind == kind)) or 0


# --- sign-up

def test_a_doctor_signs_up_with_an_npi_and_nothing_asks_the_registry(client: Any, registry: FakeNpiRegistry) -> None:
    page = _sign_up(client, "ana@example.org", npi=f" {NPI} ")
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    user = _user("ana@example.org")
    assert user is not None and user.approved_at is None
    assert _credentials(user) == [("npi", NPI, "US")]
    assert registry.requests == []  # no network inside the sign-up request
    assert last_email("ana@example.org", "confirm")


def test_a_doctor_outside_the_us_signs_up_with_a_licence_and_jurisdiction(client: Any) -> None:
    page = _sign_up(client, "ana@example.org", licence_number=" 7654321 ", jurisdiction="gb")
    assert page.status_code == 200
    user = _user("ana@example.org")
    assert user is not None and _credentials(user) == [("state_licence", "7654321", "GB")]


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "Doctors give their NPI, or (outside the US) a licence number and where it was issued."),
    ({"npi": BAD_CHECK_DIGIT}, "This is not a valid NPI: it has 10 digits and the last one is a check digit."),
    ({"npi": "12345"}, "This is not a valid NPI"),
    ({"npi": "12345678901"}, "An NPI has 10 digits."),
    ({"licence_number": "7654321"}, "Give the licence number and where it was issued together."),
    ({"jurisdiction": "GB"}, "Give the licence number and where it was issued together."),
    ({"licence_number": "7654321", "jurisdiction": "Great Britain"}, "Write it as a code: US-NY, GB, CA-ON."),
    ({"licence_number": "7654321", "jurisdiction": "G1"}, "Write the jurisdiction as a code"),
])
def test_a_doctor_without_a_usable_npi_or_licence_is_refused_saying_why(client: Any, fields: dict[str, str],
                                                                       message: str) -> None:
    page = _sign_up(client, "ana@example.org", **fields)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert message in html and 'class="field-error"' in html
    assert _user("ana@example.org") is None


def test_a_patient_is_never_given_a_credential_for_what_they_typed_in_the_doctors_fields(client: Any) -> None:
    page = _sign_up(client, "pat@example.org", role="patient", npi=BAD_CHECK_DIGIT)
    assert page.status_code == 200
    user = _user("pat@example.org")
    assert user is not None and _credentials(user) == []


def test_the_sign_up_page_labels_the_doctors_fields_and_works_without_script(client: Any) -> None:
    html = client.get("/sign-up").get_data(as_text=True)
    assert "<legend>Doctors only</legend>" in html
    assert 'name="npi"' in html and 'name="licence_number"' in html and 'name="jurisdiction"' in html
    assert "hidden" not in html.split('id="doctor-fields"')[1].split(">")[0]  # only the script hides them


# --- the registry check

def test_the_check_passes_for_an_active_individual_physician(client: Any, registry: FakeNpiRegistry) -> None:
    admin, doctor = _admin(client), _doctor()
    registry.answer(NPI, Scripted(body=found(physician())))
    response = _check(client, doctor)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin/users#user-{doctor.id}")
    [check] = _checks(doctor)
    assert (check.source, check.outcome, check.performed_by_id) == ("npi_registry", "pass", admin.id)
    evidence = json.loads(check.evidence)
    assert evidence["record"] == {"name": "ANA SILVA", "status": "A", "enumeration_type": "NPI-1",
                                  "taxonomy_code": FAMILY_MEDICINE, "taxonomy_desc": "Family Medicine"}
    assert evidence["response"]["results"][0]["number"] == NPI  # the registry's answer is kept as it came
    assert registry.requests[-1]["number"] == [NPI]
    page = client.get("/admin/users").get_data(as_text=True)
    assert "NPI check passed" in page
    for shown in ("ANA SILVA", "A (active)", "NPI-1 (individual)", "207Q00000X Family Medicine", "pass</strong>",
                  check.performed_at.strftime("%Y-%m-%d %H:%M")):
        assert shown in page, shown
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "doctor.npi_checked")).one()


@pytest.mark.parametrize(("record", "reason"), [
    (physician(status="D"), "the NPI is not active (status D)"),
    (physician(enumeration_type="NPI-2"), "the NPI belongs to an organisation (NPI-2), not a person"),
    (physician(taxonomy="171100000X", desc="Acupuncturist"),
     "the registry lists an acupuncturist, not a referring clinician (171100000X Acupuncturist)"),
    (physician(taxonomy="1223G0001X", desc="General Practice Dentist"),
     "not a referring clinician (1223G0001X General Practice Dentist)"),
    (None, "the registry has no record of this NPI"),
])
def test_the_check_fails_with_the_reason(client: Any, registry: FakeNpiRegistry, record: dict[str, Any] | None,
                                         reason: str) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, Scripted(body=found(record) if record else NOT_FOUND))
    assert _check(client, doctor).status_code == 303
    [check] = _checks(doctor)
    assert check.outcome == "fail" and reason in check.note
    page = client.get("/admin/users").get_data(as_text=True)
    assert reason in page and "fail</strong>" in page


@pytest.mark.parametrize(("code", "group"), [("207R00000X", "Physicians"), ("363LF0000X", "Nurse Practitioner"),
                                             ("363A00000X", "Physician Assistant"), ("111N00000X", "Chiropractor"),
                                             ("225100000X", "Physical Therapist")])
def test_every_referring_clinician_taxonomy_passes(client: Any, registry: FakeNpiRegistry, code: str,
                                                   group: str) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, Scripted(body=found(physician(taxonomy=code, desc=group))))
    _check(client, doctor)
    assert [c.outcome for c in _checks(doctor)] == ["pass"]


def test_a_physician_who_also_lists_acupuncture_passes(client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    doctor = _doctor()
    record = physician(taxonomy="171100000X", desc="Acupuncturist")
    record["taxonomies"].append({"code": FAMILY_MEDICINE, "desc": "Family Medicine", "state": "MA",
                                 "license": "MD98765", "primary": False})
    registry.answer(NPI, Scripted(body=found(record)))
    _check(client, doctor)
    assert [c.outcome for c in _checks(doctor)] == ["pass"]


def test_someone_elses_npi_needs_review(client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, Scripted(body=found(npi_record(NPI, first="JOHN", last="DOE", taxonomy=FAMILY_MEDICINE))))
    _check(client, doctor)
    [check] = _checks(doctor)
    assert check.outcome == "needs_review" and "the registry's name (JOHN DOE) is not the account's (Ana Silva)" in check.note


@pytest.mark.parametrize(("script", "reason"), [
    (Scripted(status=503, body={"message": "down"}), "the registry answered HTTP 503"),
    (Scripted(raw=b"<html>maintenance</html>"), "the registry answered malformed JSON"),
])
def test_a_registry_outage_is_a_recorded_error_shown_to_the_admin(client: Any, registry: FakeNpiRegistry,
                                                                  script: Scripted, reason: str) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, script)
    response = _check(client, doctor)
    assert response.status_code == 303
    [check] = _checks(doctor)
    assert (check.outcome, check.note) == ("error", reason)
    assert json.loads(check.evidence)["error"] == reason
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"The registry could not be asked ({reason})" in page and "error</strong>" in page
    assert "Check NPI again" in page


def test_checks_form_the_doctors_own_chain(client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, Scripted(status=503, body={}, times=3), Scripted(body=found(physician())))
    _check(client, doctor)
    _check(client, doctor)
    checks = _checks(doctor)
    assert [(c.sequence, c.outcome) for c in checks] == [(1, "error"), (2, "pass")]
    rows = [{**{name: getattr(c, name) for name in c.__table__.columns.keys()}} for c in checks]
    assert verify_chain(rows) == []
    assert "pass</strong>" in client.get("/admin/users").get_data(as_text=True)  # the latest check is shown


def test_checking_an_account_without_an_npi_is_refused_in_place(client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    doctor = _doctor(npi=None, licence=("7654321", "GB"))
    response = _check(client, doctor)
    assert response.status_code == 400 and "This account has no NPI to check." in response.get_data(as_text=True)
    assert registry.requests == [] and _checks(doctor) == []


def test_checking_an_unknown_user_is_404(client: Any) -> None:
    _admin(client)
    patient = factories.user("patient")
    db.session.commit()
    assert _check(client, patient).status_code == 400
    assert post_form(client, "/admin/users/999999/check-npi", {}, form_page="/admin/users").status_code == 404


# --- the approval screen and rule

def test_the_screen_shows_what_each_waiting_doctor_gave(client: Any) -> None:
    _admin(client)
    with_npi = _doctor()
    with_licence = _doctor(npi=None, licence=("7654321", "GB"), email="bo@example.org")
    page = client.get("/admin/users").get_data(as_text=True)
    mine, theirs = page.split(f'id="user-{with_npi.id}"')[1], page.split(f'id="user-{with_licence.id}"')[1]
    assert f"<dt>NPI given</dt><dd>{NPI}</dd>" in mine and "not checked yet" in mine and "Check NPI" in mine
    theirs = theirs.split('class="decision"')[0]
    assert "<dd>7654321 (GB)</dd>" in theirs and "Check NPI" not in theirs
    assert 'value="7654321"' in theirs  # the approval form starts from what the doctor gave


def test_a_doctor_with_a_passing_check_is_approved_and_emailed(client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, Scripted(body=found(physician())))
    _check(client, doctor)
    assert _approve(client, doctor).status_code == 303
    assert db.session.get(User, doctor.id).approved_at is not None
    assert last_email("ana@example.org", "account_approved").subject == "Your Meridian account is approved"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_approved")).one()
    assert json.loads(event.details)["basis"] == "npi_registry"
    assert can_refer(db.session.get(User, doctor.id))


@pytest.mark.parametrize("outcome", ["unchecked", "fail", "error"])
def test_without_a_passing_check_approval_needs_a_licence_look_up(client: Any, registry: FakeNpiRegistry,
                                                                 outcome: str) -> None:
    _admin(client)
    doctor = _doctor()
    if outcome != "unchecked":
        registry.answer(NPI, Scripted(body=found(physician(status="D"))) if outcome == "fail" else Scripted(status=503))
        _check(client, doctor)
    refused = _approve(client, doctor)
    assert refused.status_code == 400 and "This doctor has no passing NPI check." in refused.get_data(as_text=True)
    assert db.session.get(User, doctor.id).approved_at is None and _emails("account_approved") == 0
    half = _approve(client, doctor, licence_number="MD98765", jurisdiction="US-MA")
    assert half.status_code == 400 and "where you checked it" in half.get_data(as_text=True)
    approved = _approve(client, doctor, licence_number="MD98765", jurisdiction="us-ma",
                        where_checked="https://madph.mylicense.com/verification/")
    assert approved.status_code == 303 and db.session.get(User, doctor.id).approved_at is not None
    look_up = _checks(doctor)[-1]
    assert (look_up.source, look_up.outcome, look_up.reference) == (
        "state_board", "pass", "https://madph.mylicense.com/verification/")
    assert ("state_licence", "MD98765", "US-MA") in _credentials(doctor)
    assert _emails("account_approved") == 1


def test_a_licence_only_doctor_is_approved_on_the_recorded_look_up_of_her_licence(client: Any) -> None:
    _admin(client)
    doctor = _doctor(npi=None, licence=("7654321", "GB"))
    assert _approve(client, doctor, licence_number="7654321", jurisdiction="GB",
                    where_checked="GMC register, gmc-uk.org").status_code == 303
    assert _credentials(doctor) == [("state_licence", "7654321", "GB")]  # the look-up is of the licence she gave
    [look_up] = _checks(doctor)
    assert look_up.credential_id is not None and "GMC register" in look_up.reference
    page = client.get("/admin/users").get_data(as_text=True)
    assert f'id="user-{doctor.id}"' not in page  # no longer waiting


def test_refusing_a_checked_doctor_is_emailed_and_her_account_can_still_be_deleted(
        client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    doctor = _doctor()
    registry.answer(NPI, Scripted(body=found(physician(enumeration_type="NPI-2"))))
    _check(client, doctor)
    response = post_form(client, f"/admin/users/{doctor.id}/refuse", {"reason": "The NPI is a clinic's."},
                         form_page="/admin/users")
    assert response.status_code == 303
    assert "The NPI is a clinic's." in last_email("ana@example.org", "account_refused").body
    refused = db.session.get(User, doctor.id)
    assert not can_refer(refused)
    delete_account(refused)  # the append-only check keeps the row; the person's data goes
    db.session.flush()
    erased = db.session.get(User, doctor.id)
    assert (erased.state, erased.full_name) == ("deleted", "") and "ana" not in erased.email
    assert len(_checks(erased)) == 1


# --- who may refer

def test_only_an_approved_active_doctor_can_refer(session: Any) -> None:
    class Anonymous:
        is_authenticated = False

    now = utcnow()
    assert not can_refer(Anonymous())
    assert not can_refer(factories.user("doctor"))
    assert not can_refer(factories.user("patient", approved_at=now))
    assert not can_refer(factories.user("practitioner", approved_at=now))
    assert not can_refer(factories.user("admin", approved_at=now))
    assert not can_refer(factories.user("doctor", approved_at=now, state="locked"))
    assert can_refer(factories.user("doctor", approved_at=now))


def test_doctors_credentials_and_checks_stay_out_of_the_practitioners_verification_queue(
        client: Any, registry: FakeNpiRegistry) -> None:
    _admin(client)
    factories.practitioner()
    doctor = _doctor(licence=("MD98765", "US-MA"))
    registry.answer(NPI, Scripted(body=found(physician())))
    _check(client, doctor)
    response = client.get("/admin/vetting/")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("record", [["not", "a", "record"], {"basic": "not a dict"}])
def test_a_malformed_registry_record_is_an_error_not_a_500(record: Any) -> None:
    from directory.accounts.doctors import judge_npi_record

    judgement = judge_npi_record(record, "Dana Walker")
    assert judgement.outcome == "error" and "malformed" in judgement.reasons[0]

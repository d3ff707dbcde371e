"""Accounts end to end: sign up, confirm, sign in, lock-out, reset, approvals, claims, privacy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import func, select

from directory.accounts.models import AuditEvent, PractitionerClaim, User
from directory.accounts.passwords import hash_password, password_problem
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.models import Credential, Referral, Review
from tests import factories
from tests.support.web import last_email, link_in, post_form, sign_in_as

PASSWORD = "correct horse battery staple"


VALID_NPI = "1234567893"  # the check-digit example of the CMS NPI standard


def _sign_up(client: Any, email: str, role: str = "patient", password: str = PASSWORD) -> Any:
    doctor = {"npi": VALID_NPI} if role == "doctor" else {}
    return post_form(client, "/sign-up", {"full_name": "Pat Example", "email": email, "password": password,
                                          "role": role, **doctor})


def _sign_in(client: Any, email: str, password: str = PASSWORD, next_url: str = "") -> Any:
    return post_form(client, "/sign-in" + (f"?next={next_url}" if next_url else ""),
                     {"email": email, "password": password, "next": next_url})


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _confirmed_user(role: str = "patient", password: str = PASSWORD, **kw: Any) -> User:
    return factories.user(role, password_hash=hash_password(password), email_confirmed_at=utcnow(), **kw)


@pytest.mark.parametrize("role", ["patient", "doctor", "practitioner"])
def test_sign_up_confirm_sign_in_and_reach_the_dashboard(client: Any, role: str) -> None:
    email = f"new-{role}@example.org"
    page = _sign_up(client, email.upper(), role)
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    assert _user(email).role == role

    early = _sign_in(client, email)
    assert early.status_code == 401 and "confirm your email" in early.get_data(as_text=True)

    confirmed = client.get(link_in(last_email(email, "confirm")))
    assert confirmed.status_code == 303
    signed_in = _sign_in(client, email)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/account"
    dashboard = client.get("/account").get_data(as_text=True)
    assert f"Signed in as a <strong>{role}</strong>" in dashboard
    if role != "patient":
        assert "waiting for an admin" in dashboard


def test_signing_up_twice_reveals_nothing_and_warns_the_owner(client: Any) -> None:
    _sign_up(client, "twice@example.org")
    again = _sign_up(client, "twice@example.org")
    assert "Check your email" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "twice@example.org")) == 1
    assert last_email("twice@example.org").kind == "already_registered"


@pytest.mark.parametrize(("password", "problem"), [("short", "at least 12"), ("password1234", "too common"),
                                                   ("aaaaaaaaaaaaaa", "too common"), ("password12345", "too common"),
                                                   ("Password12345!", "too common"), ("qwertyuiop123", "too common"),
                                                   ("iloveyou2024", "too common"), ("abcdefghijklm", "too common"),
                                                   ("monkeymonkey1", "too common"), ("meridian12345", "too common")])
def test_weak_passwords_are_refused_with_a_reason(client: Any, password: str, problem: str) -> None:
    response = _sign_up(client, "weak@example.org", password=password)
    assert response.status_code == 400
    assert problem in response.get_data(as_text=True).replace("12 to", "at least 12")
    assert password_problem(password) is not None
    assert db.session.scalars(select(User).where(User.email == "weak@example.org")).first() is None


def test_a_password_made_of_the_account_s_own_address_is_too_common(client: Any) -> None:
    response = _sign_up(client, "zyphra.quellmoor@example.org", password="quellmoorzyphra")
    assert response.status_code == 400 and "too common" in response.get_data(as_text=True)
    assert password_problem("quellmoorzyphra") is None  # only guessable for this account


def test_a_reset_refuses_a_common_new_password(client: Any) -> None:
    _confirmed_user(email="resetweak@example.org")
    post_form(client, "/reset-password", {"email": "resetweak@example.org"})
    link = link_in(last_email("resetweak@example.org", "reset"))
    refused = post_form(client, link, {"password": "password12345", "confirm": "password12345"})
    assert refused.status_code == 400 and "too common" in refused.get_data(as_text=True)


@pytest.mark.parametrize("password", ["all lower case words here", "correct horse battery staple",
                                      "Tr0ub4dor&3-river",
                                      "the fox jumps over the lazy dog while the kettle sings in the old kitchen"])
def test_no_composition_rules_only_length_and_commonness(password: str) -> None:
    assert password_problem(password) is None


def test_lock_out_after_repeated_failures_with_one_message_for_everything(client: Any) -> None:
    user = _confirmed_user(email="lock@example.org")
    messages = set()
    for _ in range(5):
        response = _sign_in(client, "lock@example.org", "wrong password!!")
        assert response.status_code == 401
        messages.add(response.get_data(as_text=True).count("sign-in is paused"))
    assert db.session.get(User, user.id).locked_until is not None
    locked = _sign_in(client, "lock@example.org")  # right password, but locked
    unknown = _sign_in(client, "nobody@example.org")
    assert locked.status_code == unknown.status_code == 401
    assert "Email or password is incorrect" in locked.get_data(as_text=True)
    assert "Email or password is incorrect" in unknown.get_data(as_text=True)
    failures = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "sign_in_failed"))
    assert failures >= 7


def test_password_is_rehashed_when_parameters_change(client: Any) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    user = _confirmed_user(email="rehash@example.org", password_hash=weak) if False else factories.user(
        "patient", email="rehash@example.org", password_hash=weak, email_confirmed_at=utcnow())
    assert _sign_in(client, "rehash@example.org").status_code == 303
    assert db.session.get(User, user.id).password_hash != weak


def test_password_reset_is_single_use_and_does_not_enumerate(client: Any) -> None:
    _confirmed_user(email="reset@example.org")
    unknown = post_form(client, "/reset-password", {"email": "ghost@example.org"}).get_data(as_text=True)
    known = post_form(client, "/reset-password", {"email": "reset@example.org"}).get_data(as_text=True)
    assert "If an account exists" in unknown and "If an account exists" in known
    link = link_in(last_email("reset@example.org", "reset"))
    new = "a brand new long passphrase"
    done = post_form(client, link, {"password": new, "confirm": new})
    assert done.status_code == 303
    assert _sign_in(client, "reset@example.org").status_code == 401
    assert _sign_in(client, "reset@example.org", new).status_code == 303
    reused = post_form(client, link, {"password": "another long passphrase", "confirm": "another long passphrase"})
    assert reused.status_code == 400, reused.status_code
    assert "invalid, used or expired" in reused.get_data(as_text=True), reused.get_data(as_text=True).split("<main")[1][:700]


def test_admin_approves_a_doctor_recording_the_licence(client: Any) -> None:
    admin = _confirmed_user("admin", approved_at=utcnow())
    doctor = _confirmed_user("doctor")
    sign_in_as(client, admin)
    response = post_form(client, f"/admin/users/{doctor.id}/approve", {"licence_number": "MD-1234",
                                                                       "jurisdiction": "us-ma",
                                                                       "where_checked": "MA board register"},
                         form_page="/admin/users")
    assert response.status_code == 303
    assert db.session.get(User, doctor.id).approved_at is not None
    credential = db.session.scalars(select(Credential).where(Credential.user_id == doctor.id)).one()
    assert (credential.number, credential.jurisdiction) == ("MD-1234", "US-MA")
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_approved")).one().actor_id == admin.id


def test_a_doctor_cannot_approve_themselves(client: Any) -> None:
    doctor = _confirmed_user("doctor")
    sign_in_as(client, doctor)
    token_page = client.get("/account").get_data(as_text=True)
    from tests.support.web import csrf_from

    response = client.post(f"/admin/users/{doctor.id}/approve", data={"csrf_token": csrf_from(token_page)})
    assert response.status_code == 403
    assert db.session.get(User, doctor.id).approved_at is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "forbidden")).one()
    assert event.actor_id == doctor.id and f"/admin/users/{doctor.id}/approve" in event.details


def test_practitioner_claims_a_profile_after_admin_approval(client: Any, app: Flask) -> None:
    profile = factories.practitioner(slug="mei-chen-claimable")
    practitioner = _confirmed_user("practitioner")
    sign_in_as(client, practitioner)
    post_form(client, "/account/claim", {"slug": "mei-chen-claimable", "evidence": "Licence AC12345"},
              form_page="/account")
    claim = db.session.scalars(select(PractitionerClaim)).one()
    assert claim.decision == "pending" and db.session.get(User, practitioner.id).practitioner_id is None

    admin = _confirmed_user("admin", approved_at=utcnow())
    with app.test_client() as admin_client:
        sign_in_as(admin_client, admin)
        post_form(admin_client, f"/admin/claims/{claim.id}", {"decision": "approve", "note": "board checked"},
                  form_page="/admin/users")
    assert db.session.get(User, practitioner.id).practitioner_id == profile.id
    assert db.session.get(PractitionerClaim, claim.id).decided_by_id == admin.id


def test_patient_downloads_their_data(client: Any) -> None:
    patient = _confirmed_user(email="mine@example.org")
    p = factories.practitioner()
    db.session.add(Review(practitioner_id=p.id, author_id=patient.id, rating=5, body="Helpful"))
    sign_in_as(client, patient)
    response = client.get("/account/export")
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "mine@example.org"
    assert data["reviews"][0]["body"] == "Helpful"
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "data_export")).one()


def test_patient_deletes_account_reviews_stay_anonymised_referrals_lose_contact(client: Any) -> None:
    patient = _confirmed_user(email="leaving@example.org", full_name="Lea Ving")
    doctor = _confirmed_user("doctor", approved_at=utcnow())
    p = factories.practitioner()
    review = Review(practitioner_id=p.id, author_id=patient.id, author_display_name="Lea V.", rating=4, body="Good")
    referral = factories.referral(doctor, p, patient_id=patient.id, patient_name="Lea Ving",
                                  patient_contact="leaving@example.org")
    db.session.add_all([review, referral])
    db.session.flush()
    sign_in_as(client, patient)
    refused = post_form(client, "/account/delete", {"confirm": "nope"}, form_page="/account")
    assert refused.status_code == 400 and db.session.get(User, patient.id) is not None
    post_form(client, "/account/delete", {"confirm": "DELETE"}, form_page="/account")
    db.session.expire_all()
    assert db.session.get(User, patient.id) is None
    kept = db.session.get(Review, review.id)
    assert kept.author_id is None and kept.author_display_name == "Former patient" and kept.body == "Good"
    ref = db.session.get(Referral, referral.id)
    assert ref.sender_id == doctor.id and ref.patient_name is None and ref.patient_contact is None


def test_create_admin_command(app: Flask, session: Any) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create-admin", "--email", "a@example.org", "--password", "short"])
    assert weak.exit_code == 2 and "at least 12" in weak.output
    ok = runner.invoke(args=["users", "create-admin", "--email", "Boss@Example.org", "--password", PASSWORD])
    assert ok.exit_code == 0, ok.output
    admin = _user("boss@example.org")
    assert admin.role == "admin" and admin.approved_at and admin.email_confirmed_at


def test_create_admin_refuses_a_common_password(app: Flask, session: Any) -> None:
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "--email", "c@example.org",
                                                "--password", "password12345"])
    assert result.exit_code == 2 and "too common" in result.output


@pytest.mark.parametrize("email", ["boss@meridian.local", "boss@meridian.test", "root@localhost", "boss@x.invalid",
                                   "not-an-address", "two..dots@example.org"])
def test_create_admin_refuses_what_the_sign_in_form_refuses(app: Flask, client: Any, email: str) -> None:
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "--email", email, "--password", PASSWORD])
    assert result.exit_code == 2, result.output
    assert "--email" in result.output and "valid email address" in result.output
    assert db.session.scalars(select(User).where(User.email == email)).first() is None
    sign_in = _sign_in(client, email)
    assert sign_in.status_code == 400 and "valid email address" in sign_in.get_data(as_text=True)


def test_an_admin_created_on_the_command_line_can_sign_in(app: Flask, client: Any) -> None:
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "--email", "Chief@Example.org",
                                                "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert _sign_in(client, "chief@example.org").headers["Location"] == "/account"


def test_practitioner_edits_own_profile_and_search_follows(client: Any) -> None:
    from directory.indexing.models import SearchOutbox

    own = factories.practitioner(slug="own-profile")
    user = _confirmed_user("practitioner", approved_at=utcnow(), practitioner_id=own.id)
    sign_in_as(client, user)
    db.session.commit()
    db.session.query(SearchOutbox).delete()
    db.session.commit()
    response = post_form(client, "/practitioners/own-profile/edit",
                         {"first_name": "Mei", "last_name": "Chen", "gender": "unspecified",
                          "bio": "Now offering moxibustion.", "accepting_new_patients": "y",
                          "methods": ["moxibustion", "cupping"], "conditions": ["sciatica"], "languages": ["en", "fr"]})
    assert response.status_code == 303
    db.session.expire_all()
    edited = db.session.get(type(own), own.id)
    assert edited.bio == "Now offering moxibustion." and not edited.telehealth
    assert sorted(m.slug for m in edited.methods) == ["cupping", "moxibustion"]
    assert db.session.scalars(select(SearchOutbox.practitioner_id)).all() == [own.id]


def test_practitioner_editing_another_profile_is_refused_and_audited(client: Any) -> None:
    factories.practitioner(slug="mine")
    other = factories.practitioner(slug="someone-else", bio="Original")
    user = _confirmed_user("practitioner", approved_at=utcnow(),
                           practitioner_id=db.session.scalar(select(factories.Practitioner.id).where(
                               factories.Practitioner.slug == "mine")))
    sign_in_as(client, user)
    assert client.get("/practitioners/someone-else/edit").status_code == 404  # not theirs: not there, for them
    token = client.get("/practitioners/mine/edit").get_data(as_text=True)
    from tests.support.web import csrf_from

    response = client.post("/practitioners/someone-else/edit", data={"csrf_token": csrf_from(token), "bio": "Hijacked"})
    assert response.status_code == 404
    assert db.session.get(type(other), other.id).bio == "Original"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "forbidden")).all()
    assert len(events) == 2 and all(e.subject_id == other.id and e.actor_id == user.id for e in events)


def test_unapproved_practitioner_cannot_edit(client: Any) -> None:
    own = factories.practitioner(slug="not-yet")
    user = _confirmed_user("practitioner", practitioner_id=own.id)
    sign_in_as(client, user)
    assert client.get("/practitioners/not-yet/edit").status_code == 403


def test_no_form_field_renders_a_literal_none_attribute(client: Any) -> None:
    for path in ("/sign-up", "/sign-in", "/reset-password", "/confirm/resend"):
        assert '="None"' not in client.get(path).get_data(as_text=True), path


def test_the_verification_queue_still_opens_after_a_doctor_was_approved(client: Any) -> None:
    # A doctor's licence is a credential with no practitioner; the queue's facts once sorted it as None.
    admin = _confirmed_user("admin", approved_at=utcnow())
    doctor = _confirmed_user("doctor")
    factories.practitioner(slug="queued", vetting_status="pending")
    sign_in_as(client, admin)
    approved = post_form(client, f"/admin/users/{doctor.id}/approve",
                         {"licence_number": "MD-1234", "jurisdiction": "US-MA", "where_checked": "Board register"},
                         form_page="/admin/users")
    assert approved.status_code == 303, approved.get_data(as_text=True)[:500]
    assert client.get("/admin/vetting/").status_code == 200


def test_approving_an_account_twice_is_refused(session: Any) -> None:
    from directory.accounts.services import approve_user

    admin = _confirmed_user("admin", approved_at=utcnow())
    practitioner = _confirmed_user("practitioner")
    approve_user(admin, practitioner.id)
    with pytest.raises(InvalidParameter, match="already approved"):
        approve_user(admin, practitioner.id)

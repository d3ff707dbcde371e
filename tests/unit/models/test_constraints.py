"""The schema makes bad states unrepresentable: constraints hold at the database."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from directory.models import Credential, OpeningHours, Referral, Review, User, VerificationCheck
from directory.vetting.chain import row_hash, sha256_text
from directory.vetting.models import AppendOnlyViolation
from tests import factories


def _check(session: Any, practitioner_id: int) -> VerificationCheck:
    """Add one valid first check for a practitioner."""
    row = {"practitioner_id": practitioner_id, "user_id": None, "sequence": 1, "credential_id": None,
           "source": "exclusion_list", "performed_by_id": None, "outcome": "pass", "reference": "", "note": "",
           "evidence": "{}", "evidence_sha256": sha256_text("{}"), "previous_hash": None}
    check = VerificationCheck(**row, row_hash=row_hash(row))
    session.add(check)
    session.flush()
    return check


def _fails(session: Any, obj: Any) -> None:
    """Assert that adding ``obj`` violates a constraint, and leave the session usable."""
    savepoint = session.begin_nested()
    session.add(obj)
    with pytest.raises(IntegrityError):
        session.flush()
    savepoint.rollback()


def test_verification_check_cannot_be_updated_through_the_orm(session: Any) -> None:
    check = _check(session, factories.practitioner().id)
    check.note = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        session.flush()


def test_verification_check_cannot_be_deleted_through_the_orm(session: Any) -> None:
    check = _check(session, factories.practitioner().id)
    session.delete(check)
    with pytest.raises(AppendOnlyViolation):
        session.flush()


def test_bulk_update_of_checks_is_refused(session: Any) -> None:
    _check(session, factories.practitioner().id)
    with pytest.raises(AppendOnlyViolation):
        session.execute(update(VerificationCheck).values(outcome="fail"))


def test_database_trigger_refuses_raw_sql_update_and_delete(session: Any) -> None:
    check = _check(session, factories.practitioner().id)
    for statement in ("UPDATE verification_check SET outcome = 'fail' WHERE id = :id",
                      "DELETE FROM verification_check WHERE id = :id"):
        savepoint = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement), {"id": check.id})
        savepoint.rollback()
    assert session.get(VerificationCheck, check.id).outcome == "pass"


def test_first_check_of_a_chain_has_no_previous_hash(session: Any) -> None:
    pid = factories.practitioner().id
    row = {"practitioner_id": pid, "sequence": 1, "source": "manual", "outcome": "pass",
           "evidence_sha256": "0" * 64, "previous_hash": "f" * 64}
    _fails(session, VerificationCheck(**row, row_hash="a" * 64))


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_review_rating_must_be_between_1_and_5(session: Any, rating: int) -> None:
    p = factories.practitioner()
    _fails(session, Review(practitioner_id=p.id, rating=rating, body="ok"))


def test_review_with_valid_rating_is_stored(session: Any) -> None:
    p = factories.practitioner()
    session.add(Review(practitioner_id=p.id, rating=5, body="Great"))
    session.flush()


def _referral(doctor: User, practitioner_id: int, /, **fields: Any) -> Referral:
    """Return an unsaved sent referral with every required field."""
    from directory.clock import utcnow

    values: dict[str, Any] = {"sender_id": doctor.id, "practitioner_id": practitioner_id, "reason": "back pain",
                              "idempotency_key": "k1", "respond_by": utcnow()}
    return Referral(**{**values, **fields})


def test_referral_needs_a_practitioner_a_reason_and_a_key(session: Any) -> None:
    doctor = factories.user("doctor")
    p = factories.practitioner()
    _fails(session, _referral(doctor, p.id, practitioner_id=None))
    _fails(session, _referral(doctor, p.id, reason=""))
    _fails(session, _referral(doctor, p.id, idempotency_key=""))
    session.add(_referral(doctor, p.id))
    session.flush()


def test_referral_state_kind_and_urgency_must_be_known(session: Any) -> None:
    doctor = factories.user("doctor")
    p = factories.practitioner()
    _fails(session, _referral(doctor, p.id, state="draft"))
    _fails(session, _referral(doctor, p.id, kind="letter"))
    _fails(session, _referral(doctor, p.id, urgency="later"))


def test_a_scheduled_referral_has_a_time_and_a_completed_one_an_outcome(session: Any) -> None:
    from directory.clock import utcnow

    doctor = factories.user("doctor")
    p = factories.practitioner()
    for state in ("scheduled", "attended", "no_show"):
        _fails(session, _referral(doctor, p.id, state=state))
    _fails(session, _referral(doctor, p.id, state="completed", scheduled_for=utcnow()))
    _fails(session, _referral(doctor, p.id, state="completed", scheduled_for=utcnow(), outcome=""))
    session.add(_referral(doctor, p.id, state="completed", scheduled_for=utcnow(), outcome="Better"))
    session.flush()


def test_referral_texts_are_capped_at_4000_characters(session: Any) -> None:
    doctor = factories.user("doctor")
    p = factories.practitioner()
    _fails(session, _referral(doctor, p.id, reason="x" * 4001))
    _fails(session, _referral(doctor, p.id, state="cancelled", outcome="x" * 4001))


def test_one_referral_per_sender_and_idempotency_key(session: Any) -> None:
    doctor = factories.user("doctor")
    p = factories.practitioner()
    session.add(_referral(doctor, p.id))
    session.flush()
    _fails(session, _referral(doctor, p.id))


def test_a_request_names_its_sender_as_the_patient(session: Any) -> None:
    patient, other = factories.user("patient"), factories.user("patient")
    p = factories.practitioner()
    _fails(session, _referral(patient, p.id, kind="request", patient_id=other.id))
    session.add(_referral(patient, p.id, kind="request", patient_id=patient.id))
    session.flush()


def test_credential_belongs_to_exactly_one_subject(session: Any) -> None:
    p = factories.practitioner()
    u = factories.user("doctor")
    _fails(session, Credential(kind="state_licence", number="A1"))
    _fails(session, Credential(kind="state_licence", number="A1", practitioner_id=p.id, user_id=u.id))
    _fails(session, Credential(kind="diploma-mill", number="A1", practitioner_id=p.id))


def test_location_coordinates_must_be_on_earth(session: Any) -> None:
    p = factories.practitioner()
    loc = factories.location(latitude=91.0)
    loc.practitioner_id = p.id
    _fails(session, loc)


def test_opening_hours_must_open_before_closing(session: Any) -> None:
    p = factories.practitioner()
    _fails(session, OpeningHours(location_id=p.locations[0].id, weekday=6, opens=time(18), closes=time(9)))
    _fails(session, OpeningHours(location_id=p.locations[0].id, weekday=7, opens=time(9), closes=time(17)))


def test_user_email_is_normalised_and_role_known(session: Any) -> None:
    _fails(session, User(email="Someone@Example.org", password_hash="x", role="patient"))
    _fails(session, User(email="someone@example.org", password_hash="x", role="wizard"))


def test_only_practitioners_own_profiles(session: Any) -> None:
    p = factories.practitioner()
    _fails(session, User(email="doc@example.org", password_hash="x", role="doctor", practitioner_id=p.id))


def test_practitioner_slug_and_gender_are_constrained(session: Any) -> None:
    for bad in ({"slug": "Has Spaces"}, {"gender": "robot"}):
        savepoint = session.begin_nested()
        with pytest.raises(IntegrityError):
            factories.practitioner(**bad)
        savepoint.rollback()


def test_the_database_accepts_every_lifecycle_state_and_role_and_nothing_else(session: Any) -> None:
    from directory.clock import utcnow
    from directory.referrals.lifecycle import ROLES, STATES
    from directory.referrals.models import ReferralEvent

    doctor = factories.user("doctor")
    p = factories.practitioner()
    for n, state in enumerate(STATES):
        referral = _referral(doctor, p.id, idempotency_key=f"k{n}", state=state, scheduled_for=utcnow(), outcome="ok")
        session.add(referral)
        session.flush()
        for role in ROLES:
            session.add(ReferralEvent(referral_id=referral.id, to_state=state, actor_role=role))
        session.flush()
    _fails(session, ReferralEvent(referral_id=referral.id, to_state="draft", actor_role="system"))
    _fails(session, ReferralEvent(referral_id=referral.id, to_state="sent", actor_role="robot"))
    _fails(session, ReferralEvent(referral_id=referral.id, to_state="sent", actor_role="system", note="x" * 4001))

"""Referral services on the test database: sending, the lifecycle with its events and notices, privacy."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from directory.accounts.models import AuditEvent, OutgoingEmail, User
from directory.clock import utcnow
from directory.errors import Forbidden, InvalidParameter, NotFound
from directory.extensions import db
from directory.models import Practitioner, Referral
from directory.referrals import notifications
from directory.referrals.lifecycle import TransitionRefused
from directory.referrals.models import Notification, ReferralEvent
from directory.referrals.services import (
    ReferralDetails,
    expire_overdue,
    get_for,
    readable_by,
    request_appointment,
    send_referral,
    transition,
)
from tests import factories

DETAILS = ReferralDetails(reason="Low back pain for six weeks", patient_name="Ada Patient",
                          patient_contact="ada@example.org", condition="low-back-pain", method="filiform-needling")
LATER = utcnow() + timedelta(days=3)


@dataclass
class Parties:
    """A doctor, a verified practitioner with its owner's account, and an admin."""

    doctor: User
    practitioner: Practitioner
    owner: User
    admin: User


@pytest.fixture
def parties(session: Any) -> Parties:
    p = factories.practitioner(methods=("filiform-needling", "electroacupuncture"))
    return Parties(factories.doctor(), p, factories.practitioner_account(p), factories.user("admin"))


def _send(parties: Parties, key: str = "form-1", **changes: Any) -> Referral:
    return send_referral(parties.doctor, parties.practitioner, replace(DETAILS, **changes), key)


def _emails_to(user: User) -> list[OutgoingEmail]:
    return list(db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.recipient == user.email)))


def _notices(user: User) -> list[str]:
    return [n.text for n in notifications.notices_for(user)]


# --- sending


def test_an_approved_doctor_sends_a_referral_the_practitioner_is_told(parties: Parties) -> None:
    referral = _send(parties)
    assert (referral.kind, referral.state, referral.sender_id) == ("referral", "sent", parties.doctor.id)
    assert referral.respond_by - referral.created_at == timedelta(days=7)
    [event] = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id))
    assert (event.from_state, event.to_state, event.actor_id, event.actor_role) == (None, "sent", parties.doctor.id,
                                                                                    "sender")
    assert _notices(parties.owner) == [f"New referral #{referral.id} for you to answer by "
                                       f"{referral.respond_by:%d %b %Y}."]
    [email] = _emails_to(parties.owner)
    assert f"/referrals/{referral.id}" in email.body and email.body.startswith("New referral")


def test_an_unapproved_doctor_or_another_role_cannot_send(parties: Parties) -> None:
    for sender in (factories.doctor(approved=False), factories.user("patient"), parties.admin):
        with pytest.raises(Forbidden, match="approved"):
            send_referral(sender, parties.practitioner, DETAILS, "k")


@pytest.mark.parametrize("fields", [{"vetting_status": "unverified"}, {"vetting_status": "suspended"},
                                    {"vetting_status": "lapsed"}, {"hidden": True}])
def test_only_a_verified_listed_practitioner_receives_referrals(parties: Parties, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(parties.practitioner, name, value)
    with pytest.raises(InvalidParameter, match="not verified") as refused:
        _send(parties)
    assert refused.value.field == "practitioner"


def test_an_expiring_practitioner_still_receives_but_an_unclaimed_one_does_not(parties: Parties) -> None:
    parties.practitioner.vetting_status = "expiring"
    assert _send(parties).state == "sent"
    with pytest.raises(InvalidParameter, match="not claimed"):
        send_referral(parties.doctor, factories.practitioner(), DETAILS, "k2")


def test_a_double_submitted_form_sends_one_referral(parties: Parties) -> None:
    first, again = _send(parties, "same-key"), _send(parties, "same-key", reason="changed")
    assert again.id == first.id and again.reason == DETAILS.reason
    assert db.session.query(Referral).count() == 1 and len(_notices(parties.owner)) == 1
    assert _send(parties, "other-key").id != first.id
    other_doctor = factories.doctor()
    assert send_referral(other_doctor, parties.practitioner, DETAILS, "same-key").id != first.id


def test_flags_for_the_practitioners_methods_must_be_acknowledged(parties: Parties) -> None:
    # A pacemaker rules out electroacupuncture, which this practitioner offers.
    with pytest.raises(InvalidParameter, match="flags") as refused:
        _send(parties, screening_answers=("implanted_device",))
    assert refused.value.field == "flags_acknowledged"
    referral = _send(parties, screening_answers=("implanted_device", "no_such_question"), flags_acknowledged=True)
    assert referral.flags_acknowledged_at is not None
    snapshot = json.loads(referral.screening_snapshot or "")
    assert snapshot["answers"] == ["implanted_device"]
    assert snapshot["flags"] == {"implanted_device": {"not_method": ["electroacupuncture"]}}


def test_answers_that_flag_none_of_the_practitioners_methods_need_no_acknowledgement(parties: Parties) -> None:
    needling_only = factories.practitioner(methods=("filiform-needling",))
    factories.practitioner_account(needling_only)
    details = ReferralDetails(reason="x", patient_name="A", patient_contact="a@example.org",
                              screening_answers=("implanted_device",))
    referral = send_referral(parties.doctor, needling_only, details, "k")
    assert referral.flags_acknowledged_at is None and json.loads(referral.screening_snapshot or "")["flags"] == {}


@pytest.mark.parametrize(("changes", "field"), [
    ({"reason": "  "}, "reason"), ({"reason": "x" * 20_000}, "reason"), ({"patient_name": ""}, "patient_name"),
    ({"patient_contact": "x" * 255}, "patient_contact"), ({"urgency": "yesterday"}, "urgency"),
    ({"condition": "no-such-condition"}, "condition"), ({"method": "cupping"}, "method"),
    ({"preferred_times": "x" * 1001}, "preferred_times"),
])
def test_bad_details_are_refused_naming_the_field(parties: Parties, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        _send(parties, **changes)
    assert refused.value.field == field


def test_a_20_kb_reason_is_refused_with_a_clear_message(parties: Parties) -> None:
    with pytest.raises(InvalidParameter, match="Keep it to 4,000 characters; this one has 20,000"):
        _send(parties, reason="x" * 20_000)


def test_script_tags_are_stored_as_text(parties: Parties) -> None:
    referral = _send(parties, reason="<script>alert(1)</script> back pain")
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).reason == "<script>alert(1)</script> back pain"


def test_a_missing_idempotency_key_is_refused(parties: Parties) -> None:
    with pytest.raises(InvalidParameter, match="one-time key"):
        _send(parties, key=" ")


def test_a_patient_requests_an_appointment_from_their_own_account(parties: Parties) -> None:
    patient = factories.user("patient", full_name="Bea Patient", email_confirmed_at=utcnow())
    request = request_appointment(patient, parties.practitioner,
                                  ReferralDetails(reason="Neck pain", preferred_times="Tuesday mornings"), "k")
    assert (request.kind, request.sender_id, request.patient_id) == ("request", patient.id, patient.id)
    assert (request.patient_name, request.patient_contact) == ("Bea Patient", patient.email)
    assert _notices(parties.owner) == [f"New appointment request #{request.id} for you to answer by "
                                       f"{request.respond_by:%d %b %Y}."]
    with pytest.raises(Forbidden, match="patient"):
        request_appointment(parties.doctor, parties.practitioner, ReferralDetails(reason="x"), "k")


def test_the_expiry_window_is_configurable(app: Any, parties: Parties, monkeypatch: pytest.MonkeyPatch) -> None:
    from directory.config import ConfigError

    monkeypatch.setitem(app.config, "REFERRALS_EXPIRE_DAYS", "3")
    referral = _send(parties)
    assert referral.respond_by - referral.created_at == timedelta(days=3)
    monkeypatch.setitem(app.config, "REFERRALS_EXPIRE_DAYS", "soon")
    with pytest.raises(ConfigError, match="REFERRALS_EXPIRE_DAYS"):
        _send(parties, "k2")


# --- the lifecycle


def _events(referral: Referral) -> list[tuple[str | None, str, str, str]]:
    rows = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                              .order_by(ReferralEvent.id))
    return [(e.from_state, e.to_state, e.actor_role, e.note) for e in rows]


def test_the_whole_journey_records_every_event_and_tells_the_doctor(parties: Parties) -> None:
    referral = _send(parties)
    transition(referral, "accept", parties.owner)
    transition(referral, "schedule", parties.owner, when=LATER)
    transition(referral, "attended", parties.owner)
    transition(referral, "complete", parties.owner, note="Pain down from 7 to 3 after four sessions.")
    assert referral.state == "completed" and referral.scheduled_for == LATER
    assert referral.outcome == "Pain down from 7 to 3 after four sessions."
    assert _events(referral) == [
        (None, "sent", "sender", ""), ("sent", "accepted", "practitioner", ""),
        ("accepted", "scheduled", "practitioner", ""), ("scheduled", "attended", "practitioner", ""),
        ("attended", "completed", "practitioner", "Pain down from 7 to 3 after four sessions."),
    ]
    told = _notices(parties.doctor)
    assert len(told) == 4 and all(f"referral #{referral.id}" in t for t in told)
    # Told on the clinic's clock (the factory's clinic is in Cambridge, MA), with the zone named.
    clinic = LATER.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    assert f"scheduled with {parties.practitioner.display_name} for {clinic:%d %b %Y %H:%M} {clinic:%Z}." in told[2]
    assert referral.scheduled_zone == "America/New_York"
    assert notifications.unread_count(parties.doctor) == 4
    kinds = [e.kind for e in _emails_to(parties.doctor)]
    assert kinds == ["referral_accepted", "referral_scheduled", "referral_attended", "referral_completed"]


def test_no_email_or_notice_carries_the_patients_name_contact_or_notes(parties: Parties) -> None:
    referral = _send(parties, reason="Secret reason")
    transition(referral, "decline", parties.owner, note="Secret decline note")
    texts = [m.subject + m.body for m in db.session.scalars(select(OutgoingEmail))]
    texts += [n.text for n in db.session.scalars(select(Notification))]
    assert texts and not any(word in t for t in texts
                             for word in ("Ada", "ada@example.org", "Secret"))


def test_declining_needs_a_reason_and_tells_the_doctor(parties: Parties) -> None:
    referral = _send(parties)
    with pytest.raises(InvalidParameter, match="Give a reason"):
        transition(referral, "decline", parties.owner)
    transition(referral, "decline", parties.owner, note="Not taking new patients until March.")
    assert _events(referral)[-1] == ("sent", "declined", "practitioner", "Not taking new patients until March.")
    assert "declined" in _notices(parties.doctor)[0]


def test_the_sender_or_an_admin_cancels_with_a_reason_and_the_practitioner_is_told(parties: Parties) -> None:
    first, second = _send(parties, "a"), _send(parties, "b")
    transition(first, "cancel", parties.doctor, note="Patient moved away")
    transition(second, "cancel", parties.admin, note="Duplicate")
    assert [e[2] for e in (_events(first)[-1], _events(second)[-1])] == ["sender", "admin"]
    assert sum("was cancelled" in t for t in _notices(parties.owner)) == 2
    assert sum("was cancelled" in t for t in _notices(parties.doctor)) == 1  # the admin's cancellation


def test_a_no_show_is_completed_with_an_outcome(parties: Parties) -> None:
    referral = _send(parties)
    transition(referral, "accept", parties.owner)
    transition(referral, "schedule", parties.owner, when=LATER)
    transition(referral, "no_show", parties.owner)
    with pytest.raises(InvalidParameter, match="Give the outcome"):
        transition(referral, "complete", parties.owner)
    transition(referral, "complete", parties.owner, note="Did not come; two reminders unanswered.")
    assert referral.state == "completed"


def test_an_out_of_order_transition_is_refused_and_changes_nothing(parties: Parties) -> None:
    referral = _send(parties)
    with pytest.raises(TransitionRefused, match="sent cannot"):
        transition(referral, "complete", parties.owner, note="done")
    transition(referral, "accept", parties.owner)
    with pytest.raises(TransitionRefused):
        transition(referral, "accept", parties.owner)
    assert referral.state == "accepted" and len(_events(referral)) == 2


def test_a_schedule_in_the_past_is_refused(parties: Parties) -> None:
    referral = _send(parties)
    transition(referral, "accept", parties.owner)
    with pytest.raises(InvalidParameter, match="in the future"):
        transition(referral, "schedule", parties.owner, when=utcnow() - timedelta(hours=1))
    assert referral.state == "accepted" and referral.scheduled_for is None


def test_a_practitioner_answering_someone_elses_referral_is_refused(parties: Parties) -> None:
    referral = _send(parties)
    stranger = factories.practitioner_account()
    with pytest.raises(Forbidden, match="not yours"):
        transition(referral, "accept", stranger)
    with pytest.raises(Forbidden, match="Only the practitioner"):
        transition(referral, "accept", parties.doctor)
    with pytest.raises(Forbidden, match="Only the sender or an admin"):
        transition(referral, "cancel", parties.owner, note="no")
    assert referral.state == "sent"


def test_a_20_kb_note_is_refused(parties: Parties) -> None:
    referral = _send(parties)
    with pytest.raises(InvalidParameter, match="4,000 characters"):
        transition(referral, "decline", parties.owner, note="x" * 20_000)


# --- expiry


def test_the_sweep_expires_only_overdue_sent_referrals_and_is_idempotent(parties: Parties) -> None:
    overdue, fresh, answered = _send(parties, "a"), _send(parties, "b"), _send(parties, "c")
    transition(answered, "accept", parties.owner)
    later = overdue.respond_by + timedelta(minutes=1)
    fresh.respond_by = later + timedelta(days=1)
    answered.respond_by = overdue.respond_by
    assert expire_overdue(later) == 1
    assert (overdue.state, fresh.state, answered.state) == ("expired", "sent", "accepted")
    assert _events(overdue)[-1] == ("sent", "expired", "system", "")
    assert any("expired" in t for t in _notices(parties.doctor))
    assert expire_overdue(later) == 0


def test_suspending_a_practitioner_tells_the_senders_of_open_referrals(parties: Parties) -> None:
    from directory.vetting.decisions import suspend

    open_one, closed = _send(parties, "a"), _send(parties, "b")
    transition(closed, "decline", parties.owner, note="Full")
    before = len(_notices(parties.doctor))
    suspend(parties.practitioner, "Licence revoked by the state board", parties.admin)
    assert parties.practitioner.vetting_status == "suspended"
    told = _notices(parties.doctor)[: len(_notices(parties.doctor)) - before]
    assert len(told) == 1 and f"#{open_one.id}" in told[0] and "suspended" in told[0]
    with pytest.raises(InvalidParameter, match="not verified"):
        _send(parties, "c")


# --- who may read


def test_readable_only_by_sender_practitioner_named_patient_and_admins(parties: Parties) -> None:
    named = factories.user("patient", email="ada@example.org", email_confirmed_at=utcnow())
    referral = _send(parties)
    assert referral.patient_id == named.id
    readers = {"sender": parties.doctor, "practitioner": parties.owner, "named patient": named,
               "admin": parties.admin}
    others = {"other patient": factories.user("patient", email_confirmed_at=utcnow()),
              "other doctor": factories.doctor(), "other practitioner": factories.practitioner_account()}
    assert {name: readable_by(referral, u) for name, u in {**readers, **others}.items()} == {
        **dict.fromkeys(readers, True), **dict.fromkeys(others, False)}
    for user in readers.values():
        assert get_for(user, referral.id) is referral
    for user in others.values():
        with pytest.raises(NotFound) as hidden:
            get_for(user, referral.id)
        assert hidden.value.message == "There is no referral with this number that you can see."


def test_an_unconfirmed_account_with_the_same_email_is_not_the_named_patient(parties: Parties) -> None:
    factories.user("patient", email="ada@example.org")
    assert _send(parties).patient_id is None


def test_unknown_and_tampered_ids_look_the_same_as_someone_elses(parties: Parties) -> None:
    referral = _send(parties)
    for probe in (referral.id + 1000, "1; DROP TABLE referral", -1, 2**70, "", None):
        with pytest.raises(NotFound, match="no referral with this number"):
            get_for(parties.doctor, probe)


def test_every_admin_read_is_audited(parties: Parties) -> None:
    referral = _send(parties)
    get_for(parties.admin, referral.id)
    get_for(parties.admin, referral.id)
    get_for(parties.doctor, referral.id)
    reads = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.read")))
    assert [(e.actor_id, e.subject_id) for e in reads] == [(parties.admin.id, referral.id)] * 2


# --- notifications


def test_notices_are_marked_read_one_or_all_and_only_ones_own(parties: Parties) -> None:
    for key in ("a", "b", "c"):
        _send(parties, key)
    notices = notifications.notices_for(parties.owner)
    assert notifications.unread_count(parties.owner) == 3
    assert notifications.mark_read(parties.owner, notices[0].id) == 1
    assert notifications.unread_count(parties.owner) == 2
    with pytest.raises(NotFound):
        notifications.mark_read(parties.doctor, notices[1].id)
    assert notifications.mark_read(parties.owner) == 2 and notifications.unread_count(parties.owner) == 0


# --- privacy at rest


def test_the_stored_patient_name_and_contact_are_ciphertext(parties: Parties) -> None:
    referral = _send(parties, screening_answers=("pregnancy",), flags_acknowledged=True)
    row = db.session.execute(text("SELECT patient_name, patient_contact, screening_snapshot FROM referral "
                                  "WHERE id = :id"), {"id": referral.id}).one()
    assert all(value.startswith("gAAAAA") for value in row)  # Fernet tokens
    assert "Ada" not in row.patient_name and "ada@" not in row.patient_contact and "pregnancy" not in row[2]
    db.session.expire_all()
    reread = db.session.get(Referral, referral.id)
    assert (reread.patient_name, reread.patient_contact) == ("Ada Patient", "ada@example.org")


def test_repr_and_logging_never_show_the_patient(parties: Parties, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    referral = _send(parties)
    logging.getLogger("meridian.test").warning("working on %s %r", referral, referral)
    assert f"#{referral.id}" in caplog.text and "Ada" not in caplog.text and "ada@" not in caplog.text
    assert "Ada" not in repr(referral)


def test_deleting_the_patients_account_erases_them_from_referrals_and_requests(parties: Parties) -> None:
    from directory.accounts.services import delete_account

    named = factories.user("patient", email="ada@example.org", email_confirmed_at=utcnow())
    referral = _send(parties)
    request = request_appointment(named, parties.practitioner, ReferralDetails(reason="Neck pain"), "k")
    other = _send(parties, "other", patient_contact="someone@example.org", patient_name="Someone Else")
    delete_account(named)
    db.session.flush()
    db.session.expire_all()
    for erased in (db.session.get(Referral, referral.id), db.session.get(Referral, request.id)):
        assert (erased.patient_id, erased.patient_name, erased.patient_contact) == (None, None, None)
    assert db.session.get(Referral, request.id).sender_id is None
    kept = db.session.get(Referral, other.id)
    assert (kept.patient_name, kept.sender_id) == ("Someone Else", parties.doctor.id)


def test_rotating_keys_reseals_every_row_under_the_newest_key(app: Any, parties: Parties,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from directory.referrals.cli import referrals_group

    referral = _send(parties)
    old_token = db.session.execute(text("SELECT patient_name FROM referral WHERE id = :id"),
                                   {"id": referral.id}).scalar_one()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "REFERRAL_KEYS", f"{new_key},{app.config['REFERRAL_KEYS']}")
    first = app.test_cli_runner().invoke(referrals_group, ["rotate-keys"])
    assert first.exit_code == 0, first.output
    assert "re-sealed 1 of 1 referrals" in first.output
    again = app.test_cli_runner().invoke(referrals_group, ["rotate-keys"])
    assert "re-sealed 0 of 1 referrals" in again.output
    new_token = db.session.execute(text("SELECT patient_name FROM referral WHERE id = :id"),
                                   {"id": referral.id}).scalar_one()
    assert new_token != old_token
    monkeypatch.setitem(app.config, "REFERRAL_KEYS", new_key)  # the old key can go now
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).patient_name == "Ada Patient"


def test_the_expire_command_prints_how_many_and_is_safe_to_repeat(app: Any, parties: Parties) -> None:
    from directory.referrals.cli import referrals_group

    referral = _send(parties)
    referral.respond_by = utcnow() - timedelta(minutes=1)
    db.session.flush()
    first = app.test_cli_runner().invoke(referrals_group, ["expire"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "expired 1 referral"
    assert app.test_cli_runner().invoke(referrals_group, ["expire"]).output.strip() == "expired 0 referrals"
    assert db.session.get(Referral, referral.id).state == "expired"


# --- numbers for admins


def test_practitioner_numbers_come_from_the_events(parties: Parties) -> None:
    from directory.referrals.numbers import practitioner_numbers

    accepted, declined, _waiting = _send(parties, "a"), _send(parties, "b"), _send(parties, "c")
    transition(accepted, "accept", parties.owner)
    transition(declined, "decline", parties.owner, note="Full")
    numbers = practitioner_numbers(parties.practitioner.id)
    assert (numbers.received, numbers.accepted, numbers.declined, numbers.acceptance_rate) == (3, 1, 1, 0.5)
    assert numbers.median_first_answer is not None and numbers.median_first_answer < timedelta(minutes=1)
    assert numbers.completion_rate == 0.0
    assert practitioner_numbers(factories.practitioner().id).received == 0


# --- inboxes


def test_each_role_sees_its_own_inbox_filtered_by_status(parties: Parties) -> None:
    from directory.referrals import inbox

    named = factories.user("patient", email="ada@example.org", email_confirmed_at=utcnow())
    sent, declined = _send(parties, "a"), _send(parties, "b")
    transition(declined, "decline", parties.owner, note="Full")
    request = request_appointment(named, parties.practitioner, ReferralDetails(reason="Neck pain"), "k")
    elsewhere = factories.practitioner_account()
    assert [r.id for r in inbox.inbox_for(parties.doctor)] == [declined.id, sent.id]
    assert [r.id for r in inbox.inbox_for(parties.doctor, "open")] == [sent.id]
    assert [r.id for r in inbox.inbox_for(parties.doctor, "declined")] == [declined.id]
    assert [r.id for r in inbox.inbox_for(parties.owner, "sent")] == [request.id, sent.id]
    assert {r.id for r in inbox.inbox_for(named)} == {sent.id, declined.id, request.id}
    assert inbox.inbox_for(elsewhere) == [] and inbox.inbox_for(factories.doctor()) == []
    assert len(inbox.inbox_for(parties.admin, "closed")) == 1
    with pytest.raises(InvalidParameter, match="Unknown status 'draft'"):
        inbox.inbox_for(parties.doctor, "draft")


def test_referrals_never_reach_the_search_outbox(parties: Parties) -> None:
    from directory.models import SearchOutbox

    before = db.session.query(SearchOutbox).count()
    referral = _send(parties)
    transition(referral, "accept", parties.owner)
    db.session.flush()
    assert db.session.query(SearchOutbox).count() == before


def test_a_double_submit_that_races_past_the_lookup_still_returns_the_first(parties: Parties,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from directory.referrals import services

    first = _send(parties, "raced")
    lookups = iter([None])  # the second request's lookup ran before the first one committed
    real = services._sent_with_key
    monkeypatch.setattr(services, "_sent_with_key", lambda sender, key: next(lookups, None) or real(sender, key))
    assert _send(parties, "raced").id == first.id
    assert db.session.query(Referral).count() == 1

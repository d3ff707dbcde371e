"""Referral services: send, request, move through the lifecycle, expire, and decide who may read one.

Plain functions over the session: they raise DomainError subclasses and never commit (the view
helper commits once, with everything a call added: the referral, its event, notices, emails).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.accounts.policy import can_refer
from directory.clock import utcnow
from directory.config import ConfigError
from directory.errors import Forbidden, InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Condition, Practitioner
from directory.referrals import appointments, lifecycle
from directory.referrals.lifecycle import OPEN_STATES
from directory.referrals.models import URGENCIES, Referral, ReferralEvent
from directory.referrals.notifications import label, notify
from directory.screening.services import evaluate, known_flags
from directory.vetting.status import VERIFIED_STATUSES

DEFAULT_EXPIRE_DAYS = 7
NAME_MAX_LENGTH, CONTACT_MAX_LENGTH, PREFERRED_TIMES_MAX_LENGTH, KEY_MAX_LENGTH = 160, 254, 1000, 64
NOT_FOUND = "There is no referral with this number that you can see."


@dataclass(frozen=True)
class ReferralDetails:
    """What a sender fills in: the patient, why, for what, how soon, and the screening answers (rule keys)."""

    reason: str
    patient_name: str = ""
    patient_contact: str = ""
    condition: str | None = None  # a condition slug
    method: str | None = None  # a method slug the practitioner offers
    urgency: str = "routine"
    preferred_times: str = ""
    screening_answers: tuple[str, ...] = ()
    flags_acknowledged: bool = False


def send_referral(doctor: User, practitioner: Practitioner, details: ReferralDetails, idempotency_key: str, *,
                  now: datetime | None = None) -> Referral:
    """Send a doctor's referral; the same idempotency key returns the referral it already sent."""
    if not can_refer(doctor):
        raise Forbidden("Only a doctor whose account an admin has approved can send referrals.")
    return _send("referral", doctor, practitioner, details, idempotency_key,
                 patient=_matched_patient(details.patient_contact), now=now)


def request_appointment(patient: User, practitioner: Practitioner, details: ReferralDetails,
                        idempotency_key: str, *, now: datetime | None = None) -> Referral:
    """Send a signed-in patient's own appointment request (a referral whose sender is the patient)."""
    if patient.role != "patient" or patient.state != "active":
        raise Forbidden("Only a signed-in patient can request an appointment.")
    details = replace(details, patient_name=details.patient_name.strip() or patient.full_name or patient.email,
                      patient_contact=details.patient_contact.strip() or patient.email)
    return _send("request", patient, practitioner, details, idempotency_key, patient=patient, now=now)


def _send(kind: str, sender: User, practitioner: Practitioner, details: ReferralDetails, key: str, *,
          patient: User | None, now: datetime | None) -> Referral:
    """Create the referral and its first event, and tell the practitioner; or return the one this key made.

    ``now`` is when it is sent (default: the real time); like transition's, it lets the demo data tell a history.
    """
    key = _checked_key(key)
    existing = _sent_with_key(sender, key)
    if existing is not None:
        return existing
    check_receiving(practitioner)
    referral = _new_referral(kind, sender, practitioner, details, key, patient, now or utcnow())
    try:
        with db.session.begin_nested():  # a concurrent double submit loses the race here, not with an error page
            db.session.add(referral)
            db.session.flush()
    except IntegrityError:
        existing = _sent_with_key(sender, key)
        if existing is None:
            raise
        return existing
    _record(referral, None, "sent", sender, "sender", "", referral.created_at)
    for owner in _owners(practitioner):
        notify(owner, referral, f"New {label(referral)} for you to answer by {_day(referral.respond_by)}.")
    return referral


def _new_referral(kind: str, sender: User, practitioner: Practitioner, details: ReferralDetails, key: str,
                  patient: User | None, now: datetime) -> Referral:
    """Return an unsaved referral built from checked details, sent at ``now``."""
    snapshot, flagged = screening_snapshot(details.screening_answers, practitioner)
    if flagged and not details.flags_acknowledged:
        raise InvalidParameter("The screening answers raise flags for this practitioner's methods: read them and "
                               "confirm you have taken them into account.", field="flags_acknowledged")
    return Referral(
        kind=kind, sender_id=sender.id, practitioner_id=practitioner.id, patient_id=patient.id if patient else None,
        patient_name=_text(details.patient_name, "the patient's name", "patient_name", NAME_MAX_LENGTH),
        patient_contact=_text(details.patient_contact, "the patient's email or phone", "patient_contact",
                              CONTACT_MAX_LENGTH),
        condition_id=_condition_id(details.condition), method_id=_method_id(details.method, practitioner),
        reason=_text(details.reason, "the reason for the referral", "reason"), urgency=_urgency(details.urgency),
        preferred_times=_text(details.preferred_times, "", "preferred_times", PREFERRED_TIMES_MAX_LENGTH),
        screening_snapshot=snapshot, flags_acknowledged_at=now if flagged else None, idempotency_key=key,
        state="sent", respond_by=now + timedelta(days=expire_days()), created_at=now, updated_at=now,
    )


def receiving_problem(practitioner: Practitioner) -> str | None:
    """Return why a practitioner cannot take referrals (unverified, suspended, hidden, no account), or None."""
    if practitioner.vetting_status not in VERIFIED_STATUSES or practitioner.hidden:
        return (f"{practitioner.display_name} is not verified on Meridian at the moment, so they "
                "cannot receive referrals. Choose a verified practitioner.")
    if not _owners(practitioner):
        return (f"{practitioner.display_name} has not claimed their profile yet, so nobody would "
                "read the referral. Choose another practitioner.")
    return None


def check_receiving(practitioner: Practitioner) -> None:
    """Refuse a practitioner who cannot take referrals."""
    problem = receiving_problem(practitioner)
    if problem:
        raise InvalidParameter(problem, field="practitioner")


def screening_snapshot(answers: tuple[str, ...], practitioner: Practitioner) -> tuple[str | None, bool]:
    """Return the JSON snapshot of the answers and their flags for the practitioner's methods, and whether any flag."""
    keys = known_flags(answers)
    if not keys:
        return None, False
    result = evaluate(keys, [method.slug for method in practitioner.methods])
    flags = {flag.rule.key: {verdict: list(methods) for verdict, methods in flag.methods_by_verdict}
             for flag in result.flags if flag.methods_by_verdict}
    snapshot = {"answers": list(keys), "flags": flags, "verdicts": dict(result.verdicts)}
    return json.dumps(snapshot, sort_keys=True), bool(flags)


def transition(referral: Referral, action: str, actor: User | None, *, note: str | None = None,
               when: datetime | None = None, now: datetime | None = None) -> Referral:
    """Move a referral by ``action`` (actor None: the system), record the event and tell the other party."""
    now = now or utcnow()
    role = "system" if actor is None else relation(referral, actor)
    if role is None:
        raise Forbidden(f"{label(referral).capitalize()} is not yours to answer.")
    # Lock the row (PostgreSQL) and re-read its state, so two answers at once cannot both apply.
    db.session.flush()
    db.session.refresh(referral, with_for_update=True)
    zone = appointments.zone_name_of(when)
    when = _naive_utc(when)
    note = note.strip() if note is not None else None
    previous = referral.state
    referral.state = lifecycle.next_state(previous, action, role, note=note, when=when, now=now)
    if action == "schedule":
        referral.scheduled_for = when
        referral.scheduled_zone = zone or appointments.clinic_zone(referral.practitioner)
    if action == "complete":
        referral.outcome = note
    referral.updated_at = now
    _record(referral, previous, referral.state, actor, role, note or "", now)
    _tell_other_party(referral, role)
    return referral


def _record(referral: Referral, previous: str | None, state: str, actor: User | None, role: str, note: str,
            at: datetime) -> ReferralEvent:
    """Add the referral_event for one transition."""
    event = ReferralEvent(referral_id=referral.id, from_state=previous, to_state=state,
                          actor_id=actor.id if actor else None, actor_role=role, note=note, occurred_at=at)
    db.session.add(event)
    return event


TOLD = {
    "accepted": "{practitioner} accepted your {label}.",  # a name can end in a full stop ("L.Ac.")
    "declined": "Your {label} was declined by {practitioner}; open it to read why.",
    "scheduled": "Your {label} is scheduled with {practitioner} for {when}.",
    "attended": "The appointment for your {label} took place; {practitioner} will send the outcome.",
    "no_show": "{practitioner} recorded the appointment for your {label} as missed.",
    "completed": "{practitioner} closed your {label} and sent the outcome.",
    "cancelled": "The {label} was cancelled; open it to read why.",
    "expired": "The {label} expired: {practitioner} did not answer it in time.",
}


def _tell_other_party(referral: Referral, role: str) -> None:
    """Notify whoever did not act: the sender when the practitioner acts, the practitioner when the sender does."""
    practitioner = referral.practitioner
    text = TOLD[referral.state].format(label=label(referral), practitioner=practitioner.display_name,
                                       when=appointment_time(referral) if referral.scheduled_for else "")
    recipients = []
    if role in ("practitioner", "admin", "system"):
        recipients += _sender(referral)
    if role in ("sender", "admin", "system"):
        recipients += _owners(practitioner)
    for user in recipients:
        notify(user, referral, text)


def expire_overdue(now: datetime | None = None) -> int:
    """Expire every sent referral past its respond-by time; return how many (safe to run again at any time)."""
    now = now or utcnow()
    query = select(Referral).where(Referral.state == "sent", Referral.respond_by <= now).order_by(Referral.id)
    overdue = list(db.session.scalars(query.with_for_update(skip_locked=True)))
    for referral in overdue:
        transition(referral, "expire", None, now=now)
    return len(overdue)


def tell_senders_of_suspension(practitioner: Practitioner) -> int:
    """Tell the senders of a newly suspended practitioner's open referrals; return how many were told."""
    query = select(Referral).where(Referral.practitioner_id == practitioner.id, Referral.state.in_(OPEN_STATES))
    told = 0
    for referral in db.session.scalars(query.order_by(Referral.id)):
        for sender in _sender(referral):
            notify(sender, referral, f"{practitioner.display_name} is suspended from Meridian's directory, so your "
                                     f"{label(referral)} may not go ahead. You can cancel it and refer elsewhere.",
                   kind="referral_practitioner_suspended")
            told += 1
    return told


def relation(referral: Referral, user: User) -> str | None:
    """Return the lifecycle role ``user`` has on ``referral`` (practitioner, sender, patient, admin), or None."""
    if user.role == "practitioner" and user.practitioner_id == referral.practitioner_id:
        return "practitioner"
    if referral.sender_id is not None and user.id == referral.sender_id:
        return "sender"
    if referral.patient_id is not None and user.id == referral.patient_id:
        return "patient"
    return "admin" if user.role == "admin" else None


def readable_by(referral: Referral, user: User) -> bool:
    """Tell whether ``user`` may read ``referral``: its sender, its practitioner, the patient it names, or an admin."""
    return getattr(user, "is_authenticated", True) and relation(referral, user) is not None


def get_for(user: User, referral_id: object) -> Referral:
    """Return a referral ``user`` may read (an admin's read is audited); NotFound for every other id alike."""
    try:
        number = int(str(referral_id))
    except ValueError:
        raise NotFound(NOT_FOUND) from None
    referral = db.session.get(Referral, number) if 0 < number < 2**63 else None
    role = relation(referral, user) if referral is not None else None
    if referral is None or role is None:
        raise NotFound(NOT_FOUND)  # the same answer for "no such id" and "not yours": ids cannot be probed
    if role == "admin":
        record_audit("referral.read", actor_id=user.id, subject_type="referral", subject_id=referral.id)
    return referral


def expire_days() -> int:
    """Return REFERRALS_EXPIRE_DAYS (default 7): how long a practitioner has to answer."""
    value = current_app.config.get("REFERRALS_EXPIRE_DAYS", DEFAULT_EXPIRE_DAYS)
    if not str(value).strip().isdigit() or not 1 <= int(value) <= 90:
        raise ConfigError(f"REFERRALS_EXPIRE_DAYS must be a whole number of days from 1 to 90, not {value!r}")
    return int(value)


def _owners(practitioner: Practitioner) -> list[User]:
    """Return the active account that owns the practitioner's profile (empty when unclaimed)."""
    query = select(User).where(User.practitioner_id == practitioner.id, User.role == "practitioner",
                               User.state == "active")
    return list(db.session.scalars(query))


def _sender(referral: Referral) -> list[User]:
    """Return the referral's sender as a list (empty once they deleted their account)."""
    sender = db.session.get(User, referral.sender_id) if referral.sender_id is not None else None
    return [sender] if sender is not None and sender.state == "active" else []


def _matched_patient(contact: str) -> User | None:
    """Return the confirmed patient account whose email is the referral's contact, if there is one."""
    email = contact.strip().lower()
    if "@" not in email:
        return None
    query = select(User).where(User.email == email, User.role == "patient", User.state == "active",
                               User.email_confirmed_at.is_not(None))
    return db.session.scalar(query)


def _sent_with_key(sender: User, key: str) -> Referral | None:
    """Return the referral ``sender`` already sent with this idempotency key."""
    return db.session.scalar(select(Referral).where(Referral.sender_id == sender.id, Referral.idempotency_key == key))


def _checked_key(key: str) -> str:
    """Return a usable idempotency key (the form's hidden one-time token)."""
    key = (key or "").strip()
    if not key or len(key) > KEY_MAX_LENGTH:
        raise InvalidParameter("The form is missing its one-time key: reload the page and send it again.",
                               field="idempotency_key")
    return key


def _text(value: str, what: str, field: str, limit: int = lifecycle.NOTE_MAX_LENGTH) -> str:
    """Return ``value`` stripped, refusing it when required (``what``) and blank, or longer than ``limit``."""
    value = (value or "").strip()
    if what and not value:
        raise InvalidParameter(f"Give {what}.", field=field)
    if len(value) > limit:
        raise InvalidParameter(f"Keep it to {limit:,} characters; this one has {len(value):,}.", field=field)
    return value


def _urgency(value: str) -> str:
    """Return a known urgency."""
    if value not in URGENCIES:
        raise InvalidParameter(f"Urgency must be one of {', '.join(URGENCIES)}.", field="urgency")
    return value


def _condition_id(slug: str | None) -> int | None:
    """Return the id of a condition of the vocabulary, or None when none was chosen."""
    if not slug:
        return None
    condition_id = db.session.scalar(select(Condition.id).where(Condition.slug == slug))
    if condition_id is None:
        raise InvalidParameter("Choose a condition from the list.", field="condition")
    return condition_id


def _method_id(slug: str | None, practitioner: Practitioner) -> int | None:
    """Return the id of a method the practitioner offers, or None when none was chosen."""
    if not slug:
        return None
    for method in practitioner.methods:
        if method.slug == slug:
            return method.id
    raise InvalidParameter(f"{practitioner.display_name} does not offer this method.", field="method")


def appointment_time(referral: Referral) -> str:
    """Return when the appointment is, in the zone it was booked in ("06 Dec 2026 09:00 EST"); "" when none."""
    if referral.scheduled_for is None:
        return ""
    return appointments.shown(referral.scheduled_for,
                              referral.scheduled_zone or appointments.clinic_zone(referral.practitioner))


def _naive_utc(when: datetime | None) -> datetime | None:
    """Return ``when`` as naive UTC (the storage convention); an aware time is converted."""
    if when is None or when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


def _day(moment: datetime) -> str:
    """Return a date as notices write it."""
    return moment.strftime("%d %b %Y")

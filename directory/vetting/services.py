"""Vetting services: append checks to the chain, recompute status, suspend and reinstate."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.accounts.policy import can_edit_practitioner
from directory.clock import today as clock_today
from directory.clock import utcnow
from directory.errors import InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.referrals.services import tell_senders_of_suspension
from directory.vetting.chain import row_hash, sha256_text
from directory.vetting.documents import StoredDocument
from directory.vetting.facts import load_facts
from directory.vetting.labels import DECISION_CATEGORIES
from directory.vetting.models import (
    CHECK_OUTCOMES,
    CHECK_SOURCES,
    Credential,
    FormerName,
    VerificationCheck,
    VettingDecision,
    VettingIdentity,
)
from directory.vetting.notices import announce_status_change, email_owner
from directory.vetting.status import (
    DEFAULT_POLICY,
    VettingPolicy,
    compute_status,
    monitoring_windows,
    verified_since,
)

CONFIG_KEYS = {
    "VETTING_PRIMARY_SOURCE_DAYS": "primary_source_days",
    "VETTING_EXCLUSION_DAYS": "exclusion_days",
    "VETTING_REVERIFY_MONTHS": "reverify_months",
    "VETTING_EXPIRING_DAYS": "expiring_within_days",
    "VETTING_NAME_MATCH_REVIEW_DAYS": "name_match_review_days",
}
MONITORING_KEYS = {"VETTING_AUTOMATED_MONITORING_DAYS": "automated_days", "VETTING_MANUAL_MONITORING_DAYS": "manual_days"}
AUTOMATIC_SUSPENSION_REASON = "the practitioner's NPI is on the exclusion list; suspended pending an admin's review"


def current_policy() -> VettingPolicy:
    """Return the vetting policy, NCQA defaults overridden by VETTING_* settings."""
    config = current_app.config
    values: dict[str, Any] = {attr: int(config[key]) for key, attr in CONFIG_KEYS.items() if key in config}
    if "VETTING_ALERT_DAYS" in config:
        days = config["VETTING_ALERT_DAYS"]
        # From the environment it is text ("90,60,30,14,7,0"); from a test it may be a tuple.
        values["alert_days"] = tuple(int(d) for d in (days.split(",") if isinstance(days, str) else days))
    values["monitoring"] = monitoring_windows(**{arg: int(config[key]) for key, arg in MONITORING_KEYS.items()
                                                 if key in config})
    return VettingPolicy(**{**DEFAULT_POLICY.__dict__, **values})


def get_practitioner(practitioner_id: int) -> Practitioner:
    """Return the practitioner or raise NotFound."""
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound("No practitioner with that id.")
    return practitioner


def canonical_json(value: Mapping[str, Any]) -> str:
    """Return ``value`` as the canonical JSON that is stored and hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_check(practitioner: Practitioner, *, source: str, outcome: str, evidence: Mapping[str, Any] | None = None,
                 credential: Credential | None = None, performed_by: User | None = None, reference: str = "",
                 note: str = "", recompute: bool = True) -> VerificationCheck:
    """Append a check to the practitioner's chain, then recompute their status (unless told not to)."""
    _validate_check(practitioner, source, outcome, credential)
    # Lock the practitioner row so two writers cannot take the same sequence number (SQLite
    # has no row locks and needs none: it lets one writer in at a time).
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(Practitioner.id).where(Practitioner.id == practitioner.id).with_for_update())
    check = _append_check(VerificationCheck.practitioner_id, {"practitioner_id": practitioner.id, "user_id": None},
                          source=source, outcome=outcome, evidence=evidence, credential=credential,
                          performed_by=performed_by, reference=reference, note=note)
    if recompute:
        recompute_status(practitioner)
    return check


def record_user_check(user: User, *, source: str, outcome: str, evidence: Mapping[str, Any] | None = None,
                      credential: Credential | None = None, performed_by: User | None = None, reference: str = "",
                      note: str = "") -> VerificationCheck:
    """Append a check of a user's credential (a doctor's NPI or licence) to that user's own chain."""
    if source not in CHECK_SOURCES or outcome not in CHECK_OUTCOMES:
        raise InvalidParameter(f"unknown check source {source!r} or outcome {outcome!r}", field="source")
    if credential is not None and credential.user_id != user.id:
        raise InvalidParameter("that credential belongs to someone else", field="credential")
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    return _append_check(VerificationCheck.user_id, {"practitioner_id": None, "user_id": user.id}, source=source,
                         outcome=outcome, evidence=evidence, credential=credential, performed_by=performed_by,
                         reference=reference, note=note)


def _append_check(subject_column: Any, subject: dict[str, int | None], *, source: str, outcome: str,
                  evidence: Mapping[str, Any] | None, credential: Credential | None, performed_by: User | None,
                  reference: str, note: str) -> VerificationCheck:
    """Write the next row of one subject's chain (a practitioner's or a user's): hashed over the one before."""
    subject_id = subject["practitioner_id"] if subject["practitioner_id"] is not None else subject["user_id"]
    previous = db.session.execute(
        select(VerificationCheck.sequence, VerificationCheck.row_hash)
        .where(subject_column == subject_id)
        .order_by(VerificationCheck.sequence.desc()).limit(1)
    ).first()
    evidence_text = canonical_json(evidence or {})
    row: dict[str, Any] = {
        **subject, "sequence": previous.sequence + 1 if previous else 1,
        "credential_id": credential.id if credential else None, "source": source,
        "performed_by_id": performed_by.id if performed_by else None,
        "performed_at": utcnow().replace(microsecond=0), "outcome": outcome, "reference": reference[:500],
        "note": note, "evidence_sha256": sha256_text(evidence_text),
        "previous_hash": previous.row_hash if previous else None,
    }
    check = VerificationCheck(**row, evidence=evidence_text, row_hash=row_hash(row))
    db.session.add(check)
    db.session.flush()
    return check


def _validate_check(practitioner: Practitioner, source: str, outcome: str, credential: Credential | None) -> None:
    """Refuse a check the schema would refuse, with a message a person can act on."""
    if source not in CHECK_SOURCES:
        raise InvalidParameter(f"unknown check source {source!r}", field="source")
    if outcome not in CHECK_OUTCOMES:
        raise InvalidParameter(f"unknown outcome {outcome!r}", field="outcome")
    if credential is not None and credential.practitioner_id != practitioner.id:
        raise InvalidParameter("that credential belongs to someone else", field="credential")


def recompute_status(practitioner: Practitioner, *, automatic: bool = True) -> str:
    """Set the practitioner's cached vetting status from the evidence; search follows via the outbox."""
    return recompute_statuses([practitioner.id], automatic=automatic)[practitioner.id]


def recompute_statuses(practitioner_ids: Sequence[int], *, automatic: bool = True) -> dict[int, str]:
    """Recompute the cached status of many practitioners at once (a scheduled run's batch).

    A change the rules make by themselves (``automatic``) is audited, emailed to the practitioner
    and, when it suspends, recorded as an automatic decision that waits in the admin queue.
    The decision service passes ``automatic=False``: it records and audits its own change.
    """
    facts = load_facts(practitioner_ids)
    today, policy, now = clock_today(), current_policy(), utcnow().replace(microsecond=0)
    statuses, changes = {}, []
    for practitioner in db.session.scalars(select(Practitioner).where(Practitioner.id.in_(practitioner_ids))):
        status = statuses[practitioner.id] = compute_status(facts[practitioner.id], today, policy)
        if status != practitioner.vetting_status:
            changes.append((practitioner, practitioner.vetting_status))
            practitioner.vetting_status, practitioner.vetting_status_since = status, now
        since = verified_since(facts[practitioner.id], today, policy)
        if since != practitioner.verified_since:  # an unchanged value would still mark the row dirty (a reindex)
            practitioner.verified_since = since
    db.session.flush()
    _tell_referral_senders(changes)
    if automatic:
        for practitioner, previous in changes:
            _record_automatic_change(practitioner, previous, facts[practitioner.id].suspended)
    return statuses


def _tell_referral_senders(changes: Sequence[tuple[Practitioner, str]]) -> None:
    """Tell the senders of open referrals when their practitioner becomes suspended (every suspension passes here)."""
    for practitioner, _previous in changes:
        if practitioner.vetting_status == "suspended":
            tell_senders_of_suspension(practitioner)


def _record_automatic_change(practitioner: Practitioner, previous: str, decided: bool) -> None:
    """Audit and announce a change the rules made; an exclusion-list suspension becomes a decision too."""
    category = ""
    if practitioner.vetting_status == "suspended" and not decided:
        category = "exclusion_list"
        db.session.add(VettingDecision(practitioner_id=practitioner.id, action="suspend", category=category,
                                       reason=AUTOMATIC_SUSPENSION_REASON, decided_by_id=None))
        db.session.flush()
    announce_status_change(practitioner, previous, category=category)


def latest_decision(practitioner_id: int) -> VettingDecision | None:
    """Return the practitioner's latest suspension or reinstatement."""
    return db.session.scalar(select(VettingDecision).where(VettingDecision.practitioner_id == practitioner_id)
                             .order_by(VettingDecision.id.desc()).limit(1))


def _required_reason(reason: str) -> str:
    """Return the stripped reason, or refuse an empty one."""
    reason = reason.strip()
    if not reason:
        raise InvalidParameter("Give the reason; it is kept with the decision.", field="reason")
    return reason


def _known_category(category: str) -> str:
    """Return the category, or refuse one the public history has no words for."""
    if category not in DECISION_CATEGORIES:
        raise InvalidParameter("Choose the public reason category.", field="category")
    return category


def decide(practitioner: Practitioner, action: str, reason: str, *, admin: User | None,
           category: str = "administrative_review") -> VettingDecision:
    """Record a suspension or reinstatement (automatic when ``admin`` is None) and apply it to the status."""
    decision = VettingDecision(practitioner_id=practitioner.id, action=action, reason=_required_reason(reason),
                               category=_known_category(category), decided_by_id=admin.id if admin else None)
    db.session.add(decision)
    db.session.flush()
    recompute_status(practitioner, automatic=False)
    return decision


def suspend(practitioner: Practitioner, reason: str, admin: User | None,
            category: str = "administrative_review") -> VettingDecision:
    """Suspend a practitioner (hidden from search and listings) for a stated reason, and tell them.

    An admin may suspend over an automatic suspension: that confirms it (and ends its review).
    """
    current = latest_decision(practitioner.id)
    if current is not None and current.action == "suspend" and (current.decided_by_id or admin is None):
        raise InvalidParameter("This practitioner is already suspended.", field="reason")
    previous = practitioner.vetting_status
    decision = decide(practitioner, "suspend", reason, admin=admin, category=category)
    record_audit("vetting.suspended", actor_id=admin.id if admin else None, subject_type="practitioner",
                 subject_id=practitioner.id, reason=decision.reason, category=decision.category)
    email_owner(practitioner, previous)
    return decision


def reinstate(practitioner: Practitioner, reason: str, admin: User,
              category: str = "administrative_review") -> VettingDecision:
    """Lift a suspension for a stated reason; an open exclusion-list hit is cleared with it."""
    from directory.vetting.sources.exclusions import clear_open_hits

    reason = _required_reason(reason)
    if practitioner.vetting_status != "suspended":
        raise InvalidParameter("This practitioner is not suspended.", field="reason")
    previous = practitioner.vetting_status
    cleared = clear_open_hits(practitioner, admin, reason, decision="clear", recompute=False)
    decision = decide(practitioner, "reinstate", reason, admin=admin, category=category)
    record_audit("vetting.reinstated", actor_id=admin.id, subject_type="practitioner", subject_id=practitioner.id,
                 reason=reason, category=decision.category, cleared_exclusion_hits=cleared)
    email_owner(practitioner, previous)
    return decision


def check_document(check: VerificationCheck) -> dict[str, Any] | None:
    """Return the description of the document attached to a check, if any."""
    try:
        evidence = json.loads(check.evidence)
    except ValueError:
        return None
    document = evidence.get("document") if isinstance(evidence, dict) else None
    return document if isinstance(document, dict) and document.get("stored_as") else None


def attach_credential_document(credential: Credential, document: StoredDocument) -> None:
    """Attach a stored document (the licence or certificate itself) to a credential."""
    credential.document_path, credential.document_sha256 = document.name, document.sha256
    credential.document_mime = document.mime
    db.session.flush()


def readable_credential_document(user: Any, credential_id: int) -> Credential:
    """Return a credential whose document ``user`` may read (admins, and the practitioner who owns it)."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or not credential.document_path or credential.practitioner_id is None:
        raise NotFound("This credential has no document.")
    if not can_edit_practitioner(user, credential.practitioner_id):
        raise NotFound("This credential has no document.")  # not 403: do not confirm it exists
    return credential


def credential_of(practitioner: Practitioner, credential_id: int | None) -> Credential | None:
    """Return the practitioner's credential with that id (None for none), refusing someone else's."""
    if credential_id is None:
        return None
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.practitioner_id != practitioner.id:
        raise InvalidParameter("Choose one of this practitioner's credentials.", field="credential_id")
    return credential


def parse_former_names(text: str) -> list[tuple[str, str]]:
    """Return (first, last) pairs from lines of "First Last" (a single word is a last name)."""
    names = []
    for line in text.splitlines():
        words = line.split()
        if words:
            names.append((" ".join(words[:-1])[:80], words[-1][:80]))
    return names


def update_identity(practitioner: Practitioner, admin: User, date_of_birth: date | None,
                    former_names: list[tuple[str, str]]) -> None:
    """Replace the date of birth and former names used for exclusion-list matching."""
    identity = db.session.get(VettingIdentity, practitioner.id) or VettingIdentity(practitioner_id=practitioner.id)
    identity.date_of_birth = date_of_birth
    db.session.add(identity)
    db.session.execute(delete(FormerName).where(FormerName.practitioner_id == practitioner.id))
    for first, last in dict.fromkeys(former_names):
        db.session.add(FormerName(practitioner_id=practitioner.id, first_name=first, last_name=last))
    db.session.flush()
    # The audit trail records that identity details changed, not the details (a date of birth is personal data).
    record_audit("vetting.identity_updated", actor_id=admin.id, subject_type="practitioner",
                 subject_id=practitioner.id, date_of_birth_known=date_of_birth is not None,
                 former_names=len(former_names))

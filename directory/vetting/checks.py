"""The one writer of the verification chain: every check, automated or by hand, becomes a row here.

Sources find, decisions decide; only this module appends to ``verification_check`` (a test
guards it). It does not recompute statuses: the caller does, once, after its writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.chain import row_hash, sha256_text
from directory.vetting.folds import fold_appended
from directory.vetting.models import CHECK_OUTCOMES, Credential, VerificationCheck
from directory.vetting.sources import registry
from directory.vetting.sources.base import Finding

# A retry of the same failing source within this window does not add another identical error row.
REPEATED_ERROR_WINDOW = timedelta(minutes=10)


def evidence_json(value: Mapping[str, Any]) -> str:
    """Return evidence as the canonical JSON that is stored and hashed (dates and other values via ``str``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def append_check(practitioner: Practitioner, *, source: str, outcome: str, evidence: Mapping[str, Any] | None = None,
                 credential: Credential | None = None, performed_by: User | None = None, reference: str = "",
                 note: str = "") -> VerificationCheck:
    """Append a check to the practitioner's chain (the caller recomputes the status)."""
    _validate(source, outcome)
    if credential is not None and credential.practitioner_id != practitioner.id:
        raise InvalidParameter("that credential belongs to someone else", field="credential")
    # Lock the practitioner row so two writers cannot take the same sequence number (SQLite
    # has no row locks and needs none: it lets one writer in at a time).
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(Practitioner.id).where(Practitioner.id == practitioner.id).with_for_update())
    check = _append(VerificationCheck.practitioner_id, {"practitioner_id": practitioner.id, "user_id": None},
                    source=source, outcome=outcome, evidence=evidence, credential=credential,
                    performed_by=performed_by, reference=reference, note=note)
    # The practitioner's folded checks, which pages read instead of the chain, in the same transaction.
    fold_appended(check, credential.kind if credential is not None else None)
    return check


def record_user_check(user: User, *, source: str, outcome: str, evidence: Mapping[str, Any] | None = None,
                      credential: Credential | None = None, performed_by: User | None = None, reference: str = "",
                      note: str = "") -> VerificationCheck:
    """Append a check of a user's credential (a doctor's NPI or licence) to that user's own chain."""
    if source not in registry.codes() or outcome not in CHECK_OUTCOMES:
        raise InvalidParameter(f"unknown check source {source!r} or outcome {outcome!r}", field="source")
    if credential is not None and credential.user_id != user.id:
        raise InvalidParameter("that credential belongs to someone else", field="credential")
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    return _append(VerificationCheck.user_id, {"practitioner_id": None, "user_id": user.id}, source=source,
                   outcome=outcome, evidence=evidence, credential=credential, performed_by=performed_by,
                   reference=reference, note=note)


def record_finding(subject: Practitioner, finding: Finding, performed_by: User | None, *,
                   audit: bool = True) -> VerificationCheck:
    """Turn a source's finding into the next row of the subject's chain, audited when a person asked for it.

    The same error from the same source moments ago is not written again: the earlier row is returned.
    """
    credential = db.session.get(Credential, finding.credential_id) if finding.credential_id is not None else None
    if finding.credential_id is not None and credential is None:
        raise InvalidParameter("Choose one of this practitioner's credentials.", field="credential_id")
    repeated = recent_error(subject, finding) if finding.outcome == "error" else None
    check = repeated or append_check(subject, source=finding.source, outcome=finding.outcome,
                                     evidence=finding.evidence, credential=credential, performed_by=performed_by,
                                     reference=finding.reference, note=finding.note)
    if audit and performed_by is not None:
        _audit(subject, check, performed_by, repeated=repeated is not None)
    return check


def recent_error(subject: Practitioner, finding: Finding) -> VerificationCheck | None:
    """Return the latest check of this source and credential when it is the same error, made moments ago."""
    latest = db.session.scalar(select(VerificationCheck).where(
        VerificationCheck.practitioner_id == subject.id, VerificationCheck.source == finding.source,
        VerificationCheck.credential_id == finding.credential_id)
        .order_by(VerificationCheck.sequence.desc()).limit(1))
    if latest is None or latest.outcome != "error" or latest.note != finding.note:
        return None
    return latest if utcnow() - latest.performed_at <= REPEATED_ERROR_WINDOW else None


def _audit(subject: Practitioner, check: VerificationCheck, admin: User, *, repeated: bool) -> None:
    """Audit a check a person ran (an automated source) or recorded (a manual one)."""
    details: dict[str, Any] = {"source": check.source, "outcome": check.outcome, "check_id": check.id}
    if registry.get(check.source).automated:
        details["repeated"] = repeated
        action = "vetting.check_run"
    else:
        document = json.loads(check.evidence).get("document") or {}
        details |= {"credential_id": check.credential_id, "document": document.get("sha256")}
        action = "vetting.manual_check"
    record_audit(action, actor_id=admin.id, subject_type="practitioner", subject_id=subject.id, **details)


def _append(subject_column: Any, subject: dict[str, int | None], *, source: str, outcome: str,
            evidence: Mapping[str, Any] | None, credential: Credential | None, performed_by: User | None,
            reference: str, note: str) -> VerificationCheck:
    """Write the next row of one subject's chain (a practitioner's or a user's): hashed over the one before."""
    subject_id = subject["practitioner_id"] if subject["practitioner_id"] is not None else subject["user_id"]
    previous = db.session.execute(
        select(VerificationCheck.sequence, VerificationCheck.row_hash)
        .where(subject_column == subject_id)
        .order_by(VerificationCheck.sequence.desc()).limit(1)
    ).first()
    evidence_text = evidence_json(evidence or {})
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


def _validate(source: str, outcome: str) -> None:
    """Refuse a check the schema would refuse, with a message a person can act on."""
    if source not in registry.codes():
        raise InvalidParameter(f"unknown check source {source!r}", field="source")
    if outcome not in CHECK_OUTCOMES:
        raise InvalidParameter(f"unknown outcome {outcome!r}", field="outcome")

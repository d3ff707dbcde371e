"""The admin's view of the audit trail: a filtered page of events, each subject named and linked."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select

from directory.accounts.models import AuditEvent, User
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.models import Credential, VerificationCheck

AUDIT_PAGE = 100


@dataclass(frozen=True)
class Subject:
    """What an event was about, as the audit page names it (``url`` empty when there is nothing to open)."""

    label: str
    url: str = ""


@dataclass(frozen=True)
class AuditRow:
    """One event with the email of who did it and its named subject."""

    event: AuditEvent
    actor_email: str | None
    subject: Subject | None


def audit_page(action: str = "", actor: str = "", subject_type: str = "") -> list[AuditRow]:
    """Return the newest events matching the filters, with subjects named in one query per subject type."""
    stmt = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
    if action.strip():
        stmt = stmt.where(AuditEvent.action == action.strip())
    if actor.strip():
        stmt = stmt.where(User.email == actor.strip().lower())
    if subject_type.strip():
        stmt = stmt.where(AuditEvent.subject_type == subject_type.strip())
    rows = db.session.execute(stmt.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)).all()
    subjects = name_subjects(event for event, _ in rows)
    return [AuditRow(event, email, subjects.get((event.subject_type, event.subject_id or 0)))
            for event, email in rows]


def name_subjects(events: Iterable[AuditEvent]) -> dict[tuple[str, int], Subject]:
    """Return a named, linked subject per (subject type, id) among ``events``; unknown ids say they are gone."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.subject_type and event.subject_id is not None:
            wanted.setdefault(event.subject_type, set()).add(event.subject_id)
    named: dict[tuple[str, int], Subject] = {}
    for kind, ids in wanted.items():
        loader = _LOADERS.get(kind)
        found = loader(sorted(ids)) if loader else {}
        for subject_id in ids:
            named[(kind, subject_id)] = found.get(subject_id) or Subject(f"{kind.replace('_', ' ')} #{subject_id}"
                                                                         + (" (deleted)" if loader else ""))
    return named


def _practitioners(ids: Sequence[int]) -> dict[int, Subject]:
    """Name practitioners by their display name, linked to their vetting page."""
    found = db.session.scalars(select(Practitioner).where(Practitioner.id.in_(ids)))
    return {p.id: Subject(p.display_name, url_for("vetting.practitioner", practitioner_id=p.id)) for p in found}


def _users(ids: Sequence[int]) -> dict[int, Subject]:
    """Name users by their email address."""
    found = db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {uid: Subject(email) for uid, email in found}


def _owned(model: Any, noun: str, ids: Sequence[int]) -> dict[int, Subject]:
    """Name a credential or check by its owner (a practitioner, linked, or a user), in one query."""
    stmt = (select(model.id, Practitioner.id, Practitioner.first_name, Practitioner.last_name, Practitioner.title,
                   User.email)
            .outerjoin(Practitioner, Practitioner.id == model.practitioner_id)
            .outerjoin(User, User.id == model.user_id).where(model.id.in_(ids)))
    named: dict[int, Subject] = {}
    rows: Any = db.session.execute(stmt)
    for subject_id, pid, first, last, title, email in rows:
        if pid is not None:
            owner = f"{first} {last}, {title}" if title else f"{first} {last}"
            named[subject_id] = Subject(f"{noun} #{subject_id} of {owner}",
                                        url_for("vetting.practitioner", practitioner_id=pid))
        else:
            named[subject_id] = Subject(f"{noun} #{subject_id} of {email}")
    return named


_LOADERS = {
    "practitioner": _practitioners,
    "user": _users,
    "credential": lambda ids: _owned(Credential, "Credential", ids),
    "verification_check": lambda ids: _owned(VerificationCheck, "Check", ids),
}

"""Inboxes: the referrals each role sees, filtered by status, newest first."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer, selectinload

from directory.accounts.models import User
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.referrals.lifecycle import OPEN_STATES, STATES, TERMINAL_STATES
from directory.referrals.models import Referral

# A status filter is one state, or a group of them; "all" (or nothing) filters nothing.
STATUS_GROUPS = {"open": OPEN_STATES, "closed": tuple(s for s in STATES if s in TERMINAL_STATES)}
PAGE_SIZE = 50


def states_for(status: str | None) -> tuple[str, ...] | None:
    """Return the states a status filter stands for (None: every state), refusing an unknown one."""
    if not status or status == "all":
        return None
    if status in STATUS_GROUPS:
        return STATUS_GROUPS[status]
    if status in STATES:
        return (status,)
    choices = ", ".join(("all", *STATUS_GROUPS, *STATES))
    raise InvalidParameter(f"Unknown status {status!r}: use one of {choices}.", field="status")


def sent_by(user: User, status: str | None = None, *, limit: int = PAGE_SIZE) -> list[Referral]:
    """Return the referrals (or requests) ``user`` sent: a doctor's outbox, a patient's requests."""
    return _page(select(Referral).where(Referral.sender_id == user.id), status, limit)


def incoming(user: User, status: str | None = None, *, limit: int = PAGE_SIZE) -> list[Referral]:
    """Return the referrals and requests sent to the practitioner whose profile ``user`` owns."""
    if user.role != "practitioner" or user.practitioner_id is None:
        return []
    return _page(select(Referral).where(Referral.practitioner_id == user.practitioner_id), status, limit)


def for_patient(user: User, status: str | None = None, *, limit: int = PAGE_SIZE) -> list[Referral]:
    """Return a patient's own requests and the doctors' referrals that name them."""
    query = select(Referral).where(or_(Referral.patient_id == user.id, Referral.sender_id == user.id))
    return _page(query, status, limit)


def all_referrals(status: str | None = None, *, limit: int = PAGE_SIZE) -> list[Referral]:
    """Return every referral, for admins (who read one at a time through get_for, which audits it)."""
    return _page(select(Referral), status, limit)


def inbox_for(user: User, status: str | None = None, *, limit: int = PAGE_SIZE) -> list[Referral]:
    """Return the inbox of ``user``'s role: doctor sent, practitioner incoming, patient theirs, admin all."""
    if user.role == "practitioner":
        return incoming(user, status, limit=limit)
    if user.role == "patient":
        return for_patient(user, status, limit=limit)
    if user.role == "admin":
        return all_referrals(status, limit=limit)
    return sent_by(user, status, limit=limit)


def _page(query: Select[tuple[Referral]], status: str | None, limit: int) -> list[Referral]:
    """Apply the status filter and the newest-first order to ``query``."""
    states = states_for(status)
    if states is not None:
        query = query.where(Referral.state.in_(states))
    # The rows show their practitioner's name: load them in one more query, not one per row.
    # Rows never show patient data: leave it sealed (no decryption, no plaintext in memory for a list).
    query = query.options(selectinload(Referral.practitioner), defer(Referral.patient_name),
                          defer(Referral.patient_contact), defer(Referral.screening_snapshot))
    return list(db.session.scalars(query.order_by(Referral.created_at.desc(), Referral.id.desc()).limit(limit)))


def waiting(user: User) -> dict[str, int]:
    """Return what waits for ``user``: referrals to answer (practitioner) or still open (others), in one COUNT each."""
    if user.role == "practitioner":
        if user.practitioner_id is None:
            return {"to_answer": 0, "open": 0}
        mine = Referral.practitioner_id == user.practitioner_id
    elif user.role == "patient":
        mine = or_(Referral.patient_id == user.id, Referral.sender_id == user.id)
    elif user.role == "doctor":
        mine = Referral.sender_id == user.id
    else:
        return {"to_answer": 0, "open": 0}
    return {"to_answer": _count(mine, Referral.state == "sent"), "open": _count(mine, Referral.state.in_(OPEN_STATES))}


def _count(*conditions: object) -> int:
    """Return how many referrals meet ``conditions``."""
    return int(db.session.scalar(select(func.count(Referral.id)).where(*conditions)) or 0)  # type: ignore[arg-type]

"""Tell people about vetting events: status changes to the practitioner, broken chains to the admins."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.mail import queue_email
from directory.accounts.models import AuditEvent, User
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.chain import ChainBreak
from directory.vetting.labels import status_notice

CHAIN_BROKEN = "vetting.chain_broken"
# Checks starting or a credential withdrawn: the listing is unverified before and after, so no email.
QUIET_CHANGES = frozenset({("unverified", "pending"), ("pending", "unverified")})


def announce_status_change(practitioner: Practitioner, previous: str, *, category: str = "") -> None:
    """Audit a status change the rules made by themselves, and email the practitioner about it."""
    record_audit("vetting.status_changed", actor_id=None, subject_type="practitioner", subject_id=practitioner.id,
                 previous=previous, status=practitioner.vetting_status, category=category or None)
    email_owner(practitioner, previous)


def email_owner(practitioner: Practitioner, previous: str) -> bool:
    """Queue an email to the practitioner's own account about their new status; False when they have none."""
    owner = db.session.scalar(select(User.email).where(User.practitioner_id == practitioner.id,
                                                       User.state == "active").limit(1))
    if not owner or practitioner.vetting_status == previous or (previous, practitioner.vetting_status) in QUIET_CHANGES:
        return False
    subject, meaning = status_notice(practitioner.vetting_status)
    since = practitioner.vetting_status_since.strftime("%d %b %Y")
    body = (f"Dear {practitioner.display_name},\n\nThe status of your Meridian listing changed on {since} "
            f"from {previous} to {practitioner.vetting_status}.\n\n{meaning}\n\nThe verification history on your "
            "profile shows every check and decision behind it.\n\nMeridian")
    queue_email(owner, subject, body, "vetting_status")
    return True


def alert_chain_break(practitioner: Practitioner, breaks: list[ChainBreak], head: str | None) -> bool:
    """Audit and email all admins about a broken verification chain, once per chain head; True when alerted."""
    if not breaks or chain_break_reported(practitioner.id, head):
        return False
    first = breaks[0]
    record_audit(CHAIN_BROKEN, actor_id=None, subject_type="practitioner", subject_id=practitioner.id, head=head,
                 breaks=[f"sequence {b.sequence}: {b.reason}" for b in breaks])
    lines = "\n".join(f"- sequence {b.sequence}: {b.reason}" for b in breaks)
    body = (f"The verification history of {practitioner.display_name} (practitioner #{practitioner.id}) does not "
            f"add up, starting at sequence {first.sequence}:\n\n{lines}\n\nThe public profile says our admins have "
            "been told. Compare the stored rows with a backup and run `flask vetting verify-chain`; the practitioner "
            "is listed in the verification queue until the chain adds up again.")
    for admin in db.session.scalars(select(User.email).where(User.role == "admin", User.state == "active")):
        queue_email(admin, f"Meridian: the verification history of {practitioner.display_name} does not add up",
                    body, "chain_broken")
    return True


def chain_break_reported(practitioner_id: int, head: str | None) -> bool:
    """Tell whether a break of this chain (at this head) was already reported."""
    reported = db.session.scalars(select(AuditEvent.details).where(
        AuditEvent.action == CHAIN_BROKEN, AuditEvent.subject_type == "practitioner",
        AuditEvent.subject_id == practitioner_id))
    return any(json.loads(details).get("head") == head for details in reported)


def reported_chain_breaks() -> dict[int, datetime]:
    """Return practitioner id -> when a broken chain was first reported, for the admin queue."""
    rows = db.session.execute(select(AuditEvent.subject_id, AuditEvent.occurred_at).where(
        AuditEvent.action == CHAIN_BROKEN, AuditEvent.subject_type == "practitioner").order_by(AuditEvent.id))
    reported: dict[int, datetime] = {}
    for pid, at in rows:
        if pid is not None:
            reported.setdefault(pid, at)
    return reported


"""Tell the other party about a referral: an in-app notice and an email through the mail outbox.

Email leaves our system, so neither the notice nor the email carries the patient's name, contact
or the free-text notes: they say "your referral #123" and link to the page that shows the rest.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult

from directory.accounts.mail import public_url, queue_email
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import NotFound
from directory.extensions import db
from directory.referrals.models import Notification, Referral

TEXT_MAX_LENGTH = 300


def referral_link(referral: Referral) -> str:
    """Return the absolute link to a referral's page, built from PUBLIC_BASE_URL (never from a request)."""
    return public_url("referrals.detail", referral_id=referral.id)


def label(referral: Referral) -> str:
    """Return how a referral is named in notices: "referral #12" or "appointment request #12"."""
    return f"{'appointment request' if referral.kind == 'request' else 'referral'} #{referral.id}"


def notify(user: User, referral: Referral, text: str, *, kind: str = "") -> Notification:
    """Add an in-app notice for ``user`` and queue the same words by email (``kind``: referral_<state>)."""
    text = text[:TEXT_MAX_LENGTH]
    notice = Notification(user_id=user.id, referral_id=referral.id, text=text)
    db.session.add(notice)
    body = f"{text}\n\nOpen it on Meridian (sign in first):\n{referral_link(referral)}\n\nMeridian"
    queue_email(user.email, f"Meridian: {text}"[:200], body, kind or f"referral_{referral.state}")
    return notice


def unread_count(user: User) -> int:
    """Return how many of ``user``'s notices are unread."""
    query = select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return int(db.session.scalar(query) or 0)


def notices_for(user: User, limit: int = 50) -> list[Notification]:
    """Return ``user``'s newest notices, unread and read."""
    query = select(Notification).where(Notification.user_id == user.id)
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of ``user``'s notices (or all of them) read; return how many changed."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        notice = db.session.get(Notification, notification_id)
        if notice is None or notice.user_id != user.id:
            raise NotFound("There is no such notification.")
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session="fetch"))
    return int(cast(CursorResult[Any], result).rowcount or 0)

"""Outgoing mail: queued in the database with the change that caused it, sent by a worker."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from directory.accounts.models import OutgoingEmail
from directory.clock import utcnow
from directory.extensions import db


def queue_email(recipient: str, subject: str, body: str, kind: str) -> OutgoingEmail:
    """Queue a message in the current transaction (sent only if the transaction commits)."""
    message = OutgoingEmail(recipient=recipient, subject=subject, body=body, kind=kind)
    db.session.add(message)
    return message


def public_url(endpoint: str, **values: Any) -> str:
    """Return an absolute link for an email, built from PUBLIC_BASE_URL, never from the request's Host."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def send_pending(limit: int = 100) -> tuple[int, int]:
    """Send queued messages over SMTP (MAIL_SERVER); return (sent, failed)."""
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        return 0, 0
    host, _, port = server.partition(":")
    sent = failed = 0
    pending = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.sent_at.is_(None)).order_by(OutgoingEmail.id).limit(limit)
    ).all()
    for message in pending:
        try:
            _deliver(host, int(port or 25), message)
            message.sent_at = utcnow()
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            message.attempts += 1
            message.last_error = str(exc)[:2000]
            failed += 1
        db.session.commit()
    return sent, failed


def _deliver(host: str, port: int, message: OutgoingEmail) -> None:
    """Send one message."""
    email = EmailMessage()
    email["From"] = current_app.config.get("MAIL_FROM", "Meridian <no-reply@meridian.invalid>")
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.send_message(email)

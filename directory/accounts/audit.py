"""The audit trail: one call records who did what to which record, from where."""

from __future__ import annotations

import json
from typing import Any

from flask import has_request_context, request

from directory.accounts.models import AuditEvent
from directory.extensions import db


def record_audit(action: str, *, actor_id: int | None, subject_type: str = "", subject_id: int | None = None,
                 **details: Any) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits with its own change)."""
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        subject_type=subject_type,
        subject_id=subject_id,
        ip_address=(request.remote_addr or "")[:45] if has_request_context() else "",
        details=json.dumps(details, default=str, sort_keys=True),
    )
    db.session.add(event)
    return event

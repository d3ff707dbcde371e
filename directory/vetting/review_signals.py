"""Adverse-event signals from patient reviews that still wait for an admin's vetting finding."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from directory.extensions import db
from directory.reviews.services import Signal, adverse_event_signals
from directory.vetting.models import VerificationCheck
from directory.vetting.sources.review_signals import REVIEW_SIGNAL

# Adverse events are a patient-safety matter: an admin looks within a week by default.
DEFAULT_SIGNAL_REVIEW_DAYS = 7


def signal_review_days() -> int:
    """Return how many days an admin has to look at an adverse-event signal (REVIEW_SIGNAL_REVIEW_DAYS)."""
    return int(current_app.config.get("REVIEW_SIGNAL_REVIEW_DAYS", DEFAULT_SIGNAL_REVIEW_DAYS))


def open_signals(practitioner_ids: Collection[int] | None = None) -> dict[int, list[Signal]]:
    """Return practitioner id -> the signals found after the admin's latest review-signal finding, oldest first."""
    signals = adverse_event_signals(practitioner_ids)
    if not signals:
        return {}
    seen = _last_findings(signals)
    found: dict[int, list[Signal]] = {}
    for pid, items in signals.items():
        after = seen.get(pid)
        # Check times are kept to the second (the chain hashes them so): compare at that precision.
        waiting = [s for s in items if after is None or s.occurred_at.replace(microsecond=0) > after]
        if waiting:
            found[pid] = sorted(waiting, key=lambda s: s.occurred_at)
    return found


def _last_findings(signals: dict[int, list[Signal]]) -> dict[int, datetime]:
    """Return when an admin last recorded a review-signal finding for each of these practitioners."""
    ids = sorted(signals)
    last: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        rows = db.session.execute(select(VerificationCheck.practitioner_id, func.max(VerificationCheck.performed_at))
                                  .where(VerificationCheck.practitioner_id.in_(ids[start:start + 500]),
                                         VerificationCheck.source == REVIEW_SIGNAL.code)
                                  .group_by(VerificationCheck.practitioner_id))
        last.update({int(pid): at for pid, at in rows if pid is not None})
    return last

"""A practitioner's referral numbers for admins: acceptance rate, time to first answer, completion rate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select

from directory.extensions import db
from directory.referrals.models import Referral, ReferralEvent

ANSWERS = frozenset({"accepted", "declined"})


@dataclass(frozen=True)
class PractitionerNumbers:
    """How a practitioner handles referrals; rates are None until there is something to divide by."""

    received: int
    accepted: int
    declined: int
    expired: int
    completed: int
    acceptance_rate: float | None  # accepted / (accepted + declined + expired): no answer counts as a no
    median_first_answer: timedelta | None  # sent -> first accept or decline
    completion_rate: float | None  # completed / accepted


def practitioner_numbers(practitioner_id: int) -> PractitionerNumbers:
    """Return the referral numbers of one practitioner, from the events (the history, not the current state)."""
    query = (select(ReferralEvent.referral_id, ReferralEvent.to_state, ReferralEvent.occurred_at)
             .join(Referral, Referral.id == ReferralEvent.referral_id)
             .where(Referral.practitioner_id == practitioner_id).order_by(ReferralEvent.id))
    return numbers_from_events((row.referral_id, row.to_state, row.occurred_at) for row in db.session.execute(query))


def numbers_from_events(events: Iterable[tuple[int, str, datetime]]) -> PractitionerNumbers:
    """Return the numbers for (referral id, state reached, when) events in the order they happened. Pure."""
    reached: dict[int, dict[str, datetime]] = {}
    for referral_id, state, at in events:
        reached.setdefault(referral_id, {}).setdefault(state, at)
    count = {state: sum(state in states for states in reached.values())
             for state in ("accepted", "declined", "expired", "completed")}
    waits = [min(at for state, at in states.items() if state in ANSWERS) - states["sent"]
             for states in reached.values() if "sent" in states and ANSWERS & states.keys()]
    decided = count["accepted"] + count["declined"] + count["expired"]
    return PractitionerNumbers(
        received=sum("sent" in states for states in reached.values()), **count,
        acceptance_rate=count["accepted"] / decided if decided else None,
        median_first_answer=timedelta(seconds=median(w.total_seconds() for w in waits)) if waits else None,
        completion_rate=count["completed"] / count["accepted"] if count["accepted"] else None,
    )

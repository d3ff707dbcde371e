"""A practitioner's referral numbers for admins: acceptance rate, time to first answer, completion rate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from statistics import median

from sqlalchemy import select

from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
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


@dataclass(frozen=True)
class NumbersRow:
    """One line of the admin table: a practitioner who received referrals, and their numbers."""

    practitioner_id: int
    name: str
    numbers: PractitionerNumbers


def numbers_by_practitioner() -> dict[int, PractitionerNumbers]:
    """Return the numbers of every practitioner who received a referral, from one query over the events."""
    query = (select(Referral.practitioner_id, ReferralEvent.referral_id, ReferralEvent.to_state,
                    ReferralEvent.occurred_at)
             .join(Referral, Referral.id == ReferralEvent.referral_id)
             .order_by(Referral.practitioner_id, ReferralEvent.id))
    rows = db.session.execute(query)
    return {practitioner_id: numbers_from_events((row.referral_id, row.to_state, row.occurred_at) for row in group)
            for practitioner_id, group in groupby(rows, key=lambda row: row.practitioner_id)}


def numbers_table(sort: str | None = None) -> list[NumbersRow]:
    """Return the admin table's rows sorted by ``sort`` (one of SORTS), in two queries whatever the size."""
    key = sort_key(sort)
    numbers = numbers_by_practitioner()
    names = {p.id: p.display_name for p in db.session.scalars(select(Practitioner).where(Practitioner.id.in_(numbers)))}
    return sort_rows([NumbersRow(pid, names.get(pid, f"#{pid}"), n) for pid, n in numbers.items()], key)


# Each column sorts its useful way round: most referrals, highest rates and fastest answers first.
SORTS: dict[str, tuple[str, Callable[[NumbersRow], object], bool]] = {
    "name": ("Practitioner", lambda row: row.name.casefold(), False),
    "received": ("Referrals", lambda row: row.numbers.received, True),
    "acceptance": ("Acceptance rate", lambda row: row.numbers.acceptance_rate, True),
    "first_answer": ("Median time to first answer", lambda row: row.numbers.median_first_answer, False),
    "completion": ("Completion rate", lambda row: row.numbers.completion_rate, True),
}
DEFAULT_SORT = "received"


def sort_key(sort: str | None) -> str:
    """Return a known sort column (the default when none is given), refusing any other value."""
    if not sort:
        return DEFAULT_SORT
    if sort not in SORTS:
        raise InvalidParameter(f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}.", field="sort")
    return sort


def sort_rows(rows: list[NumbersRow], sort: str) -> list[NumbersRow]:
    """Return ``rows`` sorted by column ``sort``; rows without the number (nothing to divide by) go last. Pure."""
    _, value, descending = SORTS[sort]
    known = [row for row in rows if value(row) is not None]
    unknown = [row for row in rows if value(row) is None]
    by_name = sorted(known, key=lambda row: row.name.casefold())  # ties read alphabetically
    return sorted(by_name, key=value, reverse=descending) + sorted(unknown, key=lambda row: row.name.casefold())  # type: ignore[arg-type]


def duration_label(wait: timedelta | None) -> str:
    """Return a wait as the table shows it: minutes, hours or days, or a dash when there is none."""
    if wait is None:
        return "\u2014"
    hours = wait.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"

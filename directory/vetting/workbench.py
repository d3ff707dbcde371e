"""The admin's verification workbench: every open queue item with its due date, filters, counts and assignment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from directory.accounts.audit import record_audit
from directory.accounts.models import PractitionerClaim, User
from directory.clock import today as clock_today
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.location_service import unplaced_locations
from directory.practitioners.models import Location, Practitioner
from directory.vetting.due import DueItem, due_items
from directory.vetting.facts import load_facts
from directory.vetting.models import Credential
from directory.vetting.policy import current_policy
from directory.vetting.queue import broken_chain_items, item_label
from directory.vetting.review_signals import open_signals, signal_review_days
from directory.vetting.services import get_practitioner, runnable_sources
from directory.vetting.sources import registry
from directory.vetting.sources.review_signals import REVIEW_SIGNAL
from directory.vetting.status import STATUSES
from directory.vetting.workbench_models import VettingAssignment
from search.text import fold

DEFAULT_CLAIM_REVIEW_DAYS = 5
DUE_THIS_WEEK_DAYS = 7
# Items an admin decides rather than checks; "review" in a filter means any of them.
DECISION_KINDS = ("name_match", "suspension", "claim", "signal")
ITEM_KINDS = {
    "automated": "Automated check",
    "manual": "Manual check",
    "name_match": "Name-match review",
    "suspension": "Suspension review",
    "claim": "Profile claim",
    "signal": "Adverse-event signal",
    "location": "Unplaced address",
    "chain": "Broken history",
    "review": "Any decision (name match, suspension, claim, adverse-event signal)",
}


# --- which sources exist and apply: the source registry answers


def known_sources() -> tuple[str, ...]:
    """Return every check source code, automated first."""
    return tuple(s.code for s in (*registry.automated(), *registry.manual()))


def is_known_source(code: str) -> bool:
    """Tell whether ``code`` names a check source."""
    return code in registry.codes()


def source_label(code: str) -> str:
    """Return a source's name in words."""
    return item_label(code)


def automated_sources_for(practitioner: Practitioner) -> tuple[str, ...]:
    """Return the automated sources that apply to a practitioner.

    A source that confirms a kind of credential runs only when one is on file (the NPI column counts
    as an NPI); a screen of the person (the exclusion lists) always runs.
    """
    kinds = set(db.session.scalars(select(Credential.kind).where(
        Credential.practitioner_id == practitioner.id, Credential.withdrawn_at.is_(None))))
    if (practitioner.npi or "").strip():
        kinds.add("npi")
    return tuple(s.code for s in runnable_sources() if not s.credential_kinds or kinds & set(s.credential_kinds))


# --- queue items


@dataclass(frozen=True)
class WorkItem:
    """One open item: what kind, which source, why, since when, and the day it is due."""

    kind: str
    source: str
    reason: str
    since: date
    due_on: date
    credential_kind: str = ""
    claim_id: int | None = None
    location: tuple[str, int] | None = None  # (listing slug, location id) of an address to place

    @property
    def automated(self) -> bool:
        """Tell whether a run of the automated checks settles this item."""
        return self.kind == "automated"

    @property
    def decision(self) -> bool:
        """Tell whether an admin decides this item (a name match, suspension, claim or signal) rather than checks."""
        return self.kind in DECISION_KINDS


@dataclass(frozen=True)
class WorkEntry:
    """One practitioner in the workbench: who, their status, their open items, who works them, where they are."""

    practitioner_id: int
    name: str
    sort_name: str
    status: str
    items: tuple[WorkItem, ...]
    assignee_id: int | None = None
    assignee_name: str = ""
    jurisdictions: frozenset[str] = field(default_factory=frozenset)

    @property
    def due_on(self) -> date:
        """Return the earliest due date of the open items."""
        return min(item.due_on for item in self.items)

    @property
    def since(self) -> date:
        """Return the day the oldest item has been waiting since."""
        return min(item.since for item in self.items)


def work_item(item: DueItem) -> WorkItem:
    """Return a due item with its kind and due date (a check is due from the day it became due)."""
    if item.source == "decision":
        kind = "suspension"
    elif item.source == "chain":
        kind = "chain"
    elif item.source == "exclusion_list" and item.due_by is not None:
        kind = "name_match"
    else:
        kind = "automated" if item.automated else "manual"
    return WorkItem(kind, item.source, item.reason, item.since, item.due_by or item.since, item.credential_kind)


def claim_review_days() -> int:
    """Return how many days an admin has to decide a profile claim (CLAIM_REVIEW_DAYS, 5 by default)."""
    return int(current_app.config.get("CLAIM_REVIEW_DAYS", DEFAULT_CLAIM_REVIEW_DAYS))


def claim_items() -> dict[int, list[WorkItem]]:
    """Return a queue item for every pending profile claim, due CLAIM_REVIEW_DAYS after it was made."""
    days, items = claim_review_days(), defaultdict(list)
    rows = db.session.execute(select(PractitionerClaim.id, PractitionerClaim.practitioner_id,
                                     PractitionerClaim.requested_at, User.email)
                              .join(User, User.id == PractitionerClaim.user_id)
                              .where(PractitionerClaim.decision == "pending").order_by(PractitionerClaim.id))
    for claim_id, pid, requested_at, email in rows:
        since = requested_at.date()
        items[pid].append(WorkItem("claim", "claim", f"{email} asks to own this profile", since,
                                   since + timedelta(days=days), claim_id=claim_id))
    return items


def signal_items() -> dict[int, list[WorkItem]]:
    """Return one item per practitioner whose reviews hold adverse-event signals no admin has looked at yet."""
    days, items = signal_review_days(), {}
    for pid, signals in open_signals().items():
        since = signals[0].occurred_at.date()
        terms = sorted({term for s in signals for term in s.terms})
        reviews = ", ".join(f"#{s.review_id}" for s in signals)
        items[pid] = [WorkItem("signal", REVIEW_SIGNAL.code, f"review {reviews} mentions {', '.join(terms)}",
                               since, since + timedelta(days=days))]
    return items


def open_items(today: date) -> dict[int, list[WorkItem]]:
    """Return every practitioner's open items: broken chains, due checks and decisions, pending claims."""
    policy, broken = current_policy(), broken_chain_items()
    items: dict[int, list[WorkItem]] = defaultdict(list)
    for pid, facts in load_facts().items():
        items[pid] += [work_item(i) for i in broken.get(pid, []) + due_items(facts, today, policy)]
    for pid, claims in claim_items().items():
        items[pid] += claims
    for pid, signals in signal_items().items():
        items[pid] += signals
    for pid, location_id, slug, address, since in unplaced_locations():
        items[pid].append(WorkItem("location", "location", f"the gazetteer could not place {address}", since,
                                   since + timedelta(days=claim_review_days()), location=(slug, location_id)))
    return {pid: sorted(found, key=lambda i: (i.due_on, i.since, i.kind)) for pid, found in items.items() if found}


def work_entries(today: date) -> list[WorkEntry]:
    """Return every practitioner with open items, with their assignee and jurisdictions, soonest due first."""
    items = open_items(today)
    ids = sorted(items)
    people = {p.id: p for p in _in_chunks(ids, lambda chunk: select(Practitioner).where(Practitioner.id.in_(chunk)))}
    assigned = {a.practitioner_id: a for a in _in_chunks(ids, lambda chunk: select(VettingAssignment)
                                                         .where(VettingAssignment.practitioner_id.in_(chunk)))}
    names = _admin_names({a.assignee_id for a in assigned.values()})
    places = jurisdictions(ids)
    entries = []
    for pid in ids:
        person, assignment = people.get(pid), assigned.get(pid)
        if person is None:
            continue
        assignee = assignment.assignee_id if assignment else None
        entries.append(WorkEntry(pid, person.display_name, fold(f"{person.last_name} {person.first_name}"),
                                 person.vetting_status, tuple(items[pid]), assignee,
                                 names.get(assignee, "") if assignee else "", places.get(pid, frozenset())))
    return sorted(entries, key=lambda e: (e.due_on, e.since, e.practitioner_id))


def _in_chunks(ids: list[int], statement: Any) -> Iterable[Any]:
    """Yield the rows of ``statement(chunk)`` for the ids, 500 at a time (the bound-parameter limit)."""
    for start in range(0, len(ids), 500):
        yield from db.session.scalars(statement(ids[start:start + 500]))


def jurisdictions(ids: list[int]) -> dict[int, frozenset[str]]:
    """Return each practitioner's jurisdictions, folded: credential jurisdictions, location states and countries."""
    found: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for owner, value in db.session.execute(select(Credential.practitioner_id, Credential.jurisdiction).where(
                Credential.practitioner_id.in_(chunk), Credential.withdrawn_at.is_(None))):
            if owner is not None:
                found[owner] |= _codes(value)
        for pid, region, country in db.session.execute(select(Location.practitioner_id, Location.region,
                                                              Location.country).where(Location.practitioner_id.in_(chunk))):
            found[pid] |= _codes(region) | _codes(country)
            if region and country:
                found[pid].add(fold(f"{country}-{region}").strip())
    return {pid: frozenset(codes) for pid, codes in found.items()}


def _codes(value: str | None) -> set[str]:
    """Return a jurisdiction as matchable codes: "US-MA" matches "US-MA" and "MA"."""
    code = fold(value or "").strip()
    if not code:
        return set()
    return {code, code.rsplit("-", 1)[-1]} if "-" in code else {code}


def _admin_names(ids: set[int]) -> dict[int, str]:
    """Return how each admin is named on the page."""
    if not ids:
        return {}
    return {u.id: u.full_name or u.email for u in db.session.scalars(select(User).where(User.id.in_(sorted(ids))))}


def active_admins() -> list[User]:
    """Return the admins who can be assigned queue items, by name."""
    return list(db.session.scalars(select(User).where(User.role == "admin", User.state == "active")
                                   .order_by(User.full_name, User.email)))


# --- filters and counts


@dataclass(frozen=True)
class QueueFilter:
    """What the admin asked to see; empty strings and None mean "any"."""

    status: str = ""
    kind: str = ""
    source: str = ""
    jurisdiction: str = ""
    due: str = ""  # "", "overdue", "within" (within_days), "before" (before)
    within_days: int | None = None
    before: date | None = None
    assigned: str = ""  # "", "mine", "unassigned", or an admin's id
    sort: str = "due"


def matches(entry: WorkEntry, wanted: QueueFilter, admin_id: int, today: date) -> bool:
    """Tell whether an entry passes every filter."""
    items = [i for i in entry.items if _item_matches(i, wanted)]
    return bool(items) and (not wanted.status or entry.status == wanted.status) \
        and (not wanted.jurisdiction or fold(wanted.jurisdiction).strip() in entry.jurisdictions) \
        and _due_matches(min(i.due_on for i in items), wanted, today) and _assigned_matches(entry, wanted, admin_id)


def _item_matches(item: WorkItem, wanted: QueueFilter) -> bool:
    """Tell whether one item is of the kind and source asked for."""
    kind_ok = not wanted.kind or item.kind == wanted.kind or (wanted.kind == "review" and item.kind in DECISION_KINDS)
    return kind_ok and (not wanted.source or item.source == wanted.source)


def _due_matches(due_on: date, wanted: QueueFilter, today: date) -> bool:
    """Tell whether a due date is inside the due filter (within N days counts from today, overdue excluded)."""
    if wanted.due == "overdue":
        return due_on < today
    if wanted.due == "within" and wanted.within_days is not None:
        return today <= due_on <= today + timedelta(days=wanted.within_days)
    if wanted.due == "before" and wanted.before is not None:
        return due_on < wanted.before
    return True


def _assigned_matches(entry: WorkEntry, wanted: QueueFilter, admin_id: int) -> bool:
    """Tell whether the entry's assignee is the one asked for."""
    if wanted.assigned == "mine":
        return entry.assignee_id == admin_id
    if wanted.assigned == "unassigned":
        return entry.assignee_id is None
    return not wanted.assigned or str(entry.assignee_id) == wanted.assigned


def filtered(entries: list[WorkEntry], wanted: QueueFilter, admin_id: int, today: date) -> list[WorkEntry]:
    """Return the entries that pass the filter, in the order asked for (due date, or name)."""
    kept = [e for e in entries if matches(e, wanted, admin_id, today)]
    if wanted.sort == "name":
        return sorted(kept, key=lambda e: (e.sort_name, e.practitioner_id))
    return kept


@dataclass(frozen=True)
class Count:
    """One number at the top of the queue, and the filter its link applies."""

    label: str
    count: int
    args: dict[str, str]


def counts(entries: list[WorkEntry], admin_id: int, today: date) -> tuple[list[Count], list[Count]]:
    """Return the work counts (overdue, due this week, waiting for a decision, mine, unassigned) and per status."""
    def number(**args: Any) -> int:
        return len(filtered(entries, QueueFilter(**args), admin_id, today))

    week = {"due": "within", "within_days": str(DUE_THIS_WEEK_DAYS)}
    work = [Count("Overdue", number(due="overdue"), {"due": "overdue"}),
            Count("Due this week", number(due="within", within_days=DUE_THIS_WEEK_DAYS), week),
            Count("Waiting for a decision", number(kind="review"), {"kind": "review"}),
            Count("Assigned to me", number(assigned="mine"), {"assigned": "mine"}),
            Count("Unassigned", number(assigned="unassigned"), {"assigned": "unassigned"})]
    statuses = [Count(status.capitalize(), number(status=status), {"status": status}) for status in STATUSES]
    return work, [c for c in statuses if c.count]


@dataclass(frozen=True)
class WorkbenchPage:
    """One page of the workbench: the entries shown, how many matched, and the counts."""

    entries: list[WorkEntry]
    total: int
    work_counts: list[Count]
    status_counts: list[Count]
    today: date


def workbench_page(wanted: QueueFilter, admin: User, page: int, per_page: int) -> WorkbenchPage:
    """Return the page of the workbench the admin asked for."""
    today = clock_today()
    entries = work_entries(today)
    kept = filtered(entries, wanted, admin.id, today)
    work, statuses = counts(entries, admin.id, today)
    return WorkbenchPage(kept[(page - 1) * per_page: page * per_page], len(kept), work, statuses, today)


def matching_ids(wanted: QueueFilter, admin: User) -> list[int]:
    """Return the ids of every practitioner the filter matches, in the order the queue lists them."""
    today = clock_today()
    return [e.practitioner_id for e in filtered(work_entries(today), wanted, admin.id, today)]


# --- assignment


def assign(practitioner_id: int, assignee_id: int | None, admin: User) -> VettingAssignment | None:
    """Assign a practitioner's open items to an admin (None: to nobody), and audit the change."""
    practitioner = get_practitioner(practitioner_id)
    current = db.session.scalar(select(VettingAssignment).where(VettingAssignment.practitioner_id == practitioner.id))
    old = current.assignee_id if current else None
    if assignee_id is None:
        if current is not None:
            db.session.delete(current)
            record_audit("vetting.unassigned", actor_id=admin.id, subject_type="practitioner",
                         subject_id=practitioner.id, old=old)
        return None
    assignee = db.session.get(User, assignee_id)
    if assignee is None or assignee.role != "admin" or assignee.state != "active":
        raise InvalidParameter("Queue items can only be assigned to an active admin.", field="assignee")
    if old == assignee_id:
        return current
    assignment = current or _new_assignment(practitioner.id, assignee_id, admin.id)
    assignment.assignee_id, assignment.assigned_by_id, assignment.assigned_at = assignee_id, admin.id, utcnow()
    record_audit("vetting.assigned", actor_id=admin.id, subject_type="practitioner", subject_id=practitioner.id,
                 old=old, new=assignee_id)
    db.session.flush()
    return assignment


def _new_assignment(practitioner_id: int, assignee_id: int, admin_id: int) -> VettingAssignment:
    """Add the practitioner's assignment row; when another admin added it a moment ago, take theirs over."""
    assignment = VettingAssignment(practitioner_id=practitioner_id, assignee_id=assignee_id, assigned_by_id=admin_id)
    try:
        with db.session.begin_nested():
            db.session.add(assignment)
    except IntegrityError:
        found = db.session.scalar(select(VettingAssignment).where(VettingAssignment.practitioner_id == practitioner_id))
        if found is None:
            raise
        return found
    return assignment

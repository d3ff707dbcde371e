"""Match practitioners against the imported exclusion list, and let admins review the hits.

Matching follows OIG's guidance: an NPI match is strong (the practitioner is suspended pending
an admin's review); a name match alone is not sufficient, so it only asks an admin to look,
and a different date of birth or a different listed NPI rules a name match out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select, tuple_

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import today as clock_today
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.models import (
    Credential,
    Exclusion,
    ExclusionImport,
    ExclusionName,
    FormerName,
    VerificationCheck,
    VettingIdentity,
)
from directory.vetting.names import name_pairs
from directory.vetting.notices import email_owner
from directory.vetting.services import decide, latest_decision, recompute_status, record_check
from directory.vetting.sources.list_import import latest_import

RECORD_FIELDS = ("line_number", "last_name", "first_name", "middle_name", "business_name", "general", "specialty",
                 "npi", "date_of_birth", "address", "city", "state", "zip", "exclusion_type", "excluded_on",
                 "reinstated_on", "record_key")
REVIEW_DECISIONS = ("clear", "confirm")


@dataclass(frozen=True)
class Identity:
    """What the practitioner is matched by: NPIs, name keys and the states they practise in."""

    practitioner_id: int
    npis: frozenset[str]
    name_keys: frozenset[tuple[str, str]]
    states: frozenset[str]


@dataclass
class MatchResult:
    """Hits (matches to review) and rows that looked similar but were ruled out, with why."""

    hits: list[dict[str, Any]] = field(default_factory=list)
    ruled_out: list[dict[str, Any]] = field(default_factory=list)
    date_of_birth_known: bool | None = None  # None: not looked up, as nothing looked similar

    @property
    def outcome(self) -> str:
        """Return fail on an NPI hit or one an admin confirmed, needs_review on a name hit, pass otherwise."""
        matches = {h["match"] for h in self.hits}
        if "npi" in matches or any(h.get("confirmed") for h in self.hits):
            return "fail"
        return "needs_review" if matches else "pass"


def identity_of(practitioner: Practitioner) -> Identity:
    """Return the identifiers the practitioner is matched by."""
    credentials = db.session.execute(select(Credential.kind, Credential.number, Credential.jurisdiction).where(
        Credential.practitioner_id == practitioner.id, Credential.withdrawn_at.is_(None))).all()
    npis = {n.strip() for k, n, _ in credentials if k == "npi"} | ({practitioner.npi} if practitioner.npi else set())
    states = {loc.region.strip().upper() for loc in practitioner.locations if loc.country == "US" and loc.region}
    states |= {j.strip().upper() for k, _, j in credentials if k == "state_licence" and len(j.strip()) == 2}
    keys = name_pairs(practitioner.first_name, [practitioner.last_name])
    for first, last in db.session.execute(select(FormerName.first_name, FormerName.last_name)
                                          .where(FormerName.practitioner_id == practitioner.id)):
        keys |= name_pairs(first or practitioner.first_name, [last])
    return Identity(practitioner.id, frozenset(npis), frozenset(keys), frozenset(states))


def current_list(list_code: str = "leie") -> ExclusionImport | None:
    """Return the import record of the list in force (LEIE unless told), if any."""
    return latest_import(list_code)


def listed_rows(list_code: str = "leie") -> Select[Exclusion]:
    """Return a query for one list's rows as last imported (each import replaces only its own list)."""
    return select(Exclusion).where(Exclusion.import_id.in_(
        select(ExclusionImport.id).where(ExclusionImport.list_code == list_code)))


def records_in_force(list_code: str, today: date) -> Select[Exclusion]:
    """Return a query for one list's rows that count on ``today`` (not reinstated, not terminated by then)."""
    return listed_rows(list_code).where(or_(Exclusion.reinstated_on.is_(None), Exclusion.reinstated_on > today))


def _record(row: Exclusion) -> dict[str, Any]:
    """Return the listed row as evidence."""
    return {name: (str(v) if isinstance(v, date) else v) for name in RECORD_FIELDS if (v := getattr(row, name)) not in ("", None)}


def find_matches(identity: Identity, today: date, list_code: str = "leie") -> MatchResult:
    """Return the list's rows matching ``identity``: NPI hits, name hits, and the ruled-out look-alikes."""
    candidates = _candidates(identity, list_code)
    result = MatchResult()
    if not candidates:
        return result
    # Looked up only when something looks similar: most practitioners match nothing.
    cleared, confirmed = decided_keys(identity.practitioner_id)
    dob = db.session.scalar(select(VettingIdentity.date_of_birth)
                            .where(VettingIdentity.practitioner_id == identity.practitioner_id))
    result.date_of_birth_known = dob is not None
    for row, match in candidates:
        reason = (_npi_reason(row, today, cleared, confirmed) if match == "npi"
                  else _name_reason(row, identity, dob, today, cleared, confirmed))
        entry: dict[str, Any] = {"match": match, "record_key": row.record_key, "record": _record(row)}
        if reason:
            result.ruled_out.append({**entry, "reason": reason})
            continue
        if dob and row.date_of_birth:
            entry["date_of_birth_matches"] = True
        if row.record_key in confirmed:
            entry["confirmed"] = True  # an admin already decided this is the practitioner
        result.hits.append(entry)
    return result


def _candidates(identity: Identity, list_code: str) -> list[tuple[Exclusion, str]]:
    """Return one list's rows with one of the NPIs, or a name key listed in one of the states."""
    found: dict[int, tuple[Exclusion, str]] = {}
    if identity.npis:
        for row in db.session.scalars(listed_rows(list_code).where(Exclusion.npi.in_(identity.npis))):
            found[row.id] = (row, "npi")
    if identity.name_keys and identity.states:
        by_name = db.session.scalars(listed_rows(list_code).join(ExclusionName).where(
            tuple_(ExclusionName.last_key, ExclusionName.first_key).in_(sorted(identity.name_keys))).distinct())
        for row in by_name:
            if row.id not in found and (not row.state or row.state in identity.states):
                found[row.id] = (row, "name")
    return list(found.values())


def _npi_reason(row: Exclusion, today: date, cleared: set[str], confirmed: set[str]) -> str | None:
    """Return why an NPI match does not count, or None when it does."""
    if row.reinstated_on is not None and row.reinstated_on <= today:
        return f"reinstated on {row.reinstated_on}"
    if row.record_key in cleared and row.record_key not in confirmed:
        return "cleared by an admin's review"
    return None


def _name_reason(row: Exclusion, identity: Identity, dob: date | None, today: date, cleared: set[str],
                 confirmed: set[str]) -> str | None:
    """Return why a name match does not count, or None when it does."""
    if row.npi and identity.npis and row.npi not in identity.npis:
        return "the listed person has a different NPI"
    if dob and row.date_of_birth and dob != row.date_of_birth:
        return "the listed person has a different date of birth"
    return _npi_reason(row, today, cleared, confirmed)


def decided_keys(practitioner_id: int) -> tuple[set[str], set[str]]:
    """Return the listed records admins cleared ("not this person") and confirmed, from the chain."""
    cleared: set[str] = set()
    confirmed: set[str] = set()
    rows = db.session.scalars(select(VerificationCheck.evidence).where(
        VerificationCheck.practitioner_id == practitioner_id, VerificationCheck.source == "exclusion_list",
        VerificationCheck.performed_by_id.is_not(None)).order_by(VerificationCheck.sequence))
    for text in rows:
        evidence = json.loads(text)
        keys = set(evidence.get("cleared_record_keys", []))
        cleared |= keys
        confirmed -= keys
        keys = set(evidence.get("confirmed_record_keys", []))
        confirmed |= keys
        cleared -= keys
    return cleared, confirmed


def check_exclusions(practitioner: Practitioner, *, performed_by: User | None = None, recompute: bool = True,
                     listing: ExclusionImport | None = None) -> VerificationCheck:
    """Match the practitioner against the current exclusion list and record the run, hit or not."""
    listing = listing or current_list()
    if listing is None:
        return record_check(practitioner, source="exclusion_list", outcome="error", performed_by=performed_by,
                            note="no exclusion list has been imported (flask exclusions import FILE)",
                            evidence={"error": "no exclusion list imported"}, recompute=recompute)
    identity = identity_of(practitioner)
    result = find_matches(identity, clock_today())
    evidence = {"list": {"import_id": listing.id, "file_name": listing.file_name, "file_date": str(listing.file_date),
                         "sha256": listing.sha256, "rows": listing.rows_imported},
                "searched": {"npis": sorted(identity.npis), "states": sorted(identity.states),
                             "names": [list(k) for k in sorted(identity.name_keys)],
                             "date_of_birth_known": result.date_of_birth_known},
                "hits": result.hits, "ruled_out": result.ruled_out}
    return record_check(practitioner, source="exclusion_list", outcome=result.outcome, performed_by=performed_by,
                        reference=listing.reference,
                        note=_note(result), evidence=evidence, recompute=recompute)


def _note(result: MatchResult) -> str:
    """Return a one-line summary of a match run."""
    if result.outcome == "fail" and all(h.get("confirmed") for h in result.hits):
        return "still on the exclusion list, as an admin confirmed before"
    if result.outcome == "fail":
        return "the practitioner's NPI is on the exclusion list; suspended pending an admin's review"
    if result.outcome == "needs_review":
        return f"possible name match ({len(result.hits)}); an admin must review it (a name alone is not sufficient)"
    return "no match on the exclusion list"


@dataclass(frozen=True)
class OpenReview:
    """The latest exclusion-list result still awaiting an admin: its outcome and hits (maybe none left)."""

    check_id: int
    outcome: str
    hits: list[dict[str, Any]]


def open_review(practitioner_id: int) -> OpenReview | None:
    """Return the latest exclusion-list match when no admin has decided on it yet.

    It stays open even when its hits are gone from the evidence or the list, so the admin always
    has a form to decide with; hits an admin already confirmed do not reopen it.
    """
    latest = db.session.execute(select(VerificationCheck.id, VerificationCheck.outcome, VerificationCheck.evidence)
                                .where(VerificationCheck.practitioner_id == practitioner_id,
                                       VerificationCheck.source == "exclusion_list",
                                       VerificationCheck.outcome.in_(("pass", "fail", "needs_review")))
                                .order_by(VerificationCheck.sequence.desc()).limit(1)).first()
    if latest is None or latest.outcome == "pass":
        return None
    evidence = json.loads(latest.evidence)
    evidence = evidence if isinstance(evidence, dict) else {}
    hits = [h for h in evidence.get("hits", []) if isinstance(h, dict)]
    if "review" in evidence or (hits and all(h.get("confirmed") for h in hits)):
        return None
    return OpenReview(latest.id, latest.outcome, hits)


def open_hits(practitioner_id: int) -> list[dict[str, Any]]:
    """Return the hits of the latest exclusion check when they still await a decision."""
    review = open_review(practitioner_id)
    return review.hits if review else []


def clear_open_hits(practitioner: Practitioner, admin: User, reason: str, decision: str,
                    recompute: bool = True) -> int | None:
    """Record an admin's decision on the open match (clear: not this person; confirm: excluded).

    Return how many listed records it covered, or None when no match awaited a decision.
    """
    review = open_review(practitioner.id)
    if review is None:
        return None
    keys = sorted({h["record_key"] for h in review.hits if h.get("record_key")})
    cleared = decision == "clear"
    evidence = {"review": "cleared" if cleared else "confirmed", "reason": reason, "hits": review.hits,
                "reviewed_check_id": review.check_id,
                "cleared_record_keys" if cleared else "confirmed_record_keys": keys}
    listing = current_list()
    record_check(practitioner, source="exclusion_list", outcome="pass" if cleared else "fail", performed_by=admin,
                 reference=listing.reference if listing else "",
                 note=f"{'cleared' if cleared else 'confirmed'} by an admin: {reason}", evidence=evidence,
                 recompute=recompute)
    return len(keys)


def review_exclusion(practitioner: Practitioner, admin: User, decision: str, reason: str) -> int:
    """Decide on an exclusion-list match: clear it (not this person) or confirm it (suspended).

    Either way the decision is a row in the history. Confirming suspends through the decision
    service; clearing lifts a suspension only when the match itself caused it automatically.
    """
    if decision not in REVIEW_DECISIONS:
        raise InvalidParameter("Choose clear or confirm.", field="decision")
    reason = reason.strip()
    if not reason:
        raise InvalidParameter("Give the reason; it is kept with the decision.", field="reason")
    previous = practitioner.vetting_status
    count = clear_open_hits(practitioner, admin, reason, decision, recompute=False)
    if count is None:
        raise InvalidParameter("No exclusion-list hit awaits review for this practitioner.", field="decision")
    current = latest_decision(practitioner.id)
    suspended = current is not None and current.action == "suspend"
    automatic = suspended and current is not None and current.decided_by_id is None
    if decision == "confirm" and (automatic or not suspended):
        decide(practitioner, "suspend", reason, admin=admin, category="exclusion_list")
    elif decision == "clear" and automatic:
        decide(practitioner, "reinstate", reason, admin=admin, category="exclusion_ruled_out")
    recompute_status(practitioner, automatic=False)
    record_audit("vetting.exclusion_reviewed", actor_id=admin.id, subject_type="practitioner",
                 subject_id=practitioner.id, decision=decision, reason=reason, records=count,
                 status=practitioner.vetting_status)
    email_owner(practitioner, previous)
    return count

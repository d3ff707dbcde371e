"""The OIG exclusion list (LEIE) as a source: match practitioners against the imported list. Reads only.

Matching follows OIG's guidance: an NPI match is strong (the practitioner is suspended pending
an admin's review); a name match alone is not sufficient, so it only asks an admin to look,
and a different date of birth or a different listed NPI rules a name match out. What admins
decide on a match is recorded by ``vetting.decisions``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select, tuple_

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
from directory.vetting.sources.base import AUTOMATED_WINDOW_DAYS, Finding, RunContext, SourceInfo
from directory.vetting.sources.list_import import latest_import

CODE = "exclusion_list"
RECORD_FIELDS = ("line_number", "last_name", "first_name", "middle_name", "business_name", "general", "specialty",
                 "npi", "date_of_birth", "address", "city", "state", "zip", "exclusion_type", "excluded_on",
                 "reinstated_on", "record_key")
# How a passed end date reads: the OIG reinstates; a SAM record's termination date only ends it.
ENDED_WORDS = {"leie": "reinstated on", "sam": "exclusion ended on"}


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


def find_matches(identity: Identity, today: date, list_code: str = "leie", source_code: str = CODE) -> MatchResult:
    """Return the list's rows matching ``identity``: NPI hits, name hits, and the ruled-out look-alikes.

    ``source_code`` names the source whose admin decisions ("not this person") apply to this list.
    """
    candidates = _candidates(identity, list_code)
    result = MatchResult()
    if not candidates:
        return result
    # Looked up only when something looks similar: most practitioners match nothing.
    cleared, confirmed = decided_keys(identity.practitioner_id, source_code)
    dob = db.session.scalar(select(VettingIdentity.date_of_birth)
                            .where(VettingIdentity.practitioner_id == identity.practitioner_id))
    result.date_of_birth_known = dob is not None
    for row, match in candidates:
        reason = (_npi_reason(row, today, cleared, confirmed, list_code) if match == "npi"
                  else _name_reason(row, identity, dob, today, cleared, confirmed, list_code))
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


def _npi_reason(row: Exclusion, today: date, cleared: set[str], confirmed: set[str],
                list_code: str = "leie") -> str | None:
    """Return why an NPI match does not count, or None when it does."""
    if row.reinstated_on is not None and row.reinstated_on <= today:
        return f"{ENDED_WORDS.get(list_code, 'reinstated on')} {row.reinstated_on}"
    if row.record_key in cleared and row.record_key not in confirmed:
        return "cleared by an admin's review"
    return None


def _name_reason(row: Exclusion, identity: Identity, dob: date | None, today: date, cleared: set[str],
                 confirmed: set[str], list_code: str = "leie") -> str | None:
    """Return why a name match does not count, or None when it does."""
    if row.npi and identity.npis and row.npi not in identity.npis:
        return "the listed person has a different NPI"
    if dob and row.date_of_birth and dob != row.date_of_birth:
        return "the listed person has a different date of birth"
    return _npi_reason(row, today, cleared, confirmed, list_code)


def decided_keys(practitioner_id: int, source_code: str = CODE) -> tuple[set[str], set[str]]:
    """Return the listed records admins cleared ("not this person") and confirmed for one source, from the chain."""
    cleared: set[str] = set()
    confirmed: set[str] = set()
    rows = db.session.scalars(select(VerificationCheck.evidence).where(
        VerificationCheck.practitioner_id == practitioner_id, VerificationCheck.source == source_code,
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
    """The latest result of one exclusion list still awaiting an admin: its source, outcome and hits (maybe none)."""

    check_id: int
    outcome: str
    hits: list[dict[str, Any]]
    source: str = CODE


def open_review(practitioner_id: int, sources: Iterable[str] = (CODE,)) -> OpenReview | None:
    """Return the oldest exclusion-list match (of ``sources``) no admin has decided on yet.

    It stays open even when its hits are gone from the evidence or the list, so the admin always
    has a form to decide with; hits an admin already confirmed do not reopen it. With two lists
    matched, the admin decides one, then the other.
    """
    reviews = [review for code in sources if (review := _open_review_of(practitioner_id, code))]
    return min(reviews, key=lambda r: r.check_id, default=None)


def _open_review_of(practitioner_id: int, source: str) -> OpenReview | None:
    """Return the latest match of one exclusion source when no admin has decided on it yet."""
    latest = db.session.execute(select(VerificationCheck.id, VerificationCheck.outcome, VerificationCheck.evidence)
                                .where(VerificationCheck.practitioner_id == practitioner_id,
                                       VerificationCheck.source == source,
                                       VerificationCheck.outcome.in_(("pass", "fail", "needs_review")))
                                .order_by(VerificationCheck.sequence.desc()).limit(1)).first()
    if latest is None or latest.outcome == "pass":
        return None
    evidence = json.loads(latest.evidence)
    evidence = evidence if isinstance(evidence, dict) else {}
    hits = [h for h in evidence.get("hits", []) if isinstance(h, dict)]
    if "review" in evidence or (hits and all(h.get("confirmed") for h in hits)):
        return None
    return OpenReview(latest.id, latest.outcome, hits, source)


def open_hits(practitioner_id: int, sources: Iterable[str] = (CODE,)) -> list[dict[str, Any]]:
    """Return the hits of the oldest open exclusion check when they still await a decision."""
    review = open_review(practitioner_id, sources)
    return review.hits if review else []


@dataclass(frozen=True)
class ExclusionListSource(SourceInfo):
    """An imported exclusion list (the LEIE unless told), matched by NPI, then by name and state.

    A name alone only asks an admin. ``list_code`` names the imported list it reads; with
    ``list_optional``, a list never imported is not run at all (the runner skips it and says so).
    """

    list_code: str = "leie"

    def run(self, subject: Practitioner, context: RunContext) -> Finding:
        """Match the practitioner against the list in force and return the run's result, hit or not."""
        listing = context.list_for(self.list_code)
        if listing is None:
            return Finding(self.code, "error", f"no {self.list_name} has been imported "
                           f"(flask exclusions import --source {self.list_code} FILE)",
                           evidence={"error": f"no {self.list_name} imported"})
        identity = identity_of(subject)
        result = find_matches(identity, context.today, self.list_code, self.code)
        evidence = {"list": {"import_id": listing.id, "file_name": listing.file_name,
                             "file_date": str(listing.file_date), "sha256": listing.sha256,
                             "rows": listing.rows_imported},
                    "searched": {"npis": sorted(identity.npis), "states": sorted(identity.states),
                                 "names": [list(k) for k in sorted(identity.name_keys)],
                                 "date_of_birth_known": result.date_of_birth_known},
                    "hits": self.described(result.hits), "ruled_out": self.described(result.ruled_out)}
        return Finding(self.code, result.outcome, _note(result), listing.reference, evidence)

    @property
    def list_name(self) -> str:
        """Return how a message names the list ("exclusion list" for the LEIE, as before)."""
        return "exclusion list"

    def described(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return hits or ruled-out rows as evidence (a list with more published fields adds them here)."""
        return entries


EXCLUSION_LIST = ExclusionListSource(
    code=CODE, label="OIG exclusion list (LEIE)", public_label="the OIG exclusion list",
    history_label="Federal exclusion list (OIG LEIE)", credential_kinds=(), automated=True, exclusion_screen=True,
    person_check_label="Not excluded from federal health programmes",
    # A name-only match proves nothing about this practitioner, so it is not worded as a finding.
    outcome_labels={"needs_review": "No NPI match; a listing with a similar name is being ruled out"},
    window_days=AUTOMATED_WINDOW_DAYS)

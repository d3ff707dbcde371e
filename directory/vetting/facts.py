"""Gather what the status rules need from the database, for one practitioner or thousands at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select

from directory.extensions import reading_connection
from directory.practitioners.models import Location
from directory.vetting.folds import CHUNK, Checks, fold_live, read_folds
from directory.vetting.models import Credential, ExclusionImport, VettingDecision
from directory.vetting.sources import registry
from directory.vetting.status import CredentialFacts, ScreenFacts, VettingFacts

# Combining the lists: a fail on any list suspends, a name match on any list waits for an admin.
WORST_FIRST = ("fail", "needs_review", "pass")


def load_facts(practitioner_ids: Sequence[int] | None = None) -> dict[int, VettingFacts]:
    """Return the vetting facts of the given practitioners (all practitioners when None)."""
    places = _places(practitioner_ids)
    facts = _credential_and_screen_facts(practitioner_ids, places)
    suspended, unreviewed = _suspended(practitioner_ids)
    reinstated = _reinstated(practitioner_ids)
    return {pid: replace(f, suspended=pid in suspended, last_reinstated_on=reinstated.get(pid),
                         suspension_unreviewed_since=unreviewed.get(pid)) for pid, f in facts.items()}


def load_evidence_facts(practitioner_ids: Sequence[int],
                        locations: dict[int, list[tuple[str, str]]]) -> dict[int, VettingFacts]:
    """Return the facts the "checked on" lines read (credentials, checks, lists), from locations already loaded.

    ``locations``: practitioner id -> (country, region) of every location, in id order. A results page needs no
    decisions (suspended listings never reach it), so it skips their two queries and the places query.
    """
    return _credential_and_screen_facts(practitioner_ids, {pid: _place(rows) for pid, rows in locations.items()})


def _credential_and_screen_facts(practitioner_ids: Sequence[int] | None,
                                 places: dict[int, tuple[str, tuple[str, ...]]]) -> dict[int, VettingFacts]:
    """Return the facts from credentials, checks and exclusion lists (no decisions: not suspended, no dates)."""
    credentials = _rows(_CREDENTIALS, practitioner_ids)
    by_credential, exclusion = _fold_checks(practitioner_ids)
    lists = _screens_in_use()
    creds_of: dict[int, list[CredentialFacts]] = defaultdict(list)
    for cred in credentials:
        creds_of[cred.practitioner_id].append(_credential_facts(cred, by_credential.get(cred.id, Checks())))
    ids = practitioner_ids if practitioner_ids is not None else sorted(set(places) | set(creds_of) | set(exclusion))
    return {pid: _facts(pid, places, creds_of, _screens(exclusion.get(pid, {}), lists)) for pid in ids}


def _facts(pid: int, places: dict[int, tuple[str, tuple[str, ...]]], creds_of: dict[int, list[CredentialFacts]],
           screens: tuple[_Screen, ...]) -> VettingFacts:
    """Assemble one practitioner's facts; the exclusion fields combine every list in use."""
    country, regions = places.get(pid, ("", ()))
    lists = [s.facts for s in screens]
    checked = [s.last_check_on for s in lists]
    outcomes = {s.last_outcome for s in lists}
    reviews = [s.name_match_since for s in lists if s.last_outcome == "needs_review" and s.name_match_since]
    return VettingFacts(
        country=country,
        regions=regions,
        credentials=tuple(creds_of.get(pid, ())),
        # The oldest list's check is the one that goes stale first; never checked on one list: never checked.
        last_exclusion_check_on=_oldest(checked),
        last_exclusion_outcome=next((o for o in WORST_FIRST if o in outcomes), None),
        last_exclusion_attempt_on=max((s.last_attempt_on for s in lists if s.last_attempt_on), default=None),
        # A pass on any list keeps monitoring unbroken (a list added later does not restart "verified since").
        exclusion_passed_on=tuple(sorted({d for s in screens for d in s.passes})),
        name_match_since=min(reviews, default=None),
        exclusion_list_newer=any(s.list_newer for s in lists),
        screens=tuple(lists),
    )


def _oldest(days: list[date | None]) -> date | None:
    """Return the earliest day, or None when there is none or one of them is missing."""
    known = [d for d in days if d is not None]
    return min(known) if known and len(known) == len(days) else None


@dataclass(frozen=True)
class _Screen:
    """One exclusion list's folded checks of a practitioner, with the pass dates the combination needs."""

    facts: ScreenFacts
    passes: tuple[date, ...]


def _screens_in_use() -> dict[str, tuple[str | None, date | None]]:
    """Return source code -> (reference, import day) of its list in force, for every exclusion list in use.

    A list a source may go without (SAM until its first import) is not in use, so it neither
    asks for checks nor holds anyone's status back; the LEIE is always in use, as before.
    """
    # The latest import of every list, in one statement (this runs on every page of search results).
    imports = {code: (ExclusionImport.reference_of(code, file_date, sha256), imported_at)
               for code, file_date, sha256, imported_at
               in reading_connection().execute(_LATEST_IMPORTS, {"codes": list(_list_codes())})}
    in_use: dict[str, tuple[str | None, date | None]] = {}
    for source in registry.exclusion_screens():
        listing = imports.get(source.list_code)
        if listing is not None or not source.list_optional:
            in_use[source.code] = (listing[0], listing[1].date()) if listing else (None, None)
    return in_use


@cache
def _list_codes() -> tuple[str, ...]:
    """Return the codes of the lists the exclusion sources screen against (the sources are code)."""
    return tuple(source.list_code for source in registry.exclusion_screens())


_LATEST_IMPORTS = (select(ExclusionImport.list_code, ExclusionImport.file_date, ExclusionImport.sha256,
                          ExclusionImport.imported_at)
                   .where(ExclusionImport.id.in_(select(func.max(ExclusionImport.id))
                                                 .where(ExclusionImport.list_code.in_(bindparam("codes",
                                                                                               expanding=True)))
                                                 .group_by(ExclusionImport.list_code))))


def _screens(checks: dict[str, Checks], lists: dict[str, tuple[str | None, date | None]]) -> tuple[_Screen, ...]:
    """Return the practitioner's facts for each exclusion list in use."""
    return tuple(_screen(code, checks.get(code, Checks()), *listing) for code, listing in lists.items())


def _screen(code: str, excl: Checks, list_reference: str | None, imported_on: date | None = None) -> _Screen:
    """Return one exclusion list's facts from its folded checks."""
    return _Screen(ScreenFacts(
        source=code,
        last_check_on=excl.last_checked_at.date() if excl.last_checked_at else None,
        last_outcome=excl.last_outcome,
        last_attempt_on=excl.last_attempt_at.date() if excl.last_attempt_at else None,
        name_match_since=excl.review_since.date() if excl.review_since else None,
        # Checks name the list they ran against; one against an older list is superseded by the import.
        list_newer=bool(list_reference and excl.last_checked_at and excl.last_reference != list_reference),
        last_pass_on=excl.passes[-1] if excl.passes else None,
        list_imported_on=imported_on,
    ), tuple(excl.passes))


def _credential_facts(cred: Any, checks: Checks) -> CredentialFacts:
    """Return the facts of one credential row and its folded checks."""
    return CredentialFacts(
        kind=cred.kind,
        valid_from=cred.valid_from,
        valid_until=cred.valid_until,
        last_pass_on=checks.passes[-1] if checks.passes else None,
        last_outcome=checks.last_outcome,
        passed_on=tuple(checks.passes),
        jurisdiction=cred.jurisdiction or "",
        ref=cred.id,
        submitted_on=cred.submitted_at.date() if cred.submitted_at else None,
        last_checked_on=checks.last_checked_at.date() if checks.last_checked_at else None,
        last_attempt_on=checks.last_attempt_at.date() if checks.last_attempt_at else None,
        last_blocked_on=checks.last_blocked_at.date() if checks.last_blocked_at else None,
        last_pass_source=checks.last_pass_source,
    )


@dataclass(frozen=True)
class _ByPractitioner:
    """A statement over every practitioner, and the same statement for a list of them (built once, at import)."""

    every: Any
    some: Any


def _by_practitioner(statement: Any, column: Any) -> _ByPractitioner:
    # One expanding parameter rather than a literal per id: coercing 20 ids into 20 bound literals cost more per
    # results page than SQLite's answer; building the IN clause per call cost as much again.
    return _ByPractitioner(statement, statement.where(column.in_(bindparam("ids", expanding=True))))


def _rows(statement: _ByPractitioner, ids: Sequence[int] | None) -> Iterator[Any]:
    """Run ``statement`` for all rows or for ``ids`` in chunks, yielding result rows.

    Core on the session's connection: the ORM layer of ``session.execute`` cost 0.2 ms a statement.
    """
    connection = reading_connection()
    if ids is None:
        yield from connection.execute(statement.every)
        return
    for start in range(0, len(ids), CHUNK):
        yield from connection.execute(statement.some, {"ids": list(ids[start:start + CHUNK])})


_CREDENTIALS = _by_practitioner(
    select(Credential.id, Credential.practitioner_id, Credential.kind, Credential.jurisdiction, Credential.valid_from,
           Credential.valid_until, Credential.submitted_at)
    # A doctor's own licence (user_id, no practitioner) is not a listing's credential.
    .where(Credential.withdrawn_at.is_(None), Credential.practitioner_id.is_not(None)), Credential.practitioner_id)
_LOCATIONS = _by_practitioner(select(Location.practitioner_id, Location.country, Location.region)
                              .order_by(Location.id), Location.practitioner_id)
_DECISIONS = _by_practitioner(select(VettingDecision.practitioner_id, VettingDecision.action,
                                     VettingDecision.decided_by_id, VettingDecision.decided_at)
                              .order_by(VettingDecision.id), VettingDecision.practitioner_id)
_REINSTATEMENTS = _by_practitioner(select(VettingDecision.practitioner_id, VettingDecision.decided_at)
                                   .where(VettingDecision.action == "reinstate").order_by(VettingDecision.id),
                                   VettingDecision.practitioner_id)


def _places(ids: Sequence[int] | None) -> dict[int, tuple[str, tuple[str, ...]]]:
    """Return practitioner id -> (country of the first location, US states practised in)."""
    rows = _rows(_LOCATIONS, ids)
    locations: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pid, country, region in rows:
        locations[pid].append((country, region))
    return {pid: _place(rows) for pid, rows in locations.items()}


def _place(locations: list[tuple[str, str]]) -> tuple[str, tuple[str, ...]]:
    """Return (country of the first location, US states practised in) from (country, region) in location order."""
    regions = {region.strip().upper() for country, region in locations if country == "US" and region}
    return locations[0][0], tuple(sorted(regions))


def _fold_checks(ids: Sequence[int] | None) -> tuple[dict[int, Checks], dict[int, dict[str, Checks]]]:
    """Return every practitioner check folded per credential id, and per practitioner and exclusion list.

    For named practitioners the folds are their summary rows where current (see vetting.folds), for everyone one
    pass over the whole chain table.
    """
    folds = read_folds(ids) if ids is not None else {pid: fold for pid, (fold, _) in fold_live(None).items()}
    by_credential: dict[int, Checks] = {}
    for fold in folds.values():
        by_credential.update(fold.credentials)
    return by_credential, {pid: fold.exclusion for pid, fold in folds.items()}


def _suspended(ids: Sequence[int] | None) -> tuple[set[int], dict[int, date]]:
    """Return the practitioners whose latest decision is a suspension, and when the unreviewed ones began."""
    latest: dict[int, tuple[str, int | None, datetime]] = {}
    rows = _rows(_DECISIONS, ids)
    for pid, action, by, at in rows:
        latest[pid] = (action, by, at)
    suspended = {pid for pid, (action, _, _) in latest.items() if action == "suspend"}
    return suspended, {pid: at.date() for pid, (action, by, at) in latest.items() if action == "suspend" and by is None}


def _reinstated(ids: Sequence[int] | None) -> dict[int, date]:
    """Return the day of each practitioner's latest reinstatement (a verified run never spans a suspension)."""
    latest: dict[int, date] = {}
    rows = _rows(_REINSTATEMENTS, ids)
    for pid, decided_at in rows:
        latest[pid] = decided_at.date()
    return latest

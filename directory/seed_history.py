"""The demo's verification history: each credential's checks, the status the rules give them, the hash chain."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

from directory.vetting.chain import canonical_json, sha256_text
from directory.vetting.sources import registry
from directory.vetting.status import CredentialFacts, VettingFacts, compute_status, verified_since

CHECK_SOURCE = {"state_licence": "state_board", "foreign_registration": "manual", "npi": "npi_registry",
                "certification": "certification_body"}


class Check(NamedTuple):
    """One demo check before it is chained: when, of which credential (None: the exclusion list), where, result."""

    performed_at: datetime
    credential_index: int | None
    source: str
    outcome: str
    reference: str


DEMO_NOTE = "demo data"


def demo_checks(rng: random.Random, credentials: list[dict[str, Any]], decided: datetime, now: datetime) -> list[Check]:
    """Return the unchained checks of the credentials, oldest first (none when they were never checked).

    The history a credentialing service keeps: each primary-source check shortly before the
    decision (within NCQA's 120 days, vetting.status), the exclusion list checked with them and
    then monthly up to now, and each credential re-checked inside its monitoring window since.
    """
    if not credentials or credentials[0]["_state"] == "unchecked":
        return []
    checks: list[Check] = []
    for index, cred in enumerate(credentials):
        at = decided - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
        checks.append(Check(at, index, CHECK_SOURCE[cred["kind"]], "pass", ""))
        checks.extend(_rechecks(index, cred, at, now))
    checks.extend(_exclusion_checks(rng, decided - timedelta(days=rng.randint(0, 20)), now))
    checks.sort(key=itemgetter(0))  # by performed_at; stable, so checks at the same minute keep their order
    return checks


def _rechecks(index: int, cred: dict[str, Any], first: datetime, now: datetime) -> list[Check]:
    """Return a credential's monitoring re-checks after ``first`` while it is in force: monthly by the run, yearly by hand."""
    # A generator of their own, so the seed's main stream (and which practitioners it suspends) is unchanged;
    # seeded by how long ago the first check was, which the main stream fixed, so a seed still repeats.
    rng = random.Random(f"rechecks:{(now - first).total_seconds()}:{index}")
    source = CHECK_SOURCE[cred["kind"]]
    # The run re-checks an automated source a week before its 30-day window closes; never 30 days and some hours.
    low, high = (23, 29) if registry.get(source).automated else (330, 360)
    end = min(now, datetime.combine(cred["valid_until"], time())) if cred["valid_until"] else now
    # randint(a, b) is a + _randbelow(b - a + 1): the same draws, ~3x faster (16 per practitioner here).
    below, days = rng._randbelow, high - low + 1  # type: ignore[attr-defined]
    checks, at = [], first + timedelta(days=low + below(days), minutes=below(601))
    while at <= end:
        checks.append(Check(at, index, source, "pass", ""))
        at += timedelta(days=low + below(days), minutes=below(601))
    return checks


def _exclusion_checks(rng: random.Random, first: datetime, now: datetime) -> list[Check]:
    """Return exclusion-list checks from ``first`` every 27-30 days up to ``now``; the latest may await review."""
    # As in _rechecks: randint(27, 30) and randint(0, 600), drawn the same.
    checks, at, below = [], first, rng._randbelow  # type: ignore[attr-defined]
    while at <= now:
        checks.append(Check(at, None, "exclusion_list", "pass", "LEIE"))
        at += timedelta(days=27 + below(4), minutes=below(601))
    checks[-1] = checks[-1]._replace(outcome=rng.choices(["pass", "needs_review"], [99, 1])[0])
    return checks


def vetting_of(country: str, credentials: list[dict[str, Any]], checks: list[Check], today: date,
             suspended: bool) -> tuple[str, date | None]:
    """Return the vetting status and verified-since day the rules give for these credentials and checks."""
    passes: dict[int, list[date]] = {}
    exclusion: list[Check] = []
    for c in checks:
        if c.credential_index is not None:
            if c.outcome == "pass":
                passes.setdefault(c.credential_index, []).append(c.performed_at.date())
        elif c.source == "exclusion_list":
            exclusion.append(c)
    facts = VettingFacts(
        country=country,
        credentials=tuple(CredentialFacts(cr["kind"], cr["valid_until"], max(passes.get(i, []), default=None),
                                          passed_on=tuple(passes.get(i, ())), valid_from=cr["valid_from"],
                                          last_pass_source=CHECK_SOURCE[cr["kind"]])
                          for i, cr in enumerate(credentials)),
        last_exclusion_check_on=exclusion[-1].performed_at.date() if exclusion else None,
        last_exclusion_outcome=exclusion[-1].outcome if exclusion else None,
        exclusion_passed_on=tuple(c.performed_at.date() for c in exclusion if c.outcome == "pass"),
        suspended=suspended,
    )
    status = compute_status(facts, today)
    return status, verified_since(facts, today, status=status)


def status_since(status: str, since: date | None, credentials: list[dict[str, Any]],
                  checks: list[Check], now: datetime) -> datetime:
    """Return when the demo status began, as the history tells it (not the moment the demo data was loaded)."""
    if since is not None:
        return datetime.combine(since, time())
    lapsed_on = [c["valid_until"] + timedelta(days=1) for c in credentials
                 if status == "lapsed" and c["valid_until"] is not None and c["valid_until"] < now.date()]
    if lapsed_on:
        return datetime.combine(min(lapsed_on), time())  # the first expiry ended verification
    # Suspended: the decision the seed records now; pending/unverified: the latest check (or the load).
    latest = checks[-1].performed_at if checks else now
    return now if status == "suspended" else min(latest, now)


CHECK_COLUMNS = ("id", "practitioner_id", "user_id", "sequence", "credential_id", "source", "performed_by_id",
                 "performed_at", "outcome", "reference", "note", "evidence", "evidence_sha256", "previous_hash",
                 "row_hash")


def chain_rows(rows: list[tuple[Any, ...]], take_id: Callable[[], int], checks: list[Check],
               credentials: list[dict[str, Any]]) -> None:
    """Append the checks to ``rows`` (CHECK_COLUMNS) as one hash chain for the practitioner; ids from ``take_id``."""
    previous = None
    pid = credentials[0]["practitioner_id"] if credentials else None
    for sequence, check in enumerate(checks, start=1):
        index = check.credential_index
        credential_id = credentials[index]["id"] if index is not None else None
        evidence, evidence_sha256 = _demo_evidence(check.source)
        digest = demo_check_hash(pid, sequence, credential_id, check, evidence_sha256, previous)
        rows.append((take_id(), pid, None, sequence, credential_id, check.source, None, check.performed_at,
                     check.outcome, check.reference, DEMO_NOTE, evidence, evidence_sha256, previous, digest))
        previous = digest


def demo_check_hash(practitioner_id: int | None, sequence: int, credential_id: int | None, check: Check,
                    evidence_sha256: str, previous_hash: str | None) -> str:
    """Return vetting.chain.row_hash of a demo check row (no user, no performer), without building the row.

    18 million of these at 1M practitioners: the canonical JSON is written in one f-string, keys in sorted
    order, the constant strings escaped once (tests/functional/test_seed.py compares it with row_hash). A naive
    time to the second is ``isoformat(timespec="seconds")``, without the copy ``replace(microsecond=0)`` makes.
    """
    return sha256_text(
        f'{{"credential_id":{_json_int(credential_id)},"evidence_sha256":"{evidence_sha256}",'
        f'"note":{_json_text(DEMO_NOTE)},"outcome":{_json_text(check.outcome)},'
        f'"performed_at":"{check.performed_at.isoformat(timespec="seconds")}","performed_by_id":null,'
        f'"practitioner_id":{_json_int(practitioner_id)},'
        f'"previous_hash":{"null" if previous_hash is None else f"{chr(34)}{previous_hash}{chr(34)}"},'
        f'"reference":{_json_text(check.reference)},"sequence":{sequence},"source":{_json_text(check.source)},'
        f'"user_id":null}}')


def _json_int(value: int | None) -> str:
    """Return an id as canonical JSON."""
    return "null" if value is None else str(value)


@cache
def _json_text(value: str) -> str:
    """Return one of the demo's few constant strings as canonical JSON."""
    return canonical_json(value)


@cache
def _demo_evidence(source: str) -> tuple[str, str]:
    """Return the demo evidence of a check from ``source`` and its digest (the same for every demo check)."""
    evidence = json.dumps({"demo": True, "source": source})
    return evidence, sha256_text(evidence)

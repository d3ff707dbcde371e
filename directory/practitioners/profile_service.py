"""A practitioner's public profile: what they offer, where and when, and the evidence behind their status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.errors import NotFound
from directory.extensions import db
from directory.imports.listings import unclaimed_registry_listings
from directory.practitioners.hours import NextOpening, next_opening, upcoming_exceptions, weekly_hours
from directory.practitioners.models import Location, Practitioner
from directory.reviews.models import Review
from directory.reviews.services import ConditionOutcome, RatingSummary, outcomes, rating_summary, shown_reviews
from directory.vetting.chain import CHAINED_FIELDS, ChainBreak, verify_chain
from directory.vetting.evidence import EvidenceAge, evidence_of
from directory.vetting.facts import load_facts
from directory.vetting.labels import decision_action, decision_category
from directory.vetting.models import Credential, VerificationCheck, VettingDecision
from directory.vetting.sources import registry

REVIEWS_SHOWN = 50

STATUS_EXPLANATIONS = {
    "verified": "Every required licence and registration was confirmed with the body that issued it, and the "
                "latest check of the federal exclusion list found no match.",
    "expiring": "Verified, but a licence or a check runs out within 30 days, so a renewal is due soon.",
    "pending": "Checks are under way: some licences or registrations have not been confirmed yet.",
    "unverified": "This practitioner has not submitted licences or registrations for checking yet.",
    "lapsed": "A licence has expired or a check is out of date, so this profile is not verified until it is renewed.",
    "suspended": "This listing is suspended: it does not appear in search and cannot be contacted through Meridian "
                 "until an admin's review ends. The history below shows every check and decision.",
}
CREDENTIAL_KINDS = {
    "state_licence": "State licence", "national_licence": "National licence", "certification": "Board certification",
    "npi": "National Provider Identifier (NPI)", "insurance": "Professional liability insurance",
    "medical_degree": "Medical degree", "foreign_registration": "Professional registration",
}
CHECK_OUTCOMES = {
    "pass": "Confirmed", "fail": "Not confirmed", "error": "Could not be completed; will be repeated",
    "needs_review": "Being reviewed by an admin",
}


@dataclass(frozen=True)
class LocationView:
    """A practice location with its week of hours and when it next opens."""

    location: Location
    week: list[tuple[str, list[str]]]
    next_opening: NextOpening | None
    exceptions: list[tuple[date, str]] = field(default_factory=list)

    @property
    def booking_url(self) -> str:
        """Return the booking link only when it is a web address (never ``javascript:`` or the like)."""
        url = self.location.booking_url.strip()
        return url if url.lower().startswith(("https://", "http://")) else ""


@dataclass(frozen=True)
class CheckView:
    """One entry of the public verification history in plain words: a check, or a decision (no sequence)."""

    sequence: int | None
    performed_on: date
    what: str
    source: str
    outcome: str
    outcome_code: str
    reference: str
    row_hash: str
    performed_at: datetime | None = None


@dataclass(frozen=True)
class Suspension:
    """Since when a listing is suspended, and the neutral reason the public is given."""

    since: date
    reason: str


@dataclass(frozen=True)
class Profile:
    """Everything the profile page shows."""

    practitioner: Practitioner
    status_explanation: str
    locations: list[LocationView]
    credentials: list[Credential]
    history: list[CheckView]
    chain_head: str | None
    chain_breaks: list[ChainBreak]
    rating: RatingSummary
    reviews: list[Review]
    suspension: Suspension | None = None
    outcomes: list[ConditionOutcome] = field(default_factory=list)
    evidence: EvidenceAge = EvidenceAge()
    registry_unclaimed: bool = False  # listed from the NPI registry, nobody has claimed it yet

    @property
    def chain_intact(self) -> bool:
        """Tell whether the verification history adds up."""
        return not self.chain_breaks


def load_profile(slug: str, now: datetime) -> Profile:
    """Return the public profile for ``slug`` (a suspended one says so); NotFound when missing or hidden."""
    practitioner = _listed_practitioner(slug)
    checks = list(practitioner.checks)
    decisions = list(db.session.scalars(select(VettingDecision).where(
        VettingDecision.practitioner_id == practitioner.id).order_by(VettingDecision.id)))
    return Profile(
        practitioner=practitioner,
        status_explanation=STATUS_EXPLANATIONS.get(practitioner.vetting_status, ""),
        locations=[LocationView(loc, weekly_hours(loc.hours), next_opening(loc.hours, loc.timezone, now, loc.exceptions),
                                upcoming_exceptions(loc.exceptions, loc.timezone, now))
                   for loc in practitioner.locations],
        credentials=[c for c in practitioner.credentials if c.withdrawn_at is None],
        history=public_history(checks, decisions),
        chain_head=checks[-1].row_hash if checks else None,
        chain_breaks=verify_chain(_chain_row(check) for check in checks),
        rating=rating_summary(practitioner.id),
        reviews=shown_reviews(practitioner.id, REVIEWS_SHOWN),
        suspension=_suspension(practitioner, decisions),
        outcomes=outcomes(practitioner.id),
        evidence=evidence_of(load_facts([practitioner.id])[practitioner.id], now.date()),
        registry_unclaimed=bool(unclaimed_registry_listings([practitioner.id])),
    )



def public_history(checks: list[VerificationCheck], decisions: list[VettingDecision]) -> list[CheckView]:
    """Return every check and every decision, newest first; a decision shows its neutral category, never its note."""
    entries = [_check_view(check) for check in checks] + [_decision_view(d) for d in decisions]
    return sorted(entries, key=lambda e: (e.performed_at or datetime.min, e.sequence is None, e.sequence or 0), reverse=True)


def _decision_view(decision: VettingDecision) -> CheckView:
    """Describe one suspension or reinstatement for patients."""
    by = "Meridian admin" if decision.decided_by_id else "Automatic, pending an admin's review"
    return CheckView(None, decision.decided_at.date(), decision_action(decision.action), by,
                     decision_category(decision.category), f"decision-{decision.action}", "", "",
                     decision.decided_at)


def _suspension(practitioner: Practitioner, decisions: list[VettingDecision]) -> Suspension | None:
    """Return since when and why (in neutral words) the listing is suspended, or None."""
    if practitioner.vetting_status != "suspended":
        return None
    latest = next((d for d in reversed(decisions) if d.action == "suspend"), None)
    if latest is None:
        return Suspension(practitioner.vetting_status_since.date(), decision_category("exclusion_list"))
    return Suspension(latest.decided_at.date(), decision_category(latest.category))


def _listed_practitioner(slug: str) -> Practitioner:
    """Load the practitioner with everything the page shows, or raise NotFound when missing or hidden."""
    stmt = (
        select(Practitioner)
        .where(Practitioner.slug == slug[:120], Practitioner.hidden.is_(False))
        .options(selectinload(Practitioner.locations).selectinload(Location.hours),
                 selectinload(Practitioner.locations).selectinload(Location.exceptions),
                 selectinload(Practitioner.methods), selectinload(Practitioner.conditions),
                 selectinload(Practitioner.languages), selectinload(Practitioner.credentials),
                 selectinload(Practitioner.checks).selectinload(VerificationCheck.credential))
    )
    practitioner = db.session.scalars(stmt).first()
    if practitioner is None:
        raise NotFound("We could not find that practitioner. They may have left the directory, "
                       "or the link may be mistyped.")
    return practitioner


def _check_view(check: VerificationCheck) -> CheckView:
    """Describe one check for patients."""
    return CheckView(check.sequence, check.performed_at.date(), _what_was_checked(check),
                     registry.history_label(check.source),
                     registry.outcome_label(check.source, check.outcome) or CHECK_OUTCOMES.get(check.outcome, check.outcome),
                     check.outcome, check.reference, check.row_hash, check.performed_at)


def _what_was_checked(check: VerificationCheck) -> str:
    """Name the credential a check was about (or what a check of the person, like the exclusion list, confirmed)."""
    credential = check.credential
    if credential is None:
        if about_person := registry.person_check_label(check.source):
            return about_person
        described = _evidence(check).get("what_was_checked")
        return str(described) if described else "Identity"
    kind = CREDENTIAL_KINDS.get(credential.kind, credential.kind)
    where = f", {credential.jurisdiction}" if credential.jurisdiction else ""
    return f"{kind} {credential.number}{where}"


def _chain_row(check: VerificationCheck) -> dict[str, Any]:
    """Return the fields the chain hash covers, so the page can re-verify what it shows."""
    row = {name: getattr(check, name) for name in CHAINED_FIELDS}
    row["row_hash"] = check.row_hash
    row["evidence"] = check.evidence
    return row


def _evidence(check: VerificationCheck) -> dict[str, Any]:
    """Return a check's evidence as a dict (empty when it is not a JSON object)."""
    try:
        evidence = json.loads(check.evidence)
    except ValueError:
        return {}
    return evidence if isinstance(evidence, dict) else {}

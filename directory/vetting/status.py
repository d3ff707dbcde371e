"""The vetting status rules: facts about credentials and checks in, one status out. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

LICENCE_KINDS = frozenset({"state_licence", "national_licence", "foreign_registration", "medical_degree"})


@dataclass(frozen=True)
class VettingPolicy:
    """Freshness windows, after NCQA credentialing practice (configurable)."""

    # Everything is re-verified at least this often.
    reverify_days: int = 36 * 30
    # The exclusion list is re-checked at least monthly.
    exclusion_days: int = 31
    expiring_within_days: int = 30


DEFAULT_POLICY = VettingPolicy()


@dataclass(frozen=True)
class CredentialFacts:
    """One credential as the rules see it: kind, expiry and its latest checks."""

    kind: str
    valid_until: date | None
    last_pass_on: date | None = None
    last_outcome: str | None = None


@dataclass(frozen=True)
class VettingFacts:
    """What the rules need to know about one practitioner."""

    country: str
    credentials: tuple[CredentialFacts, ...] = ()
    last_exclusion_check_on: date | None = None
    last_exclusion_outcome: str | None = None
    suspended: bool = False


def required_groups(country: str) -> list[frozenset[str]]:
    """Return the credential groups a practitioner must hold (one of each group) in ``country``."""
    groups = [LICENCE_KINDS]
    if country == "US":
        groups.append(frozenset({"npi"}))
    return groups


def compute_status(facts: VettingFacts, today: date, policy: VettingPolicy = DEFAULT_POLICY) -> str:
    """Return unverified, pending, verified, expiring, lapsed or suspended for ``facts`` on ``today``."""
    if facts.suspended or facts.last_exclusion_outcome == "fail":
        return "suspended"
    if not facts.credentials:
        return "unverified"
    required = _required_credentials(facts)
    if required is None or facts.last_exclusion_outcome == "needs_review":
        return "pending"
    if any(c.valid_until is not None and c.valid_until < today for c in required):
        return "lapsed"
    if any(c.last_pass_on is None for c in required) or facts.last_exclusion_check_on is None:
        return "pending"
    if _stale(required, facts, today, policy):
        return "lapsed"
    soon = today + timedelta(days=policy.expiring_within_days)
    if any(c.valid_until is not None and c.valid_until <= soon for c in required) or any(
        c.last_pass_on is not None and c.last_pass_on + timedelta(days=policy.reverify_days) <= soon for c in required
    ):
        return "expiring"
    return "verified"


def _required_credentials(facts: VettingFacts) -> list[CredentialFacts] | None:
    """Return the best credential for each required group, or None when a group is missing."""
    chosen = []
    for group in required_groups(facts.country):
        candidates = [c for c in facts.credentials if c.kind in group]
        if not candidates:
            return None
        chosen.append(max(candidates, key=lambda c: (c.last_pass_on or date.min, c.valid_until or date.max)))
    return chosen


def _stale(required: list[CredentialFacts], facts: VettingFacts, today: date, policy: VettingPolicy) -> bool:
    """Tell whether a required check or the exclusion check is older than its window."""
    last_exclusion = facts.last_exclusion_check_on
    if last_exclusion is None or (today - last_exclusion).days > policy.exclusion_days:
        return True
    return any(c.last_pass_on is not None and (today - c.last_pass_on).days > policy.reverify_days for c in required)

"""What needs checking, and which expiry alert is owed: pure functions over vetting facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from directory.vetting.sources import registry
from directory.vetting.sources.exclusions import EXCLUSION_LIST
from directory.vetting.status import (
    DEFAULT_POLICY,
    CredentialFacts,
    ScreenFacts,
    VettingFacts,
    VettingPolicy,
    add_months,
    monitored_until,
    monitoring_source,
    monitoring_start,
    queue_days,
    required_credentials,
    verification_decision,
)


@dataclass(frozen=True)
class DueItem:
    """One check that should be made, why, and since when it has been waiting."""

    source: str
    reason: str
    since: date
    credential_ref: int | None = None
    credential_kind: str = ""
    automated: bool = False
    due_by: date | None = None  # when it must be done: an admin's decision, or a monitoring window's last day


def due_items(facts: VettingFacts, today: date, policy: VettingPolicy = DEFAULT_POLICY) -> list[DueItem]:
    """Return the checks due for one practitioner on ``today``, oldest first."""
    items = []
    if facts.suspension_unreviewed_since is not None:
        items.append(DueItem("decision", "suspended automatically; an admin must review the suspension",
                             facts.suspension_unreviewed_since, due_by=facts.suspension_unreviewed_since))
    if not facts.credentials:
        return items
    decision = _current_decision(facts, today, policy)
    # Only required credentials are monitored: an optional one (insurance, say) keeps its last check.
    required = required_credentials(facts, today) or []
    start = monitoring_start(required, decision, today, policy) if decision is not None else None
    items += [item for c in facts.credentials
              if (item := _credential_due(c, decision, today, policy, start if any(c is r for r in required) else None))]
    items += _exclusion_due(facts, today, policy)
    return sorted(items, key=lambda i: (i.since, i.source, i.credential_ref or 0))


def _current_decision(facts: VettingFacts, today: date, policy: VettingPolicy) -> date | None:
    """Return the verification decision still inside its re-verification cycle, if any."""
    required = required_credentials(facts, today)
    if required is None:
        return None
    decision = verification_decision(required, today, policy)
    if decision is None or today > add_months(decision, policy.reverify_months):
        return None
    return decision


def _credential_due(c: CredentialFacts, decision: date | None, today: date, policy: VettingPolicy,
                    monitored_since: date | None = None) -> DueItem | None:
    """Return the item due for one credential (monitored since the given day, if required), or None."""
    # The registry names the source the check is queued for; an automated one a run makes itself.
    source = registry.due_source(c.kind)

    def item(reason: str, since: date, auto: bool = source.automated, due_by: date | None = None) -> DueItem:
        return DueItem(source.code, reason, since, c.ref, c.kind, auto, due_by)

    if c.expired_on(today):
        return item(f"expired on {c.valid_until}; a renewed credential is needed", c.valid_until or today, False)
    if not c.passes and c.last_outcome is None:
        return item("never checked", c.submitted_on or today)
    if c.blocked:
        return item(f"last check: {c.last_outcome}", c.last_checked_on or today, False)
    fresh_until = c.passes[-1] + timedelta(days=policy.primary_source_days)
    if decision is None and fresh_until < today:
        return item(f"last pass {c.passes[-1]} is older than {policy.primary_source_days} days", fresh_until)
    soon = today + timedelta(days=policy.expiring_within_days)
    if decision is not None and add_months(decision, policy.reverify_months) <= soon:
        cycle_end = add_months(decision, policy.reverify_months)
        return item(f"re-verification due by {cycle_end}", cycle_end - timedelta(days=policy.expiring_within_days))
    candidates = []
    if monitored_since is not None:
        until = monitored_until(c, monitored_since, policy)
        recheck_on = until - timedelta(days=queue_days(policy, monitoring_source(c)))
        if recheck_on <= today:
            candidates.append(item(f"monitoring re-check due by {until}", recheck_on, due_by=until))
    if c.valid_until is not None and c.valid_until <= soon:
        candidates.append(item(f"expires on {c.valid_until}", c.valid_until - timedelta(days=policy.expiring_within_days),
                               False))
    # Whichever fell due first names the item; the check an admin or the run makes serves both.
    return min(candidates, key=lambda i: i.since, default=None)


def _exclusion_due(facts: VettingFacts, today: date, policy: VettingPolicy) -> list[DueItem]:
    """Return each exclusion list's items due: a name match to review, and the re-check when it is due."""
    items = []
    for screen in screens_of(facts):
        if screen.last_outcome == "needs_review":
            since = screen.name_match_since or screen.last_check_on or today
            items.append(DueItem(screen.source, "a name match awaits an admin's review", since,
                                 due_by=since + timedelta(days=policy.name_match_review_days)))
        if recheck := _exclusion_recheck(screen, facts, today, policy):
            items.append(recheck)
    return items


def screens_of(facts: VettingFacts) -> tuple[ScreenFacts, ...]:
    """Return the facts of each exclusion list; facts built by hand stand for the LEIE alone."""
    return facts.screens or (ScreenFacts(EXCLUSION_LIST.code, facts.last_exclusion_check_on,
                                         facts.last_exclusion_outcome, facts.last_exclusion_attempt_on,
                                         facts.name_match_since, facts.exclusion_list_newer),)


def _exclusion_recheck(screen: ScreenFacts, facts: VettingFacts, today: date, policy: VettingPolicy) -> DueItem | None:
    """Return the automated re-check of one exclusion list when it is due, or None."""
    last = screen.last_check_on
    if last is None:
        first = min((c.submitted_on for c in facts.credentials if c.submitted_on), default=today)
        # A list imported for the first time makes its check due from that day, not from the oldest credential.
        since = max(first, screen.list_imported_on or first)
        return DueItem(screen.source, "never checked", since, automated=True)
    # Queued a week before the window closes, so a daily cron run keeps every practitioner inside
    # it even when a run fails once.
    renew_on = last + timedelta(days=policy.exclusion_days) - timedelta(days=queue_days(policy, screen.source))
    if renew_on <= today:
        return DueItem(screen.source, f"last checked {last}", renew_on, automated=True)
    if screen.list_newer:
        return DueItem(screen.source, f"a newer {_list_words(screen.source)} was imported", today, automated=True)
    return None


def _list_words(code: str) -> str:
    """Return how a due reason names the list (the LEIE stays "exclusion list", as it always read)."""
    return "exclusion list" if code == EXCLUSION_LIST.code else f"{registry.get(code).label} list"


def alert_threshold(valid_until: date | None, today: date, policy: VettingPolicy = DEFAULT_POLICY) -> int | None:
    """Return the alert owed today for a credential expiring on ``valid_until`` (days before expiry), or None.

    When runs were missed, only the nearest threshold is owed (one alert, not a burst).
    """
    if valid_until is None:
        return None
    days_left = (valid_until - today).days
    reached = [t for t in policy.alert_days if 0 <= days_left <= t]
    return min(reached) if reached else None

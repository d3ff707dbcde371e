"""The vetting status rules: facts about credentials and checks in, one status out. Pure.

A practitioner is verified after a *verification decision*: a day on which every required
credential had a passing primary-source check at most ``primary_source_days`` old (NCQA
credentialing standards allow 120 days between verification and decision). A decision holds
for ``reverify_months`` (NCQA re-credentialing cycle: 36 months) provided the exclusion list
was checked within ``exclusion_days``, no required credential expired and no later check
failed. Decisions are derived from the dated passes, never stored, so the status cannot say
more than the evidence does.

Monitoring is continuous (NCQA ongoing monitoring): after the decision, each required credential
is re-checked at its primary source within that source's monitoring window (automated sources
monthly, manual licence checks yearly by default). A window counts from the credential's latest
pass or the first decision of the current verified run, whichever is later: evidence the 120-day
rule accepted at that decision is not stale the day after it, and a later re-check of one
credential never extends another's window.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from directory.vetting.sources import registry
from directory.vetting.sources.base import MANUAL_WINDOW_DAYS, Source

LICENCE_KINDS = frozenset({"state_licence", "national_licence", "foreign_registration", "medical_degree"})
DECISIVE_OUTCOMES = frozenset({"pass", "fail", "needs_review"})
STATUSES = ("unverified", "pending", "verified", "expiring", "lapsed", "suspended")
VERIFIED_STATUSES = frozenset({"verified", "expiring"})

# What the rules need to know of the sources comes from the registry: which are automated (run
# without a person), which confirm each kind of credential, and each one's default window.
AUTOMATED_SOURCES = frozenset(s.code for s in registry.automated())
EXCLUSION_SOURCES = frozenset(s.code for s in registry.exclusion_screens())


def monitoring_windows(automated_days: int | None = None, manual_days: int | None = None) -> Mapping[str, int]:
    """Return the monitoring window in days of each source: its own default unless a category setting overrides it."""
    def days(source: Source) -> int:
        override = automated_days if source.automated else manual_days
        return source.window_days if override is None else override

    return {source.code: days(source) for source in registry.SOURCES}


@dataclass(frozen=True)
class VettingPolicy:
    """Freshness windows, after NCQA credentialing standards (configurable)."""

    # A primary-source check may be at most this old when the verification decision is made.
    primary_source_days: int = 120
    # The exclusion list is re-checked at least monthly.
    exclusion_days: int = 31
    # Everything is re-verified (a new decision) at least this often.
    reverify_months: int = 36
    expiring_within_days: int = 30
    # An admin decides on a name-only exclusion-list match within this many days.
    name_match_review_days: int = 14
    # Days before a credential expires on which the practitioner and admins are alerted.
    alert_days: tuple[int, ...] = (90, 60, 30, 14, 7, 0)
    # Days a primary-source pass stays current after the decision, keyed by source code (see monitoring_days).
    monitoring: Mapping[str, int] = field(default_factory=monitoring_windows)
    # A re-check is queued this many days before its window passes: a daily automated run gets
    # several attempts (like the exclusion list's margin), an admin a month.
    automated_queue_days: int = 7
    # An admin gets a fortnight before the practitioner shows as expiring (30 days before the end).
    manual_queue_days: int = 45
    # An automated window shows as expiring only this close to its end, i.e. only when the daily run
    # failed to keep up: a re-check done on time never flips the status (and emails the owner) monthly.
    automated_expiring_days: int = 1


DEFAULT_POLICY = VettingPolicy()


def monitoring_days(policy: VettingPolicy, source: str) -> int:
    """Return how many days a check at ``source`` stays current before it must be repeated."""
    if source in EXCLUSION_SOURCES:
        return policy.exclusion_days  # its long-standing setting, VETTING_EXCLUSION_DAYS
    return policy.monitoring.get(source, MANUAL_WINDOW_DAYS)


def queue_days(policy: VettingPolicy, source: str) -> int:
    """Return how many days before its window passes a re-check at ``source`` is queued."""
    return policy.automated_queue_days if source in AUTOMATED_SOURCES else policy.manual_queue_days


def expiring_days(policy: VettingPolicy, source: str) -> int:
    """Return how many days before its window passes a check at ``source`` makes the practitioner expiring."""
    return policy.automated_expiring_days if source in AUTOMATED_SOURCES else policy.expiring_within_days


@dataclass(frozen=True)
class CredentialFacts:
    """One credential as the rules see it: kind, expiry and the outcomes of its primary-source checks.

    ``last_pass_on`` is the latest passing check; ``passed_on`` may add earlier passes (a decision
    can rest on them); ``last_outcome`` is the latest decisive outcome (pass, fail, needs_review).
    """

    kind: str
    valid_until: date | None
    last_pass_on: date | None = None
    last_outcome: str | None = None
    passed_on: tuple[date, ...] = ()
    jurisdiction: str = ""
    ref: int | None = None
    submitted_on: date | None = None
    last_checked_on: date | None = None
    last_attempt_on: date | None = None
    valid_from: date | None = None
    last_blocked_on: date | None = None
    # The source of the latest pass: its monitoring window applies ("" when unknown).
    last_pass_source: str = ""

    @cached_property  # the rules read it several times per credential; the facts never change
    def passes(self) -> tuple[date, ...]:
        """Return every known pass date, oldest first."""
        dates = set(self.passed_on)
        if self.last_pass_on is not None:
            dates.add(self.last_pass_on)
        return tuple(sorted(dates))

    @property
    def blocked(self) -> bool:
        """Tell whether the latest decisive check failed or awaits review."""
        return self.last_outcome in ("fail", "needs_review")

    def expired_on(self, today: date) -> bool:
        """Tell whether the credential is past its valid-until date on ``today``."""
        return self.valid_until is not None and self.valid_until < today

    def not_yet_valid_on(self, today: date) -> bool:
        """Tell whether the credential only comes into force after ``today``."""
        return self.valid_from is not None and self.valid_from > today

    def in_force_on(self, today: date) -> bool:
        """Tell whether ``today`` lies inside the credential's validity window (both ends included)."""
        return not self.expired_on(today) and not self.not_yet_valid_on(today)


@dataclass(frozen=True)
class ScreenFacts:
    """One exclusion list's checks of a practitioner: its latest result, and whether a newer list awaits it."""

    source: str
    last_check_on: date | None = None
    last_outcome: str | None = None
    last_attempt_on: date | None = None
    name_match_since: date | None = None
    list_newer: bool = False
    last_pass_on: date | None = None
    list_imported_on: date | None = None  # when the list in force arrived: nobody was due on it before


@dataclass(frozen=True)
class VettingFacts:
    """What the rules need to know about one practitioner.

    ``regions`` are the US states the practitioner practises in: each needs its own licence.
    """

    country: str
    credentials: tuple[CredentialFacts, ...] = ()
    last_exclusion_check_on: date | None = None
    last_exclusion_outcome: str | None = None
    suspended: bool = False
    regions: tuple[str, ...] = ()
    exclusion_list_newer: bool = False
    last_exclusion_attempt_on: date | None = None
    exclusion_passed_on: tuple[date, ...] = ()
    last_reinstated_on: date | None = None
    # Since when a name-only exclusion match has been waiting (re-checks that find it again keep the date).
    name_match_since: date | None = None
    # Set while the latest decision is an automatic suspension no admin has reviewed yet.
    suspension_unreviewed_since: date | None = None
    # Each exclusion list on its own (the fields above combine them); empty when built by hand.
    screens: tuple[ScreenFacts, ...] = ()


@dataclass(frozen=True)
class RequiredGroup:
    """Credential kinds of which the practitioner must hold one, optionally for one jurisdiction."""

    label: str
    kinds: frozenset[str]
    jurisdiction: str = ""

    def admits(self, credential: CredentialFacts) -> bool:
        """Tell whether ``credential`` satisfies this group."""
        if credential.kind not in self.kinds:
            return False
        if not self.jurisdiction or credential.kind == "national_licence":
            return True
        return credential.jurisdiction.strip().upper() == self.jurisdiction


def required_groups(country: str, regions: Iterable[str] = ()) -> list[RequiredGroup]:
    """Return the credential groups a practitioner must hold (one of each group) in ``country``."""
    states = sorted({r.strip().upper() for r in regions if r.strip()}) if country == "US" else []
    groups = [RequiredGroup(f"licence ({s})", LICENCE_KINDS, s) for s in states] or [RequiredGroup("licence", LICENCE_KINDS)]
    if country == "US":
        groups.append(RequiredGroup("NPI", frozenset({"npi"})))
    return groups


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by ``months`` calendar months (clamped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def compute_status(facts: VettingFacts, today: date, policy: VettingPolicy = DEFAULT_POLICY) -> str:
    """Return unverified, pending, verified, expiring, lapsed or suspended for ``facts`` on ``today``."""
    if facts.suspended or facts.last_exclusion_outcome == "fail":
        return "suspended"
    if not facts.credentials:
        return "unverified"
    required = required_credentials(facts, today)
    # A name-only exclusion match (needs_review) proves nothing by itself: it waits for an admin
    # and changes nothing until decided; only an NPI match or a confirmation (fail) suspends.
    if required is None:
        return "pending"
    if any(c.expired_on(today) for c in required):
        return "lapsed"
    if any(c.not_yet_valid_on(today) for c in required):
        # Checked or not, a licence that is not yet in force does not license anyone today.
        return "pending"
    decision = verification_decision(required, today, policy)
    if any(c.blocked for c in required) or decision is None or facts.last_exclusion_check_on is None:
        return "pending"
    start = monitoring_start(required, decision, today, policy)
    if (today > add_months(decision, policy.reverify_months) or _exclusion_stale(facts, today, policy)
            or any(monitored_until(c, start, policy) < today for c in required)):
        return "lapsed"
    return "expiring" if _expiring(facts, required, decision, start, today, policy) else "verified"


def monitoring_start(required: list[CredentialFacts], decision: date, today: date,
                     policy: VettingPolicy = DEFAULT_POLICY) -> date:
    """Return the day monitoring began: the first decision of the unbroken run ending in ``decision``."""
    return _decision_run_start(required, today, policy) or decision


def monitoring_source(credential: CredentialFacts) -> str:
    """Return the source whose monitoring window applies: the latest pass's, else the kind's automated source."""
    if credential.last_pass_source:
        return credential.last_pass_source
    automated = registry.primary_source_codes(credential.kind) & AUTOMATED_SOURCES
    return min(automated, default=registry.due_source(credential.kind).code)


def monitored_until(credential: CredentialFacts, start: date, policy: VettingPolicy = DEFAULT_POLICY) -> date:
    """Return the last day the credential's latest pass (or the monitoring ``start``, if later) keeps it monitored."""
    anchor = max(credential.last_pass_on or start, start)
    return anchor + timedelta(days=monitoring_days(policy, monitoring_source(credential)))


def exclusion_monitored_until(facts: VettingFacts, policy: VettingPolicy = DEFAULT_POLICY) -> date | None:
    """Return the last day the latest exclusion-list check keeps the practitioner monitored (None: never checked)."""
    last = facts.last_exclusion_check_on
    return None if last is None else last + timedelta(days=policy.exclusion_days)


def required_credentials(facts: VettingFacts, today: date) -> list[CredentialFacts] | None:
    """Return the best credential for each required group, or None when a group is missing."""
    chosen = [c for _, c in required_pairs(facts, today)]
    return None if None in chosen else [c for c in chosen if c is not None]


def required_pairs(facts: VettingFacts, today: date) -> list[tuple[RequiredGroup, CredentialFacts | None]]:
    """Return each required group with the credential that counts for it (None when none is held)."""

    def preference(c: CredentialFacts) -> tuple[bool, bool, bool, date, date]:
        # Unblocked first, then in force today, then unexpired (a renewal that starts later),
        # then the latest pass, then the latest expiry.
        return (not c.blocked, c.in_force_on(today), not c.expired_on(today), c.last_pass_on or date.min,
                c.valid_until or date.max)

    return [(group, max((c for c in facts.credentials if group.admits(c)), key=preference, default=None))
            for group in required_groups(facts.country, facts.regions)]


def verification_decision(required: list[CredentialFacts], today: date,
                          policy: VettingPolicy = DEFAULT_POLICY) -> date | None:
    """Return the latest day on which every required credential had a pass within the primary-source window."""
    window = timedelta(days=policy.primary_source_days)
    candidates = sorted({d for c in required for d in c.passes if d <= today}, reverse=True)
    for day in candidates:
        if all(any(day - window <= p <= day for p in c.passes) for c in required):
            return day
    return None


def _exclusion_stale(facts: VettingFacts, today: date, policy: VettingPolicy) -> bool:
    """Tell whether the last exclusion-list check is older than its window."""
    until = exclusion_monitored_until(facts, policy)
    return until is None or until < today


def _expiring(facts: VettingFacts, required: list[CredentialFacts], decision: date, start: date, today: date,
              policy: VettingPolicy) -> bool:
    """Tell whether a required credential, a monitoring window or the decision itself runs out soon.

    ``start`` is the monitoring start (monitoring_start) of ``decision``, which the caller has.
    """
    soon = today + timedelta(days=policy.expiring_within_days)
    if add_months(decision, policy.reverify_months) <= soon:
        return True
    if any(c.valid_until is not None and c.valid_until <= soon for c in required):
        return True
    windows = [(monitored_until(c, start, policy), expiring_days(policy, monitoring_source(c))) for c in required]
    # The exclusion lists are automated sources: expiring only when the daily run fell behind.
    windows.append((exclusion_monitored_until(facts, policy) or today, policy.automated_expiring_days))
    return any(until <= today + timedelta(days=lead) for until, lead in windows)


def verified_since(facts: VettingFacts, today: date, policy: VettingPolicy = DEFAULT_POLICY,
                   status: str | None = None) -> date | None:
    """Return the first day of the current unbroken verified run, read from the dated history (None unless verified).

    The run starts at the earliest verification decision from which each later decision followed inside
    its re-verification cycle with no failed check in between, and not before every required credential
    came into force, the exclusion-list monitoring (never a gap over ``exclusion_days``) began, a required
    credential's monitoring last resumed after a gap, or the latest reinstatement. Where the history
    cannot tell, the later day is taken: the date never claims more than the evidence. ``status`` is
    compute_status's answer for the same facts, day and policy, when the caller has it already.
    """
    if (status or compute_status(facts, today, policy)) not in VERIFIED_STATUSES:
        return None
    required = required_credentials(facts, today) or []
    decided = _decision_run_start(required, today, policy)
    starts = [decided, _monitoring_run_start(facts, policy), facts.last_reinstated_on,
              *(c.valid_from for c in required), *(_monitoring_resumed(c, decided, policy) for c in required if decided)]
    return max((d for d in starts if d is not None), default=None)


def _monitoring_resumed(credential: CredentialFacts, start: date, policy: VettingPolicy) -> date | None:
    """Return the pass that ended the latest gap longer than the credential's window since ``start`` (None: no gap).

    Every pass is measured with the window of the latest pass's source: the facts keep one source per credential.
    """
    window, anchor, resumed = monitoring_days(policy, monitoring_source(credential)), start, None
    for day in credential.passes:
        if day <= anchor:
            continue
        if (day - anchor).days > window:
            resumed = day
        anchor = day
    return resumed


def _decision_run_start(required: list[CredentialFacts], today: date, policy: VettingPolicy) -> date | None:
    """Return the earliest decision of the unbroken run of decisions that ends in the current one."""
    # Passes before a credential's latest failed check belong to an earlier, broken run.
    passes = [[p for p in c.passes if p <= today and (c.last_blocked_on is None or p > c.last_blocked_on)]
              for c in required]
    days = _decision_days(passes, policy)
    if not days:
        return max((p[-1] for p in passes if p), default=None)
    start = days[-1]
    for earlier in reversed(days[:-1]):
        if add_months(earlier, policy.reverify_months) < start:
            break
        start = earlier
    return start


def _decision_days(passes: Sequence[Sequence[date]], policy: VettingPolicy = DEFAULT_POLICY) -> list[date]:
    """Return, oldest first, every day on which each credential's sorted passes had one within the window."""
    window = timedelta(days=policy.primary_source_days)

    def covered(day: date, dates: Sequence[date]) -> bool:
        index = bisect_right(dates, day)
        return index > 0 and dates[index - 1] >= day - window

    return [d for d in sorted({d for dates in passes for d in dates}) if all(covered(d, ds) for ds in passes)]


def _monitoring_run_start(facts: VettingFacts, policy: VettingPolicy) -> date | None:
    """Return the first exclusion-list pass of the unbroken monthly run that reaches the latest one."""
    passes = sorted(facts.exclusion_passed_on) or [d for d in (facts.last_exclusion_check_on,) if d is not None]
    if not passes:
        return None
    start = passes[-1]
    for earlier in reversed(passes[:-1]):
        if (start - earlier).days > policy.exclusion_days:
            break
        start = earlier
    return start

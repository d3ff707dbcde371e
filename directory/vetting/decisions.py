"""Every change of a practitioner's standing: the rules' own (status recompute, automatic
suspension on an NPI exclusion match) and admins' (suspend, reinstate, exclusion-list review).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import today as clock_today
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.referrals.services import tell_senders_of_suspension
from directory.vetting.checks import record_finding
from directory.vetting.facts import load_facts
from directory.vetting.labels import DECISION_CATEGORIES
from directory.vetting.models import VettingDecision
from directory.vetting.notices import announce_status_change, email_owner
from directory.vetting.policy import current_policy
from directory.vetting.sources import registry
from directory.vetting.sources.base import Finding, Source
from directory.vetting.sources.exclusions import current_list, open_review
from directory.vetting.status import compute_status, verified_since

AUTOMATIC_SUSPENSION_REASON = "the practitioner's NPI is on the exclusion list; suspended pending an admin's review"
REVIEW_DECISIONS = ("clear", "confirm")


def recompute_status(practitioner: Practitioner, *, automatic: bool = True) -> str:
    """Set the practitioner's cached vetting status from the evidence; search follows via the outbox."""
    return recompute_statuses([practitioner.id], automatic=automatic)[practitioner.id]


def recompute_statuses(practitioner_ids: Sequence[int], *, automatic: bool = True) -> dict[int, str]:
    """Recompute the cached status of many practitioners at once (a scheduled run's batch).

    A change the rules make by themselves (``automatic``) is audited, emailed to the practitioner
    and, when it suspends, recorded as an automatic decision that waits in the admin queue.
    The admin decisions below pass ``automatic=False``: they record and audit their own change.
    """
    facts = load_facts(practitioner_ids)
    today, policy, now = clock_today(), current_policy(), utcnow().replace(microsecond=0)
    statuses, changes = {}, []
    for practitioner in db.session.scalars(select(Practitioner).where(Practitioner.id.in_(practitioner_ids))):
        status = statuses[practitioner.id] = compute_status(facts[practitioner.id], today, policy)
        if status != practitioner.vetting_status:
            changes.append((practitioner, practitioner.vetting_status))
            practitioner.vetting_status, practitioner.vetting_status_since = status, now
        since = verified_since(facts[practitioner.id], today, policy)
        if since != practitioner.verified_since:  # an unchanged value would still mark the row dirty (a reindex)
            practitioner.verified_since = since
    db.session.flush()
    _tell_referral_senders(changes)
    if automatic:
        for practitioner, previous in changes:
            _record_automatic_change(practitioner, previous, facts[practitioner.id].suspended)
    return statuses


def _tell_referral_senders(changes: Sequence[tuple[Practitioner, str]]) -> None:
    """Tell the senders of open referrals when their practitioner becomes suspended (every suspension passes here)."""
    for practitioner, _previous in changes:
        if practitioner.vetting_status == "suspended":
            tell_senders_of_suspension(practitioner)


def _record_automatic_change(practitioner: Practitioner, previous: str, decided: bool) -> None:
    """Audit and announce a change the rules made; an exclusion-list suspension becomes a decision too."""
    category = ""
    if practitioner.vetting_status == "suspended" and not decided:
        category = "exclusion_list"
        db.session.add(VettingDecision(practitioner_id=practitioner.id, action="suspend", category=category,
                                       reason=AUTOMATIC_SUSPENSION_REASON, decided_by_id=None))
        db.session.flush()
    announce_status_change(practitioner, previous, category=category)


def latest_decision(practitioner_id: int) -> VettingDecision | None:
    """Return the practitioner's latest suspension or reinstatement."""
    return db.session.scalar(select(VettingDecision).where(VettingDecision.practitioner_id == practitioner_id)
                             .order_by(VettingDecision.id.desc()).limit(1))


def _required_reason(reason: str) -> str:
    """Return the stripped reason, or refuse an empty one."""
    reason = reason.strip()
    if not reason:
        raise InvalidParameter("Give the reason; it is kept with the decision.", field="reason")
    return reason


def _known_category(category: str) -> str:
    """Return the category, or refuse one the public history has no words for."""
    if category not in DECISION_CATEGORIES:
        raise InvalidParameter("Choose the public reason category.", field="category")
    return category


def decide(practitioner: Practitioner, action: str, reason: str, *, admin: User | None,
           category: str = "administrative_review") -> VettingDecision:
    """Record a suspension or reinstatement (automatic when ``admin`` is None) and apply it to the status."""
    decision = VettingDecision(practitioner_id=practitioner.id, action=action, reason=_required_reason(reason),
                               category=_known_category(category), decided_by_id=admin.id if admin else None)
    db.session.add(decision)
    db.session.flush()
    recompute_status(practitioner, automatic=False)
    return decision


def suspend(practitioner: Practitioner, reason: str, admin: User | None,
            category: str = "administrative_review") -> VettingDecision:
    """Suspend a practitioner (hidden from search and listings) for a stated reason, and tell them.

    An admin may suspend over an automatic suspension: that confirms it (and ends its review).
    """
    current = latest_decision(practitioner.id)
    if current is not None and current.action == "suspend" and (current.decided_by_id or admin is None):
        raise InvalidParameter("This practitioner is already suspended.", field="reason")
    previous = practitioner.vetting_status
    decision = decide(practitioner, "suspend", reason, admin=admin, category=category)
    record_audit("vetting.suspended", actor_id=admin.id if admin else None, subject_type="practitioner",
                 subject_id=practitioner.id, reason=decision.reason, category=decision.category)
    email_owner(practitioner, previous)
    return decision


def reinstate(practitioner: Practitioner, reason: str, admin: User,
              category: str = "administrative_review") -> VettingDecision:
    """Lift a suspension for a stated reason; an open exclusion-list hit is cleared with it."""
    reason = _required_reason(reason)
    if practitioner.vetting_status != "suspended":
        raise InvalidParameter("This practitioner is not suspended.", field="reason")
    previous = practitioner.vetting_status
    cleared = _clear_every_list(practitioner, admin, reason)
    decision = decide(practitioner, "reinstate", reason, admin=admin, category=category)
    record_audit("vetting.reinstated", actor_id=admin.id, subject_type="practitioner", subject_id=practitioner.id,
                 reason=reason, category=decision.category, cleared_exclusion_hits=cleared)
    email_owner(practitioner, previous)
    return decision


def exclusion_codes() -> tuple[str, ...]:
    """Return the codes of every exclusion-list source (the LEIE, SAM.gov)."""
    return tuple(s.code for s in registry.exclusion_screens())


def clear_open_hits(practitioner: Practitioner, admin: User, reason: str, decision: str,
                    recompute: bool = True, source: str = "") -> int | None:
    """Record an admin's decision on the open match (clear: not this person; confirm: excluded).

    ``source`` names the list whose match is decided (the oldest open one when empty); the
    decision is kept with that source, so a later import of the same list still honours it.
    Return how many listed records it covered, or None when no match awaited a decision.
    """
    review = open_review(practitioner.id, (_screen(source).code,) if source else exclusion_codes())
    if review is None:
        return None
    keys = sorted({h["record_key"] for h in review.hits if h.get("record_key")})
    cleared = decision == "clear"
    evidence = {"review": "cleared" if cleared else "confirmed", "reason": reason, "hits": review.hits,
                "reviewed_check_id": review.check_id,
                "cleared_record_keys" if cleared else "confirmed_record_keys": keys}
    listing = current_list(registry.get(review.source).list_code)
    finding = Finding(review.source, "pass" if cleared else "fail",
                      f"{'cleared' if cleared else 'confirmed'} by an admin: {reason}",
                      listing.reference if listing else "", evidence)
    record_finding(practitioner, finding, admin, audit=False)  # the decision is audited as a review
    if recompute:
        recompute_status(practitioner)
    return len(keys)


def _screen(code: str) -> Source:
    """Return the exclusion-list source ``code``, or refuse any other code as a form error."""
    source = registry.get(code)
    if not source.exclusion_screen:
        raise InvalidParameter("That is not an exclusion list.", field="source")
    return source


def _clear_every_list(practitioner: Practitioner, admin: User, reason: str) -> int | None:
    """Clear the open match of every exclusion list (a reinstatement lifts them all); None when none was open."""
    counts = []
    for code in exclusion_codes():
        if (count := clear_open_hits(practitioner, admin, reason, "clear", recompute=False, source=code)) is not None:
            counts.append(count)
    return sum(counts) if counts else None


def review_exclusion(practitioner: Practitioner, admin: User, decision: str, reason: str, source: str = "") -> int:
    """Decide on an exclusion-list match: clear it (not this person) or confirm it (suspended).

    Either way the decision is a row in the history. Confirming suspends through ``decide``;
    clearing lifts a suspension only when the match itself caused it automatically.
    """
    if decision not in REVIEW_DECISIONS:
        raise InvalidParameter("Choose clear or confirm.", field="decision")
    reason = _required_reason(reason)
    previous = practitioner.vetting_status
    count = clear_open_hits(practitioner, admin, reason, decision, recompute=False, source=source)
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

"""Scheduled re-verification: find what is due, run the automated sources, alert on expiries.

Safe to run from cron: what was checked is no longer due, an error is retried on the next
day's run rather than in a loop, and each alert is sent once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from directory.accounts.mail import public_url, queue_email
from directory.accounts.models import User
from directory.errors import DomainError
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.decisions import recompute_statuses
from directory.vetting.due import DueItem, alert_threshold, due_items, screens_of
from directory.vetting.facts import load_facts
from directory.vetting.models import Credential, ExpiryAlert
from directory.vetting.policy import current_policy
from directory.vetting.services import run_context, run_source, runnable_sources
from directory.vetting.sources import registry
from directory.vetting.sources.base import RunContext
from directory.vetting.sources.npi import NpiRegistryClient
from directory.vetting.status import VettingFacts, VettingPolicy, compute_status, verified_since


@dataclass(frozen=True)
class PlannedWork:
    """One practitioner's due items: those a run makes itself, and those left to admins."""

    practitioner_id: int
    automated: tuple[DueItem, ...]
    manual: tuple[DueItem, ...]


@dataclass
class RunSummary:
    """What a run did, for the command's closing report."""

    practitioners: int = 0
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    manual_queued: int = 0
    statuses_updated: int = 0
    alerts: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunPlan:
    """Who has checks due, and whose stored status no longer matches the rules (time moved on)."""

    work: list[PlannedWork]
    outdated: list[int]
    skipped: tuple[str, ...] = ()  # notes on sources left out of the run (a list never imported)


def plan_run(today: date, policy: VettingPolicy | None = None) -> RunPlan:
    """Return every practitioner with something due on ``today`` (in id order), and the outdated statuses."""
    policy = policy or current_policy()
    stored: dict[int, tuple[str, date | None]] = {pid: (status, since) for pid, status, since in db.session.execute(
        select(Practitioner.id, Practitioner.vetting_status, Practitioner.verified_since))}
    work, outdated = [], []
    for pid, facts in sorted(load_facts(sorted(stored)).items()):
        items = due_items(facts, today, policy)
        automated = tuple(i for i in items if i.automated and not _failed_today(i, facts, today))
        manual = tuple(i for i in items if not i.automated)
        if automated or manual:
            work.append(PlannedWork(pid, automated, manual))
        if not automated and _cached(facts, today, policy) != stored[pid]:
            outdated.append(pid)
    return RunPlan(work, outdated, skipped_sources())


def skipped_sources() -> tuple[str, ...]:
    """Return a note for each automated source whose list was never imported, so the run leaves it out.

    Such a list checks no one (and holds no one back) until its first import; recording an
    ``error`` for every practitioner instead would say nothing about any of them.
    """
    runnable = runnable_sources()
    return tuple(f"{s.label}: skipped, no list imported yet (flask exclusions import --source {s.list_code} FILE)"
                 for s in registry.automated() if s not in runnable)


def _cached(facts: VettingFacts, today: date, policy: VettingPolicy) -> tuple[str, date | None]:
    """Return what the practitioner row should cache: the status and the verified-since day."""
    return compute_status(facts, today, policy), verified_since(facts, today, policy)


def _failed_today(item: DueItem, facts: VettingFacts, today: date) -> bool:
    """Tell whether today's attempt at this item ended in an error (retry tomorrow, not in a loop)."""
    if registry.get(item.source).exclusion_screen:
        screen = next((s for s in screens_of(facts) if s.source == item.source), None)
        if screen is None:
            return False
        attempt, checked = screen.last_attempt_on, screen.last_check_on
    else:
        credential = next((c for c in facts.credentials if c.ref == item.credential_ref), None)
        if credential is None:
            return False
        attempt, checked = credential.last_attempt_on, credential.last_checked_on
    return attempt == today and checked != today


def run_batch(batch: Sequence[PlannedWork], client: NpiRegistryClient, summary: RunSummary) -> None:
    """Run a batch of practitioners' automated checks, then recompute their statuses together."""
    context = run_context(client)
    for work in batch:
        _run_checks(work, context, summary)
    recompute_statuses([w.practitioner_id for w in batch if w.automated])


def _run_checks(work: PlannedWork, context: RunContext, summary: RunSummary) -> None:
    """Run one practitioner's automated checks inside a savepoint; a failure is reported, not fatal."""
    summary.practitioners += 1
    summary.manual_queued += len(work.manual)
    if not work.automated:
        return
    try:
        with db.session.begin_nested():
            practitioner = db.session.get(Practitioner, work.practitioner_id)
            if practitioner is None:
                return
            for source in sorted({i.source for i in work.automated}):
                check = run_source(practitioner, source, context, recompute=False)
                summary.outcomes[(source, check.outcome)] += 1
    except (SQLAlchemyError, DomainError) as exc:
        summary.errors.append(f"practitioner {work.practitioner_id}: {exc}")


def send_expiry_alerts(today: date, policy: VettingPolicy | None = None) -> int:
    """Queue the expiry alerts owed today (practitioner, plus one digest to admins); return how many."""
    policy = policy or current_policy()
    horizon = today + timedelta(days=max(policy.alert_days, default=0))
    rows = db.session.execute(
        select(Credential, Practitioner).join(Practitioner, Practitioner.id == Credential.practitioner_id)
        .where(Credential.withdrawn_at.is_(None), Credential.valid_until.between(today, horizon))
        .order_by(Credential.valid_until, Credential.id)).all()
    lines = []
    for credential, practitioner in rows:
        days = alert_threshold(credential.valid_until, today, policy)
        if days is None or _alert_sent(credential, days):
            continue
        owner = db.session.scalar(select(User.email).where(User.practitioner_id == practitioner.id))
        if owner:
            queue_email(owner, f"Your {_kind(credential)} expires on {credential.valid_until}",
                        _owner_body(credential, days), "credential_expiry")
        db.session.add(ExpiryAlert(credential_id=credential.id, valid_until=credential.valid_until,
                                   days_before=days, recipients=1 if owner else 0))
        lines.append(f"- {practitioner.display_name} (#{practitioner.id}): {_kind(credential)} {credential.number} "
                     f"expires on {credential.valid_until} ({days} days)")
    if lines:
        for admin in db.session.scalars(select(User.email).where(User.role == "admin", User.state == "active")):
            queue_email(admin, f"Meridian: {len(lines)} credential expiry alerts",
                        "Credentials expiring soon:\n\n" + "\n".join(lines), "credential_expiry_digest")
    db.session.flush()
    return len(lines)


def _alert_sent(credential: Credential, days: int) -> bool:
    """Tell whether this alert was already sent for the credential's current expiry date."""
    return db.session.scalar(select(ExpiryAlert.id).where(
        ExpiryAlert.credential_id == credential.id, ExpiryAlert.valid_until == credential.valid_until,
        ExpiryAlert.days_before == days).limit(1)) is not None


def _kind(credential: Credential) -> str:
    """Return the credential's kind in words."""
    return credential.kind.replace("_", " ")


def _owner_body(credential: Credential, days: int) -> str:
    """Return the alert text sent to the practitioner."""
    when = "today" if days == 0 else f"in {days} days"
    return (f"Your {_kind(credential)} ({credential.issuer} {credential.number}) expires {when}, "
            f"on {credential.valid_until}.\n\nSubmit the renewed credential on Meridian so your profile stays "
            "verified; without it your listing shows as lapsed once the date has passed.\n\n"
            f"Renew it: {public_url('credentials.renew', credential_id=credential.id)}\n"
            f"All your credentials and what is due: {public_url('credentials.overview')}")

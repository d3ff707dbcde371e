"""What the admin screens show: the verification queue and one practitioner's full vetting record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from directory.accounts.models import User
from directory.clock import today as clock_today
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.reviews.services import Signal
from directory.vetting.chain import ChainBreak, verify_chain
from directory.vetting.due import DueItem, due_items
from directory.vetting.facts import load_facts
from directory.vetting.labels import WORK_ITEM_LABELS
from directory.vetting.models import Credential, FormerName, VerificationCheck, VettingDecision, VettingIdentity
from directory.vetting.notices import reported_chain_breaks
from directory.vetting.policy import current_policy
from directory.vetting.review_signals import open_signals
from directory.vetting.services import get_practitioner, run_context, run_source
from directory.vetting.sources import registry
from directory.vetting.sources.exclusions import OpenReview, open_review
from directory.vetting.sources.npi import NpiRegistryClient


def broken_chain_items() -> dict[int, list[DueItem]]:
    """Return a queue item for each reported broken chain that still does not add up."""
    items = {}
    for pid, reported_at in reported_chain_breaks().items():
        if practitioner_chain_breaks(pid):
            items[pid] = [DueItem("chain", "the verification history does not add up; compare it with a backup",
                                  reported_at.date(), due_by=reported_at.date())]
    return items


def practitioner_chain_breaks(practitioner_id: int) -> list[ChainBreak]:
    """Recompute one practitioner's chain from the stored rows; return every break."""
    table = VerificationCheck.__table__
    rows: Sequence[Any] = db.session.execute(select(table).where(table.c.practitioner_id == practitioner_id)
                              .order_by(table.c.sequence)).mappings().all()
    return verify_chain(rows)


@dataclass
class CheckView:
    """A recorded check as an admin reads it: the row, its evidence pretty-printed, any document."""

    check: VerificationCheck
    evidence: str
    document: dict[str, Any] | None
    what: str = ""


@dataclass
class Dossier:
    """Everything about one practitioner's vetting, for the admin screen."""

    practitioner: Practitioner
    credentials: list[Credential]
    checks: list[CheckView]
    chain_breaks: list[ChainBreak]
    due: list[DueItem]
    decisions: list[VettingDecision]
    open_review: OpenReview | None
    date_of_birth: date | None
    former_names: list[FormerName] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)  # adverse-event signals no admin has looked at yet

    @property
    def suspension_unreviewed(self) -> bool:
        """Tell whether the latest decision is an automatic suspension no admin has reviewed."""
        latest = self.decisions[0] if self.decisions else None
        return latest is not None and latest.action == "suspend" and latest.decided_by_id is None


def dossier(practitioner_id: int) -> Dossier:
    """Return the practitioner's credentials, every check with its evidence, decisions and what is due."""
    practitioner = get_practitioner(practitioner_id)
    checks = list(db.session.scalars(select(VerificationCheck).where(VerificationCheck.practitioner_id == practitioner_id)
                                     .order_by(VerificationCheck.sequence)))
    columns = VerificationCheck.__table__.columns.keys()
    breaks = verify_chain([{c: getattr(check, c) for c in columns} for check in checks])
    facts = load_facts([practitioner_id])[practitioner_id]
    return Dossier(
        practitioner=practitioner,
        credentials=list(db.session.scalars(select(Credential).where(Credential.practitioner_id == practitioner_id)
                                            .order_by(Credential.id))),
        checks=[_check_view(c) for c in reversed(checks)],
        chain_breaks=breaks,
        due=due_items(facts, clock_today(), current_policy()),
        decisions=list(db.session.scalars(select(VettingDecision).where(VettingDecision.practitioner_id == practitioner_id)
                                          .order_by(VettingDecision.id.desc()))),
        open_review=open_review(practitioner_id, [s.code for s in registry.exclusion_screens()]),
        date_of_birth=db.session.scalar(select(VettingIdentity.date_of_birth)
                                        .where(VettingIdentity.practitioner_id == practitioner_id)),
        former_names=list(db.session.scalars(select(FormerName).where(FormerName.practitioner_id == practitioner_id)
                                             .order_by(FormerName.id))),
        signals=open_signals([practitioner_id]).get(practitioner_id, []),
    )


def _check_view(check: VerificationCheck) -> CheckView:
    """Return a check with its evidence decoded for display."""
    try:
        evidence = json.loads(check.evidence)
    except ValueError:
        return CheckView(check, check.evidence, None)
    document = evidence.get("document") if isinstance(evidence, dict) else None
    what = str(evidence.get("what_was_checked", "")) if isinstance(evidence, dict) else ""
    return CheckView(check, json.dumps(evidence, indent=2, ensure_ascii=False, sort_keys=True), document, what)


@dataclass(frozen=True)
class RunResult:
    """A check run on an admin's request; ``repeated`` when it was the same failure as a moment ago."""

    check: VerificationCheck
    repeated: bool


def run_check(practitioner_id: int, source: str, admin: User) -> RunResult:
    """Run an automated source for one practitioner on an admin's request (the check is audited as it is written)."""
    code = registry.get_automated(source).code
    practitioner = get_practitioner(practitioner_id)
    last_id = db.session.scalar(select(func.max(VerificationCheck.id))
                                .where(VerificationCheck.practitioner_id == practitioner_id)) or 0
    client = NpiRegistryClient.from_config()
    try:
        check = run_source(practitioner, code, run_context(client), performed_by=admin)
    finally:
        client.close()
    return RunResult(check, check.id <= last_id)


def item_label(code: str) -> str:
    """Return what admins read for a queue item's source (a source, or a decision or chain to look at)."""
    return WORK_ITEM_LABELS.get(code) or registry.label(code)

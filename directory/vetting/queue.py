"""What the admin screens show: the verification queue and one practitioner's full vetting record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import today as clock_today
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.chain import ChainBreak, verify_chain
from directory.vetting.checks import check_npi
from directory.vetting.due import DueItem, due_items
from directory.vetting.facts import load_facts
from directory.vetting.models import Credential, FormerName, VerificationCheck, VettingDecision, VettingIdentity
from directory.vetting.services import current_policy, get_practitioner
from directory.vetting.sources.exclusions import check_exclusions, open_hits
from directory.vetting.sources.npi import NpiRegistryClient

AUTOMATED_SOURCES = ("npi_registry", "exclusion_list")


@dataclass(frozen=True)
class QueueEntry:
    """One practitioner in the queue: who, their status, what is due, and since when."""

    practitioner_id: int
    name: str
    status: str
    items: tuple[DueItem, ...]

    @property
    def since(self) -> date:
        """Return the date the oldest item has been waiting since."""
        return self.items[0].since


def verification_queue(page: int = 1, per_page: int = 50) -> tuple[list[QueueEntry], int]:
    """Return one page of practitioners with checks due (oldest first) and how many there are in all."""
    today, policy = clock_today(), current_policy()
    due = [(pid, items) for pid, facts in load_facts().items() if (items := due_items(facts, today, policy))]
    due.sort(key=lambda entry: (entry[1][0].since, entry[0]))
    window = due[(page - 1) * per_page: page * per_page]
    names = {p.id: p for p in db.session.scalars(select(Practitioner).where(Practitioner.id.in_([i for i, _ in window])))}
    entries = [QueueEntry(pid, names[pid].display_name, names[pid].vetting_status, tuple(items))
               for pid, items in window if pid in names]
    return entries, len(due)


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
    open_hits: list[dict[str, Any]]
    date_of_birth: date | None
    former_names: list[FormerName] = field(default_factory=list)


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
        open_hits=open_hits(practitioner_id),
        date_of_birth=db.session.scalar(select(VettingIdentity.date_of_birth)
                                        .where(VettingIdentity.practitioner_id == practitioner_id)),
        former_names=list(db.session.scalars(select(FormerName).where(FormerName.practitioner_id == practitioner_id)
                                             .order_by(FormerName.id))),
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


def run_check(practitioner_id: int, source: str, admin: User) -> VerificationCheck:
    """Run an automated source for one practitioner on an admin's request, and audit it."""
    if source not in AUTOMATED_SOURCES:
        raise InvalidParameter("Only the NPI registry and the exclusion list can be run from here.", field="source")
    practitioner = get_practitioner(practitioner_id)
    if source == "npi_registry":
        client = NpiRegistryClient.from_config()
        try:
            check = check_npi(practitioner, client, performed_by=admin)
        finally:
            client.close()
    else:
        check = check_exclusions(practitioner, performed_by=admin)
    record_audit("vetting.check_run", actor_id=admin.id, subject_type="practitioner", subject_id=practitioner.id,
                 source=source, outcome=check.outcome, check_id=check.id)
    return check

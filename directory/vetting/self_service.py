"""Practitioners keep their own credentials: each one's state, public history and what is due; add or renew one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from directory.accounts.models import User
from directory.accounts.services import pending_claim
from directory.errors import Forbidden, NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.practitioners.profile_service import CHECK_OUTCOMES, CREDENTIAL_KINDS
from directory.vetting.credentials import CredentialDetails, record_credential
from directory.vetting.documents import StoredDocument
from directory.vetting.due import DueItem, due_items
from directory.vetting.evidence import format_day
from directory.vetting.facts import load_facts
from directory.vetting.models import Credential, VerificationCheck
from directory.vetting.policy import current_policy
from directory.vetting.sources import registry
from directory.vetting.status import CredentialFacts


class NoListingYet(Forbidden):
    """The signed-in practitioner does not own an approved listing (yet): say why, and what to do."""

    code = "no_listing"


ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@dataclass(frozen=True)
class CheckLine:
    """One check of a credential, as the public history shows it."""

    day: date
    where: str
    outcome: str
    outcome_label: str

    @property
    def day_label(self) -> str:
        """Return the check's day as "3 Nov 2026"."""
        return format_day(self.day)


@dataclass(frozen=True)
class CredentialView:
    """One credential on its owner's page: what it is, its verification state, its history and what is due."""

    credential: Credential
    state: str  # pending, confirmed, failed, expired, due, replaced
    state_label: str
    history: tuple[CheckLine, ...] = ()
    due: tuple[DueItem, ...] = ()

    @property
    def due_lines(self) -> list[str]:
        """Return what is due, each with its day: "Never checked (due since 1 Dec 2026)"."""
        return [_due_line(i) for i in self.due]

    @property
    def valid_label(self) -> str:
        """Return the validity period: "1 Dec 2026 to 30 Nov 2028", "From 1 Dec 2026", "Until …", "No expiry date"."""
        c = self.credential
        if c.valid_from and c.valid_until:
            return f"{format_day(c.valid_from)} to {format_day(c.valid_until)}"
        if c.valid_from:
            return f"From {format_day(c.valid_from)}, no expiry date"
        if c.valid_until:
            return f"Until {format_day(c.valid_until)}"
        return "No expiry date"  # an NPI, say: it is confirmed, not renewed

    @property
    def title(self) -> str:
        """Return "State licence AC12345, MA"."""
        c = self.credential
        where = f", {c.jurisdiction}" if c.jurisdiction else ""
        return f"{CREDENTIAL_KINDS.get(c.kind, c.kind)} {c.number}{where}"


@dataclass(frozen=True)
class CredentialsPage:
    """A practitioner's credentials: the current ones, then those replaced by a renewal or a correction."""

    practitioner: Practitioner
    current: list[CredentialView]
    replaced: list[CredentialView]


def owned_listing(user: User) -> Practitioner:
    """Return the listing ``user`` owns; NoListingYet, with what to do, while there is none."""
    if user.approved_at is not None and user.practitioner is not None:
        return user.practitioner
    claim = pending_claim(user)
    if claim is not None:
        raise NoListingYet(f"Your claim of {claim.practitioner.display_name} is awaiting an admin's approval. "
                           "You can add and renew its credentials once it is approved; we will email you the "
                           "decision.")
    if user.approved_at is None:
        raise NoListingYet("Your account is awaiting an admin's approval. You can manage your credentials once it "
                           "is approved; we will email you the decision.")
    raise NoListingYet("You do not manage a listing yet. Claim your profile from your account page; once an admin "
                       "has approved the claim you can add and renew its credentials here.")


def own_credential(practitioner: Practitioner, credential_id: int) -> Credential:
    """Return the listing's current credential with that id; NotFound for anyone else's (never confirm it exists)."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.practitioner_id != practitioner.id or credential.withdrawn_at is not None:
        raise NotFound("You have no current credential with that number.")
    return credential


def credentials_page(practitioner: Practitioner, today: date) -> CredentialsPage:
    """Return the listing's credentials with their states, public check history and due items."""
    credentials = list(db.session.scalars(select(Credential).where(Credential.practitioner_id == practitioner.id)
                                          .order_by(Credential.id.desc())))
    facts = load_facts([practitioner.id])[practitioner.id]
    by_ref = {c.ref: c for c in facts.credentials}
    due = due_items(facts, today, current_policy())
    history = _history(practitioner.id)
    views = [_view(c, by_ref.get(c.id), tuple(i for i in due if i.credential_ref == c.id),
                   history.get(c.id, ()), today) for c in credentials]
    return CredentialsPage(practitioner, [v for v in views if v.state != "replaced"],
                           [v for v in views if v.state == "replaced"])


def _history(practitioner_id: int) -> dict[int, tuple[CheckLine, ...]]:
    """Return each credential's checks, newest first, in their public words."""
    found: dict[int, list[CheckLine]] = {}
    checks = db.session.scalars(select(VerificationCheck).where(
        VerificationCheck.practitioner_id == practitioner_id, VerificationCheck.credential_id.is_not(None))
        .order_by(VerificationCheck.sequence.desc()))
    for check in checks:
        label = registry.outcome_label(check.source, check.outcome) or CHECK_OUTCOMES.get(check.outcome, check.outcome)
        found.setdefault(check.credential_id or 0, []).append(
            CheckLine(check.performed_at.date(), registry.history_label(check.source), check.outcome, label))
    return {ref: tuple(lines) for ref, lines in found.items()}


def _view(credential: Credential, facts: CredentialFacts | None, due: tuple[DueItem, ...],
          history: tuple[CheckLine, ...], today: date) -> CredentialView:
    """Describe one credential's verification state from the facts the status rules read."""
    if facts is None:  # withdrawn: the facts only hold current credentials
        when = format_day(credential.withdrawn_at.date()) if credential.withdrawn_at else ""
        return CredentialView(credential, "replaced", f"Replaced on {when}", history)
    state, label = _state(facts, due, today)
    return CredentialView(credential, state, label, history, due)


def _state(facts: CredentialFacts, due: tuple[DueItem, ...], today: date) -> tuple[str, str]:
    """Return (state, words) of a current credential: expired, failed, confirmed, due or pending."""
    if facts.expired_on(today) and facts.valid_until is not None:
        return "expired", f"Expired on {format_day(facts.valid_until)}: submit the renewed credential"
    if facts.last_outcome == "fail":
        return "failed", "The last check did not confirm it: correct it or contact us"
    if facts.last_pass_on is not None:
        where = registry.get(facts.last_pass_source).checked_where if facts.last_pass_source else ""
        confirmed = f"Confirmed on {format_day(facts.last_pass_on)}{' ' + where if where else ''}"
        return ("due", f"{confirmed}; a new check is due") if due else ("confirmed", confirmed)
    if facts.last_outcome == "needs_review":
        return "pending", "Pending: an admin is reviewing the check"
    return "pending", "Pending: waiting for its check at the primary source"


def submit_credential(practitioner: Practitioner, owner: User, details: CredentialDetails, *,
                      replaces: Credential | None = None, document: StoredDocument | None = None) -> Credential:
    """Record a credential the owner submitted (a renewal or correction replaces the old one); it starts pending."""
    return record_credential(practitioner, owner, details, replaces=replaces, document=document)


def _due_line(item: DueItem) -> str:
    """Return one due item in words: its reason with dates written out, and the day only when it adds one."""
    reason = ISO_DAY.sub(lambda m: format_day(date.fromisoformat(m.group(0))), item.reason)
    day = item.due_by or item.since
    when = "" if format_day(day) in reason else f" ({'by' if item.due_by else 'due since'} {format_day(day)})"
    return f"{reason[:1].upper()}{reason[1:]}{when}"

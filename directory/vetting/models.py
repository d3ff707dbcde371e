"""Credentials and the append-only, hash-chained history of verification checks."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column, relationship

from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.practitioners.models import _enum_check
from directory.vetting.labels import DECISION_CATEGORIES

if TYPE_CHECKING:
    from directory.accounts.models import User
    from directory.practitioners.models import Practitioner

CREDENTIAL_KINDS = (
    "state_licence",
    "national_licence",
    "certification",
    "npi",
    "insurance",
    "medical_degree",
    "foreign_registration",
)
CHECK_SOURCES = (
    "npi_registry", "exclusion_list", "sam_exclusions", "state_board", "certification_body", "document", "manual",
    "review_signal",
)
CHECK_OUTCOMES = ("pass", "fail", "error", "needs_review")
DECISION_ACTIONS = ("suspend", "reinstate")
# The exclusion lists imported, by code, with the name checks cite them by.
EXCLUSION_LISTS = {"leie": "LEIE", "sam": "SAM"}
ONE_SUBJECT = "(practitioner_id IS NULL) <> (user_id IS NULL)"


class AppendOnlyViolation(DomainError):
    """Someone tried to change or remove a recorded verification check."""

    status = 409
    code = "append_only"


class Credential(db.Model):  # type: ignore[name-defined,misc]
    """A licence, certification, NPI or insurance policy submitted for verification.

    It belongs to a practitioner, or to a user (a doctor's licence), never both.
    """

    __tablename__ = "credential"
    __table_args__ = (
        CheckConstraint(ONE_SUBJECT, name="one_subject"),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from", name="valid_range"),
        CheckConstraint("number <> ''", name="number_present"),
        _enum_check("kind", CREDENTIAL_KINDS, "kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    issuer: Mapped[str] = mapped_column(String(200), default="")
    number: Mapped[str] = mapped_column(String(60))
    jurisdiction: Mapped[str] = mapped_column(String(60), default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    document_path: Mapped[str | None] = mapped_column(String(255))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_mime: Mapped[str | None] = mapped_column(String(60))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)

    practitioner: Mapped[Practitioner | None] = relationship(back_populates="credentials")
    user: Mapped[User | None] = relationship()


class VerificationCheck(db.Model):  # type: ignore[name-defined,misc]
    """One check of one subject, never changed once written.

    ``row_hash`` covers the row's content and ``previous_hash`` (the subject's previous
    row), so the subject's history is a chain anyone can recompute (see vetting.chain).
    """

    __tablename__ = "verification_check"
    __table_args__ = (
        CheckConstraint(ONE_SUBJECT, name="one_subject"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("(sequence = 1) = (previous_hash IS NULL)", name="chain_start"),
        CheckConstraint("length(row_hash) = 64", name="hash_length"),
        _enum_check("source", CHECK_SOURCES, "source_known"),
        _enum_check("outcome", CHECK_OUTCOMES, "outcome_known"),
        UniqueConstraint("practitioner_id", "sequence"),
        UniqueConstraint("user_id", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credential.id", ondelete="RESTRICT"), index=True)
    source: Mapped[str] = mapped_column(String(24))
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    performed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)

    practitioner: Mapped[Practitioner | None] = relationship(back_populates="checks", foreign_keys=[practitioner_id])
    credential: Mapped[Credential | None] = relationship()


@event.listens_for(VerificationCheck, "before_update")
def _refuse_update(mapper: Mapper[Any], connection: Any, target: VerificationCheck) -> None:
    """Refuse any ORM update of a recorded check."""
    raise AppendOnlyViolation("verification checks are append-only; record a new check instead")


@event.listens_for(VerificationCheck, "before_delete")
def _refuse_delete(mapper: Mapper[Any], connection: Any, target: VerificationCheck) -> None:
    """Refuse any ORM delete of a recorded check."""
    raise AppendOnlyViolation("verification checks are append-only and cannot be deleted")


class CheckSummary(db.Model):  # type: ignore[name-defined,misc]
    """A practitioner's checks folded as the status rules read them, up to the chain's head ``head``.

    A results page folded every check of its practitioners (about 370 rows, 10-15 ms at 100k); it now reads one of
    these per card. Checks are append-only and each row's hash covers the one before, so a fold up to a head never
    changes: a reader trusts a row only while ``head`` is still the hash of the practitioner's latest check and
    ``fold`` names the current folding rules (see directory/vetting/folds.py), and folds the chain itself otherwise.
    A stale or missing row is slower, never wrong. No foreign key, as for the card rows.
    """

    __tablename__ = "check_summary"

    practitioner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head: Mapped[str] = mapped_column(String(64))  # row_hash of the last check folded ("" before any check)
    fold: Mapped[str] = mapped_column(String(16))  # the folding rules' fingerprint (folds.FOLD)
    data: Mapped[str] = mapped_column(Text)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Refuse ``update(...)``/``delete(...)`` statements on append-only models too."""
    if (state.is_update or state.is_delete) and any(
        m.class_ in (VerificationCheck, VettingDecision) for m in state.all_mappers
    ):
        raise AppendOnlyViolation("verification checks and vetting decisions are append-only")


class VettingDecision(db.Model):  # type: ignore[name-defined,misc]
    """A suspension or reinstatement (by an admin, or automatic when decided_by is empty); never changed.

    ``reason`` is the admin's private note; ``category`` is the neutral reason the public sees.
    """

    __tablename__ = "vetting_decision"
    __table_args__ = (
        CheckConstraint("reason <> ''", name="reason_present"),
        _enum_check("action", DECISION_ACTIONS, "action_known"),
        _enum_check("category", tuple(DECISION_CATEGORIES), "category_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    category: Mapped[str] = mapped_column(String(24), default="administrative_review",
                                          server_default="administrative_review")


@event.listens_for(VettingDecision, "before_update")
def _refuse_decision_update(mapper: Mapper[Any], connection: Any, target: VettingDecision) -> None:
    """Refuse any ORM update of a recorded decision."""
    raise AppendOnlyViolation("vetting decisions are append-only; record a new decision instead")


@event.listens_for(VettingDecision, "before_delete")
def _refuse_decision_delete(mapper: Mapper[Any], connection: Any, target: VettingDecision) -> None:
    """Refuse any ORM delete of a recorded decision."""
    raise AppendOnlyViolation("vetting decisions are append-only and cannot be deleted")


class VettingIdentity(db.Model):  # type: ignore[name-defined,misc]
    """Identity details used only to match the exclusion list (admins only, never public)."""

    __tablename__ = "vetting_identity"

    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class FormerName(db.Model):  # type: ignore[name-defined,misc]
    """A name the practitioner was known by before (exclusion lists may list them under it)."""

    __tablename__ = "former_name"
    __table_args__ = (
        CheckConstraint("last_name <> ''", name="last_name_present"),
        UniqueConstraint("practitioner_id", "first_name", "last_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80))


class ExpiryAlert(db.Model):  # type: ignore[name-defined,misc]
    """An expiry alert that was sent (N days before a credential's valid-until date), so it is sent once."""

    __tablename__ = "expiry_alert"
    __table_args__ = (
        UniqueConstraint("credential_id", "valid_until", "days_before"),
        CheckConstraint("days_before >= 0", name="days_before_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credential.id", ondelete="CASCADE"), index=True)
    valid_until: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class ExclusionImport(db.Model):  # type: ignore[name-defined,misc]
    """One import of an exclusion list (OIG LEIE or SAM.gov): which file, its hash, and what it held."""

    __tablename__ = "exclusion_import"
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="hash_length"),
        CheckConstraint("rows_read >= 0 AND rows_imported >= 0 AND rows_skipped >= 0", name="counts_non_negative"),
        _enum_check("list", tuple(EXCLUSION_LISTS), "list_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which list this file is; each list is replaced on its own (a SAM import leaves the LEIE in force).
    list_code: Mapped[str] = mapped_column("list", String(8), default="leie", server_default="leie")
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_date: Mapped[date] = mapped_column(Date)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_imported: Mapped[int] = mapped_column(Integer)
    rows_skipped: Mapped[int] = mapped_column(Integer)
    # The first skipped rows as JSON [[line, reason], ...], for the admin to look at.
    problems: Mapped[str] = mapped_column(Text, default="[]")

    @property
    def reference(self) -> str:
        """Return how checks against this list name it (their ``reference``)."""
        return self.reference_of(self.list_code, self.file_date, self.sha256)

    @staticmethod
    def reference_of(list_code: str, file_date: date, sha256: str) -> str:
        """Return the reference of an import from its columns (for a read that builds no object)."""
        return f"{EXCLUSION_LISTS[list_code]} {file_date} sha256:{sha256[:12]}"


class Exclusion(db.Model):  # type: ignore[name-defined,misc]
    """One row of the current exclusion list, as published (LEIE column layout)."""

    __tablename__ = "exclusion"
    __table_args__ = (
        CheckConstraint("npi IS NULL OR length(npi) = 10", name="npi_length"),
        CheckConstraint("length(record_key) = 64", name="record_key_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("exclusion_import.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    last_name: Mapped[str] = mapped_column(Text, default="")
    first_name: Mapped[str] = mapped_column(Text, default="")
    middle_name: Mapped[str] = mapped_column(Text, default="")
    business_name: Mapped[str] = mapped_column(Text, default="")
    general: Mapped[str] = mapped_column(Text, default="")
    specialty: Mapped[str] = mapped_column(Text, default="")
    upin: Mapped[str] = mapped_column(String(20), default="")
    npi: Mapped[str | None] = mapped_column(String(10), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip: Mapped[str] = mapped_column(String(10), default="")
    exclusion_type: Mapped[str] = mapped_column(String(20), default="")
    excluded_on: Mapped[date | None] = mapped_column(Date)
    reinstated_on: Mapped[date | None] = mapped_column(Date)
    waiver_on: Mapped[date | None] = mapped_column(Date)
    waiver_state: Mapped[str] = mapped_column(String(2), default="")
    # Stable across monthly files: lets an admin's "not this person" survive re-imports.
    record_key: Mapped[str] = mapped_column(String(64), index=True)
    # What only this row's list publishes (SAM: classification, agency, UEI, SAM number...), as JSON.
    details: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class ExclusionName(db.Model):  # type: ignore[name-defined,misc]
    """A normalised (last name, first name) under which an exclusion row can be found."""

    __tablename__ = "exclusion_name"
    __table_args__ = (Index("ix_exclusion_name_keys", "last_key", "first_key"),)

    exclusion_id: Mapped[int] = mapped_column(ForeignKey("exclusion.id", ondelete="CASCADE"), primary_key=True)
    last_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    first_key: Mapped[str] = mapped_column(String(80), primary_key=True)

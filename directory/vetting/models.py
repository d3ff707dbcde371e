"""Credentials and the append-only, hash-chained history of verification checks."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column, relationship

from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.practitioners.models import _enum_check

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
CHECK_SOURCES = ("npi_registry", "exclusion_list", "state_board", "certification_body", "document", "manual")
CHECK_OUTCOMES = ("pass", "fail", "error", "needs_review")
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


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Refuse ``update(VerificationCheck)``/``delete(VerificationCheck)`` statements too."""
    if (state.is_update or state.is_delete) and any(
        m.class_ is VerificationCheck for m in state.all_mappers
    ):
        raise AppendOnlyViolation("verification checks are append-only")

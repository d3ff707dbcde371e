"""Users with one role each, and the append-only audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import _enum_check

if TYPE_CHECKING:
    from directory.practitioners.models import Practitioner

ROLES = ("patient", "doctor", "practitioner", "admin")
ACCOUNT_STATES = ("active", "pending_approval", "locked", "deleted")


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A person who signs in: a patient, a doctor, a practitioner or an admin."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="email_normalised"),
        CheckConstraint("practitioner_id IS NULL OR role = 'practitioner'", name="profile_only_for_practitioners"),
        CheckConstraint("failed_sign_ins >= 0", name="failed_sign_ins_non_negative"),
        _enum_check("role", ROLES, "role_known"),
        _enum_check("state", ACCOUNT_STATES, "state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(160), default="")
    role: Mapped[str] = mapped_column(String(16), default="patient")
    state: Mapped[str] = mapped_column(String(20), default="active")
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The profile a practitioner has claimed (after admin approval); one owner per profile.
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="SET NULL"), unique=True)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    practitioner: Mapped[Practitioner | None] = relationship(foreign_keys=[practitioner_id])


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """Who did what to which record, when and from where; rows are only ever added."""

    __tablename__ = "audit_event"
    __table_args__ = (CheckConstraint("action <> ''", name="action_present"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")


class OutgoingEmail(db.Model):  # type: ignore[name-defined,misc]
    """A message waiting to be sent (password reset, confirmation, alerts); the test suite reads these."""

    __tablename__ = "outgoing_email"
    __table_args__ = (CheckConstraint("recipient LIKE '%_@_%'", name="recipient_is_address"),
                      CheckConstraint("attempts >= 0", name="attempts_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


CLAIM_DECISIONS = ("pending", "approved", "rejected")


class PractitionerClaim(db.Model):  # type: ignore[name-defined,misc]
    """A practitioner's request to own a profile, and the admin's decision on it."""

    __tablename__ = "practitioner_claim"
    __table_args__ = (
        _enum_check("decision", CLAIM_DECISIONS, "decision_known"),
        CheckConstraint("(decision = 'pending') = (decided_at IS NULL)", name="decided_when_not_pending"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decision: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    # The claimant created this listing ("Create my listing"): it stays hidden until the claim is approved.
    creates_listing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    practitioner: Mapped[Practitioner] = relationship()

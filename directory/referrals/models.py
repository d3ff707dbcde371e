"""Referrals (from a doctor) and appointment requests (from a patient), their events and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import _enum_check
from directory.referrals.crypto import SealedText
from directory.referrals.lifecycle import NOTE_MAX_LENGTH, ROLES, SCHEDULED_STATES, STATES

if TYPE_CHECKING:
    from directory.practitioners.models import Practitioner

KINDS = ("referral", "request")
URGENCIES = ("routine", "soon")
_IN_SCHEDULED = ", ".join(f"'{state}'" for state in SCHEDULED_STATES)


def _at_most(column: str, name: str, limit: int = NOTE_MAX_LENGTH) -> CheckConstraint:
    """Return a CHECK constraint capping a text column's length (the services refuse first, with a message)."""
    return CheckConstraint(f"{column} IS NULL OR length({column}) <= {limit}", name=name)


class Referral(db.Model):  # type: ignore[name-defined,misc]
    """One patient sent to one practitioner, by a doctor (``referral``) or by the patient (``request``)."""

    __tablename__ = "referral"
    __table_args__ = (
        _enum_check("state", STATES, "state_known"),
        _enum_check("kind", KINDS, "kind_known"),
        _enum_check("urgency", URGENCIES, "urgency_known"),
        CheckConstraint("reason <> ''", name="reason_present"),
        _at_most("reason", "reason_length"),
        _at_most("outcome", "outcome_length"),
        _at_most("preferred_times", "preferred_times_length", 1000),
        CheckConstraint("idempotency_key <> ''", name="idempotency_key_present"),
        CheckConstraint(f"state NOT IN ({_IN_SCHEDULED}) OR scheduled_for IS NOT NULL", name="scheduled_has_time"),
        CheckConstraint("state <> 'completed' OR (outcome IS NOT NULL AND outcome <> '')", name="completed_has_outcome"),
        # A request is the patient's own: its sender is the patient it names (both cleared on account deletion).
        CheckConstraint("kind = 'referral' OR patient_id IS NULL OR patient_id = sender_id", name="request_names_sender"),
        UniqueConstraint("sender_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="referral")
    # NULL once the sender deleted their account; the practitioner keeps the referral they are working on.
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"), index=True)
    # The patient's own account, when the contact matched a confirmed one (or the patient sent it).
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # Ciphertext only (SealedText); erased (NULL) when the patient deletes their account.
    patient_name: Mapped[str | None] = mapped_column(SealedText)
    patient_contact: Mapped[str | None] = mapped_column(SealedText)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id", ondelete="RESTRICT"))
    method_id: Mapped[int | None] = mapped_column(ForeignKey("method.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8), default="routine")
    preferred_times: Mapped[str] = mapped_column(Text, default="")
    # Health data, so sealed too: JSON of the answers and the flags for the practitioner's methods when sent.
    screening_snapshot: Mapped[str | None] = mapped_column(SealedText)
    flags_acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="sent", index=True)
    respond_by: Mapped[datetime] = mapped_column(DateTime, index=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime)
    # The IANA zone the appointment was booked in (the clinic's; appointments.py): pages show it in that zone.
    scheduled_zone: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    practitioner: Mapped[Practitioner] = relationship()
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )

    def __repr__(self) -> str:
        """Name the referral by number and state only: patient data never reaches a log line."""
        return f"<Referral #{self.id} {self.kind} {self.state}>"


class ReferralEvent(db.Model):  # type: ignore[name-defined,misc]
    """One transition of a referral: from which state to which, by whom (in which role), when, and why."""

    __tablename__ = "referral_event"
    __table_args__ = (
        _enum_check("to_state", STATES, "to_state_known"),
        _enum_check("actor_role", ROLES, "actor_role_known"),
        CheckConstraint("from_state IS NULL OR from_state <> to_state", name="changes_state"),
        _at_most("note", "note_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    referral: Mapped[Referral] = relationship(back_populates="events")


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """An in-app notice to one user about one referral; unread until ``read_at`` is set."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("text <> ''", name="text_present"),
        Index("ix_notification_user_id_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

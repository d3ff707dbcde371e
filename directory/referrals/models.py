"""Referrals from a doctor to a practitioner, and every transition they went through."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import _enum_check

REFERRAL_STATES = ("draft", "sent", "accepted", "declined", "scheduled", "completed", "cancelled", "expired")
# Allowed transitions (ARCHITECTURE "Referrals"); services enforce them, the events record them.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("sent", "cancelled"),
    "sent": ("accepted", "declined", "cancelled", "expired"),
    "accepted": ("scheduled", "cancelled"),
    "scheduled": ("completed", "cancelled"),
    "declined": (),
    "completed": (),
    "cancelled": (),
    "expired": (),
}


class Referral(db.Model):  # type: ignore[name-defined,misc]
    """A doctor's referral of one patient to one practitioner, with the minimum patient data."""

    __tablename__ = "referral"
    __table_args__ = (
        _enum_check("state", REFERRAL_STATES, "state_known"),
        CheckConstraint("reason <> ''", name="reason_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Contact data is dropped (set to NULL) when the patient deletes their account.
    patient_name: Mapped[str | None] = mapped_column(String(160))
    patient_contact: Mapped[str | None] = mapped_column(String(254))
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id", ondelete="RESTRICT"))
    method_id: Mapped[int | None] = mapped_column(ForeignKey("method.id", ondelete="RESTRICT"))
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screening.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    respond_by: Mapped[date | None] = mapped_column(Date)
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )


class ReferralEvent(db.Model):  # type: ignore[name-defined,misc]
    """One transition of a referral: from which state to which, by whom, when."""

    __tablename__ = "referral_event"
    __table_args__ = (
        _enum_check("to_state", REFERRAL_STATES, "to_state_known"),
        CheckConstraint("from_state IS NULL OR from_state <> to_state", name="changes_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    referral: Mapped[Referral] = relationship(back_populates="events")

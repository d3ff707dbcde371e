"""A saved screening: stored only when the patient chooses to keep it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from directory.clock import utcnow
from directory.extensions import db


class Screening(db.Model):  # type: ignore[name-defined,misc]
    """The answers a patient gave and the verdicts per method they produced, as JSON."""

    __tablename__ = "screening"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    answers: Mapped[str] = mapped_column(Text)
    verdicts: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

"""Tables of the admin workbench: who works a practitioner's queue items, and runs of checks over a filter."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from directory.clock import utcnow
from directory.extensions import db


class VettingAssignment(db.Model):  # type: ignore[name-defined,misc]
    """The admin who works a practitioner's open queue items (one at a time), and who said so."""

    __tablename__ = "vetting_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), unique=True)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class VettingBatch(db.Model):  # type: ignore[name-defined,misc]
    """A run of the automated checks over the practitioners a queue filter matched, worked in chunks.

    ``done`` counts the practitioners worked so far (the cursor into ``practitioner_ids``), ``failed``
    those among them with an error; a step claims the next chunk by moving ``done`` from the value it saw.
    """

    __tablename__ = "vetting_batch"
    __table_args__ = (
        CheckConstraint("total >= 0 AND done >= 0 AND failed >= 0", name="counts_non_negative"),
        CheckConstraint("done <= total AND failed <= done", name="counts_consistent"),
        CheckConstraint("finished_at IS NULL OR done = total", name="finished_when_done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    filter_query: Mapped[str] = mapped_column(Text, default="")  # the queue's query string, to show and go back to
    practitioner_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, fixed when the batch starts
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    outcomes: Mapped[str] = mapped_column(Text, default="{}")  # JSON {source: {outcome: count}}
    errors: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of "who: what went wrong"

    def ids(self) -> list[int]:
        """Return the practitioners of the batch, in the order they are worked."""
        return [int(i) for i in json.loads(self.practitioner_ids)]

    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """Return the outcomes so far per source."""
        value: dict[str, dict[str, int]] = json.loads(self.outcomes)
        return value

    def error_list(self) -> list[str]:
        """Return the errors so far, each naming the practitioner."""
        value: list[str] = json.loads(self.errors)
        return value

    def as_progress(self) -> dict[str, Any]:
        """Return the numbers a progress report shows."""
        return {"id": self.id, "total": self.total, "done": self.done, "failed": self.failed,
                "left": self.total - self.done, "finished": self.finished_at is not None,
                "outcomes": self.outcome_counts(), "errors": self.error_list()}

"""Signed statements of every practitioner's chain head: append-only, each linked to the one before."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from directory.clock import utcnow
from directory.extensions import db
from directory.vetting.models import AppendOnlyViolation


class ChainHeadStatement(db.Model):  # type: ignore[name-defined,misc]
    """One signed statement of the chain heads, kept exactly as signed; never changed once written.

    ``body`` is the canonical JSON that was signed, ``sha256`` its hash (the next statement's
    ``previous_sha256``); ``number`` is unique, so two signers racing cannot fork the sequence.
    """

    __tablename__ = "chain_head_statement"
    __table_args__ = (
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("(number = 1) = (previous_sha256 IS NULL)", name="statement_chain_start"),
        CheckConstraint("length(sha256) = 64", name="statement_hash_length"),
        CheckConstraint("length(key_id) = 64", name="key_id_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    key_id: Mapped[str] = mapped_column(String(64))
    heads_count: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))


@event.listens_for(ChainHeadStatement, "before_update")
def _refuse_update(mapper: Mapper[Any], connection: Any, target: ChainHeadStatement) -> None:
    """Refuse any ORM update of an issued statement."""
    raise AppendOnlyViolation("chain-head statements are append-only; issue a new statement instead")


@event.listens_for(ChainHeadStatement, "before_delete")
def _refuse_delete(mapper: Mapper[Any], connection: Any, target: ChainHeadStatement) -> None:
    """Refuse any ORM delete of an issued statement."""
    raise AppendOnlyViolation("chain-head statements are append-only and cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Refuse ``update(...)``/``delete(...)`` statements on the statements table too."""
    if (state.is_update or state.is_delete) and any(m.class_ is ChainHeadStatement for m in state.all_mappers):
        raise AppendOnlyViolation("chain-head statements are append-only")

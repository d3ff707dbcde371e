"""The verification history as stored: every chain re-verified, and a practitioner's chain head."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import func, select

from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.chain import ChainBreak, verify_chain
from directory.vetting.models import VerificationCheck
from directory.vetting.notices import alert_chain_break


@dataclass
class ChainReport:
    """The outcome of re-verifying every chain: how much was read and every break found."""

    chains: int = 0
    rows: int = 0
    breaks: list[tuple[str, ChainBreak]] = field(default_factory=list)
    # practitioner id -> (breaks, chain head), so the admins can be told about each broken chain
    broken_practitioners: dict[int, tuple[list[ChainBreak], str]] = field(default_factory=dict)


def verify_all_chains(progress: Callable[[int], None] | None = None) -> ChainReport:
    """Recompute every practitioner's and user's chain from the stored rows; report each break."""
    table = VerificationCheck.__table__
    statement = select(table).order_by(table.c.practitioner_id, table.c.user_id, table.c.sequence)
    report = ChainReport()
    rows = db.session.execute(statement.execution_options(yield_per=2000)).mappings()
    for subject, chain in groupby(rows, key=_subject):
        chain_rows: list[Any] = list(chain)
        report.chains += 1
        report.rows += len(chain_rows)
        found = verify_chain(chain_rows)
        report.breaks.extend((subject, b) for b in found)
        if found and chain_rows[0]["practitioner_id"] is not None:
            report.broken_practitioners[chain_rows[0]["practitioner_id"]] = (found, chain_rows[-1]["row_hash"])
        if progress:
            progress(len(chain_rows))
    return report


def alert_broken_chains(report: ChainReport) -> int:
    """Tell the admins about each broken practitioner chain not reported before; return how many."""
    alerted = 0
    for pid, (breaks, head) in report.broken_practitioners.items():
        practitioner = db.session.get(Practitioner, pid)
        if practitioner is not None and alert_chain_break(practitioner, breaks, head):
            alerted += 1
    return alerted


def _subject(row: Any) -> str:
    """Return a readable name for the chain a row belongs to."""
    if row["practitioner_id"] is not None:
        return f"practitioner {row['practitioner_id']}"
    return f"user {row['user_id']}"


def count_checks() -> int:
    """Return how many checks are stored (the length of a progress bar)."""
    return int(db.session.scalar(select(func.count(VerificationCheck.id))) or 0)


def chain_head(practitioner_id: int) -> tuple[int, str] | None:
    """Return (sequence, row hash) of the practitioner's latest check, for the public profile."""
    row = db.session.execute(
        select(VerificationCheck.sequence, VerificationCheck.row_hash)
        .where(VerificationCheck.practitioner_id == practitioner_id)
        .order_by(VerificationCheck.sequence.desc()).limit(1)
    ).first()
    return (row.sequence, row.row_hash) if row else None

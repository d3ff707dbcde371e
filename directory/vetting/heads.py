"""Signed chain heads: a daily Ed25519-signed statement of every public practitioner chain's latest check.

Like a Certificate Transparency signed tree head, a statement commits to each chain's head
(sequence and row hash) and to the previous statement, so a chain rewritten after it was
signed no longer extends the published head. The statement format is documented in the README.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.chain import canonical_json, sha256_text
from directory.vetting.head_models import ChainHeadStatement
from directory.vetting.models import VerificationCheck
from directory.vetting.signing import SIGNATURE_ALGORITHM, public_key, sign

STATEMENT_VERSION = 1


def current_heads() -> list[dict[str, Any]]:
    """Return the head of every listed practitioner's chain (hidden ones are not public), by practitioner id."""
    latest = (select(VerificationCheck.practitioner_id, func.max(VerificationCheck.sequence).label("sequence"))
              .where(VerificationCheck.practitioner_id.is_not(None))
              .group_by(VerificationCheck.practitioner_id).subquery())
    rows = db.session.execute(
        select(Practitioner.id, Practitioner.slug, VerificationCheck.sequence, VerificationCheck.row_hash)
        .join(latest, latest.c.practitioner_id == Practitioner.id)
        .join(VerificationCheck, (VerificationCheck.practitioner_id == Practitioner.id)
              & (VerificationCheck.sequence == latest.c.sequence))
        .where(Practitioner.hidden.is_(False))
        .order_by(Practitioner.id)
    )
    return [{"practitioner_id": r.id, "slug": r.slug, "sequence": r.sequence, "row_hash": r.row_hash} for r in rows]


def latest_statement() -> ChainHeadStatement | None:
    """Return the newest statement, if any."""
    return db.session.scalar(select(ChainHeadStatement).order_by(ChainHeadStatement.number.desc()).limit(1))


def statement_body(number: int, issued_at: datetime, heads: list[dict[str, Any]], previous: str | None) -> dict[str, Any]:
    """Return the statement that is signed, as a JSON object."""
    return {
        "version": STATEMENT_VERSION,
        "number": number,
        "issued_at": issued_at.replace(microsecond=0).isoformat() + "Z",
        "algorithm": SIGNATURE_ALGORITHM,
        "hash_algorithm": "sha256",
        "key_id": public_key().key_id,
        "previous_statement_sha256": previous,
        "heads": heads,
    }


@dataclass(frozen=True)
class Issued:
    """What `sign-heads` did: the statement in force and whether it is new."""

    statement: ChainHeadStatement
    new: bool


def issue_statement(now: datetime | None = None) -> Issued:
    """Sign the current heads, unless today's statement already says the same with the same key.

    One statement a day even when nothing changed, so a verifier can tell a live log from a stale
    one; another the same day only when a head changed (or the key did).
    """
    now = now or utcnow()
    heads, previous = current_heads(), latest_statement()
    if previous is not None and _still_current(previous, heads, now.date()):
        return Issued(previous, new=False)
    body = statement_body(previous.number + 1 if previous else 1, now, heads, previous.sha256 if previous else None)
    text = canonical_json(body)
    statement = ChainHeadStatement(number=body["number"], issued_at=now.replace(microsecond=0), key_id=body["key_id"],
                                   heads_count=len(heads), body=text, sha256=sha256_text(text),
                                   previous_sha256=body["previous_statement_sha256"], signature=sign(text.encode()))
    db.session.add(statement)
    db.session.flush()
    return Issued(statement, new=True)


def _still_current(statement: ChainHeadStatement, heads: list[dict[str, Any]], today: date) -> bool:
    """Tell whether ``statement`` was issued today, with today's key, over exactly these heads."""
    return (statement.issued_at.date() == today and statement.key_id == public_key().key_id
            and json.loads(statement.body)["heads"] == heads)


def statement_json(statement: ChainHeadStatement) -> dict[str, Any]:
    """Return one statement as the API serves it: the signed object, its hash and its signature."""
    return {"statement": json.loads(statement.body), "sha256": statement.sha256, "signature": statement.signature}


@dataclass(frozen=True)
class StatementPage:
    """One page of statements, newest first."""

    statements: list[ChainHeadStatement]
    total: int


def statements_page(page: int, per_page: int, since: int | None) -> StatementPage:
    """Return statements newest first, only those numbered after ``since`` when it is given."""
    where = [ChainHeadStatement.number > since] if since is not None else []
    total = int(db.session.scalar(select(func.count(ChainHeadStatement.id)).where(*where)) or 0)
    rows = db.session.scalars(select(ChainHeadStatement).where(*where).order_by(ChainHeadStatement.number.desc())
                              .offset((page - 1) * per_page).limit(per_page))
    return StatementPage(list(rows), total)

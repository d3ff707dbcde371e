"""A practitioner's verification chain as published: every chained field, so anyone can recompute the hashes.

What is public: every field the row hash covers (CHAINED_FIELDS), the note included, since a
third party cannot recompute a hash without it. The evidence itself stays private (it holds
registry responses, name-match candidates and document details); the hash covers it only
through ``evidence_sha256``, which is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from directory.errors import NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.chain import CHAINED_FIELDS, chained_payload
from directory.vetting.models import VerificationCheck

CANONICAL_FORM = {
    "name": "meridian-check-v1",
    "description": "row_hash = lowercase hex SHA-256 of the UTF-8 bytes of the JSON object of the chained fields: "
                   "keys sorted, no whitespace, non-ASCII characters unescaped, datetimes as ISO 8601 "
                   "YYYY-MM-DDTHH:MM:SS (UTC, no offset, no fraction), absent values null; "
                   "previous_hash is the row_hash of the row before (null for sequence 1)",
    "fields": list(CHAINED_FIELDS),
}


@dataclass(frozen=True)
class ChainPage:
    """One page of a practitioner's chain, in sequence order."""

    practitioner: Practitioner
    checks: list[VerificationCheck]
    length: int
    head: VerificationCheck | None


def listed_practitioner(slug: str) -> Practitioner:
    """Return the practitioner behind ``slug``; NotFound when there is none or it is hidden."""
    practitioner = db.session.scalar(
        select(Practitioner).where(Practitioner.slug == slug[:120], Practitioner.hidden.is_(False)))
    if practitioner is None:
        raise NotFound("There is no listed practitioner with that slug.")
    return practitioner


def chain_page(slug: str, after: int, limit: int) -> ChainPage:
    """Return up to ``limit`` checks of the practitioner's chain with a sequence above ``after``."""
    practitioner = listed_practitioner(slug)
    mine = VerificationCheck.practitioner_id == practitioner.id
    checks = db.session.scalars(
        select(VerificationCheck).where(mine, VerificationCheck.sequence > after)
        .options(selectinload(VerificationCheck.credential))
        .order_by(VerificationCheck.sequence).limit(limit))
    length = int(db.session.scalar(select(func.count(VerificationCheck.id)).where(mine)) or 0)
    head = db.session.scalar(select(VerificationCheck).where(mine).order_by(VerificationCheck.sequence.desc()).limit(1))
    return ChainPage(practitioner, list(checks), length, head)


def check_json(check: VerificationCheck) -> dict[str, Any]:
    """Return one check as published: its chained fields in hashed form, its hash, and what it was about."""
    credential = check.credential
    about = ({"kind": credential.kind, "number": credential.number, "jurisdiction": credential.jurisdiction}
             if credential is not None else None)
    return {**chained_payload({name: getattr(check, name) for name in CHAINED_FIELDS}),
            "row_hash": check.row_hash, "credential": about}


def listing_status(practitioner: Practitioner) -> str:
    """Return "suspended" for a suspended listing, else "listed" (hidden ones are never published)."""
    return "suspended" if practitioner.vetting_status == "suspended" else "listed"

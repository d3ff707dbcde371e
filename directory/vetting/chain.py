"""The tamper-evident chain of verification checks: canonical payloads and their hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The fields a row's hash covers, in this order; changing any of them breaks the chain.
CHAINED_FIELDS = (
    "practitioner_id",
    "user_id",
    "sequence",
    "credential_id",
    "source",
    "performed_by_id",
    "performed_at",
    "outcome",
    "reference",
    "note",
    "evidence_sha256",
    "previous_hash",
)


def sha256_text(text: str) -> str:
    """Return the hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    """Return ``value`` in the form that is hashed (datetimes as ISO 8601, seconds precision)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value


def canonical_json(value: Any) -> str:
    """Return ``value`` as canonical JSON: keys sorted, no whitespace, non-ASCII unescaped (see the README)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chained_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the chained fields of one check row in the form that is hashed."""
    return {name: _canonical(row.get(name)) for name in CHAINED_FIELDS}


def row_hash(row: Mapping[str, Any]) -> str:
    """Return the hash of one check row: SHA-256 over its chained fields as canonical JSON."""
    return sha256_text(canonical_json(chained_payload(row)))


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain stops adding up, and why."""

    sequence: int
    reason: str


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> list[ChainBreak]:
    """Recompute a subject's chain (rows in sequence order); return every break found."""
    breaks: list[ChainBreak] = []
    previous: str | None = None
    expected_sequence = 1
    for row in rows:
        seq = row["sequence"]
        if seq != expected_sequence:
            breaks.append(ChainBreak(seq, f"expected sequence {expected_sequence}"))
        if row.get("previous_hash") != previous:
            breaks.append(ChainBreak(seq, "previous_hash does not match the row before"))
        if row_hash(row) != row["row_hash"]:
            breaks.append(ChainBreak(seq, "content does not match its hash"))
        # The row hash covers the evidence only through its digest, so the text is checked too.
        if row.get("evidence") is not None and sha256_text(row["evidence"]) != row.get("evidence_sha256"):
            breaks.append(ChainBreak(seq, "evidence does not match its hash"))
        previous = row["row_hash"]
        expected_sequence = seq + 1
    return breaks

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


# One encoder, not json.dumps with options (which builds a new JSONEncoder on every call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# Hashing is most of the seed's Python time (18 checks per practitioner, 18 million at 1M), so row_hash writes the
# payload's JSON itself, in canonical_json's key order and bytes (tests/unit/vetting/test_chain.py compares them).
_SORTED_FIELDS = tuple(sorted(CHAINED_FIELDS))
_json_string = json.encoder.encode_basestring  # the string encoder of ensure_ascii=False


def canonical_json(value: Any) -> str:
    """Return ``value`` as canonical JSON: keys sorted, no whitespace, non-ASCII unescaped (see the README)."""
    return _CANONICAL.encode(value)


def chained_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the chained fields of one check row in the form that is hashed."""
    # Datetimes as ISO 8601 at seconds precision. Inline, not a helper per field: this runs for every field of
    # every check the seed writes.
    return {name: value.replace(microsecond=0).isoformat() if isinstance(value := row.get(name), datetime) else value
            for name in CHAINED_FIELDS}


def row_hash(row: Mapping[str, Any]) -> str:
    """Return the hash of one check row: SHA-256 over its chained fields as canonical JSON."""
    payload = chained_payload(row)
    return sha256_text("{" + ",".join([f'"{name}":{_json_value(payload[name])}' for name in _SORTED_FIELDS]) + "}")


def _json_value(value: Any) -> str:
    """Return one payload value as canonical_json writes it."""
    if value is None:
        return "null"
    if type(value) is str:
        return str(_json_string(value))
    if type(value) is int:  # not bool, which JSON writes as true/false
        return str(value)
    return canonical_json(value)


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

"""The verification chain: stable hashes, and every kind of tampering detected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from directory.vetting.chain import canonical_json, chained_payload, row_hash, sha256_text, verify_chain


def _chain(n: int) -> list[dict[str, Any]]:
    """Return ``n`` correctly chained rows."""
    rows, previous = [], None
    for seq in range(1, n + 1):
        row = {"practitioner_id": 7, "user_id": None, "sequence": seq, "credential_id": 3, "source": "state_board",
               "performed_by_id": 1, "performed_at": datetime(2026, 1, seq, 9, 30), "outcome": "pass",
               "reference": "https://board.example/lookup", "note": "", "evidence_sha256": "e" * 64,
               "previous_hash": previous}
        row["row_hash"] = row_hash(row)
        previous = row["row_hash"]
        rows.append(row)
    return rows


def test_hash_is_stable_and_ignores_sub_second_precision() -> None:
    row = _chain(1)[0]
    assert row_hash(row) == row["row_hash"]
    assert row_hash({**row, "performed_at": row["performed_at"].replace(microsecond=5)}) == row["row_hash"]


def test_hash_is_sha256_of_the_canonical_json_of_the_payload_whatever_the_values() -> None:
    # row_hash writes the JSON itself for speed; it must be canonical_json's, byte for byte.
    row = _chain(1)[0]
    for changes in ({}, {"note": 'naïve "quoted" \\ back\nslash ø ł ß \u2028 \x00 😀'}, {"credential_id": None},
                    {"sequence": 10**20, "performed_by_id": -3}, {"reference": True, "note": 1.5},
                    {"user_id": 0, "previous_hash": "f" * 64}, {"source": ["a", {"b": None}]}):
        changed = {**row, **changes}
        assert row_hash(changed) == sha256_text(canonical_json(chained_payload(changed))), changes


def test_intact_chain_has_no_breaks() -> None:
    assert verify_chain(_chain(4)) == []


def test_changed_content_is_detected() -> None:
    rows = _chain(3)
    rows[1]["outcome"] = "fail"
    assert [(b.sequence, b.reason) for b in verify_chain(rows)] == [(2, "content does not match its hash")]


def test_removed_row_is_detected() -> None:
    rows = _chain(3)
    del rows[1]
    reasons = {b.reason for b in verify_chain(rows)}
    assert reasons == {"expected sequence 2", "previous_hash does not match the row before"}


def test_rehashed_row_still_breaks_the_link_to_the_next() -> None:
    rows = _chain(3)
    rows[0]["note"] = "quietly edited"
    rows[0]["row_hash"] = row_hash(rows[0])
    assert [(b.sequence, b.reason) for b in verify_chain(rows)] == [(2, "previous_hash does not match the row before")]


def test_rewritten_evidence_is_detected_even_though_the_row_hash_covers_only_its_digest() -> None:
    from directory.vetting.chain import sha256_text

    rows = _chain(2)
    for row in rows:
        row["evidence"] = '{"hits":[]}'
        row["evidence_sha256"] = sha256_text(row["evidence"])
        row["previous_hash"] = None if row["sequence"] == 1 else rows[0]["row_hash"]
        row["row_hash"] = row_hash(row)
    rows[1]["previous_hash"] = rows[0]["row_hash"]
    rows[1]["row_hash"] = row_hash(rows[1])
    assert verify_chain(rows) == []
    rows[0]["evidence"] = '{"hits":["someone"]}'
    assert [(b.sequence, b.reason) for b in verify_chain(rows)] == [(1, "evidence does not match its hash")]

"""Test builders for what a profile shows beyond the practitioner row: chained checks and reviews."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from directory.clock import utcnow
from directory.extensions import db
from directory.models import Credential, Practitioner, Review, VerificationCheck
from directory.vetting.chain import row_hash, sha256_text

# (credential or None, source, days ago, reference, outcome), oldest first, as they happened.
CheckStep = tuple[Credential | None, str, int, str, str]


def credential(p: Practitioner, **fields: Any) -> Credential:
    """Add a credential for ``p`` (a state licence unless told otherwise) and flush it."""
    values: dict[str, Any] = {"kind": "state_licence", "issuer": "MA Board of Registration in Medicine",
                              "number": "AC12345", "jurisdiction": "MA"}
    values.update(fields)
    cred = Credential(practitioner_id=p.id, **values)
    db.session.add(cred)
    db.session.flush()
    return cred


def add_checks(p: Practitioner, steps: Sequence[CheckStep], now: datetime | None = None,
               tamper_at: int | None = None) -> list[VerificationCheck]:
    """Append hash-chained checks for ``p``; ``tamper_at`` (a sequence) gets a wrong previous hash."""
    now = now or utcnow().replace(microsecond=0)
    previous: str | None = None
    rows = []
    for sequence, (cred, source, days_ago, reference, outcome) in enumerate(steps, start=1):
        evidence = json.dumps({"source": source})
        if sequence == tamper_at:
            previous = "0" * 64
        row: dict[str, Any] = {
            "practitioner_id": p.id, "user_id": None, "sequence": sequence,
            "credential_id": cred.id if cred else None, "source": source, "performed_by_id": None,
            "performed_at": now - timedelta(days=days_ago), "outcome": outcome, "reference": reference, "note": "",
            "evidence_sha256": sha256_text(evidence), "previous_hash": previous,
        }
        row["row_hash"] = previous = row_hash(row)
        check = VerificationCheck(evidence=evidence, **row)
        db.session.add(check)
        rows.append(check)
    db.session.flush()
    return rows


def add_reviews(p: Practitioner, ratings: Sequence[int], state: str = "published") -> None:
    """Add reviews of ``p`` with the given star ratings, newest first."""
    for n, rating in enumerate(ratings):
        db.session.add(Review(practitioner_id=p.id, author_display_name=f"Patient {n + 1}", rating=rating,
                              body=f"Review {n + 1}: helpful and careful; asked about my medicines first.",
                              moderation_state=state, created_at=utcnow() - timedelta(days=10 * n)))
    db.session.flush()

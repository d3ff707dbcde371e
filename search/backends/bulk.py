"""Bulk writes that survive a busy or failing cluster: retried per item, with backoff, until acknowledged.

An engine under indexing pressure answers 429 (``es_rejected_execution_exception``) for the whole request or for
single items; a node that dies mid-bulk drops the connection (the client then resends to another node) or leaves
items failing with 503 until a replica is promoted. Those are worth waiting for; anything else (a mapping refusal,
400) is not. Items are retried alone, never the whole request again, and only what the engine acknowledged is
reported as such: the outbox keeps the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Statuses of a bulk item (or of the whole request) that a later attempt may turn into an acknowledgement.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 4.0


@dataclass
class BulkOutcome:
    """Per document id: acknowledged, refused for good (with why), or still failing when time ran out (with why)."""

    acknowledged: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    unfinished: dict[int, str] = field(default_factory=dict)
    attempts: int = 0


def bulk_until_acknowledged(
    send: Callable[[Sequence[dict[str, Any]]], list[tuple[bool, dict[str, Any]]]],
    actions: Sequence[dict[str, Any]],
    *,
    errors: tuple[type[BaseException], ...],
    accepted: Callable[[str, dict[str, Any]], bool],
    budget_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> BulkOutcome:
    """Send ``actions`` with ``send`` and resend the retryable failures with backoff until ``budget_s`` runs out.

    ``send`` returns one ``(ok, item)`` per action (streaming_bulk's shape); an exception of ``errors`` means the
    whole request failed on every node the client tried, so all of its actions are retried. ``accepted`` tells
    whether a failed item still stands for the state wanted (a delete of a missing document, a newer version held).
    """
    outcome = BulkOutcome()
    pending = list(actions)
    deadline = time.monotonic() + budget_s
    backoff = FIRST_BACKOFF_S
    while pending:
        outcome.attempts += 1
        retry: list[dict[str, Any]] = []
        reasons: dict[int, str] = {}
        try:
            results = send(pending)
        except errors as exc:
            if not retryable(exc):
                raise
            retry = pending
            reasons = {int(a["_id"]): f"bulk request failed: {_describe(exc)}" for a in pending}
        else:
            for action, (ok, item) in zip(pending, results, strict=True):
                op, info = next(iter(item.items()))
                doc_id = int(action["_id"])
                if ok or accepted(op, info):
                    outcome.acknowledged.append(doc_id)
                elif info.get("status") in RETRYABLE_STATUSES:
                    retry.append(action)
                    reasons[doc_id] = str(info.get("error") or info.get("status"))
                else:
                    outcome.refused[doc_id] = str(info.get("error") or info.get("status"))
        if not retry:
            break
        if time.monotonic() + backoff > deadline:
            outcome.unfinished.update(reasons)
            break
        sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)
        pending = retry
    return outcome


def retryable(exc: BaseException) -> bool:
    """Tell whether a failed bulk request may succeed if sent again: no answer came, or a 429/5xx one."""
    status = _status(exc)
    return status is None or status in RETRYABLE_STATUSES


def _status(exc: BaseException) -> int | None:
    """Return the HTTP status of an error answer; None when no answer came (opensearch-py says "N/A" then)."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    meta = getattr(exc, "meta", None)
    return getattr(meta, "status", None)


def _describe(exc: BaseException) -> str:
    """Return a one-line account of a client error."""
    return f"{type(exc).__name__}: {str(exc)[:300]}"

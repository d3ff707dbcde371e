"""The outbox worker: apply pending changes to the engine, forget them only once acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from search.types import ApplyResult, Change, SearchUnavailable


@dataclass(frozen=True)
class PendingChange:
    """One document with pending changes, covering outbox rows up to ``up_to_row``."""

    doc_id: int
    up_to_row: int


class OutboxStore(Protocol):
    """Where pending changes live (the application's database)."""

    def claim(self, limit: int) -> list[PendingChange]:
        """Return up to ``limit`` documents due for syncing, oldest first, kept from other workers for a while."""

    def changes(self, doc_ids: Sequence[int]) -> list[Change]:
        """Return one change per id: its current document, or a delete when it no longer exists or is indexable.

        Each carries the document's version as read with it, so the engine can refuse an older one.
        """

    def acknowledge(self, changes: Sequence[PendingChange]) -> None:
        """Delete the outbox rows these changes cover (and only those)."""

    def record_failure(self, changes: Sequence[PendingChange], error: str) -> None:
        """Keep the rows, count the attempt, note the error and when to retry."""


class Backend(Protocol):
    """The part of a SearchBackend the worker uses."""

    def apply(self, changes: Sequence[Change]) -> ApplyResult:
        """Write or delete documents."""


@dataclass
class SyncReport:
    """What one drain did."""

    applied: int = 0
    failed: int = 0
    last_error: str | None = None


def sync_batch(store: OutboxStore, backend: Backend, batch_size: int = 500) -> SyncReport:
    """Apply one batch of pending changes; return what happened (0 applied when nothing is due)."""
    pending = store.claim(batch_size)
    if not pending:
        return SyncReport()
    changes = store.changes([p.doc_id for p in pending])
    try:
        result = backend.apply(changes)
    except SearchUnavailable as exc:
        result = ApplyResult(failed={p.doc_id: str(exc) for p in pending})
    acked = set(result.acknowledged)
    store.acknowledge([p for p in pending if p.doc_id in acked])
    failed = [p for p in pending if p.doc_id in result.failed]
    error = next(iter(result.failed.values()), None)
    if failed:
        store.record_failure(failed, error or "not acknowledged")
    return SyncReport(applied=len(acked), failed=len(failed), last_error=error)


def drain(store: OutboxStore, backend: Backend, batch_size: int = 500, max_batches: int = 10_000) -> SyncReport:
    """Apply batches until nothing is due or a batch fails; return the totals."""
    total = SyncReport()
    for _ in range(max_batches):
        report = sync_batch(store, backend, batch_size)
        total.applied += report.applied
        total.failed += report.failed
        total.last_error = report.last_error or total.last_error
        if report.failed or not report.applied:
            break
    return total

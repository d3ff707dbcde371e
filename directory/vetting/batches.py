"""Run the automated checks for every practitioner a queue filter matched, a chunk per step, with progress."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import SQLAlchemyError

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import DomainError, InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.queue import run_check
from directory.vetting.workbench import automated_sources_for, source_label
from directory.vetting.workbench_models import VettingBatch

# Practitioners per step: each asks up to two sources, the registry with its timeout, so a step stays
# well inside a request's time; each step commits what it did.
CHUNK = 10
MAX_BATCH = 5000  # a filter wider than this is refused: narrow it, or let the nightly run do it


def start_batch(practitioner_ids: list[int], filter_query: str, admin: User) -> VettingBatch:
    """Create a batch over these practitioners (the filter's matches, in queue order), and audit it."""
    if not practitioner_ids:
        raise InvalidParameter("Nothing in this filter to check; widen the filter first.")
    if len(practitioner_ids) > MAX_BATCH:
        raise InvalidParameter(f"This filter matches {len(practitioner_ids)} practitioners; a batch takes at most "
                               f"{MAX_BATCH}. Narrow the filter (the nightly run checks everyone).")
    batch = VettingBatch(started_by_id=admin.id, filter_query=filter_query[:2000],
                         practitioner_ids=json.dumps(practitioner_ids), total=len(practitioner_ids))
    db.session.add(batch)
    db.session.flush()
    record_audit("vetting.batch_started", actor_id=admin.id, subject_type="vetting_batch", subject_id=batch.id,
                 total=batch.total, filter=batch.filter_query)
    return batch


def get_batch(batch_id: int) -> VettingBatch:
    """Return the batch or raise NotFound."""
    batch = db.session.get(VettingBatch, batch_id)
    if batch is None:
        raise NotFound("No batch with that id.")
    return batch


@dataclass(frozen=True)
class StepResult:
    """A step asked for: the batch afterwards, and whether this request ran the chunk (not someone else)."""

    batch: VettingBatch
    ran: bool


def run_step(batch_id: int, at: int, admin: User) -> StepResult:
    """Claim the chunk starting at ``at`` and run its checks; a chunk already claimed, or a finished batch, is left alone."""
    batch = get_batch(batch_id)
    if batch.finished_at is not None or at != batch.done:
        return StepResult(batch, False)
    chunk = batch.ids()[at:at + CHUNK]
    # Compare-and-set on the cursor: of two admins who saw the same position, only one moves it; the
    # other's update matches no row (PostgreSQL re-checks it after the first commits; SQLite writes one at a time).
    claimed = cast(CursorResult[Any], db.session.execute(update(VettingBatch)
                                 .where(VettingBatch.id == batch_id, VettingBatch.done == at,
                                        VettingBatch.finished_at.is_(None))
                                 .values(done=at + len(chunk))
                                 .execution_options(synchronize_session=False))).rowcount
    db.session.refresh(batch)
    if claimed != 1:
        return StepResult(batch, False)
    outcomes = defaultdict(Counter, {s: Counter(c) for s, c in batch.outcome_counts().items()})
    errors = batch.error_list()
    failed = sum(_check_one(pid, admin, outcomes, errors) for pid in chunk)
    batch.outcomes = json.dumps({s: dict(c) for s, c in sorted(outcomes.items())}, sort_keys=True)
    batch.errors, batch.failed = json.dumps(errors), batch.failed + failed
    if batch.done == batch.total:
        batch.finished_at = utcnow()
        record_audit("vetting.batch_finished", actor_id=admin.id, subject_type="vetting_batch", subject_id=batch.id,
                     total=batch.total, failed=batch.failed)
    db.session.flush()
    return StepResult(batch, True)


def _check_one(practitioner_id: int, admin: User, outcomes: defaultdict[str, Counter[str]], errors: list[str]) -> bool:
    """Run every automated source that applies to one practitioner; return True when one ended in an error."""
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None:
        errors.append(f"practitioner #{practitioner_id}: no longer exists")
        return True
    failed = False
    for source in automated_sources_for(practitioner):
        who = f"{practitioner.display_name} (#{practitioner.id}), {source_label(source)}"
        try:
            with db.session.begin_nested():  # one practitioner's failure never undoes the others' checks
                check = run_check(practitioner.id, source, admin).check
        except (SQLAlchemyError, DomainError) as exc:
            outcomes[source]["error"] += 1
            errors.append(f"{who}: {getattr(exc, 'message', None) or exc.__class__.__name__}")
            failed = True
            continue
        outcomes[source][check.outcome] += 1
        if check.outcome == "error":
            errors.append(f"{who}: {check.note}")
            failed = True
    return failed

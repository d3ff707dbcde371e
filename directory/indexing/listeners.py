"""Collect search-relevant changes at flush time and write outbox rows in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from directory.clock import utcnow
from directory.extensions import upsert_into
from directory.indexing.models import SearchOutbox, SearchVersion
from directory.practitioners.models import HoursException, Location, OpeningHours, Practitioner
from directory.reviews.models import Review


def _practitioner_id(obj: Any) -> int | None:
    """Return the practitioner whose search document ``obj`` feeds, if any."""
    if isinstance(obj, Practitioner):
        return obj.id
    if isinstance(obj, Location | Review):
        return obj.practitioner_id
    if isinstance(obj, OpeningHours | HoursException):
        # A row taken out of its location's list has lost its location by flush time: the history still has it.
        location = obj.location or next(iter(inspect(obj).attrs.location.history.deleted), None)
        return location.practitioner_id if location is not None else None
    return None


_ENQUEUED = "search_outbox_enqueued"


@event.listens_for(Session, "after_flush")
def _write_outbox_rows(session: Session, flush_context: Any) -> None:
    """Add one outbox row per touched practitioner and transaction, inside the flush's transaction.

    One row per transaction is enough: the worker rebuilds the document from the
    database as it is when it syncs, which includes every later change.
    """
    touched: dict[int, str] = {}
    for obj in list(session.new) + list(session.dirty):
        pid = _practitioner_id(obj)
        if pid is not None:
            touched[pid] = "upsert"
    for obj in session.deleted:
        pid = _practitioner_id(obj)
        if pid is not None:
            touched[pid] = "delete" if isinstance(obj, Practitioner) else touched.get(pid, "upsert")
    enqueued: set[int] = session.info.setdefault(_ENQUEUED, set())
    touched = {pid: op for pid, op in touched.items() if pid not in enqueued}
    if touched:
        enqueued.update(touched)
        now = utcnow()
        connection = session.connection()
        # The version first: its row lock makes a second writer of the same practitioner wait for this commit,
        # so versions follow commit order and each outbox row's id follows its practitioner's earlier ones.
        _bump_versions(connection, sorted(touched))
        connection.execute(
            insert(SearchOutbox.__table__),
            [{"practitioner_id": pid, "operation": op, "enqueued_at": now, "attempts": 0} for pid, op in sorted(touched.items())],
        )


def _bump_versions(connection: Connection, practitioner_ids: list[int]) -> None:
    """Add one to each practitioner's search version (starting at 1), ids in order so writers never deadlock."""
    table = SearchVersion.__table__
    statement = upsert_into(connection, table)
    connection.execute(
        statement.on_conflict_do_update(index_elements=[table.c.practitioner_id],
                                        set_={"version": table.c.version + 1}),
        [{"practitioner_id": pid, "version": 1} for pid in practitioner_ids],
    )


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_enqueued(session: Session, *args: Any) -> None:
    """Start a fresh set per transaction; after any rollback (even of a savepoint) rows may be gone."""
    session.info.pop(_ENQUEUED, None)

"""Practitioner rows -> search documents, the SQL outbox store, sync and reindex."""

from __future__ import annotations

import gc
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import String, cast, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from directory.clock import utcnow
from directory.errors import is_database_locked
from directory.extensions import db
from directory.indexing.models import SearchOutbox, SearchVersion
from directory.practitioners.cards import refresh_cards
from directory.practitioners.models import (
    Condition,
    ConditionSynonym,
    HoursException,
    Location,
    Method,
    MethodSynonym,
    OpeningHours,
    Practitioner,
    practitioner_condition,
    practitioner_language,
    practitioner_method,
)
from directory.reviews.rating import bayesian_ratings
from search import Change, SearchBackend
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.hours import DatedHours, WeeklyInterval
from search.sync import PendingChange, SyncReport, drain

log = logging.getLogger(__name__)

RETRY_BASE_S = 2.0
RETRY_MAX_S = 300.0
# How long a worker's claim on outbox rows keeps other workers off them; longer than a bulk write may take, and
# if a worker dies mid-batch its rows are due again after this.
CLAIM_LEASE_S = 180.0
# Allocations between young-generation garbage collections during a rebuild (CPython's default is 700).
REINDEX_GC_GEN0 = 50_000
# SQLite: how often an outbox transaction is tried again while another connection keeps the write lock past the
# busy timeout (a long import, a migration), each try waiting that timeout; then the error goes to the caller.
LOCK_RETRIES = 5
LOCK_RETRY_BASE_S = 0.5
T = TypeVar("T")




@dataclass(frozen=True)
class Vocabularies:
    """Methods and conditions by id, each with the synonyms documents carry."""

    methods: dict[int, VocabularyTerm]
    conditions: dict[int, VocabularyTerm]


def load_vocabularies_for_search() -> Vocabularies:
    """Load both vocabularies with their synonyms in two queries each (once per rebuild, not per batch)."""
    return Vocabularies(_vocabulary(Method, MethodSynonym, "method_id"),
                        _vocabulary(Condition, ConditionSynonym, "condition_id"))


def _vocabulary(model: Any, synonym_model: Any, fk: str) -> dict[int, VocabularyTerm]:
    """Return id -> VocabularyTerm for one vocabulary."""
    synonyms: dict[int, list[str]] = defaultdict(list)
    for row in db.session.execute(select(getattr(synonym_model, fk), synonym_model.term).order_by(synonym_model.term)):
        synonyms[int(row[0])].append(str(row[1]))
    return {int(row[0]): VocabularyTerm(str(row[1]), str(row[2]), tuple(synonyms[int(row[0])]))
            for row in db.session.execute(select(model.id, model.slug, model.name))}


PRACTITIONER_COLUMNS = (Practitioner.id, Practitioner.slug, Practitioner.first_name, Practitioner.last_name,
                        Practitioner.title, Practitioner.bio, Practitioner.gender, Practitioner.accepting_new_patients,
                        Practitioner.telehealth, Practitioner.hidden, Practitioner.vetting_status)


def load_sources(ids: Sequence[int], vocabularies: Vocabularies | None = None) -> dict[int, PractitionerSource]:
    """Load everything search needs about these practitioners with tuple queries (no ORM objects)."""
    if not ids:
        return {}
    return _load_sources(lambda column: column.in_(ids), ids, vocabularies or load_vocabularies_for_search())


def _load_sources(match: Callable[[Any], Any], ids: Sequence[int], vocab: Vocabularies) -> dict[int, PractitionerSource]:
    """Load the sources of the practitioners whose id column satisfies ``match`` (``ids`` lists the same ones).

    ``match`` turns a practitioner-id column into a WHERE clause: ``IN (ids)`` for arbitrary ids, or an id range
    for a whole-table rebuild (cheaper to compile than a long IN list).

    The versions are read first, before anything they label: each later statement sees at least the changes of
    the version read (PostgreSQL's READ COMMITTED gives each statement a newer snapshot; SQLite reads one
    snapshot), so a document is never labelled newer than its content.
    """
    versions = dict(_rows(select(SearchVersion.practitioner_id, SearchVersion.version)
                          .where(match(SearchVersion.practitioner_id))))
    hours = {location_id: _week(text) for location_id, text in _rows(
        select(OpeningHours.location_id, _WEEK_TEXT)
        .join(Location, Location.id == OpeningHours.location_id).where(match(Location.practitioner_id))
        .group_by(OpeningHours.location_id)
    )}
    exceptions = _exceptions(match)
    points: dict[int, list[PlacePoint]] = defaultdict(list)
    no_hours: tuple[WeeklyInterval, ...] = ()
    no_exceptions: tuple[DatedHours, ...] = ()
    for pid, location_id, lat, lon, city, region, postal_code, country, accessible, zone in _rows(
        select(Location.practitioner_id, Location.id, Location.latitude, Location.longitude, Location.city,
               Location.region, Location.postal_code, Location.country, Location.wheelchair_accessible,
               Location.timezone)
        # An unplaced address (no coordinates yet) stays out of search until an admin or its owner places it.
        .where(match(Location.practitioner_id), Location.latitude.is_not(None)).order_by(Location.id)
    ):
        points[pid].append(PlacePoint(lat, lon, city, region, postal_code, country, accessible, zone,
                                      hours.get(location_id, no_hours), exceptions.get(location_id, no_exceptions)))
    methods = _linked(practitioner_method, "method_id", match, vocab.methods)
    conditions = _linked(practitioner_condition, "condition_id", match, vocab.conditions)
    languages: dict[int, list[str]] = defaultdict(list)
    for lang_row in _rows(
        select(practitioner_language.c.practitioner_id, practitioner_language.c.language_code)
        .where(match(practitioner_language.c.practitioner_id))
    ):
        languages[lang_row[0]].append(str(lang_row[1]))
    ratings = bayesian_ratings(ids)
    no_rating = (None, 0, None)
    empty: tuple[Any, ...] = ()
    sources = {}
    for pid, slug, first_name, last_name, title, bio, gender, accepting, telehealth, hidden, vetting_status in _rows(
        select(*PRACTITIONER_COLUMNS).where(match(Practitioner.id))
    ):
        average, count, bayes = ratings.get(pid, no_rating)
        langs = languages.get(pid)
        sources[pid] = PractitionerSource(
            id=pid, slug=slug, first_name=first_name, last_name=last_name, title=title, bio=bio, gender=gender,
            accepting_new_patients=accepting, telehealth=telehealth, hidden=hidden, vetting_status=vetting_status,
            locations=tuple(points.get(pid, empty)), methods=methods.get(pid, empty),
            conditions=conditions.get(pid, empty), languages=tuple(sorted(langs)) if langs else empty,
            rating_average=average, rating_count=count, rating_bayes=bayes, version=versions.get(pid, 0))
    return sources


def _exceptions(match: Callable[[Any], Any]) -> dict[int, tuple[DatedHours, ...]]:
    """Return each location's dated exceptions from yesterday (UTC) on: no local date of "now" is older.

    Few locations have any, so this reads few rows; a past exception can never match "now" again, so a document
    that still carries one is not wrong, only longer.
    """
    by_location: dict[int, dict[date, list[tuple[int, int]]]] = defaultdict(dict)
    for location_id, on_date, opens, closes in _rows(
        select(HoursException.location_id, HoursException.on_date, HoursException.opens, HoursException.closes)
        .join(Location, Location.id == HoursException.location_id)
        .where(match(Location.practitioner_id), HoursException.on_date >= utcnow().date() - timedelta(days=1))
    ):
        spans = by_location[location_id].setdefault(on_date, [])
        if opens is not None and closes is not None:
            spans.append((opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute))
    return {location_id: tuple((day, tuple(sorted(spans))) for day, spans in sorted(days.items()))
            for location_id, days in by_location.items()}


# A location's week as one string per row, "0 09:00:00,17:00:00;1 ..." (times as the database writes them):
# 120,000 rows of text instead of 650,000 rows of times, and locations share a few dozen distinct weeks.
_WEEK_TEXT = func.aggregate_strings(cast(OpeningHours.weekday, String) + " " + cast(OpeningHours.opens, String)
                                    + "," + cast(OpeningHours.closes, String), ";")


@lru_cache(maxsize=4096)
def _week(text: str) -> tuple[WeeklyInterval, ...]:
    """Return the weekly intervals of a _WEEK_TEXT string, in minutes after midnight, sorted."""
    intervals = []
    for part in text.split(";"):
        day, times = part.split(" ", 1)
        opens, closes = times.split(",")
        intervals.append((int(day), int(opens[:2]) * 60 + int(opens[3:5]), int(closes[:2]) * 60 + int(closes[3:5])))
    return tuple(sorted(intervals))


def _id_range(low: int, high: int) -> Callable[[Any], Any]:
    """Return a ``match`` for _load_sources selecting ids in (low, high]."""
    return lambda column: (column > low) & (column <= high)


def _rows(statement: Any) -> Sequence[Any]:
    """Return all rows of a Core ``statement`` (plain tuples, no ORM loading)."""
    return db.session.connection().execute(statement).all()


def _linked(link: Any, column: str, match: Callable[[Any], Any],
            terms: dict[int, VocabularyTerm]) -> dict[int, tuple[VocabularyTerm, ...]]:
    """Return each practitioner's vocabulary terms through a link table.

    Practitioners with the same combination share one tuple, so per-combination caches (the folded vocabulary
    text) hit often.
    """
    grouped: dict[int, list[int]] = defaultdict(list)
    for link_row in _rows(select(link.c.practitioner_id, link.c[column]).where(match(link.c.practitioner_id))):
        grouped[link_row[0]].append(link_row[1])
    combinations: dict[tuple[int, ...], tuple[VocabularyTerm, ...]] = {}
    result = {}
    for pid, term_ids in grouped.items():
        key = tuple(term_ids)
        combination = combinations.get(key)
        if combination is None:
            combination = combinations[key] = tuple(terms[t] for t in key)
        result[pid] = combination
    return result


def documents_for(ids: Sequence[int], vocabularies: Vocabularies | None = None) -> dict[int, dict[str, Any]]:
    """Return the search document of each existing practitioner among ``ids``."""
    return {pid: practitioner_search_document(src) for pid, src in load_sources(ids, vocabularies).items()
            if src.locations}


def iter_all_documents(batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Yield every practitioner's document, in id order, loading a batch at a time."""
    last = 0
    vocab = load_vocabularies_for_search()
    while True:
        ids = db.session.scalars(
            select(Practitioner.id).where(Practitioner.id > last).order_by(Practitioner.id).limit(batch_size)
        ).all()
        if not ids:
            return
        low, high = last, ids[-1]
        # The batch is exactly the ids in (low, high]: select it by range rather than a long IN list.
        sources = _load_sources(_id_range(low, high), ids, vocab)
        for pid in ids:
            src = sources.get(pid)
            if src is not None and src.locations:
                yield practitioner_search_document(src)
        last = high


def search_versions(ids: Sequence[int] | None = None) -> dict[int, int]:
    """Return the search version of these practitioners (all of them when ``ids`` is None)."""
    statement = select(SearchVersion.practitioner_id, SearchVersion.version)
    if ids is not None:
        statement = statement.where(SearchVersion.practitioner_id.in_(ids))
    return {int(pid): int(version) for pid, version in _rows(statement)}


def retrying_when_locked(work: Callable[[], T], retries: int | None = None) -> T:
    """Run a short transaction of ``work``, rolled back and run again while SQLite reports the database locked."""
    retries = retries or LOCK_RETRIES
    for attempt in range(retries):
        try:
            return work()
        except OperationalError as exc:
            db.session.rollback()
            if not is_database_locked(exc) or attempt == retries - 1:
                raise
            time.sleep(LOCK_RETRY_BASE_S * 2**attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


class SqlOutboxStore:
    """The outbox kept in the app database; each call commits its own small transaction.

    Several workers (one per `flask serve` process) may drain it at once. A claim takes rows off the queue for
    CLAIM_LEASE_S by moving their next attempt into the future, in one short transaction: on PostgreSQL its
    ``FOR UPDATE SKIP LOCKED`` makes concurrent claims pass each other instead of waiting, and a row another
    worker claimed meanwhile fails the re-checked WHERE; on SQLite the database's single write lock runs claims
    one after another, each seeing the last. Order is kept by the versions, not by the claim: should two
    workers still sync one practitioner (a lease ran out, `retry_now`), the engine keeps the newer version.
    """

    def claim(self, limit: int) -> list[PendingChange]:
        """Claim the oldest due practitioners' rows; return each with the newest row id the change covers."""
        return retrying_when_locked(lambda: self._claim(limit))

    def changes(self, doc_ids: Sequence[int]) -> list[Change]:
        """Return each practitioner's current document (or a delete), with the version it was read at."""
        return retrying_when_locked(lambda: self._changes(doc_ids))

    def acknowledge(self, changes: Sequence[PendingChange]) -> None:
        """Delete exactly the rows each change covered, newer rows staying for the next batch; refresh their cards."""
        retrying_when_locked(lambda: self._acknowledge(changes))
        ids = [change.doc_id for change in changes]
        try:
            retrying_when_locked(lambda: self._refresh_cards(ids))
        except SQLAlchemyError as exc:
            # The card rows are a cache: a stale one is never served (see load_cards), only read slower.
            db.session.rollback()
            log.warning("card rows of %d practitioners not refreshed: %s", len(ids), exc)

    def record_failure(self, changes: Sequence[PendingChange], error: str) -> None:
        """Count the attempt and schedule a retry with exponential backoff."""
        retrying_when_locked(lambda: self._record_failure(changes, error))

    def _claim(self, limit: int) -> list[PendingChange]:
        """Claim rows in two short transactions (see ``claim``)."""
        now = utcnow()
        due = (SearchOutbox.next_attempt_at.is_(None)) | (SearchOutbox.next_attempt_at <= now)
        oldest = db.session.scalars(select(SearchOutbox.practitioner_id).where(due).group_by(SearchOutbox.practitioner_id)
                                    .order_by(func.min(SearchOutbox.id)).limit(limit)).all()
        # An idle poll only reads; the claim is a transaction of its own that starts by writing, since a SQLite
        # transaction that read first cannot write after another connection's commit.
        db.session.commit()
        if not oldest:
            return []
        rows = select(SearchOutbox.id).where(due, SearchOutbox.practitioner_id.in_(oldest)).with_for_update(skip_locked=True)
        claimed = db.session.execute(
            update(SearchOutbox).where(SearchOutbox.id.in_(rows))
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_S))
            .returning(SearchOutbox.practitioner_id, SearchOutbox.id)
        ).all()
        db.session.commit()
        newest: dict[int, int] = {}
        for pid, row_id in claimed:
            newest[pid] = max(row_id, newest.get(pid, 0))
        return [PendingChange(pid, up_to) for pid, up_to in sorted(newest.items(), key=lambda item: item[1])]

    def _changes(self, doc_ids: Sequence[int]) -> list[Change]:
        """Read the documents and versions in one transaction (see ``changes``)."""
        versions = search_versions(doc_ids)  # read before the documents: see _load_sources
        docs = documents_for(doc_ids)
        db.session.commit()
        return [Change(pid, docs[pid], docs[pid]["version"]) if pid in docs else Change(pid, None, versions.get(pid))
                for pid in doc_ids]

    def _acknowledge(self, changes: Sequence[PendingChange]) -> None:
        """Delete the rows in one transaction (see ``acknowledge``)."""
        for change in changes:
            db.session.execute(
                delete(SearchOutbox).where(SearchOutbox.practitioner_id == change.doc_id, SearchOutbox.id <= change.up_to_row)
            )
        db.session.commit()

    def _refresh_cards(self, ids: Sequence[int]) -> None:
        """Rewrite these practitioners' card rows in one transaction."""
        refresh_cards(ids)
        db.session.commit()

    def _record_failure(self, changes: Sequence[PendingChange], error: str) -> None:
        """Count the attempts in one transaction (see ``record_failure``)."""
        now = utcnow()
        counted = dict(db.session.execute(
            select(SearchOutbox.practitioner_id, func.max(SearchOutbox.attempts))
            .where(SearchOutbox.practitioner_id.in_([c.doc_id for c in changes])).group_by(SearchOutbox.practitioner_id)
        ).all())
        db.session.commit()  # the updates start a transaction of their own (see claim)
        for change in changes:
            attempts = counted.get(change.doc_id) or 0
            delay = min(RETRY_MAX_S, RETRY_BASE_S * 2**attempts)
            db.session.execute(
                update(SearchOutbox)
                .where(SearchOutbox.practitioner_id == change.doc_id, SearchOutbox.id <= change.up_to_row)
                .values(attempts=attempts + 1, last_error=error[:2000], next_attempt_at=now + timedelta(seconds=delay))
            )
        db.session.commit()


def sync_outbox(backend: SearchBackend, batch_size: int = 500) -> SyncReport:
    """Drain the outbox into ``backend`` until nothing is due or the engine fails."""
    return drain(SqlOutboxStore(), backend, batch_size)


def retry_now() -> int:
    """Make every waiting outbox row due immediately (after an outage is fixed); return how many."""
    def make_due() -> int:
        result = db.session.execute(update(SearchOutbox).values(next_attempt_at=None))
        db.session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    return retrying_when_locked(make_due)


@dataclass(frozen=True)
class OutboxStatus:
    """How far behind search is."""

    pending: int
    oldest_enqueued_at: datetime | None
    max_attempts: int
    last_error: str | None

    @property
    def oldest_age_s(self) -> float | None:
        """Return the age of the oldest pending change in seconds."""
        return (utcnow() - self.oldest_enqueued_at).total_seconds() if self.oldest_enqueued_at else None

    @property
    def summary(self) -> str:
        """Say in one plain sentence whether search is up to date, catching up, or stuck and why."""
        if not self.pending:
            return "Search is up to date: no changes wait in the outbox."
        one = self.pending == 1
        waiting = f"{self.pending} listing{'' if one else 's'} wait{'s' if one else ''} in the outbox"
        if self.last_error:
            return (f"Search is behind: {waiting}, kept and retried until the index takes {'it' if one else 'them'}. "
                    f"The last attempt failed: {self.last_error}")
        return f"Search is catching up: {waiting}."


def outbox_status() -> OutboxStatus:
    """Return pending count, oldest pending time, attempts and the latest error."""
    pending, oldest, attempts = db.session.execute(
        select(func.count(func.distinct(SearchOutbox.practitioner_id)), func.min(SearchOutbox.enqueued_at),
               func.coalesce(func.max(SearchOutbox.attempts), 0))
    ).one()
    last_error = db.session.scalar(
        select(SearchOutbox.last_error).where(SearchOutbox.last_error.is_not(None)).order_by(SearchOutbox.id.desc()).limit(1)
    )
    return OutboxStatus(int(pending), oldest, int(attempts), last_error)


def reindex_all(backend: SearchBackend, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database; outbox rows written before the start are cleared.

    A practitioner changed during the rebuild gets a fresh outbox row after the switch: the rebuild may have read
    it before the change, and a worker may have applied the change to the old index (and deleted its row) before
    the alias moved.
    """
    before = search_versions()
    started_at = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    db.session.commit()
    with _fewer_gc_passes():
        count = backend.reindex(iter_all_documents(), progress)
    # End the rebuild's long read: on SQLite a transaction that read cannot write once another connection has
    # committed since (any edit during the rebuild), so the clean-up is a transaction of its own.
    db.session.commit()
    retrying_when_locked(lambda: _after_rebuild(before, started_at))
    return count


def _after_rebuild(before: dict[int, int], started_at: int) -> None:
    """Clear the outbox rows a rebuild covered; queue again the practitioners changed while it ran."""
    # Changes enqueued during the rebuild stay pending: the rebuild may have read them too early.
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.id <= started_at))
    changed = [pid for pid, version in search_versions().items() if before.get(pid) != version]
    if changed:
        now = utcnow()
        db.session.execute(insert(SearchOutbox), [{"practitioner_id": pid, "operation": "upsert", "enqueued_at": now,
                                                   "attempts": 0} for pid in changed])
    db.session.commit()


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector less often for the duration (process-wide, restored afterwards).

    A rebuild allocates millions of short-lived rows, sources and documents, none of them cyclic; with the default
    thresholds the collector runs every 700 allocations and repeatedly walks everything still queued for the engine,
    which cost about a third of the rebuild's CPU. Collection still happens, just in larger steps.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], REINDEX_GC_GEN0), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)

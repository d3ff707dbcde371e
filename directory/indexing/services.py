"""Practitioner rows -> search documents, the SQL outbox store, sync and reindex."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from directory.clock import utcnow
from directory.extensions import db
from directory.indexing.models import SearchOutbox
from directory.practitioners.models import (
    Condition,
    ConditionSynonym,
    Location,
    Method,
    MethodSynonym,
    Practitioner,
    practitioner_condition,
    practitioner_language,
    practitioner_method,
)
from directory.reviews.services import published_ratings
from search import SearchBackend
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.sync import PendingChange, SyncReport, drain

RETRY_BASE_S = 2.0
RETRY_MAX_S = 300.0




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
    vocab = vocabularies or load_vocabularies_for_search()
    points: dict[int, list[PlacePoint]] = defaultdict(list)
    location_rows: list[Any] = list(db.session.execute(
        select(Location.practitioner_id, Location.latitude, Location.longitude, Location.city, Location.region,
               Location.postal_code, Location.country, Location.wheelchair_accessible)
        .where(Location.practitioner_id.in_(ids)).order_by(Location.id)
    ))
    for loc in location_rows:
        points[int(loc[0])].append(PlacePoint(*loc[1:]))
    methods = _linked(practitioner_method, "method_id", ids, vocab.methods)
    conditions = _linked(practitioner_condition, "condition_id", ids, vocab.conditions)
    languages: dict[int, list[str]] = defaultdict(list)
    for lang_row in db.session.execute(
        select(practitioner_language.c.practitioner_id, practitioner_language.c.language_code)
        .where(practitioner_language.c.practitioner_id.in_(ids))
    ):
        languages[int(lang_row[0])].append(str(lang_row[1]))
    ratings = published_ratings(ids)
    sources = {}
    practitioner_rows: list[Any] = list(db.session.execute(select(*PRACTITIONER_COLUMNS).where(Practitioner.id.in_(ids))))
    for prac in practitioner_rows:
        pid = int(prac[0])
        average, count = ratings.get(pid, (None, 0))
        sources[pid] = PractitionerSource(
            **prac._mapping, locations=tuple(points[pid]), methods=tuple(methods[pid]), conditions=tuple(conditions[pid]),
            languages=tuple(sorted(languages[pid])), rating_average=average, rating_count=count)
    return sources


def _linked(link: Any, column: str, ids: Sequence[int], terms: dict[int, VocabularyTerm]) -> dict[int, list[VocabularyTerm]]:
    """Return each practitioner's vocabulary terms through a link table."""
    grouped: dict[int, list[VocabularyTerm]] = defaultdict(list)
    for link_row in db.session.execute(
        select(link.c.practitioner_id, link.c[column]).where(link.c.practitioner_id.in_(ids))
    ):
        grouped[int(link_row[0])].append(terms[int(link_row[1])])
    return grouped


def documents_for(ids: Sequence[int], vocabularies: Vocabularies | None = None) -> dict[int, dict[str, Any]]:
    """Return the search document of each existing practitioner among ``ids``."""
    return {pid: practitioner_search_document(src) for pid, src in load_sources(ids, vocabularies).items()
            if src.locations}


def iter_all_documents(batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Yield every practitioner's document, in id order, loading a batch at a time."""
    last = 0
    vocabularies = load_vocabularies_for_search()
    while True:
        ids = db.session.scalars(
            select(Practitioner.id).where(Practitioner.id > last).order_by(Practitioner.id).limit(batch_size)
        ).all()
        if not ids:
            return
        docs = documents_for(ids, vocabularies)
        yield from (docs[i] for i in ids if i in docs)
        last = ids[-1]


class SqlOutboxStore:
    """The outbox kept in the app database; each call commits its own small transaction."""

    def pending(self, limit: int) -> list[PendingChange]:
        """Return the oldest due practitioners with the newest row id each change covers."""
        now = utcnow()
        rows = db.session.execute(
            select(SearchOutbox.practitioner_id, func.max(SearchOutbox.id))
            .where((SearchOutbox.next_attempt_at.is_(None)) | (SearchOutbox.next_attempt_at <= now))
            .group_by(SearchOutbox.practitioner_id)
            .order_by(func.min(SearchOutbox.id))
            .limit(limit)
        ).all()
        db.session.commit()
        return [PendingChange(pid, up_to) for pid, up_to in rows]

    def documents(self, doc_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Return current documents; missing ids become deletes."""
        docs = documents_for(doc_ids)
        db.session.commit()
        return docs

    def acknowledge(self, changes: Sequence[PendingChange]) -> None:
        """Delete exactly the rows each change covered; newer rows stay for the next batch."""
        for change in changes:
            db.session.execute(
                delete(SearchOutbox).where(SearchOutbox.practitioner_id == change.doc_id, SearchOutbox.id <= change.up_to_row)
            )
        db.session.commit()

    def record_failure(self, changes: Sequence[PendingChange], error: str) -> None:
        """Count the attempt and schedule a retry with exponential backoff."""
        now = utcnow()
        for change in changes:
            attempts = db.session.scalar(
                select(func.max(SearchOutbox.attempts)).where(SearchOutbox.practitioner_id == change.doc_id)
            ) or 0
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
    result = db.session.execute(update(SearchOutbox).values(next_attempt_at=None))
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
    """Rebuild the whole index from the database; outbox rows written before the start are cleared."""
    started_at = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    count = backend.reindex(iter_all_documents(), progress)
    # Changes enqueued during the rebuild stay pending: the rebuild may have read them too early.
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.id <= started_at))
    db.session.commit()
    return count

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
    Location,
    Method,
    Practitioner,
    practitioner_condition,
    practitioner_language,
    practitioner_method,
)
from directory.reviews.models import Review
from search import SearchBackend
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.sync import PendingChange, SyncReport, drain

RETRY_BASE_S = 2.0
RETRY_MAX_S = 300.0




def load_sources(ids: Sequence[int]) -> dict[int, PractitionerSource]:
    """Load everything search needs about these practitioners in a handful of queries."""
    if not ids:
        return {}
    practitioners = db.session.scalars(select(Practitioner).where(Practitioner.id.in_(ids))).all()
    locations = _group(db.session.scalars(select(Location).where(Location.practitioner_id.in_(ids))), "practitioner_id")
    methods = _terms(Method, practitioner_method, "method_id", ids)
    conditions = _terms(Condition, practitioner_condition, "condition_id", ids)
    languages: dict[int, list[str]] = defaultdict(list)
    for lang_row in db.session.execute(
        select(practitioner_language.c.practitioner_id, practitioner_language.c.language_code)
        .where(practitioner_language.c.practitioner_id.in_(ids))
    ):
        languages[int(lang_row[0])].append(str(lang_row[1]))
    ratings: dict[int, tuple[float, int]] = {
        int(row[0]): (float(row[1]), int(row[2]))
        for row in db.session.execute(
            select(Review.practitioner_id, func.avg(Review.rating), func.count())
            .where(Review.practitioner_id.in_(ids), Review.moderation_state == "published")
            .group_by(Review.practitioner_id)
        )
    }
    return {p.id: _source(p, locations, methods, conditions, languages, ratings) for p in practitioners}


def _source(p: Practitioner, locations: dict[int, list[Any]], methods: dict[int, list[VocabularyTerm]],
            conditions: dict[int, list[VocabularyTerm]], languages: dict[int, list[str]],
            ratings: dict[int, tuple[float, int]]) -> PractitionerSource:
    """Return the PractitionerSource for one practitioner from the preloaded pieces."""
    average, count = ratings.get(p.id, (None, 0))
    return PractitionerSource(
        id=p.id, slug=p.slug, first_name=p.first_name, last_name=p.last_name, title=p.title, bio=p.bio,
        gender=p.gender, accepting_new_patients=p.accepting_new_patients, telehealth=p.telehealth, hidden=p.hidden,
        vetting_status=p.vetting_status,
        locations=tuple(PlacePoint(loc.latitude, loc.longitude, loc.city, loc.region, loc.postal_code, loc.country,
                                   loc.wheelchair_accessible) for loc in locations.get(p.id, [])),
        methods=tuple(methods.get(p.id, [])), conditions=tuple(conditions.get(p.id, [])),
        languages=tuple(sorted(languages.get(p.id, []))), rating_average=average, rating_count=count,
    )


def _group(rows: Any, key: str) -> dict[int, list[Any]]:
    """Group ORM rows by an attribute."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _terms(model: Any, link: Any, column: str, ids: Sequence[int]) -> dict[int, list[VocabularyTerm]]:
    """Return each practitioner's vocabulary terms (with synonyms) through a link table."""
    terms: list[Any] = list(db.session.scalars(select(model)))
    vocab = {t.id: VocabularyTerm(t.slug, t.name, tuple(s.term for s in t.synonyms)) for t in terms}
    grouped: dict[int, list[VocabularyTerm]] = defaultdict(list)
    for link_row in db.session.execute(
        select(link.c.practitioner_id, link.c[column]).where(link.c.practitioner_id.in_(ids))
    ):
        grouped[int(link_row[0])].append(vocab[int(link_row[1])])
    return grouped


def documents_for(ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return the search document of each existing practitioner among ``ids``."""
    return {pid: practitioner_search_document(src) for pid, src in load_sources(ids).items() if src.locations}


def iter_all_documents(batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Yield every practitioner's document, in id order, loading a batch at a time."""
    last = 0
    while True:
        ids = db.session.scalars(
            select(Practitioner.id).where(Practitioner.id > last).order_by(Practitioner.id).limit(batch_size)
        ).all()
        if not ids:
            return
        docs = documents_for(ids)
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

"""Result cards: the few fields a result shows, loaded with plain SQL rather than whole ORM objects.

A page of 20 results used to load 20 practitioners and then four collections through
the ORM (about 19 ms at 100k practitioners); these queries return tuples instead. The
three statements are built once at import (the ids are an expanding parameter), so a
search spends its time in SQLite, not in building and caching SQL constructs.

At a million practitioners even those statements cost 3-4 ms a page: their rows lie spread over five tables of a
12 GB database. So each card is also kept as one row of ``practitioner_card``, labelled with the search version it
was read at, and a page reads those rows by primary key; a row whose version is not the practitioner's current one
(a change not yet synced by the outbox worker) is ignored and that card read fresh, so a page never shows a card
older than the database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

import orjson
from sqlalchemy import String, bindparam, cast, delete, func, literal, select, union_all

from directory.clock import today
from directory.extensions import db, upsert_into
from directory.imports.listings import unclaimed_registry_listings
from directory.indexing.models import CardCache, SearchVersion
from directory.practitioners.models import (
    Location,
    Practitioner,
    practitioner_condition,
    practitioner_language,
    practitioner_method,
)
from directory.practitioners.vocabulary import Term, VocabularyCache, cached_vocabulary
from directory.reviews.models import Review
from directory.reviews.services import counted
from directory.vetting.evidence import EvidenceAge, evidence_of
from directory.vetting.facts import load_evidence_facts
from directory.vetting.folds import refresh_folds

VERIFIED = ("verified", "expiring")


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__ (3.7 µs for these twelve,
# 0.6 µs with slots), and a page of 20 cards decodes 20-40 of them per search. Nothing assigns to one.
@dataclass(slots=True)
class LocationCard:
    """A practice location as a result shows it."""

    id: int
    name: str
    city: str
    region: str
    postal_code: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    wheelchair_accessible: bool
    phone: str = ""
    booking_url: str = ""

    @property
    def tel_url(self) -> str:
        """Return the phone number as a ``tel:`` link (digits and a leading +), or "" without a number."""
        digits = "".join(c for c in self.phone if c.isdigit() or c == "+")
        return f"tel:{digits}" if any(c.isdigit() for c in digits) else ""

    @property
    def web_booking_url(self) -> str:
        """Return the booking link only when it is a web address (never ``javascript:`` or the like)."""
        url = self.booking_url.strip()
        return url if url.lower().startswith(("https://", "http://")) else ""


@dataclass(slots=True)
class PractitionerCard:
    """A practitioner as a result shows it (attribute names match the Practitioner model)."""

    id: int
    slug: str
    first_name: str
    last_name: str
    title: str
    vetting_status: str
    verified_since: date | None
    accepting_new_patients: bool
    telehealth: bool
    rating_average: float | None = None
    rating_count: int = 0
    locations: list[LocationCard] = field(default_factory=list)
    methods: list[Term] = field(default_factory=list)
    conditions: list[Term] = field(default_factory=list)
    languages: list[Term] = field(default_factory=list)
    evidence: EvidenceAge = field(default_factory=EvidenceAge)
    registry_unclaimed: bool = False  # listed from the NPI registry, nobody has claimed it yet
    photo_path: str | None = None

    @property
    def display_name(self) -> str:
        """Return the name as shown on cards: "Mei Chen, L.Ac."."""
        name = f"{self.first_name} {self.last_name}"
        return f"{name}, {self.title}" if self.title else name


_IDS: Any = bindparam("ids", expanding=True)
_LOW: Any = bindparam("low")
_HIGH: Any = bindparam("high")


def _by_ids(column: Any) -> Any:
    return column.in_(_IDS)


def _by_range(column: Any) -> Any:
    return column.between(_LOW, _HIGH)


@dataclass(frozen=True)
class _Statements:
    """The card statements for one way of naming practitioners (an id list, or an id range for a rebuild)."""

    cards: Any
    links: Any
    locations: Any


def _statements(match: Callable[[Any], Any]) -> _Statements:
    """Build the three statements for ``match`` (a practitioner-id column -> WHERE clause)."""
    rated = (select(Review.practitioner_id, func.avg(Review.rating).label("average"), func.count().label("count"))
             .where(match(Review.practitioner_id), counted()).group_by(Review.practitioner_id).subquery())
    # A page's cards in a fixed number of set-based statements, whatever the number of cards: the practitioners
    # with their published ratings (one grouped join, not two subqueries per row), their vocabulary links, their
    # locations. Hidden and suspended ones too: the visibility rule is applied to the rows (see _visible).
    cards = (select(Practitioner.id, Practitioner.slug, Practitioner.first_name, Practitioner.last_name,
                    Practitioner.title, Practitioner.vetting_status, Practitioner.verified_since,
                    Practitioner.accepting_new_patients, Practitioner.telehealth, Practitioner.photo_path,
                    Practitioner.hidden, rated.c.average, rated.c.count)
             .outerjoin(rated, rated.c.practitioner_id == Practitioner.id).where(match(Practitioner.id)))
    links = union_all(*(
        select(link.c.practitioner_id, literal(kind), cast(link.c[column], String)).where(match(link.c.practitioner_id))
        for link, kind, column in ((practitioner_method, "method", "method_id"),
                                   (practitioner_condition, "condition", "condition_id"),
                                   (practitioner_language, "language", "language_code"))))
    # Every location, placed or not: the placed ones are the card's, all of them say where the practitioner
    # practises (the credentials the evidence lines are about).
    locations = select(Location.practitioner_id, Location.id, Location.name, Location.city, Location.region,
                       Location.postal_code, Location.country, Location.latitude, Location.longitude,
                       Location.timezone, Location.wheelchair_accessible, Location.phone, Location.booking_url).where(
        match(Location.practitioner_id)).order_by(Location.id)
    return _Statements(cards, links, locations)


_FRESH = _statements(_by_ids)
_RANGE = _statements(_by_range)
# Cached cards still current: labelled with the practitioner's search version (0 before any change was synced).
_CACHED = (select(CardCache.practitioner_id, CardCache.data)
           .outerjoin(SearchVersion, SearchVersion.practitioner_id == CardCache.practitioner_id)
           .where(CardCache.practitioner_id.in_(_IDS), CardCache.version == func.coalesce(SearchVersion.version, 0)))
# _CACHED as SQLite's driver takes it (see _cached_rows); {} stands for the ids' placeholders (qmark style).
_CACHED_SQLITE = (f"SELECT c.practitioner_id, c.data FROM {CardCache.__tablename__} c "  # noqa: S608 (our names)
                  f"LEFT OUTER JOIN {SearchVersion.__tablename__} v ON v.practitioner_id = c.practitioner_id "
                  "WHERE c.practitioner_id IN ({}) AND c.version = coalesce(v.version, 0)")


@dataclass
class _CardData:
    """What one card row holds: the card as a result shows it, its hidden flag and every location's place."""

    card: PractitionerCard
    hidden: bool
    places: list[tuple[str, str]]  # (country, region) of every location, placed or not, in id order


def load_cards(ids: Sequence[int], verified_only: bool, *, with_evidence: bool = True) -> dict[int, PractitionerCard]:
    """Return cards for the visible practitioners among ``ids`` (not hidden, not suspended, verified if asked).

    Current rows of the card table first (one primary-key read per card), the others read fresh from the
    practitioner tables. Core statements on the session's connection: the ORM layer of ``session.execute`` cost
    0.2 ms a statement. ``with_evidence=False`` leaves out the "checked on" lines and the registry badge, which
    only pages show: they were two thirds of a page's cost at 100k practitioners (about 20 checks folded per card).
    """
    if not ids:
        return {}
    connection = db.session.connection()
    vocabulary = cached_vocabulary()
    ranked = vocabulary.ranked
    # .all(): one driver fetchall per statement instead of a fetchone per row.
    found = {pid: _decode(pid, data, vocabulary) for pid, data in _cached_rows(connection, ids)}
    if missing := [pid for pid in ids if pid not in found]:
        found.update(_read(connection, _FRESH, {"ids": missing}, ranked))
    visible = {pid: data for pid, data in found.items() if _visible(data, verified_only)}
    cards = {pid: data.card for pid, data in visible.items()}
    if with_evidence and cards:
        _add_evidence(cards, {pid: data.places for pid, data in visible.items()})
        for pid in unclaimed_registry_listings(list(cards)):
            cards[pid].registry_unclaimed = True
    return cards


def _cached_rows(connection: Any, ids: Sequence[int]) -> list[tuple[int, str]]:
    """Return (practitioner id, data) of the current card rows among ``ids``: what _CACHED reads.

    On SQLite the statement is handed to the driver as written (exec_driver_sql, in the session's transaction):
    Core's execute of the cached statement (its cache key, the expanding id list) took 137 µs for a page of 20
    ids, this 64 µs. It still goes through SQLAlchemy's cursor events, so echo, statement counts
    (tests/functional/test_search_statements.py) and any listener see it; the bare driver (32 µs) did not.
    tests/functional/test_card_cache.py checks both paths read the same rows.
    """
    if connection.dialect.name != "sqlite":
        return [(int(pid), data) for pid, data in connection.execute(_CACHED, {"ids": list(ids)}).all()]
    statement = _CACHED_SQLITE.format(", ".join("?" * len(ids)))
    return [(pid, data) for pid, data in connection.exec_driver_sql(statement, tuple(ids)).all()]


def _visible(data: _CardData, verified_only: bool) -> bool:
    """Apply the visibility rule: not hidden, not suspended, and verified (or expiring) when asked."""
    status = data.card.vetting_status
    return not data.hidden and status != "suspended" and (not verified_only or status in VERIFIED)


def _read(connection: Any, statements: _Statements, params: dict[str, Any],
          ranked: dict[str, dict[str, tuple[int, Term]]]) -> dict[int, _CardData]:
    """Read the cards the statements name from the practitioner tables."""
    found: dict[int, _CardData] = {}
    rows: Any = connection.execute(statements.cards, params).all()
    for pid, slug, first, last, title, status, since, accepting, telehealth, photo, hidden, average, count in rows:
        card = PractitionerCard(pid, slug, first, last, title, status, since, accepting, telehealth,
                                float(average) if average is not None else None, int(count or 0), photo_path=photo)
        found[pid] = _CardData(card, bool(hidden), [])
    if found:
        _add_terms(found, connection.execute(statements.links, params).all(), ranked)
        for pid, *loc in connection.execute(statements.locations, params).all():
            if (data := found.get(pid)) is not None:
                data.places.append((loc[5], loc[3]))
                if loc[6] is not None:
                    data.card.locations.append(LocationCard(*loc))
    return found


def _add_terms(found: dict[int, _CardData], links: Any, ranked: dict[str, dict[str, tuple[int, Term]]]) -> None:
    """Give each card its methods, conditions and languages, in the order pages show them."""
    terms: dict[tuple[int, str], list[tuple[int, Term]]] = defaultdict(list)
    for pid, kind, key in links:
        if (entry := ranked[kind].get(key)) is not None and pid in found:
            terms[pid, kind].append(entry)
    for (pid, kind), entries in terms.items():
        setattr(found[pid].card, f"{kind}s", [term for _, term in sorted(entries)])


# --------------------------------------------------------------------------- the card table


def _encode(data: _CardData, keys: dict[str, dict[str, str]]) -> str:
    """Return one card as the JSON array its row stores (vocabulary by stored key, so a renamed term shows)."""
    c = data.card
    return json.dumps([
        c.slug, c.first_name, c.last_name, c.title, c.vetting_status,
        c.verified_since.isoformat() if c.verified_since else None, c.accepting_new_patients, c.telehealth,
        c.photo_path, data.hidden, c.rating_average, c.rating_count,
        [keys["method"][t.slug] for t in c.methods], [keys["condition"][t.slug] for t in c.conditions],
        [keys["language"][t.slug] for t in c.languages],
        [[loc.id, loc.name, loc.city, loc.region, loc.postal_code, loc.country, loc.latitude, loc.longitude,
          loc.timezone, loc.wheelchair_accessible, loc.phone, loc.booking_url] for loc in c.locations],
        data.places,
    ], separators=(",", ":"))


def _decode(pid: int, text: str, vocabulary: VocabularyCache) -> _CardData:
    """Return the card a row stores (see ``_encode``).

    orjson reads the row in 2.6 µs where json took 6.7, and each kind's terms come from the vocabulary's memo of
    key lists (the same few combinations recur on every page).
    """
    (slug, first, last, title, status, since, accepting, telehealth, photo, hidden, average, count,
     methods, conditions, languages, locations, places) = orjson.loads(text)
    card = PractitionerCard(pid, slug, first, last, title, status, date.fromisoformat(since) if since else None,
                            accepting, telehealth, average, count, photo_path=photo)
    terms = vocabulary.ordered_terms
    card.methods = terms("method", methods)
    card.conditions = terms("condition", conditions)
    card.languages = terms("language", languages)
    card.locations = [LocationCard(*loc) for loc in locations]
    return _CardData(card, hidden, [(country, region) for country, region in places])


def _term_keys(ranked: dict[str, dict[str, tuple[int, Term]]]) -> dict[str, dict[str, str]]:
    """Return, per kind, a term's slug -> the key its links store."""
    return {kind: {term.slug: key for key, (_, term) in entries.items()} for kind, entries in ranked.items()}


def refresh_cards(ids: Sequence[int]) -> None:
    """Rewrite the card rows of these practitioners as they are now (and drop those of deleted ones).

    The versions are read before the cards, so a row is never labelled newer than what it holds (the same rule
    as the search documents, see directory/indexing/services.py). Runs in the caller's transaction.
    """
    if ids:
        _write(_by_ids(CardCache.practitioner_id), {"ids": list(ids)}, _FRESH, _by_ids)


def rebuild_cards(batch_size: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Rewrite every practitioner's card row and folded checks, a committed batch at a time; return how many."""
    from directory.indexing.services import retrying_when_locked  # it imports this module

    written, last = 0, 0
    while True:
        ids = db.session.scalars(select(Practitioner.id).where(Practitioner.id > last)
                                 .order_by(Practitioner.id).limit(batch_size)).all()
        db.session.commit()
        if not ids:
            break
        params = {"low": last + 1, "high": ids[-1]}
        retrying_when_locked(partial(_committed, _rewrite_batch, params, ids))
        written += len(ids)
        last = ids[-1]
        if progress is not None:
            progress(len(ids))
    # Rows of practitioners deleted since an earlier rebuild.
    retrying_when_locked(lambda: _drop_orphans(last))
    return written


def _rewrite_batch(params: dict[str, Any], ids: Sequence[int]) -> None:
    """Rewrite the card rows of one batch of ids (``params``: its range), and their folded checks where stale."""
    _write(_by_range(CardCache.practitioner_id), params, _RANGE, _by_range)
    refresh_folds(ids)


def _committed(work: Callable[..., None], *args: Any) -> None:
    work(*args)
    db.session.commit()


def _drop_orphans(last: int) -> None:
    """Delete the rows of practitioners that no longer exist."""
    db.session.execute(delete(CardCache).where(CardCache.practitioner_id > last))
    db.session.execute(delete(CardCache).where(~CardCache.practitioner_id.in_(
        select(Practitioner.id).where(Practitioner.id <= last))))
    db.session.commit()


def _write(rows_of: Any, params: dict[str, Any], statements: _Statements, match: Callable[[Any], Any]) -> None:
    """Rewrite the card rows ``rows_of`` selects from fresh reads with ``statements``; drop those of deleted ones.

    An upsert that never lowers a row's version: two workers syncing one practitioner at once (PostgreSQL) neither
    collide on the key nor leave the older read in place.
    """
    connection = db.session.connection()
    versions = dict(connection.execute(select(SearchVersion.practitioner_id, SearchVersion.version)
                                       .where(match(SearchVersion.practitioner_id)), params).all())
    ranked = cached_vocabulary().ranked
    keys = _term_keys(ranked)
    found = _read(connection, statements, params, ranked)
    connection.execute(delete(CardCache).where(rows_of, ~CardCache.practitioner_id.in_(
        select(Practitioner.id).where(match(Practitioner.id)))), params)
    if found:
        table = CardCache.__table__
        statement = upsert_into(connection, table)
        connection.execute(statement.on_conflict_do_update(
            index_elements=[table.c.practitioner_id],
            set_={"version": statement.excluded.version, "data": statement.excluded.data},
            where=table.c.version <= statement.excluded.version,
        ), [{"practitioner_id": pid, "version": versions.get(pid, 0), "data": _encode(data, keys)}
            for pid, data in found.items()])


def _add_evidence(cards: dict[int, PractitionerCard], places: dict[int, list[tuple[str, str]]]) -> None:
    """Attach to each card when its credentials were last checked (the status rules' facts, for the page's ids)."""
    day = today()
    for pid, facts in load_evidence_facts(list(cards), places).items():
        cards[pid].evidence = evidence_of(facts, day)

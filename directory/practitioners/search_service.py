"""Find practitioners: the engine picks and orders ids, the database supplies the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from directory.clock import utcnow
from directory.errors import DomainError, InvalidParameter
from directory.extensions import db, search
from directory.geo import Place, resolve_place
from directory.practitioners.cards import LocationCard, PractitionerCard, load_cards
from directory.practitioners.models import Location
from directory.practitioners.vocabulary import cached_vocabulary
from directory.reviews.rating import bayesian_average, rating_prior
from search import InvalidQuery, SearchPage, SearchQuery, SearchUnavailable
from search.geo import arc_distance_km
from search.hours import dated_keys, open_keys


class SearchUnavailableError(DomainError):
    """The search engine is down; the page says so instead of showing "no results"."""

    status = 503
    code = "search_unavailable"


@dataclass(frozen=True)
class ResultRow:
    """One practitioner as a result card shows it."""

    practitioner: PractitionerCard
    distance_km: float | None
    nearest: LocationCard
    rating_average: float | None
    rating_count: int
    highlight: str = ""
    # The Bayesian average sort=rating orders by (directory/reviews/rating.py); cards show the plain average.
    rating_bayes: float | None = None


@dataclass
class SearchResults:
    """A page of results with what the page needs to render filters and paging."""

    query: SearchQuery
    origin: Place | None
    rows: list[ResultRow]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    took_ms: float = 0.0
    engine_took_ms: float | None = None

    @property
    def pages(self) -> int:
        """Return the number of pages."""
        return max(1, -(-self.total // self.query.per_page))


def vocabulary_choices() -> dict[str, dict[str, str]]:
    """Return slug -> display name for methods, conditions and languages (shared: read it, never change it).

    Built once per vocabulary load (directory/practitioners/vocabulary.py), not on every request.
    """
    return cached_vocabulary().choices


def _zones_statement() -> Any:
    """Return the loose index scan over ix_location_timezone: one index seek per zone, not a read of every row."""
    step = select(func.min(Location.timezone).label("zone")).cte("zones", recursive=True)
    following = select(func.min(Location.timezone)).where(Location.timezone > step.c.zone).scalar_subquery()
    zones = step.union_all(select(following).where(step.c.zone.is_not(None)))
    return select(zones.c.zone).where(zones.c.zone.is_not(None))


# Built once: constructing the recursive CTE cost more than SQLite's answer, on every "open now" search.
_ZONES = _zones_statement()


def zones_in_use() -> list[str]:
    """Return the distinct time zones of practice locations.

    A loose index scan rather than SELECT DISTINCT, which reads every location: 42 zones among 120,000 locations
    take 0.6 ms instead of 30, so every "open now" search asks afresh and a location in a new zone is found at once.
    """
    return list(db.session.connection().scalars(_ZONES))


def open_now_keys(now: datetime | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return the weekly and the dated keys of the present minute in every time zone in use (search/hours.py)."""
    zones, at = zones_in_use(), now or utcnow()
    return open_keys(zones, at), dated_keys(zones, at)


def build_query(filters: dict[str, Any], place: str | None, lat: float | None, lon: float | None) -> tuple[SearchQuery, Place | None]:
    """Resolve the place (coordinates win over text) and return the SearchQuery with its origin.

    ``filters`` may say ``open_now=True``: the query then carries the keys of this minute (search/hours.py).
    """
    filters = dict(filters)
    if filters.pop("open_now", False):
        filters["open_keys"], filters["dated_keys"] = open_now_keys()
    origin = None
    if lat is not None and lon is not None:
        origin = Place(label=f"{lat:.4f}, {lon:.4f}", lat=lat, lon=lon, kind="coordinates", country="", region=None,
                       city=None, postal_code=None, population=0)
    elif place and place.strip():
        origin = resolve_place(place)
    try:
        query = SearchQuery(lat=origin.lat if origin else None, lon=origin.lon if origin else None, **filters)
    except InvalidQuery as exc:
        raise InvalidParameter(exc.message, field=exc.field) from None
    return query, origin


def search_practitioners(query: SearchQuery, origin: Place | None = None, *, with_evidence: bool = True) -> SearchResults:
    """Run ``query`` on the engine, then load the visible rows from the database in hit order.

    ``with_evidence=False``: cards without the "checked on" lines and the registry badge (the API shows neither).
    """
    try:
        page = search.backend().search(query)
    except SearchUnavailable as exc:
        raise SearchUnavailableError("Search is temporarily unavailable. Please try again in a minute.",
                                     reason=str(exc)) from None
    if page.total and not page.hits and query.page > 1:
        last = max(1, -(-page.total // query.per_page))
        raise InvalidParameter(f"page {query.page} is past the last page ({last})", field="page")
    rows = _load_rows(page, query, with_evidence)
    return SearchResults(query, origin, rows, page.total, page.facets, page.took_ms, page.engine_took_ms)


def _load_rows(page: SearchPage, query: SearchQuery, with_evidence: bool = True) -> list[ResultRow]:
    """Load hit rows by id, keep hit order, and re-apply the visibility rule in SQL."""
    ids = [h.id for h in page.hits]
    if not ids:
        return []
    found = load_cards(ids, query.verified_only, with_evidence=with_evidence)
    prior = rating_prior()
    rows = []
    for hit in page.hits:
        card = found.get(hit.id)
        if card is None or not card.locations:
            continue
        rows.append(ResultRow(card, hit.distance_km, _nearest(card, query), card.rating_average, card.rating_count,
                              hit.highlight, bayesian_average(card.rating_average, card.rating_count, prior)))
    return rows


def _nearest(p: PractitionerCard, query: SearchQuery) -> LocationCard:
    """Return the practitioner's location nearest the origin (the first one without an origin)."""
    if query.lat is None or query.lon is None:
        return p.locations[0]
    lat, lon = query.lat, query.lon
    return min(p.locations, key=lambda loc: arc_distance_km(lat, lon, loc.latitude, loc.longitude))

"""The typed vocabulary shared by every backend: what is asked, what comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SortOrder = Literal["distance", "relevance", "rating"]
SORT_ORDERS: tuple[SortOrder, ...] = ("distance", "relevance", "rating")
FACET_FIELDS = ("methods", "conditions", "languages", "vetting_status")
# Elasticsearch's default index.max_result_window: from + size may not pass it.
MAX_RESULT_WINDOW = 10_000
# The mean Earth radius Elasticsearch uses for arc distances (GeoUtils.EARTH_MEAN_RADIUS),
# so the embedded backend computes the very same distances.
EARTH_RADIUS_KM = 6371.0087714


class SearchUnavailable(Exception):
    """The engine could not answer (down, timed out, refused); never a silent empty page."""


class InvalidQuery(ValueError):
    """A SearchQuery field is out of range; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SearchQuery:
    """One search: where, how far, what, for whom, in which order, which page."""

    lat: float | None = None
    lon: float | None = None
    radius_km: float = 25.0
    methods: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    gender: str | None = None
    accepting_new_patients: bool | None = None
    telehealth: bool | None = None
    wheelchair_accessible: bool | None = None
    text: str = ""
    # Open now: the keys of "now" in every time zone in use (search.hours.open_keys); None means no filter,
    # an empty tuple finds nobody (no location has hours in a zone in use).
    open_keys: tuple[int, ...] | None = None
    # With open_keys: the dated keys of the same minute in the same zones (search.hours.dated_keys), which the
    # documents' dated exceptions are matched against.
    dated_keys: tuple[int, ...] = ()
    verified_only: bool = True
    sort: SortOrder = "distance"
    page: int = 1
    per_page: int = 20
    # The facet fields to count over all matches; () counts none. Counting reads the values of every match,
    # so a page that shows no counts asks for none.
    facets: tuple[str, ...] = FACET_FIELDS

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def has_origin(self) -> bool:
        """Tell whether the search is around a point (else it covers everywhere)."""
        return self.lat is not None and self.lon is not None

    @property
    def offset(self) -> int:
        """Return how many hits the requested page skips."""
        return (self.page - 1) * self.per_page


def _validate(q: SearchQuery) -> None:
    """Raise InvalidQuery for the first field out of range."""
    if (q.lat is None) != (q.lon is None):
        raise InvalidQuery("lat", "give both lat and lon, or neither")
    if q.lat is not None and not -90 <= q.lat <= 90:
        raise InvalidQuery("lat", "latitude must be between -90 and 90")
    if q.lon is not None and not -180 <= q.lon <= 180:
        raise InvalidQuery("lon", "longitude must be between -180 and 180")
    if not 0 < q.radius_km <= 500:
        raise InvalidQuery("radius_km", "radius must be more than 0 and at most 500 km")
    if q.sort not in SORT_ORDERS:
        raise InvalidQuery("sort", f"sort must be one of {', '.join(SORT_ORDERS)}")
    if not 1 <= q.per_page <= 100:
        raise InvalidQuery("per_page", "per_page must be between 1 and 100")
    if q.page < 1:
        raise InvalidQuery("page", "page must be 1 or more")
    if q.page * q.per_page > MAX_RESULT_WINDOW:
        raise InvalidQuery("page", f"only the first {MAX_RESULT_WINDOW} results can be paged through; narrow the search")
    if len(q.text) > 200:
        raise InvalidQuery("q", "search text must be at most 200 characters")
    if not set(q.facets) <= set(FACET_FIELDS):
        raise InvalidQuery("facets", f"facets must be among {', '.join(FACET_FIELDS)}")


@dataclass(frozen=True)
class SearchHit:
    """One practitioner found: its id, distance to the nearest of its locations, score."""

    id: int
    distance_km: float | None
    score: float = 0.0
    highlight: str = ""


@dataclass
class SearchPage:
    """One page of hits, in order, with the total and the asked facets' counts over all matches."""

    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    took_ms: float = 0.0
    engine_took_ms: float | None = None


@dataclass(frozen=True)
class Change:
    """One document to write (``document`` set) or delete (``document`` None).

    With a ``version`` the engine keeps whichever write has the highest version (the engines' external
    versioning): an older change arriving late is refused, and that counts as acknowledged, since the index
    already holds something newer. Without one the change is applied unconditionally.
    """

    doc_id: int
    document: dict[str, Any] | None
    version: int | None = None


@dataclass
class ApplyResult:
    """Which changes the engine acknowledged and which failed, with why."""

    acknowledged: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

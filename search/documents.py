"""Practitioner data -> search document: one pure function, its text folded by search.text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from search.geo import z_order_cell
from search.hours import DatedHours, WeeklyInterval, dated_ranges, open_ranges
from search.text import fold

VERIFIED_STATUSES = frozenset({"verified", "expiring"})
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class PlacePoint:
    """One practice location as search needs it."""

    lat: float
    lon: float
    city: str
    region: str
    postal_code: str
    country: str
    wheelchair_accessible: bool = False
    # IANA zone of the opening hours, and the hours: (weekday 0 = Monday, opens, closes) in local minutes.
    timezone: str = "UTC"
    hours: tuple[WeeklyInterval, ...] = ()
    # Dated exceptions to the week from yesterday on (older ones can never match "now" again).
    exceptions: tuple[DatedHours, ...] = ()


@dataclass(frozen=True)
class VocabularyTerm:
    """A method or condition: slug, display name, and the synonyms patients type."""

    slug: str
    name: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class PractitionerSource:
    """What the directory knows of one practitioner that search needs."""

    id: int
    slug: str
    first_name: str
    last_name: str
    title: str
    bio: str
    gender: str
    accepting_new_patients: bool
    telehealth: bool
    hidden: bool
    vetting_status: str
    locations: tuple[PlacePoint, ...]
    methods: tuple[VocabularyTerm, ...] = ()
    conditions: tuple[VocabularyTerm, ...] = ()
    languages: tuple[str, ...] = ()
    rating_average: float | None = None
    rating_count: int = 0
    # The Bayesian average that orders sort=rating, computed by the application from its configured prior.
    rating_bayes: float | None = None
    # The practitioner's search version when this was read (engines keep the highest version they were sent).
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def words(text: str) -> list[str]:
    """Split folded text into plain word tokens (user text only ever reaches engines as these)."""
    return _WORD.findall(fold(text))


@lru_cache(maxsize=16384)
def _vocabulary_text(terms: tuple[VocabularyTerm, ...]) -> str:
    """Return names and synonyms of ``terms`` as one folded text (index-time synonym expansion).

    Cached: practitioners share a few thousand combinations of terms, and a rebuild folds each one once.
    """
    return fold(" ; ".join(part for t in terms for part in (t.name, *t.synonyms)))


def _dated_hours(locations: tuple[PlacePoint, ...]) -> dict[str, list[dict[str, int]]]:
    """Return the document's dated ranges (search/hours.py): where a dated exception makes its weeks wrong."""
    opened, closed = dated_ranges([(loc.timezone, loc.hours, loc.exceptions) for loc in locations])
    return {"open_dated": [{"gte": low, "lt": high} for low, high in opened],
            "closed_dated": [{"gte": low, "lt": high} for low, high in closed]}


def practitioner_search_document(p: PractitionerSource) -> dict[str, Any]:
    """Return the search document for one practitioner (one document, all its locations)."""
    name = f"{p.first_name} {p.last_name}"
    return {
        "id": p.id,
        "slug": p.slug,
        "name": fold(f"{name} {p.title}"),
        "display_name": name,
        "bio": fold(p.bio),
        "vocabulary": " ; ".join(filter(None, [_vocabulary_text(p.methods), _vocabulary_text(p.conditions)])),
        "places": fold(" ; ".join(f"{loc.city} {loc.region} {loc.postal_code}" for loc in p.locations)),
        "methods": sorted(t.slug for t in p.methods),
        "conditions": sorted(t.slug for t in p.conditions),
        "languages": sorted(p.languages),
        "gender": p.gender,
        "accepting_new_patients": p.accepting_new_patients,
        "telehealth": p.telehealth,
        "wheelchair_accessible": any(loc.wheelchair_accessible for loc in p.locations),
        "vetting_status": p.vetting_status,
        "verified": p.vetting_status in VERIFIED_STATUSES,
        "visible": not p.hidden and p.vetting_status != "suspended",
        "rating_average": round(p.rating_average, 3) if p.rating_average is not None else None,
        "rating_count": p.rating_count,
        "rating_bayes": p.rating_bayes if p.rating_count else None,
        "locations": [{"lat": loc.lat, "lon": loc.lon} for loc in p.locations],
        # Where the engines' index puts the document: the cell of its first location (none without a location).
        "geo_cell": z_order_cell(p.locations[0].lat, p.locations[0].lon) if p.locations else None,
        "open_hours": [{"gte": low, "lt": high} for loc in p.locations for low, high in open_ranges(loc.timezone, loc.hours)],
        **_dated_hours(p.locations),
        "name_suggest": [fold(name), fold(p.last_name)],
        "version": p.version,
    }

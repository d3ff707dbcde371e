"""Autocomplete: places whose name or ZIP code starts with what the user typed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from directory.geo.cities import cities_named, city_index
from directory.geo.gazetteer import MAX_QUERY_LENGTH
from directory.geo.place import Place
from directory.geo.regions import US, region_names
from directory.geo.text import normalize_name, normalize_prefix
from directory.geo.zips import postal_code_place, zip_index

MAX_SUGGESTIONS = 50
# Up to five digits is a ZIP prefix; anything after the fifth (ZIP+4) narrows nothing.
_ZIP_PREFIX = re.compile(r"(\d{1,5})(?:-?\d{0,4})")


def suggest_places(prefix: str, limit: int = 8) -> list[Place]:
    """Return up to `limit` cities (largest first) or ZIPs starting with `prefix`."""
    text = " ".join(prefix.split()) if isinstance(prefix, str) else ""
    if not text or len(text) > MAX_QUERY_LENGTH or limit < 1:
        return []
    limit = min(limit, MAX_SUGGESTIONS)
    zip_prefix = _ZIP_PREFIX.fullmatch(text)
    if zip_prefix is not None:
        return [postal_code_place(code) for code in zip_index().with_prefix(zip_prefix[1], limit)]
    name, comma, qualifier = text.partition(",")
    if comma:
        return _cities_in(normalize_name(name), normalize_prefix(qualifier), limit)
    return _cities_starting(normalize_prefix(name), limit)


def _cities_starting(key: str, limit: int) -> list[Place]:
    """Return the largest cities whose name starts with `key`."""
    return _distinct(city_index().with_prefix(key), limit) if key else []


def _cities_in(key: str, qualifier: str, limit: int) -> list[Place]:
    """Return cities called `key` in a state or country starting with `qualifier`."""
    if not key:
        return []
    matches = cities_named(key)
    if qualifier:
        matches = [place for place in matches if _qualifier_matches(place, qualifier)]
    return _distinct(matches, limit)


def _qualifier_matches(place: Place, qualifier: str) -> bool:
    """Return True if `qualifier` starts the place's state, region or country."""
    names = region_names(place.country, place.region)
    return any(name.startswith(qualifier) for name in names)


def _distinct(places: Iterable[Place], limit: int) -> list[Place]:
    """Return up to `limit` places that read differently, largest first."""
    ranked = sorted(places, key=lambda place: (-place.population, place.label))
    distinct: dict[tuple[str, str, str | None], Place] = {}
    for place in ranked:
        distinct.setdefault(_reads_as(place), place)
        if len(distinct) == limit:
            break
    return list(distinct.values())


def _reads_as(place: Place) -> tuple[str, str, str | None]:
    """Return what a suggestion shows: name, country, and the state in the US.

    GeoNames lists city districts ("Zürich (Kreis 11)") next to their city;
    as suggestions they would crowd out other places, so they read as the city.
    """
    name = (place.city or place.label).split(" (")[0]
    return name, place.country, place.region if place.country == US else None

"""Turn what a user typed (a ZIP code, coordinates, a city) into one Place, offline."""

from __future__ import annotations

import re

from directory.geo.cities import cities_named
from directory.geo.errors import (
    HINT,
    InvalidCoordinates,
    InvalidPlaceQuery,
    PlaceAmbiguous,
    PlaceNotFound,
)
from directory.geo.place import Place, coordinates_label
from directory.geo.regions import US, Scope, scopes_for, state_code
from directory.geo.text import normalize_name
from directory.geo.zips import postal_code_place, towns_named, zip_index

MAX_QUERY_LENGTH = 200
# The largest match wins outright only when it is this many times larger than the
# next distinct place: Paris, France (2.1 M) beats Paris, TX (25 k), while
# Cambridge UK/ON/MA and Springfield MO/MA/IL stay ambiguous. Portland OR is
# 9.8 times Portland ME, which we would rather ask about than guess.
DOMINANCE_RATIO = 10
MAX_CANDIDATES = 10
# Qualifiers are read from the end, so "Salt Lake City Utah" tries "Utah" last.
MAX_QUALIFIER_WORDS = 3

_ZIP = re.compile(r"(\d{5})(?:[-\s]?\d{4})?")
_COORDINATES = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:,|\s)\s*([+-]?\d+(?:\.\d+)?)")
# "Cambridge, MA 02139": a ZIP after a state, as in a postal address. Only after
# a state: "Paris 75001" is a French postcode, not ZIP 75001 in Texas.
_TRAILING_ZIP = re.compile(r"(?P<rest>.*?[^\d\s,-])[\s,]+(?P<zip>\d{5})(?:-\d{4})?")


def resolve_place(text: str) -> Place:
    """Turn what a user typed into one Place, or raise a DomainError saying why not."""
    query = _cleaned(text)
    return _postal_code(query) or _coordinates(query) or _address(query) or _named_place(query)


def _cleaned(text: object) -> str:
    """Return `text` with whitespace collapsed, or raise if it cannot be a place."""
    query = " ".join(text.split()) if isinstance(text, str) else ""
    if not query:
        raise InvalidPlaceQuery(f"Type a place to search near. {HINT}")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidPlaceQuery(f"A place is at most {MAX_QUERY_LENGTH} characters long.")
    return query


def _postal_code(query: str) -> Place | None:
    """Return the Place of a bare ZIP or ZIP+4, None if `query` is not one."""
    match = _ZIP.fullmatch(query)
    return None if match is None else _zip_place(match[1], query)


def _zip_place(code: str, query: str) -> Place:
    """Return the Place of a five-digit ZIP code, or raise PlaceNotFound."""
    zip_code = zip_index().by_code.get(code)
    if zip_code is None:
        raise PlaceNotFound(query)
    return postal_code_place(zip_code)


def _coordinates(query: str) -> Place | None:
    """Return the Place of a "lat, lon" pair, None if `query` is not one."""
    match = _COORDINATES.fullmatch(query)
    if match is None:
        return None
    lat, lon = float(match[1]), float(match[2])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidCoordinates(lat, lon)
    return Place(coordinates_label(lat, lon), lat, lon, kind="coordinates", country="")


def _address(query: str) -> Place | None:
    """Return the ZIP's Place for "City, ST 02139"; the ZIP is the most precise part."""
    match = _TRAILING_ZIP.fullmatch(query)
    if match is None or not _ends_with_state(match["rest"]):
        return None
    return _zip_place(match["zip"], query)


def _ends_with_state(text: str) -> bool:
    """Return True if the last words of `text` name a US state ("MA", "New York")."""
    words = text.replace(",", " ").split()
    sizes = range(1, min(MAX_QUALIFIER_WORDS, len(words)) + 1)
    return any(state_code(" ".join(words[-size:])) for size in sizes)


def _named_place(query: str) -> Place:
    """Return the place named by "City", "City, ST", "City, Country", "City, ST, US"."""
    name, *rest = (part.strip() for part in query.split(","))
    qualifiers = [part for part in rest if part]
    if qualifiers:
        return _qualified(query, name, qualifiers)
    return _unqualified(query, name)


def _qualified(query: str, name: str, qualifiers: list[str]) -> Place:
    """Return the place called `name` in the first scope the qualifiers can mean."""
    key = normalize_name(name)
    for scope in scopes_for(qualifiers) if key else []:
        matches = _places_named(key, scope)
        if matches:
            return _pick(query, matches)
    raise PlaceNotFound(query)


def _unqualified(query: str, name: str) -> Place:
    """Return the place called `name`, reading its last words as a qualifier."""
    key = normalize_name(name)
    if not key:
        raise PlaceNotFound(query)
    matches = cities_named(key)
    if matches:
        return _pick(query, matches)
    # "Portland OR", "Lyon France": people leave the comma out.
    for head, tail in _trailing_splits(name):
        try:
            return _qualified(query, head, [tail])
        except PlaceNotFound:
            continue
    matches = towns_named(key)
    if matches:
        return _pick(query, matches)
    raise PlaceNotFound(query)


def _trailing_splits(name: str) -> list[tuple[str, str]]:
    """Return (name, qualifier) splits of `name`, the longest qualifier first."""
    words = name.split()
    return [
        (" ".join(words[:-size]), " ".join(words[-size:]))
        for size in range(min(MAX_QUALIFIER_WORDS, len(words) - 1), 0, -1)
    ]


def _places_named(key: str, scope: Scope) -> list[Place]:
    """Return the places called `key` within `scope`, else US towns known by ZIP."""
    matches = cities_named(key, scope.country, scope.region)
    if not matches and scope.country == US:
        matches = towns_named(key, scope.region)
    return matches


def _pick(query: str, matches: list[Place]) -> Place:
    """Return the one place `query` means, or raise PlaceAmbiguous with candidates."""
    distinct = _largest_per_label(matches)
    if len(distinct) == 1 or _dominates(distinct[0], distinct[1]):
        return distinct[0]
    raise PlaceAmbiguous(query, distinct[:MAX_CANDIDATES])


def _largest_per_label(places: list[Place]) -> list[Place]:
    """Return one place per label (the most populous), largest first, then by label."""
    largest: dict[str, Place] = {}
    for place in places:
        if place.label not in largest or place.population > largest[place.label].population:
            largest[place.label] = place
    return sorted(largest.values(), key=lambda place: (-place.population, place.label))


def _dominates(first: Place, second: Place) -> bool:
    """Return True when `first` is so much larger that nobody means `second`."""
    return first.population > 0 and first.population >= DOMINANCE_RATIO * second.population

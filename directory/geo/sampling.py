"""Draw realistic practice places, weighted by population, to seed demo data."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Generic, TypeVar

from directory.geo.cities import city_index
from directory.geo.loading import collector_paused
from directory.geo.place import Place
from directory.geo.regions import US
from directory.geo.text import normalize_name
from directory.geo.zips import ZipCode, postal_code_place, zip_index

# Outside the US, the countries the demo seed has Faker locales for (directory/seed.py).
SAMPLE_COUNTRIES = frozenset({"FR", "GB", "DE", "CA", "AU", "ES", "IT", "NL", "CH", "IE"})
# Practices spread around a centre instead of stacking on one point: about ±1 km
# around a ZIP centroid, ±2 km around a city centre.
ZIP_JITTER_DEGREES = 0.01
CITY_JITTER_DEGREES = 0.02
# A USPS city of the same name whose ZIPs lie farther than this is another place.
SAME_CITY_MAX_KM = 40.0
# Neighbourhoods GeoNames lists as cities ("Queens", "Upper West Side") have no
# USPS city of that name: they take the delivery ZIPs around their centre.
NEARBY_ZIP_KM = 5.0
NEAREST_ZIP_MAX_KM = 15.0
# Cells of 0.25 degrees: the 3 x 3 block around a point reaches 15 km in every
# direction up to 60 degrees north, which covers every US city but a few in Alaska.
_GRID_DEGREES = 0.25
_KM_PER_DEGREE = 111.2

T = TypeVar("T")


@dataclass(frozen=True)
class _Pool(Generic[T]):
    """Items with cumulative population weights, so that a draw is a bisection."""

    items: list[T]
    cum_weights: list[int]

    def draw(self, rng: random.Random, count: int) -> list[T]:
        """Return `count` items drawn with replacement, in proportion to population."""
        if not count:
            return []
        return rng.choices(self.items, cum_weights=self.cum_weights, k=count)


def sample_places(rng: random.Random, n: int, *, us_share: float = 0.85) -> list[Place]:
    """Return `n` real practice places weighted by population, `us_share` in the US."""
    if n < 0 or not 0.0 <= us_share <= 1.0:
        raise ValueError("n must be >= 0 and us_share between 0 and 1")
    in_us = [rng.random() < us_share for _ in range(n)]
    us_count = sum(in_us)
    with collector_paused():
        us_cities = iter(_us_pool().draw(rng, us_count) if us_count else [])
        abroad = iter(_world_pool().draw(rng, n - us_count) if n > us_count else [])
        return [
            _near(_any_of(next(us_cities), rng), rng, ZIP_JITTER_DEGREES)
            if flag
            else _near(next(abroad), rng, CITY_JITTER_DEGREES)
            for flag in in_us
        ]


def _any_of(zips: tuple[Place, ...], rng: random.Random) -> Place:
    """Return one of a city's ZIP places, uniformly."""
    return zips[int(rng.random() * len(zips))]


def _near(place: Place, rng: random.Random, jitter: float) -> Place:
    """Return a copy of `place` moved by up to `jitter` degrees each way."""
    # Positional arguments: this runs 100,000 times when seeding a demo database.
    return Place(
        place.label,
        round(place.lat + (rng.random() - 0.5) * 2 * jitter, 5),
        round(place.lon + (rng.random() - 0.5) * 2 * jitter, 5),
        place.kind,
        place.country,
        place.region,
        place.city,
        place.postal_code,
        place.population,
        place.timezone,
    )


@cache
def _us_pool() -> _Pool[tuple[Place, ...]]:
    """Join every populated GeoNames US city to the delivery ZIP codes it contains."""
    cities, weights = [], []
    with collector_paused():
        grid = _zip_grid()
        for city in _cities_where(lambda place: place.country == US):
            zips = _same_name_zips(city) or _nearby_zips(grid, city)
            if zips:
                cities.append(tuple(postal_code_place(zip_code, city.population) for zip_code in zips))
                weights.append(city.population)
    return _Pool(cities, list(accumulate(weights)))


@cache
def _world_pool() -> _Pool[Place]:
    """Collect the populated cities of the sample countries outside the US."""
    cities = _cities_where(lambda place: place.country in SAMPLE_COUNTRIES)
    return _Pool(cities, list(accumulate(place.population for place in cities)))


def _cities_where(keep: Callable[[Place], bool]) -> list[Place]:
    """Return the populated GeoNames cities that `keep` accepts, in a stable order."""
    return [
        place for places in city_index().by_name.values() for place in places if place.population > 0 and keep(place)
    ]


def _same_name_zips(place: Place) -> list[ZipCode]:
    """Return the delivery ZIPs of the same-named USPS city that lie near the place."""
    zips = zip_index().in_city(normalize_name(place.city or ""), place.region or "")
    return [
        zip_code for zip_code in zips if zip_code.standard and _km(place.lat, place.lon, zip_code) <= SAME_CITY_MAX_KM
    ]


def _nearby_zips(grid: dict[tuple[int, int], list[ZipCode]], place: Place) -> list[ZipCode]:
    """Return the delivery ZIPs around the place, else the nearest one, in its state."""
    row, column = _cell(place.lat, place.lon)
    around = [
        (_km(place.lat, place.lon, zip_code), zip_code)
        for d_row in (-1, 0, 1)
        for d_column in (-1, 0, 1)
        for zip_code in grid.get((row + d_row, column + d_column), [])
        if zip_code.state == place.region
    ]
    around.sort()
    near = [zip_code for km, zip_code in around if km <= NEARBY_ZIP_KM]
    return near or [zip_code for km, zip_code in around[:1] if km <= NEAREST_ZIP_MAX_KM]


def _zip_grid() -> dict[tuple[int, int], list[ZipCode]]:
    """Bucket delivery ZIP codes into grid cells, for nearest-ZIP searches."""
    grid: defaultdict[tuple[int, int], list[ZipCode]] = defaultdict(list)
    for zip_code in zip_index().by_code.values():
        if zip_code.standard:
            grid[_cell(zip_code.lat, zip_code.lon)].append(zip_code)
    return dict(grid)


def _cell(lat: float, lon: float) -> tuple[int, int]:
    """Return the grid cell of a point."""
    return math.floor(lat / _GRID_DEGREES), math.floor(lon / _GRID_DEGREES)


def _km(lat: float, lon: float, zip_code: ZipCode) -> float:
    """Return the approximate distance in km (equirectangular: fine under 50 km)."""
    d_lat = zip_code.lat - lat
    d_lon = (zip_code.lon - lon) * math.cos(math.radians(lat))
    return math.hypot(d_lat, d_lon) * _KM_PER_DEGREE

"""US ZIP codes from the `zipcodes` package, indexed by code and by city."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import zipcodes

from directory.geo.loading import collector_paused
from directory.geo.place import Place, iana_timezone, postal_code_label, us_city_label
from directory.geo.regions import US
from directory.geo.text import normalize_name


class ZipCode(NamedTuple):
    """One ZIP code: its USPS city and state, and the centroid `zipcodes` gives."""

    code: str
    city: str
    state: str
    country: str
    lat: float
    lon: float
    # STANDARD ZIPs are delivery areas; PO BOX, UNIQUE (one firm) and MILITARY
    # ZIPs are not places a practice can be.
    standard: bool
    # IANA time zone; a few records have none.
    timezone: str | None = None


@dataclass(frozen=True)
class ZipIndex:
    """ZIP codes by code, a sorted code list for prefixes, and by (city key, state)."""

    by_code: dict[str, ZipCode]
    codes: list[str]
    by_city: dict[str, dict[str, list[ZipCode]]]

    def with_prefix(self, prefix: str, limit: int) -> list[ZipCode]:
        """Return up to `limit` ZIP codes starting with `prefix`, in code order."""
        position = bisect_left(self.codes, prefix)
        found: list[ZipCode] = []
        while position < len(self.codes) and len(found) < limit:
            if not self.codes[position].startswith(prefix):
                break
            found.append(self.by_code[self.codes[position]])
            position += 1
        return found

    def in_city(self, key: str, state: str) -> list[ZipCode]:
        """Return the ZIP codes of a city in one state, in code order."""
        return self.by_city.get(key, {}).get(state, [])


@cache
def zip_index() -> ZipIndex:
    """Load every ZIP code and index it by code and by city (once per process)."""
    by_code: dict[str, ZipCode] = {}
    by_city: dict[str, dict[str, list[ZipCode]]] = {}
    city_keys: dict[str, str] = {}  # 42,000 ZIPs share 19,000 city names: fold each once
    with collector_paused():
        for record in sorted(zipcodes.list_all(), key=lambda record: record["zip_code"]):
            zip_code = _zip_code(record)
            if zip_code is None:
                continue
            by_code[zip_code.code] = zip_code
            key = city_keys.get(zip_code.city) or city_keys.setdefault(zip_code.city, normalize_name(zip_code.city))
            by_city.setdefault(key, {}).setdefault(zip_code.state, []).append(zip_code)
    return ZipIndex(by_code, list(by_code), by_city)


def _zip_code(record: dict[str, Any]) -> ZipCode | None:
    """Return a ZipCode from a `zipcodes` record; None if it has no usable centroid."""
    try:
        lat, lon = float(record["lat"]), float(record["long"])
    except (TypeError, ValueError):
        return None
    if lat == 0 and lon == 0:
        # About 870 ZIPs, most of them military (APO/FPO), have no location: 0, 0.
        return None
    # Positional: this runs 42,000 times on first load. Military ZIPs carry their
    # host country; every other record leaves the country blank or says US.
    return ZipCode(
        record["zip_code"],
        record["city"],
        record["state"],
        record["country"] or US,
        lat,
        lon,
        record["zip_code_type"] == "STANDARD",
        iana_timezone(record.get("timezone")),
    )


def postal_code_place(zip_code: ZipCode, population: int = 0) -> Place:
    """Return the Place of one ZIP code, at its centroid (the population is its city's)."""
    return Place(
        label=postal_code_label(zip_code.city, zip_code.state, zip_code.code),
        lat=zip_code.lat,
        lon=zip_code.lon,
        kind="postal_code",
        country=zip_code.country,
        region=zip_code.state,
        city=zip_code.city,
        postal_code=zip_code.code,
        population=population,
        timezone=zip_code.timezone,
    )


def town_place(zips: list[ZipCode]) -> Place:
    """Return a town known only by its ZIP codes, at the centre of its delivery ZIPs."""
    areas = [zip_code for zip_code in zips if zip_code.standard] or zips
    first = areas[0]
    return Place(
        label=us_city_label(first.city, first.state),
        lat=round(sum(zip_code.lat for zip_code in areas) / len(areas), 5),
        lon=round(sum(zip_code.lon for zip_code in areas) / len(areas), 5),
        kind="city",
        country=first.country,
        region=first.state,
        city=first.city,
        timezone=first.timezone,
    )


def towns_named(key: str, state: str | None = None) -> list[Place]:
    """Return the US towns called `key` that the ZIP data knows, one per state."""
    states = zip_index().by_city.get(key, {})
    return [town_place(zips) for code, zips in states.items() if state is None or code == state]

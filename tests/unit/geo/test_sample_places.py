"""sample_places draws real practice places, weighted by population, for demo data."""

from __future__ import annotations

import math
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import zipcodes

from directory.geo import sample_places
from directory.geo.place import iana_timezone
from directory.geo.sampling import SAMPLE_COUNTRIES


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in km."""
    return zipcodes.haversine(lon1, lat1, lon2, lat2) * 1.609344


def test_same_seed_gives_the_same_places() -> None:
    assert sample_places(random.Random(7), 500) == sample_places(random.Random(7), 500)
    assert sample_places(random.Random(7), 500) != sample_places(random.Random(8), 500)


def test_us_share_is_respected_roughly() -> None:
    places = sample_places(random.Random(1), 4000)

    share = sum(place.country == "US" for place in places) / len(places)
    assert 0.82 <= share <= 0.88


def test_every_us_place_has_a_real_zip_in_its_state_near_its_centroid() -> None:
    places = [place for place in sample_places(random.Random(2), 3000) if place.country == "US"]

    assert len(places) > 2000
    for place in places:
        assert place.kind == "postal_code" and place.postal_code
        (record,) = zipcodes.matching(place.postal_code)
        assert record["state"] == place.region
        assert record["city"] == place.city
        assert place.label == f"{record['city']}, {record['state']} {record['zip_code']}"
        assert _km(place.lat, place.lon, float(record["lat"]), float(record["long"])) < 2.0
        assert place.population > 0


def test_places_abroad_are_cities_in_the_sample_countries() -> None:
    places = [place for place in sample_places(random.Random(3), 3000) if place.country != "US"]

    assert len(places) > 300
    assert {place.country for place in places} <= SAMPLE_COUNTRIES
    assert len({place.country for place in places}) >= 8
    assert all(place.kind == "city" and place.postal_code is None and place.population > 0 for place in places)


def test_large_cities_are_drawn_more_often() -> None:
    places = sample_places(random.Random(4), 20_000, us_share=1.0)

    counts = Counter(place.city for place in places)
    assert counts.most_common(1)[0][0] == "New York"
    assert counts["Los Angeles"] > 10 * counts["Cambridge"] > 0


def test_practices_in_one_zip_code_do_not_stack_on_one_point() -> None:
    places = sample_places(random.Random(5), 5000, us_share=1.0)
    busiest, count = Counter(place.postal_code for place in places).most_common(1)[0]

    in_busiest = [place for place in places if place.postal_code == busiest]
    assert len({(place.lat, place.lon) for place in in_busiest}) == count > 1


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_extreme_shares(share: float) -> None:
    places = sample_places(random.Random(6), 200, us_share=share)

    assert {place.country == "US" for place in places} == {bool(share)}


def test_zero_places() -> None:
    assert sample_places(random.Random(0), 0) == []


@pytest.mark.parametrize(("n", "share"), [(-1, 0.85), (10, 1.5), (10, -0.1), (10, math.nan)])
def test_invalid_arguments(n: int, share: float) -> None:
    with pytest.raises(ValueError, match="us_share"):
        sample_places(random.Random(0), n, us_share=share)


def test_a_hundred_thousand_places_are_drawn() -> None:
    # Speed is measured by the seed benchmark, never asserted in tests.
    places = sample_places(random.Random(9), 100_000)
    assert len(places) == 100_000
    assert len({(p.lat, p.lon) for p in places}) > 90_000


def test_every_sampled_place_carries_its_iana_time_zone() -> None:
    places = sample_places(random.Random(5), 2000)

    assert all(place.timezone and ZoneInfo(place.timezone) for place in places)
    zones = {place.region: place.timezone for place in places if place.country == "US"}
    assert zones.get("MA") == "America/New_York" and zones.get("CA") == "America/Los_Angeles"


def test_unknown_time_zone_names_from_the_data_become_none() -> None:
    assert iana_timezone("Europe/Paris") == "Europe/Paris"
    assert iana_timezone("Napakiak") is None  # a typo in the zipcodes data
    assert iana_timezone("") is None and iana_timezone(None) is None

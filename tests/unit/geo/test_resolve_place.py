"""resolve_place turns what a user typed into one Place, or a DomainError saying why not."""

from __future__ import annotations

import random

import pytest

from directory.errors import DomainError, InvalidParameter
from directory.geo import (
    InvalidCoordinates,
    InvalidPlaceQuery,
    Place,
    PlaceAmbiguous,
    PlaceNotFound,
    resolve_place,
)


def test_zip_code_resolves_to_its_centroid() -> None:
    place = resolve_place("02139")

    assert place.kind == "postal_code"
    assert place.label == "Cambridge, MA 02139"
    assert (place.country, place.region, place.city, place.postal_code) == ("US", "MA", "Cambridge", "02139")
    assert place.lat == pytest.approx(42.3647, abs=0.01)
    assert place.lon == pytest.approx(-71.1042, abs=0.01)


@pytest.mark.parametrize(
    "text", ["02139-4307", "021394307", " 02139 4307 ", "Cambridge, MA 02139", "Cambridge MA 02139-4307"]
)
def test_zip_plus_four_and_addresses_resolve_to_the_five_digit_zip(text: str) -> None:
    assert resolve_place(text) == resolve_place("02139")


def test_unknown_zip_code_is_not_found() -> None:
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("00000")

    assert caught.value.to_json()["error"] == "place_not_found"


def test_zip_codes_without_a_location_are_not_placed_at_zero_zero() -> None:
    # Military ZIP 09001 (APO) is in the data with latitude and longitude 0.
    with pytest.raises(PlaceNotFound):
        resolve_place("09001")


def test_french_postcode_after_a_city_is_not_read_as_a_us_zip() -> None:
    with pytest.raises(PlaceNotFound):
        resolve_place("Paris 75001")


@pytest.mark.parametrize("text", ["42.37,-71.11", "42.37, -71.11", "42.37 -71.11", "+42.37 -71.11"])
def test_coordinates_resolve_to_themselves(text: str) -> None:
    place = resolve_place(text)

    assert place.kind == "coordinates"
    assert (place.lat, place.lon) == (42.37, -71.11)
    assert place.label == "42.37, -71.11"
    assert place.country == ""
    assert place.population == 0


@pytest.mark.parametrize("text", ["90, 180", "-90,-180", "0 0"])
def test_coordinates_on_the_edge_of_the_range_are_valid(text: str) -> None:
    assert resolve_place(text).kind == "coordinates"


@pytest.mark.parametrize("text", ["90.0001, 0", "-91, 0", "0, 180.5", "0 -181", "4237, -7111"])
def test_coordinates_off_the_globe_are_invalid(text: str) -> None:
    with pytest.raises(InvalidCoordinates) as caught:
        resolve_place(text)

    body = caught.value.to_json()
    assert isinstance(caught.value, InvalidParameter)
    assert body["error"] == "invalid_parameter"
    assert body["field"] == "place"
    assert "latitude must be between -90 and 90" in body["message"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Cambridge, MA", "Cambridge, MA"),
        ("cambridge, ma", "Cambridge, MA"),
        ("Cambridge, Massachusetts", "Cambridge, MA"),
        ("Cambridge, MA, USA", "Cambridge, MA"),
        ("Cambridge, England", "Cambridge, United Kingdom"),
        ("Cambridge, UK", "Cambridge, United Kingdom"),
        ("Portland OR", "Portland, OR"),
        ("Portland, ME", "Portland, ME"),
        ("Paris, TX", "Paris, TX"),
        ("Paris Texas", "Paris, TX"),
        ("Washington DC", "Washington, DC"),
        ("Salt Lake City Utah", "Salt Lake City, UT"),
        ("Toronto, CA", "Toronto, Canada"),
        ("Saint Louis, MO", "St. Louis, MO"),
    ],
)
def test_city_with_state_or_country_resolves(text: str, label: str) -> None:
    assert resolve_place(text).label == label


def test_cambridge_ma_is_the_us_city() -> None:
    place = resolve_place("Cambridge, MA")

    assert (place.kind, place.country, place.region, place.city) == ("city", "US", "MA", "Cambridge")
    assert place.postal_code is None
    assert place.population > 100_000
    assert place.lat == pytest.approx(42.37, abs=0.05)
    assert place.lon == pytest.approx(-71.11, abs=0.05)


@pytest.mark.parametrize(
    "text", ["Lyon", "lyon", "LYON", "Lyon, France", "Lyon,France", "Lyon, FR", "Lyon, FRA", "Lyon France"]
)
def test_lyon_resolves_to_lyon_france(text: str) -> None:
    place = resolve_place(text)

    assert place.label == "Lyon, France"
    assert (place.kind, place.country, place.city) == ("city", "FR", "Lyon")
    assert place.lat == pytest.approx(45.75, abs=0.05)
    assert place.lon == pytest.approx(4.85, abs=0.05)


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [
        ("Zurich", "Zürich"),
        ("Sao Paulo", "São Paulo"),
        ("sao paulo", "SÃO PAULO"),
        ("Montreal", "Montréal"),
        ("Lodz", "Łódź"),
    ],
)
def test_accents_and_case_do_not_matter(typed: str, same_as: str) -> None:
    assert resolve_place(typed) == resolve_place(same_as)


def test_accented_city_keeps_its_own_spelling_in_the_label() -> None:
    assert resolve_place("Zurich").label == "Zürich, Switzerland"
    assert resolve_place("Sao Paulo").country == "BR"


@pytest.mark.parametrize(
    ("typed", "label"),
    [("Cologne", "Köln, Germany"), ("Firenze", "Florence, Italy"), ("New York", "New York City, NY")],
)
def test_other_names_of_large_cities_resolve(typed: str, label: str) -> None:
    assert resolve_place(typed).label == label


def test_us_town_too_small_for_geonames_is_found_through_its_zip_codes() -> None:
    place = resolve_place("Springfield, WV")

    assert (place.kind, place.country, place.region, place.city) == ("city", "US", "WV", "Springfield")
    assert place.population == 0


def test_springfield_is_ambiguous_with_candidates_by_population() -> None:
    with pytest.raises(PlaceAmbiguous) as caught:
        resolve_place("Springfield")

    candidates = caught.value.candidates
    assert len(candidates) >= 3
    assert [place.label for place in candidates[:3]] == ["Springfield, MO", "Springfield, MA", "Springfield, IL"]
    populations = [place.population for place in candidates]
    assert populations == sorted(populations, reverse=True)


def test_ambiguous_place_json_lists_the_candidates() -> None:
    with pytest.raises(PlaceAmbiguous) as caught:
        resolve_place("Springfield")

    body = caught.value.to_json()
    assert body["error"] == "place_ambiguous"
    assert body["field"] == "place"
    assert "Springfield, MO" in body["message"]
    assert body["candidates"][0] == {
        "label": "Springfield, MO",
        "lat": pytest.approx(37.2, abs=0.1),
        "lon": pytest.approx(-93.3, abs=0.1),
    }
    assert [c["label"] for c in body["candidates"]] == [place.label for place in caught.value.candidates]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Portland", {"Portland, OR", "Portland, ME"}),
        ("Cambridge", {"Cambridge, United Kingdom", "Cambridge, MA", "Cambridge, Canada"}),
        ("Kansas City", {"Kansas City, MO", "Kansas City, KS"}),
        ("Springfield, USA", {"Springfield, MO", "Springfield, MA"}),
    ],
)
def test_comparable_places_are_ambiguous(text: str, expected: set[str]) -> None:
    with pytest.raises(PlaceAmbiguous) as caught:
        resolve_place(text)

    assert expected <= {place.label for place in caught.value.candidates}


@pytest.mark.parametrize(
    ("text", "label"), [("Paris", "Paris, France"), ("London", "London, United Kingdom"), ("Rome", "Rome, Italy")]
)
def test_a_dominant_city_wins_over_small_namesakes(text: str, label: str) -> None:
    place = resolve_place(text)

    assert place.label == label
    assert place.country != "US"


def test_unknown_place_is_not_found_with_a_helpful_message() -> None:
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("Qwertyville")

    body = caught.value.to_json()
    assert body == {
        "error": "place_not_found",
        "message": 'We could not find "Qwertyville". Try a city, "City, State" or a ZIP code.',
        "field": "place",
    }
    assert isinstance(caught.value, DomainError)


def test_known_city_in_the_wrong_state_is_not_found() -> None:
    with pytest.raises(PlaceNotFound):
        resolve_place("Lyon, MA")


@pytest.mark.parametrize("text", ["", " ", "\t\n  "])
def test_empty_text_is_an_invalid_parameter(text: str) -> None:
    with pytest.raises(InvalidPlaceQuery) as caught:
        resolve_place(text)

    assert caught.value.to_json()["error"] == "invalid_parameter"
    assert caught.value.field == "place"


def test_ten_kilobytes_of_text_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidPlaceQuery) as caught:
        resolve_place("Springfield " * 900)

    assert "200 characters" in caught.value.message


@pytest.mark.parametrize(
    "text",
    ['" ( ) * : \\ OR AND', '"Paris"', "Paris OR London", "title:Paris", "*", "(", "\\", "'; DROP TABLE place; --"],
)
def test_query_syntax_characters_are_plain_text(text: str) -> None:
    try:
        place = resolve_place(text)
    except PlaceNotFound:
        return
    assert place.label == "Paris, France"  # the punctuation around a real name is ignored


def test_every_label_resolves_back_to_its_place() -> None:
    for text in ["02139", "Lyon", "Cambridge, MA", "Zurich", "42.37, -71.11", "Springfield, WV", "Toronto, CA"]:
        place = resolve_place(text)
        assert resolve_place(place.label) == place


def test_random_text_only_ever_raises_domain_errors() -> None:
    rng = random.Random(20240611)
    alphabet = "abcdeSTxyz0123456789 ,.-+:;\"'()*\\/éßŁø中\u0301\t\ud800"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        try:
            assert isinstance(resolve_place(text), Place)
        except DomainError as error:
            assert error.to_json()["field"] == "place"

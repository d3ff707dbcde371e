"""suggest_places completes what the user is typing: cities by population, or ZIP codes."""

from __future__ import annotations

import pytest

from directory.geo import suggest_places
from search.text import fold


def test_city_prefix_returns_matching_cities_largest_first() -> None:
    places = suggest_places("Camb")

    assert [place.label for place in places[:3]] == ["Cambridge, United Kingdom", "Cambridge, Canada", "Cambridge, MA"]
    assert all(fold(place.city or "").startswith("camb") for place in places)
    populations = [place.population for place in places]
    assert populations == sorted(populations, reverse=True)
    assert all(place.kind == "city" for place in places)


@pytest.mark.parametrize(("typed", "same_as"), [("zur", "Zür"), ("Sao P", "São P"), ("LON", "lon")])
def test_prefixes_ignore_accents_and_case(typed: str, same_as: str) -> None:
    assert suggest_places(typed) == suggest_places(same_as)
    assert suggest_places(typed)


def test_accented_city_is_suggested_for_an_ascii_prefix() -> None:
    assert suggest_places("zur")[0].label == "Zürich, Switzerland"


def test_city_districts_do_not_crowd_out_other_places() -> None:
    labels = [place.label for place in suggest_places("Zür")]

    assert labels[0] == "Zürich, Switzerland"
    assert not any("Kreis" in label for label in labels)


def test_limit_is_respected() -> None:
    assert len(suggest_places("s", limit=3)) == 3
    assert len(suggest_places("s")) == 8
    assert suggest_places("s", limit=0) == []


def test_saint_abbreviation_matches_once_the_word_is_complete() -> None:
    assert suggest_places("St. L")[0].label == "St. Louis, MO"
    # An unfinished "st" may be the start of Stockholm rather than "Saint".
    assert suggest_places("st")[0].label == "Stockholm, Sweden"


@pytest.mark.parametrize(
    ("typed", "label"),
    [("Portland, O", "Portland, OR"), ("Portland, m", "Portland, ME"), ("Paris, Fr", "Paris, France")],
)
def test_a_partial_state_or_country_narrows_the_city(typed: str, label: str) -> None:
    assert [place.label for place in suggest_places(typed)] == [label]


def test_digit_prefix_suggests_zip_codes_in_order() -> None:
    places = suggest_places("021", limit=5)

    assert [place.postal_code for place in places] == ["02108", "02109", "02110", "02111", "02112"]
    assert all(place.kind == "postal_code" and place.label.startswith("Boston, MA 021") for place in places)


def test_zip_plus_four_prefix_suggests_the_zip_code() -> None:
    assert [place.label for place in suggest_places("02139-43")] == ["Cambridge, MA 02139"]


@pytest.mark.parametrize("typed", ["", "   ", "x" * 10_000, "Qwertyvil", '" ( ) * : \\ OR AND', ",", "99999"])
def test_nothing_to_suggest_is_an_empty_list(typed: str) -> None:
    assert suggest_places(typed) == []

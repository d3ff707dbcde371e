"""Practitioner data -> search document, and the folding that makes accents and case never decide a match."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from search.documents import (
    PlacePoint,
    PractitionerSource,
    VocabularyTerm,
    practitioner_search_document,
    words,
)
from search.geo import z_order_cell
from search.hours import MINUTES_PER_WEEK, zone_code
from search.text import fold

MOXA = VocabularyTerm("moxibustion", "Moxibustion", ("moxa", "moxa therapy"))
NEEDLING = VocabularyTerm("filiform-needling", "Filiform needling", ("needling",))
BACK = VocabularyTerm("low-back-pain", "Low back pain", ("lumbago", "backache"))
NECK = VocabularyTerm("torticollis", "Torticollis", ("wry neck",))
ZURICH = PlacePoint(47.3769, 8.5417, "Zürich", "ZH", "8001", "CH")
BOSTON = PlacePoint(42.3601, -71.0589, "Boston", "MA", "02108", "US", wheelchair_accessible=True,
                    timezone="America/New_York", hours=((0, 540, 1020), (1, 540, 1020)))
NEW_YORK_WEEK = zone_code("America/New_York") * MINUTES_PER_WEEK


def _source(**kw: Any) -> PractitionerSource:
    base: dict[str, Any] = dict(id=7, slug="zoe-nunez", first_name="Zoë", last_name="Ñúñez", title="L.Ac.",
                                bio="Habla Español.", gender="female", accepting_new_patients=True, telehealth=False,
                                hidden=False, vetting_status="verified", locations=(ZURICH,))
    base.update(kw)
    return PractitionerSource(**base)


def _doc(**kw: Any) -> dict[str, Any]:
    return practitioner_search_document(_source(**kw))


# fold and words


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Zürich", "zurich"),
        ("São Paulo", "sao paulo"),
        ("ÉLECTRO-Acupuncture", "electro-acupuncture"),
        ("Straße", "strasse"),
        ("ﬁve", "five"),
        ("Zoë Ñúñez", "zoe nunez"),
        ("MOXA Therapy", "moxa therapy"),
        ("", ""),
    ],
)
def test_fold_strips_accents_and_folds_case(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize("text", ["Zoë", "ZOË", "zoe", "Zoe", "ZOE", "zoë"])
def test_fold_makes_accent_and_case_variants_one(text: str) -> None:
    assert fold(text) == "zoe"


@pytest.mark.parametrize(("text", "folded"), [("Łódź", "lodz"), ("Øresund", "oresund"), ("Æsir Þór", "aesir thor"),
                                              ("Đorđević", "dordevic"), ("straße", "strasse")])
def test_fold_spells_letters_without_a_decomposition_as_the_gazetteer_does(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize("text", ["", "Moxa", "Low Back PAIN", "St.-Jean!! 02108", "name:Ada^5 (x OR y)", "\t\n ~"])
def test_fold_ascii_fast_path_equals_the_slow_path(text: str) -> None:
    # A trailing "é" sends the same text down the decomposing path, which folds it to a trailing "e".
    assert fold(text + "é") == fold(text) + "e"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        ("Low back pain", ["low", "back", "pain"]),
        ("  Zürich, ZH 8001 ", ["zurich", "zh", "8001"]),
        ('moxa" OR (*:\\ AND', ["moxa", "or", "and"]),
        ("wry-neck/backache", ["wry", "neck", "backache"]),
        ("李伟 針灸", ["李伟", "針灸"]),
        ('*?~^"()', []),
    ],
)
def test_words_are_plain_folded_tokens(text: str, tokens: list[str]) -> None:
    assert words(text) == tokens


# practitioner_search_document


def test_full_document() -> None:
    source = _source(
        locations=(ZURICH, BOSTON),
        methods=(NEEDLING, MOXA),
        conditions=(NECK, BACK),
        languages=("es", "en", "de"),
        rating_average=4.66666,
        rating_count=3,
        rating_bayes=4.25,
    )
    assert practitioner_search_document(source) == {
        "id": 7,
        "slug": "zoe-nunez",
        "name": "zoe nunez l.ac.",
        "display_name": "Zoë Ñúñez",
        "bio": "habla espanol.",
        "vocabulary": "filiform needling ; needling ; moxibustion ; moxa ; moxa therapy ; "
        "torticollis ; wry neck ; low back pain ; lumbago ; backache",
        "places": "zurich zh 8001 ; boston ma 02108",
        "methods": ["filiform-needling", "moxibustion"],
        "conditions": ["low-back-pain", "torticollis"],
        "languages": ["de", "en", "es"],
        "gender": "female",
        "accepting_new_patients": True,
        "telehealth": False,
        "wheelchair_accessible": True,
        "vetting_status": "verified",
        "verified": True,
        "visible": True,
        "rating_average": 4.667,
        "rating_count": 3,
        "rating_bayes": 4.25,
        "locations": [{"lat": 47.3769, "lon": 8.5417}, {"lat": 42.3601, "lon": -71.0589}],
        "geo_cell": z_order_cell(47.3769, 8.5417),  # the first location's
        "open_hours": [{"gte": NEW_YORK_WEEK + 540, "lt": NEW_YORK_WEEK + 1020},
                       {"gte": NEW_YORK_WEEK + 1440 + 540, "lt": NEW_YORK_WEEK + 1440 + 1020}],
        "open_dated": [],
        "closed_dated": [],
        "name_suggest": ["zoe nunez", "nunez"],
        "version": 0,
    }


def test_open_hours_hold_every_location_in_its_own_zone() -> None:
    zurich = replace(ZURICH, timezone="Europe/Zurich", hours=((0, 480, 720),))
    ranges = _doc(locations=(zurich, BOSTON))["open_hours"]
    zurich_week = zone_code("Europe/Zurich") * MINUTES_PER_WEEK
    assert ranges[0] == {"gte": zurich_week + 480, "lt": zurich_week + 720}
    assert len(ranges) == 3 and all(NEW_YORK_WEEK <= r["gte"] < NEW_YORK_WEEK + MINUTES_PER_WEEK for r in ranges[1:])


def test_a_location_without_hours_is_never_open() -> None:
    assert _doc(locations=(ZURICH,))["open_hours"] == []


def test_one_document_holds_every_location_in_order() -> None:
    doc = _doc(locations=(BOSTON, ZURICH))
    assert doc["locations"] == [{"lat": BOSTON.lat, "lon": BOSTON.lon}, {"lat": ZURICH.lat, "lon": ZURICH.lon}]
    assert doc["places"] == "boston ma 02108 ; zurich zh 8001"


def test_no_locations_give_empty_places() -> None:
    doc = _doc(locations=())
    assert (doc["locations"], doc["places"], doc["wheelchair_accessible"]) == ([], "", False)
    assert doc["geo_cell"] is None  # stored after every placed practitioner


def test_synonyms_are_expanded_into_vocabulary() -> None:
    assert _doc(methods=(MOXA,))["vocabulary"] == "moxibustion ; moxa ; moxa therapy"
    assert _doc(conditions=(BACK,))["vocabulary"] == "low back pain ; lumbago ; backache"
    assert _doc(methods=(MOXA,), conditions=(NECK,))["vocabulary"] == "moxibustion ; moxa ; moxa therapy ; torticollis ; wry neck"


def test_vocabulary_is_folded() -> None:
    term = VocabularyTerm("electro", "Électro-Acupuncture", ("ÉLECTRO",))
    assert _doc(methods=(term,))["vocabulary"] == "electro-acupuncture ; electro"


def test_no_vocabulary_gives_empty_text() -> None:
    assert _doc()["vocabulary"] == ""


def test_terms_without_synonyms_contribute_their_name() -> None:
    assert _doc(methods=(VocabularyTerm("cupping", "Cupping"),))["vocabulary"] == "cupping"


def test_method_condition_and_language_slugs_are_sorted() -> None:
    doc = _doc(methods=(MOXA, NEEDLING), conditions=(NECK, BACK), languages=("zh", "en"))
    assert doc["methods"] == ["filiform-needling", "moxibustion"]
    assert doc["conditions"] == ["low-back-pain", "torticollis"]
    assert doc["languages"] == ["en", "zh"]


@pytest.mark.parametrize(
    ("status", "verified"),
    [
        ("verified", True),
        ("expiring", True),
        ("unverified", False),
        ("pending", False),
        ("lapsed", False),
        ("suspended", False),
    ],
)
def test_verified_only_for_verified_and_expiring(status: str, verified: bool) -> None:
    doc = _doc(vetting_status=status)
    assert doc["verified"] is verified
    assert doc["vetting_status"] == status


@pytest.mark.parametrize(
    ("hidden", "status", "visible"),
    [
        (False, "verified", True),
        (False, "pending", True),
        (False, "lapsed", True),
        (True, "verified", False),
        (False, "suspended", False),
        (True, "suspended", False),
    ],
)
def test_visible_unless_hidden_or_suspended(hidden: bool, status: str, visible: bool) -> None:
    assert _doc(hidden=hidden, vetting_status=status)["visible"] is visible


@pytest.mark.parametrize(
    ("wheelchair", "accessible"),
    [((), False), ((False,), False), ((True,), True), ((False, True), True), ((True, False), True), ((False, False), False)],
)
def test_wheelchair_accessible_if_any_location_is(wheelchair: tuple[bool, ...], accessible: bool) -> None:
    locations = tuple(replace(ZURICH, wheelchair_accessible=w) for w in wheelchair)
    assert _doc(locations=locations)["wheelchair_accessible"] is accessible


@pytest.mark.parametrize(
    ("average", "rounded"),
    [(None, None), (4.0, 4.0), (4.66666, 4.667), (3.14159, 3.142), (4.9996, 5.0), (0.0, 0.0)],
)
def test_rating_average_is_rounded_to_three_places(average: float | None, rounded: float | None) -> None:
    assert _doc(rating_average=average)["rating_average"] == rounded


def test_the_bayesian_rating_is_passed_through_and_absent_without_reviews() -> None:
    assert _doc(rating_average=5.0, rating_count=1, rating_bayes=4.1667)["rating_bayes"] == 4.1667
    assert _doc(rating_average=None, rating_count=0, rating_bayes=None)["rating_bayes"] is None
    assert _doc(rating_count=0, rating_bayes=4.0)["rating_bayes"] is None, "no reviews, no score"


def test_name_suggest_is_folded_full_and_last_name() -> None:
    assert _doc()["name_suggest"] == ["zoe nunez", "nunez"]
    assert _doc(first_name="ADA", last_name="Lovelace")["name_suggest"] == ["ada lovelace", "lovelace"]


def test_name_is_folded_with_title_and_display_name_is_kept() -> None:
    doc = _doc(first_name="José", last_name="García", title="DAOM, L.Ac.")
    assert doc["name"] == "jose garcia daom, l.ac."
    assert doc["display_name"] == "José García"


def test_flags_and_gender_are_copied() -> None:
    doc = _doc(gender="male", accepting_new_patients=False, telehealth=True)
    assert (doc["gender"], doc["accepting_new_patients"], doc["telehealth"]) == ("male", False, True)


def test_equal_term_tuples_give_the_same_vocabulary_across_practitioners() -> None:
    first = _doc(id=1, methods=(MOXA,), conditions=(BACK,))
    second = _doc(id=2, methods=(VocabularyTerm("moxibustion", "Moxibustion", ("moxa", "moxa therapy")),),
                  conditions=(BACK,))
    changed = _doc(id=3, methods=(VocabularyTerm("moxibustion", "Moxibustion", ("moxa",)),), conditions=(BACK,))
    assert first["vocabulary"] == second["vocabulary"]
    assert changed["vocabulary"] == "moxibustion ; moxa ; low back pain ; lumbago ; backache"

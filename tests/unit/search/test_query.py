"""SearchQuery -> request body: the filters, text, sort and paging every engine is sent."""

from __future__ import annotations

from typing import Any

import pytest

from search.geo import quantize
from search.query import (
    FACET_SIZE,
    TEXT_FIELDS,
    build_aggregations,
    build_filters,
    build_search_body,
    build_sort,
    build_text_query,
    engine_origin,
    text_terms,
)
from search.types import FACET_FIELDS, InvalidQuery, SearchQuery

BOSTON = (42.3601, -71.0589)
# The origin as engines are sent it: on Lucene's point grid (see engine_origin).
SENT = quantize(*BOSTON)
VISIBLE = {"term": {"visible": True}}
VERIFIED = {"term": {"verified": True}}
VERIFIED_FIRST = {"verified": {"order": "desc"}}
BY_ID = {"id": {"order": "asc"}}
GEO_SORT = {
    "_geo_distance": {
        "locations": {"lat": SENT[0], "lon": SENT[1]},
        "order": "asc",
        "mode": "min",
    }
}
# The Bayesian average (directory/reviews/rating.py), never the raw one; no reviews last.
BY_RATING = [{"rating_bayes": {"order": "desc", "missing": "_last"}}, {"rating_count": {"order": "desc"}}]


def _near_boston(**kw: Any) -> SearchQuery:
    return SearchQuery(lat=BOSTON[0], lon=BOSTON[1], **kw)


# Filters


def test_default_query_filters_visible_and_verified_only() -> None:
    assert build_filters(SearchQuery()) == [VISIBLE, VERIFIED]


def test_unverified_allowed_still_filters_visible() -> None:
    assert build_filters(SearchQuery(verified_only=False)) == [VISIBLE]


def test_origin_adds_an_arc_geo_distance_filter() -> None:
    assert build_filters(_near_boston(radius_km=25)) == [
        VISIBLE,
        VERIFIED,
        {
            "geo_distance": {
                "distance": "25km",
                "distance_type": "arc",
                "locations": {"lat": SENT[0], "lon": SENT[1]},
            }
        },
    ]


def test_the_origin_is_sent_on_lucenes_grid_so_both_engines_measure_from_one_point() -> None:
    # Elasticsearch 9 encodes the origin before testing a radius, OpenSearch does not: sending the encoded
    # origin (which encodes to itself) gives both the same points at the edge.
    assert SENT != BOSTON
    assert engine_origin(_near_boston()) == SENT
    assert quantize(*SENT) == SENT
    assert all(abs(a - b) < 1e-7 for a, b in zip(SENT, BOSTON, strict=True))


@pytest.mark.parametrize(("radius_km", "distance"), [(25.0, "25.0km"), (2.5, "2.5km"), (500, "500km")])
def test_geo_distance_radius_is_in_km(radius_km: float, distance: str) -> None:
    geo = build_filters(_near_boston(radius_km=radius_km))[-1]
    assert geo["geo_distance"]["distance"] == distance


def test_no_geo_filter_without_an_origin() -> None:
    assert not any("geo_distance" in f for f in build_filters(SearchQuery(radius_km=5)))


def test_one_sorted_terms_filter_per_vocabulary_kind() -> None:
    query = SearchQuery(
        methods=("moxibustion", "cupping"),
        conditions=("torticollis",),
        languages=("zh", "en", "es"),
        verified_only=False,
    )
    assert build_filters(query) == [
        VISIBLE,
        {"terms": {"methods": ["cupping", "moxibustion"]}},
        {"terms": {"conditions": ["torticollis"]}},
        {"terms": {"languages": ["en", "es", "zh"]}},
    ]


def test_empty_vocabulary_kinds_add_no_filter() -> None:
    filters = build_filters(SearchQuery(conditions=("low-back-pain",)))
    assert filters == [VISIBLE, VERIFIED, {"terms": {"conditions": ["low-back-pain"]}}]


def test_gender_filter_only_when_set() -> None:
    assert build_filters(SearchQuery(gender="female"))[-1] == {"term": {"gender": "female"}}
    assert build_filters(SearchQuery(gender=None)) == [VISIBLE, VERIFIED]
    assert build_filters(SearchQuery(gender="")) == [VISIBLE, VERIFIED]


@pytest.mark.parametrize("flag", ["accepting_new_patients", "telehealth", "wheelchair_accessible"])
@pytest.mark.parametrize("value", [True, False])
def test_boolean_flag_filters_when_set_including_false(flag: str, value: bool) -> None:
    kw: dict[str, Any] = {flag: value}
    query = SearchQuery(verified_only=False, **kw)
    assert build_filters(query) == [VISIBLE, {"term": {flag: value}}]


def test_open_now_is_a_terms_filter_on_the_hour_ranges() -> None:
    query = SearchQuery(verified_only=False, open_keys=(30, 10, 20))
    assert build_filters(query) == [VISIBLE, {"terms": {"open_hours": [30, 10, 20]}}]


def test_open_now_with_no_zone_in_use_matches_nothing() -> None:
    assert build_filters(SearchQuery(verified_only=False, open_keys=())) == [VISIBLE, {"match_none": {}}]


def test_boolean_flags_unset_add_no_filter() -> None:
    query = SearchQuery(accepting_new_patients=None, telehealth=None, wheelchair_accessible=None)
    assert build_filters(query) == [VISIBLE, VERIFIED]


def test_every_filter_together_in_order() -> None:
    query = _near_boston(
        radius_km=10,
        methods=("cupping",),
        languages=("en",),
        gender="male",
        accepting_new_patients=True,
        telehealth=False,
        wheelchair_accessible=True,
    )
    assert [next(iter(f.values())) for f in build_filters(query)] == [
        {"visible": True},
        {"verified": True},
        {"distance": "10km", "distance_type": "arc", "locations": {"lat": SENT[0], "lon": SENT[1]}},
        {"methods": ["cupping"]},
        {"languages": ["en"]},
        {"gender": "male"},
        {"accepting_new_patients": True},
        {"telehealth": False},
        {"wheelchair_accessible": True},
    ]


# Free text


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("", []),
        ("   ", []),
        ("Moxa", ["moxa"]),
        ("Low back pain", ["low", "back", "pain"]),
        ('moxa" OR (*:\\ AND', ["moxa", "or", "and"]),
        ('"wry neck"~2 name:Ada^5 -cupping +needling', ["wry", "neck", "2", "name", "ada", "5", "cupping", "needling"]),
        ("back/neck [pain] {x TO y} || && !", ["back", "neck", "pain", "x", "to", "y"]),
        ("Zürich ÉLECTRO-acupuncture", ["zurich", "electro", "acupuncture"]),
        ('*?~^"()', []),
    ],
)
def test_text_terms_keeps_only_plain_folded_words(text: str, terms: list[str]) -> None:
    assert text_terms(SearchQuery(text=text)) == terms


def test_text_terms_are_capped_at_twenty_words() -> None:
    text = " ".join(f"w{i}" for i in range(30))
    assert text_terms(SearchQuery(text=text)) == [f"w{i}" for i in range(20)]


def test_no_text_query_without_words() -> None:
    assert build_text_query(SearchQuery()) is None
    assert build_text_query(SearchQuery(text='"() *:')) is None


def test_text_query_is_a_cross_fields_and_multi_match() -> None:
    assert build_text_query(SearchQuery(text="Moxa  Lumbago")) == {
        "multi_match": {
            "query": "moxa lumbago",
            "type": "cross_fields",
            "operator": "and",
            "fields": ["name^3", "vocabulary^2", "places^1.5", "bio^1"],
        }
    }


def test_text_query_fields_follow_text_fields() -> None:
    text = build_text_query(SearchQuery(text="moxa"))
    assert text is not None
    fields = text["multi_match"]["fields"]
    assert [f.split("^")[0] for f in fields] == list(TEXT_FIELDS)
    assert [float(f.split("^")[1]) for f in fields] == list(TEXT_FIELDS.values())


def test_query_syntax_never_reaches_the_body() -> None:
    body = build_search_body(SearchQuery(text='moxa" OR (*:\\ AND'))
    text = body["query"]["bool"]["must"][0]["multi_match"]["query"]
    assert text == "moxa or and"
    assert not set('"()*:\\') & set(text)
    assert "OR" not in text and "AND" not in text


# Sort


def test_distance_sort_is_verified_then_nearest_then_id() -> None:
    assert build_sort(_near_boston(sort="distance")) == [VERIFIED_FIRST, GEO_SORT, BY_ID]


@pytest.mark.parametrize("sort", ["distance", "relevance", "rating"])
def test_no_geo_sort_without_an_origin(sort: Any) -> None:
    assert not any("_geo_distance" in s for s in build_sort(SearchQuery(sort=sort, text="moxa")))


def test_distance_sort_without_origin_is_verified_then_id() -> None:
    assert build_sort(SearchQuery(sort="distance")) == [VERIFIED_FIRST, BY_ID]


def test_relevance_sort_with_text_is_score_then_nearest_then_id() -> None:
    assert build_sort(_near_boston(sort="relevance", text="moxa")) == [{"_score": {"order": "desc"}}, GEO_SORT, BY_ID]
    assert build_sort(SearchQuery(sort="relevance", text="moxa")) == [{"_score": {"order": "desc"}}, BY_ID]


@pytest.mark.parametrize("text", ["", "  ", '"()*:'])
def test_relevance_without_words_falls_back_to_the_vetted_distance_order(text: str) -> None:
    assert build_sort(_near_boston(sort="relevance", text=text)) == [VERIFIED_FIRST, GEO_SORT, BY_ID]
    assert build_sort(SearchQuery(sort="relevance", text=text)) == [VERIFIED_FIRST, BY_ID]


def test_the_distance_sort_is_in_metres_to_one_origin_nearest_first() -> None:
    # Elasticsearch and OpenSearch only sort with Lucene's distance comparator (which skips far locations without
    # computing their distance) for exactly this form: metres, ascending, mode min, one point.
    geo = build_sort(_near_boston())[1]["_geo_distance"]
    assert "unit" not in geo and (geo["order"], geo["mode"]) == ("asc", "min")
    assert geo["locations"] == {"lat": SENT[0], "lon": SENT[1]}


def test_rating_sort_is_verified_then_rating_then_nearest_then_id() -> None:
    assert build_sort(_near_boston(sort="rating")) == [VERIFIED_FIRST, *BY_RATING, GEO_SORT, BY_ID]
    assert build_sort(SearchQuery(sort="rating")) == [VERIFIED_FIRST, *BY_RATING, BY_ID]


def test_rating_sort_ignores_text_relevance() -> None:
    assert build_sort(_near_boston(sort="rating", text="moxa")) == [VERIFIED_FIRST, *BY_RATING, GEO_SORT, BY_ID]


# Aggregations


def test_aggregations_cover_every_facet_field() -> None:
    aggs = build_aggregations()
    assert list(aggs) == list(FACET_FIELDS)
    for name in FACET_FIELDS:
        assert aggs[name] == {"terms": {"field": name, "size": FACET_SIZE}}


def test_aggregations_for_the_asked_facets_only() -> None:
    assert list(build_aggregations(("languages", "methods"))) == ["languages", "methods"]
    assert build_aggregations(()) == {}


@pytest.mark.parametrize("fields", [(), ("methods", "conditions", "languages")])
def test_a_query_counts_only_the_facets_it_asks_for(fields: tuple[str, ...]) -> None:
    body = build_search_body(_near_boston(facets=fields))
    assert body.get("aggs", {}) == build_aggregations(fields)
    assert ("aggs" in body) == bool(fields)


def test_an_unknown_facet_field_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="facets must be among"):
        SearchQuery(facets=("gender",))


# Whole body


def test_body_without_text() -> None:
    query = SearchQuery()
    assert build_search_body(query) == {
        "query": {"bool": {"filter": [VISIBLE, VERIFIED]}},
        "sort": [VERIFIED_FIRST, BY_ID],
        "from": 0,
        "size": 20,
        "track_total_hits": True,
        "_source": False,
        "aggs": build_aggregations(),
    }


def test_body_with_text_has_must_and_highlight() -> None:
    query = _near_boston(text="moxa", sort="relevance")
    body = build_search_body(query)
    assert body["query"]["bool"] == {"filter": build_filters(query), "must": [build_text_query(query)]}
    assert body["sort"] == build_sort(query)
    assert body["highlight"] == {
        "highlight_query": {"multi_match": {"query": "moxa", "fields": ["bio", "vocabulary"]}},
        "fields": {"bio": {"fragment_size": 120, "number_of_fragments": 1}, "vocabulary": {}},
    }


@pytest.mark.parametrize("text", ["", '"() *:\\'])
def test_body_without_words_has_no_must_and_no_highlight(text: str) -> None:
    body = build_search_body(_near_boston(text=text))
    assert "must" not in body["query"]["bool"]
    assert "highlight" not in body


@pytest.mark.parametrize(
    ("page", "per_page", "start"),
    [(1, 20, 0), (2, 20, 20), (3, 7, 14), (1, 100, 0), (100, 100, 9900), (10_000, 1, 9999)],
)
def test_from_and_size_come_from_page_and_per_page(page: int, per_page: int, start: int) -> None:
    body = build_search_body(SearchQuery(page=page, per_page=per_page))
    assert (body["from"], body["size"]) == (start, per_page)


def test_body_never_asks_for_source_and_always_counts_hits() -> None:
    body = build_search_body(_near_boston(text="moxa", sort="rating", page=2))
    assert body["_source"] is False
    assert body["track_total_hits"] is True
    assert "docvalue_fields" not in body and "track_scores" not in body

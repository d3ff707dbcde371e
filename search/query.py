"""SearchQuery -> engine request body (Elasticsearch and OpenSearch share it). Pure."""

from __future__ import annotations

from typing import Any

from search.documents import words
from search.geo import quantize
from search.types import FACET_FIELDS, SearchQuery

# Field weights for free text; the embedded backend uses the same ones (bm25 column weights).
TEXT_FIELDS = {"name": 3.0, "vocabulary": 2.0, "places": 1.5, "bio": 1.0}
FACET_SIZE = 100
HIGHLIGHT_FIELDS: dict[str, dict[str, int]] = {"bio": {"fragment_size": 120, "number_of_fragments": 1}, "vocabulary": {}}


def text_terms(query: SearchQuery) -> list[str]:
    """Return the words of the free text; only these plain tokens ever reach an engine."""
    return words(query.text)[:20]


def engine_origin(query: SearchQuery) -> tuple[float, float]:
    """Return the origin on Lucene's point grid: every backend measures radius and distance from this point.

    Elasticsearch 9 tests a geo_distance radius against the origin as Lucene encodes it (up to 4.7 mm from the
    one sent), OpenSearch against the origin as sent; sending the encoded one (encoding it again changes
    nothing) gives both engines, and the embedded backend, the same points at the radius edge.
    """
    return quantize(query.lat or 0.0, query.lon or 0.0)


def build_filters(query: SearchQuery) -> list[dict[str, Any]]:
    """Return the bool filters: visibility, vetting, place, vocabularies and flags."""
    filters: list[dict[str, Any]] = [{"term": {"visible": True}}]
    if query.verified_only:
        filters.append({"term": {"verified": True}})
    if query.has_origin:
        lat, lon = engine_origin(query)
        filters.append(
            {
                "geo_distance": {
                    "distance": f"{query.radius_km}km",
                    "distance_type": "arc",
                    "locations": {"lat": lat, "lon": lon},
                }
            }
        )
    # AND across kinds, OR within a kind: one `terms` filter per kind.
    for field_name, values in (("methods", query.methods), ("conditions", query.conditions), ("languages", query.languages)):
        if values:
            filters.append({"terms": {field_name: sorted(values)}})
    if query.gender:
        filters.append({"term": {"gender": query.gender}})
    for flag in ("accepting_new_patients", "telehealth", "wheelchair_accessible"):
        value = getattr(query, flag)
        if value is not None:
            filters.append({"term": {flag: value}})
    if query.open_keys is not None:
        filters.append(build_open_now(query.open_keys, query.dated_keys))
    return filters


def build_open_now(weekly: tuple[int, ...], dated: tuple[int, ...]) -> dict[str, Any]:
    """Return the open-now filter: a weekly range holds a key, unless a dated exception closes it; or one opens it.

    A term on a range field matches the documents with a range holding the value (search/hours.py).
    """
    if not weekly:
        return {"match_none": {}}
    week = {"terms": {"open_hours": list(weekly)}}
    if not dated:
        return week
    return {"bool": {"should": [{"bool": {"filter": [week], "must_not": [{"terms": {"closed_dated": list(dated)}}]}},
                                {"terms": {"open_dated": list(dated)}}], "minimum_should_match": 1}}


def build_text_query(query: SearchQuery) -> dict[str, Any] | None:
    """Return a multi_match over the text fields (every word must match somewhere), or None."""
    terms = text_terms(query)
    if not terms:
        return None
    return {
        "multi_match": {
            "query": " ".join(terms),
            "type": "cross_fields",
            "operator": "and",
            "fields": [f"{name}^{weight:g}" for name, weight in TEXT_FIELDS.items()],
        }
    }


def build_sort(query: SearchQuery) -> list[Any]:
    """Return the sort: vetted first (unless text relevance was asked), then distance or Bayesian rating; id breaks ties."""
    lat, lon = engine_origin(query)
    # In metres (the default unit), ascending, nearest location, one origin: only this form makes both engines sort
    # with Lucene's LatLonDocValuesField distance comparator, which skips a location outside the box of the current
    # page's farthest distance without computing its distance (any other unit computes every match's distance).
    geo = [{"_geo_distance": {"locations": {"lat": lat, "lon": lon}, "order": "asc", "mode": "min"}}] if query.has_origin else []
    tie = [{"id": {"order": "asc"}}]
    if query.sort == "relevance" and text_terms(query):
        return [{"_score": {"order": "desc"}}, *geo, *tie]
    if query.sort == "rating":
        # The Bayesian average, not the raw one: one 5-star review must not top six averaging 4.7.
        # Practitioners without reviews have none and come last.
        rating = [{"rating_bayes": {"order": "desc", "missing": "_last"}}, {"rating_count": {"order": "desc"}}]
        return [{"verified": {"order": "desc"}}, *rating, *geo, *tie]
    return [{"verified": {"order": "desc"}}, *geo, *tie]


def build_aggregations(fields: tuple[str, ...] = FACET_FIELDS) -> dict[str, Any]:
    """Return a terms aggregation for each of ``fields`` (every facet field by default)."""
    return {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in fields}


def build_search_body(query: SearchQuery) -> dict[str, Any]:
    """Return the complete request body for ``query``."""
    bool_query: dict[str, Any] = {"filter": build_filters(query)}
    text = build_text_query(query)
    if text:
        bool_query["must"] = [text]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "sort": build_sort(query),
        "from": query.offset,
        "size": query.per_page,
        "track_total_hits": True,
        # Hits are ids (_id) and sort values; nothing else is fetched. Scores are only computed when
        # the order needs them (sort by _score), not for distance or rating orders.
        "_source": False,
    }
    if query.facets:
        body["aggs"] = build_aggregations(query.facets)
    if text:
        body["highlight"] = {
            # The highlighter re-runs its query on every hit; the cross_fields query cost it 30-45 ms a page at
            # 100k practitioners. A plain multi_match over the two highlighted fields marks the same words
            # (identical fragments) in a quarter of the time.
            "highlight_query": {"multi_match": {"query": " ".join(text_terms(query)), "fields": list(HIGHLIGHT_FIELDS)}},
            "fields": {name: dict(options) for name, options in HIGHLIGHT_FIELDS.items()},
        }
    return body

"""Smoke tests of the real engines through the official clients: the features the
search backend relies on (geo_point + keyword + text mapping, bulk, refresh,
bool query with geo_distance filter, _geo_distance sort, terms aggregation,
atomic alias swap)."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration

BOSTON = {"lat": 42.3601, "lon": -71.0589}

MAPPING = {
    "dynamic": "strict",
    "properties": {
        "name": {"type": "text"},
        "bio": {"type": "text"},
        "methods": {"type": "keyword"},
        "verified": {"type": "boolean"},
        "location": {"type": "geo_point"},
    },
}
SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}

DOCS: dict[str, dict[str, Any]] = {
    "p1": {
        "name": "Ana Lee",
        "bio": "Treats low back pain and sciatica with needling and cupping.",
        "methods": ["needling", "cupping"],
        "verified": True,
        "location": {"lat": 42.3503, "lon": -71.0810},
    },
    "p2": {
        "name": "Ben Ortiz",
        "bio": "Neck pain and shoulder osteoarthritis; moxibustion.",
        "methods": ["needling", "moxibustion"],
        "verified": True,
        "location": {"lat": 42.3736, "lon": -71.1097},
    },
    "p3": {
        "name": "Chen Wu",
        "bio": "Low back pain and knee osteoarthritis.",
        "methods": ["needling", "tui-na"],
        "verified": False,
        "location": {"lat": 42.2626, "lon": -71.8023},
    },
}


def arc_distance_m(a: dict[str, float], b: dict[str, float]) -> float:
    """Haversine on the mean Earth radius the engines use for arc distance."""
    r = 6371008.7714
    la1, la2 = math.radians(a["lat"]), math.radians(b["lat"])
    dlat, dlon = la2 - la1, math.radians(b["lon"] - a["lon"])
    h = math.sin(dlat / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlon / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


class Client:
    """The call-signature differences between the two official clients, and nothing else."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.raw: Any
        self.helpers: Any
        if kind == "elasticsearch":
            import elasticsearch
            import elasticsearch.helpers

            self.raw, self.helpers = elasticsearch.Elasticsearch(url, request_timeout=30), elasticsearch.helpers
        else:
            import opensearchpy
            import opensearchpy.helpers

            self.raw, self.helpers = opensearchpy.OpenSearch(hosts=[url], timeout=30), opensearchpy.helpers

    def create_index(self, name: str) -> None:
        if self.kind == "elasticsearch":
            self.raw.indices.create(index=name, settings=SETTINGS, mappings=MAPPING)
        else:
            self.raw.indices.create(index=name, body={"settings": SETTINGS, "mappings": MAPPING})

    def bulk(self, index: str, docs: dict[str, dict[str, Any]]) -> tuple[int, Any]:
        actions = [{"_op_type": "index", "_index": index, "_id": i, "_source": d} for i, d in docs.items()]
        ok, errors = self.helpers.bulk(self.raw, actions)
        return ok, errors

    def refresh(self, index: str) -> None:
        self.raw.indices.refresh(index=index)

    def search(self, index: str, body: dict) -> dict:
        if self.kind == "elasticsearch":
            return dict(self.raw.search(index=index, **body))
        return self.raw.search(index=index, body=body)

    def count(self, index: str) -> int:
        return int(self.raw.count(index=index)["count"])

    def update_aliases(self, actions: list[dict]) -> None:
        if self.kind == "elasticsearch":
            self.raw.indices.update_aliases(actions=actions)
        else:
            self.raw.indices.update_aliases(body={"actions": actions})

    def alias_targets(self, alias: str) -> set[str]:
        return set(dict(self.raw.indices.get_alias(name=alias)).keys())

    def delete_indices(self, *names: str) -> None:
        for name in names:
            if self.kind == "elasticsearch":
                self.raw.options(ignore_status=404).indices.delete(index=name)
            else:
                self.raw.indices.delete(index=name, ignore=404)


@pytest.fixture(params=["elasticsearch", "opensearch"])
def client(request: pytest.FixtureRequest) -> Client:
    url = request.getfixturevalue(f"{request.param}_url")
    return Client(request.param, url)


@pytest.fixture
def index(client: Client):
    name = f"smoke-{client.kind}-{uuid.uuid4().hex[:8]}"
    client.create_index(name)
    ok, errors = client.bulk(name, DOCS)
    assert (ok, errors) == (3, [])
    client.refresh(name)
    yield name
    client.delete_indices(name)


def test_geo_filter_sort_and_terms_aggregation(client: Client, index: str) -> None:
    resp = client.search(
        index,
        {
            "size": 10,
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"methods": "needling"}},
                        {"geo_distance": {"distance": "10km", "location": BOSTON}},
                    ]
                }
            },
            "sort": [{"_geo_distance": {"location": BOSTON, "order": "asc", "unit": "m"}}],
            "aggs": {"methods": {"terms": {"field": "methods"}}},
        },
    )

    hits = resp["hits"]
    assert hits["total"] == {"value": 2, "relation": "eq"}
    assert [h["_id"] for h in hits["hits"]] == ["p1", "p2"]  # Worcester (~61 km) filtered out
    for hit in hits["hits"]:
        expected = arc_distance_m(BOSTON, DOCS[hit["_id"]]["location"])
        assert hit["sort"][0] == pytest.approx(expected, rel=0.005)
    assert 1500 < hits["hits"][0]["sort"][0] < 2500 < 4000 < hits["hits"][1]["sort"][0] < 5000

    buckets = [(b["key"], b["doc_count"]) for b in resp["aggregations"]["methods"]["buckets"]]
    assert buckets == [("needling", 2), ("cupping", 1), ("moxibustion", 1)]


def test_text_match_with_distance_sort(client: Client, index: str) -> None:
    resp = client.search(
        index,
        {
            "query": {
                "bool": {
                    "must": [{"match": {"bio": {"query": "Back PAIN", "operator": "and"}}}],
                    "filter": [{"geo_distance": {"distance": "100km", "location": BOSTON}}],
                }
            },
            "sort": [{"_geo_distance": {"location": BOSTON, "order": "asc"}}],
        },
    )
    assert [h["_id"] for h in resp["hits"]["hits"]] == ["p1", "p3"]


def test_atomic_alias_swap(client: Client, index: str) -> None:
    alias = f"{index}-alias"
    v2 = f"{index}-v2"
    client.update_aliases([{"add": {"index": index, "alias": alias}}])
    assert client.alias_targets(alias) == {index}
    assert client.count(alias) == 3
    try:
        client.create_index(v2)
        assert client.bulk(v2, {"p3": DOCS["p3"]}) == (1, [])
        client.refresh(v2)

        client.update_aliases(
            [
                {"remove": {"index": index, "alias": alias}},
                {"add": {"index": v2, "alias": alias}},
            ]
        )

        assert client.alias_targets(alias) == {v2}
        assert client.count(alias) == 1
        resp = client.search(alias, {"query": {"match_all": {}}})
        assert [(h["_index"], h["_id"]) for h in resp["hits"]["hits"]] == [(v2, "p3")]
        assert client.count(index) == 3  # the old generation is untouched until dropped
    finally:
        client.delete_indices(v2)

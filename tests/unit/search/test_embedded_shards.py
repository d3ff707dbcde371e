"""A wide embedded search split into shards run at once gives what the same search run whole gives.

The shards of a radius scan are its latitude bands taken every ``threads``-th, those of a text search ranges of
document ids (search/backends/embedded_query.py: Shard). Each case runs one search on a backend that never splits
and on one that does, over the same index file, and compares hits (ids, distances, scores), totals and facets.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from search.backends.embedded import SHARD_MIN_KM, EmbeddedBackend
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.hours import open_keys
from search.types import EARTH_RADIUS_KM, SearchPage, SearchQuery

ORIGIN = (40.7128, -74.0060)
NEEDLING = VocabularyTerm("filiform-needling", "Filiform needling", ("needling",))
CUPPING = VocabularyTerm("cupping", "Cupping", ("cupping therapy",))
SCIATICA = VocabularyTerm("sciatica", "Sciatica", ("sciatic pain",))
BIOS = ("Licensed acupuncturist treating sciatica and back pain.", "Cupping and moxa for sciatica.",
        "Acupuncture for back pain, neck pain and sciatica.", "Tui na and cupping.")
ALWAYS = tuple((day, 0, 24 * 60) for day in range(7))  # open every minute of the week (UTC)


def _point(rng: random.Random) -> tuple[float, float]:
    """Return a point of a city: most within 10 km of the origin, the rest out to 120 km."""
    km = rng.uniform(0, 10) if rng.random() < 0.6 else rng.uniform(10, 120)
    bearing = rng.uniform(0, 2 * math.pi)
    return (ORIGIN[0] + math.degrees(km / EARTH_RADIUS_KM) * math.cos(bearing),
            ORIGIN[1] + math.degrees(km / EARTH_RADIUS_KM) * math.sin(bearing) / math.cos(math.radians(ORIGIN[0])))


def _docs(count: int) -> list[dict[str, Any]]:
    """Return practitioners with one, two or four locations, mixed texts, ratings, vetting and methods."""
    rng = random.Random(21)
    docs = []
    for pid in range(1, count + 1):
        hours = ALWAYS if rng.random() < 0.5 else ()
        locations = tuple(PlacePoint(*_point(rng), "New York", "NY", "10007", "US", hours=hours)
                          for _ in range(rng.choice((1, 1, 1, 2, 4))))
        rating = rng.choice((None, 3.5, 4.0, 4.5, 4.5, 5.0))
        source = PractitionerSource(
            id=pid, slug=f"p-{pid}", first_name="Ann", last_name=f"Lee{pid % 40}", title="L.Ac.",
            bio=rng.choice(BIOS), gender=rng.choice(("female", "male")), accepting_new_patients=rng.random() < 0.7,
            telehealth=rng.random() < 0.3, hidden=rng.random() < 0.03,
            vetting_status=rng.choice(("verified", "verified", "verified", "pending")), locations=locations,
            methods=(NEEDLING, CUPPING) if rng.random() < 0.4 else (NEEDLING,),
            conditions=(SCIATICA,) if rng.random() < 0.5 else (), languages=("en", "es") if rng.random() < 0.3 else ("en",),
            rating_average=rating, rating_count=0 if rating is None else rng.randint(1, 40), rating_bayes=rating)
        docs.append(practitioner_search_document(source))
    return docs


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedBackend, EmbeddedBackend]]:
    """One index file, read by a backend that never splits a search and by one that splits wide ones in three."""
    path = Path(tmp_path_factory.mktemp("shards")) / "search.db"
    whole = EmbeddedBackend(str(path))
    whole.ensure_index()
    whole.reindex(_docs(3000))
    split = EmbeddedBackend(str(path), threads=3)
    yield whole, split
    whole.close()
    split.close()


def _same(a: SearchPage, b: SearchPage) -> None:
    assert [(h.id, h.distance_km, h.score) for h in a.hits] == [(h.id, h.distance_km, h.score) for h in b.hits]
    assert (a.total, a.facets) == (b.total, b.facets)
    assert a.hits, "the case reads some matches"


@pytest.mark.parametrize("text", ["", "sciatica", "cupping sciatica"])
@pytest.mark.parametrize("sort", ["distance", "relevance", "rating"])
@pytest.mark.parametrize("radius_km", [SHARD_MIN_KM, 50, 150])
def test_a_wide_search_split_in_shards_gives_the_whole_searchs_page_total_and_facets(
        pair: tuple[EmbeddedBackend, EmbeddedBackend], text: str, sort: Any, radius_km: float) -> None:
    whole, split = pair
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=radius_km, text=text, sort=sort, per_page=12,
                    facets=("methods", "conditions", "languages", "vetting_status"))
    for page in (1, 3):
        _same(whole.search(replace(q, page=page)), split.search(replace(q, page=page)))
    assert split._helpers is not None, "the search was split"


@pytest.mark.parametrize("case", [
    {"verified_only": True},
    {"methods": ("cupping",), "sort": "rating"},
    {"conditions": ("sciatica",), "text": "back pain", "verified_only": True},
    {"languages": ("es",), "accepting_new_patients": True, "sort": "distance"},
    {"open_now": True, "text": "sciatica", "sort": "rating"},
    {"open_now": True},
    {"text": "sciatica", "lat": None, "lon": None},  # no origin: a text search is split by ids all the same
    {"lat": None, "lon": None, "sort": "rating"},  # no origin, no text: run whole
])
def test_filters_open_now_and_searches_without_an_origin_give_the_same_in_shards(
        pair: tuple[EmbeddedBackend, EmbeddedBackend], case: dict[str, Any]) -> None:
    whole, split = pair
    fields = dict(case)
    if fields.pop("open_now", False):
        fields["open_keys"] = open_keys(("UTC",), datetime.now(UTC))
    q = SearchQuery(**{"lat": ORIGIN[0], "lon": ORIGIN[1], "radius_km": 100, "per_page": 10,
                       "facets": ("methods", "vetting_status"), **fields})
    _same(whole.search(q), split.search(q))


def test_a_search_finding_the_helpers_busy_runs_whole_and_gives_the_same(
        pair: tuple[EmbeddedBackend, EmbeddedBackend]) -> None:
    whole, split = pair
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=100, text="sciatica", per_page=10)
    assert split._helpers_free.acquire(blocking=False)  # another search holds the helpers
    try:
        busy = split.search(q)
    finally:
        split._helpers_free.release()
    _same(whole.search(q), busy)


def test_searches_from_many_threads_at_once_each_get_their_own_answer(
        pair: tuple[EmbeddedBackend, EmbeddedBackend]) -> None:
    whole, split = pair
    queries = [SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=r, text=t, sort=s, per_page=10)
               for r in (25, 60, 100) for t in ("", "sciatica") for s in ("distance", "rating")]
    expected = [whole.search(q) for q in queries]
    got: dict[int, SearchPage] = {}

    def run(i: int) -> None:
        got[i] = split.search(queries[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, page in enumerate(expected):
        _same(page, got[i])


def test_a_circle_with_fewer_bands_than_shards_still_counts_every_match(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "search.db"), threads=8)
    backend.ensure_index()
    backend.reindex(_docs(400))
    whole = EmbeddedBackend(backend.path)
    try:
        q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=SHARD_MIN_KM, per_page=10)
        _same(whole.search(q), backend.search(q))
    finally:
        backend.close()
        whole.close()


def test_an_in_memory_index_is_never_split() -> None:
    assert EmbeddedBackend(":memory:", threads=4).threads == 1

"""What the embedded backend does on its own: schema upgrades, the radius edge, facet codes, deep pages.

Parity with Elasticsearch and OpenSearch is tested in tests/integration/test_search_parity.py;
these cases pin the embedded backend's own shortcuts (squared chords, cell words, coded facets)
to the exact rule they stand in for.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from directory.reviews.rating import RatingPrior, bayesian_average
from search.backends.embedded import MMAP_BYTES, SCHEMA_VERSION, EmbeddedBackend
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.geo import arc_distance_km, distance_query_sort_key, haversin_sort_key, quantize
from search.types import Change, SearchQuery
from tests.support.radius_edge import edge_cases, lucene_total

ORIGIN = (47.6062, -122.3321)
NEEDLING = VocabularyTerm("filiform-needling", "Filiform needling", ("needling",))
CUPPING = VocabularyTerm("cupping", "Cupping", ("cupping therapy",))
BACK = VocabularyTerm("low-back-pain", "Low back pain", ("lumbago",))


def _doc(pid: int, lat: float, lon: float, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(id=pid, slug=f"p-{pid}", first_name="Ann", last_name=f"Lee{pid}", title="L.Ac.",
                                bio="Licensed acupuncturist.", gender="female", accepting_new_patients=True,
                                telehealth=False, hidden=False, vetting_status="verified",
                                locations=(PlacePoint(lat, lon, "Seattle", "WA", "98101", "US"),),
                                methods=(NEEDLING,), conditions=(BACK,), languages=("en",))
    base.update(kw)
    return practitioner_search_document(PractitionerSource(**base))


def _near(**kw: Any) -> SearchQuery:
    return SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], **kw)


def test_reads_map_the_index_file_rather_than_copy_pages_into_a_small_cache(backend: EmbeddedBackend) -> None:
    mapped = backend._conn().execute("PRAGMA mmap_size").fetchone()[0]
    assert mapped >= 1 << 30  # SQLite caps MMAP_BYTES at its build's limit (2 GB for Python's)
    assert mapped <= MMAP_BYTES


def test_an_index_of_an_older_schema_is_dropped_and_rebuilt_empty(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE doc (id INTEGER PRIMARY KEY, source TEXT NOT NULL)")
        conn.execute("CREATE VIRTUAL TABLE point_rtree USING rtree (id, min_lat, max_lat, min_lon, max_lon)")
        conn.execute("INSERT INTO doc VALUES (1, '{}')")
    backend = EmbeddedBackend(str(path))
    backend.ensure_index()
    assert backend.count() == 0
    backend.reindex([_doc(1, *ORIGIN)])
    assert [h.id for h in backend.search(_near()).hits] == [1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'point_rtree%'").fetchall()
    backend.close()


@pytest.mark.parametrize("km", [0.5, 7.0, 25.0, 180.0, 499.0])
def test_the_radius_edge_follows_lucenes_own_test_to_the_last_bit(backend: EmbeddedBackend, km: float) -> None:
    lat, lon = quantize(ORIGIN[0] + km / 111.2 * 0.6, ORIGIN[1] + km / 75.0 * 0.8)
    backend.reindex([_doc(1, lat, lon)])
    origin = quantize(*ORIGIN)  # what every backend measures from (search.query.engine_origin)
    exact = arc_distance_km(*origin, lat, lon)
    key = haversin_sort_key(*origin, lat, lon)
    for radius in (exact * (1 - 1e-9), exact * (1 - 1e-12), exact, exact * (1 + 1e-12), exact * (1 + 1e-9)):
        inside = key <= distance_query_sort_key(radius * 1000)
        assert backend.search(_near(radius_km=radius)).total == int(inside), radius
    # Away from the micrometre band Lucene's test is the plain haversine one.
    assert backend.search(_near(radius_km=exact * (1 - 1e-6))).total == 0
    assert backend.search(_near(radius_km=exact * (1 + 1e-6))).hits[0].distance_km == exact


def test_points_micrometres_from_the_radius_are_in_or_out_as_on_the_engines(backend: EmbeddedBackend) -> None:
    # Around the query of issue #15 item 7: each radius passes within half a micrometre of one point.
    origin = (40.75453, -73.97612)
    points, radii = edge_cases(origin, 300, 15)
    backend.reindex([_doc(i, lat, lon) for i, (lat, lon) in enumerate(points, 1)])
    exact = [sum(arc_distance_km(*quantize(*origin), *p) <= r for p in points) for r in radii]
    expected = [lucene_total(origin, points, r) for r in radii]
    assert expected != exact, "the radii are close enough to their points for Lucene's rounding to matter"
    assert [backend.search(SearchQuery(lat=origin[0], lon=origin[1], radius_km=r, per_page=1)).total
            for r in radii] == expected


def test_pages_are_slices_of_one_order_by_exact_distance_then_id(backend: EmbeddedBackend) -> None:
    rng = random.Random(3)
    docs = [_doc(i, ORIGIN[0] + rng.uniform(-0.2, 0.2), ORIGIN[1] + rng.uniform(-0.3, 0.3),
                 vetting_status=rng.choice(["verified", "pending"])) for i in range(1, 121)]
    # Five practitioners share one building: equal distances, ordered by id.
    docs += [_doc(i, ORIGIN[0] + 0.01, ORIGIN[1]) for i in range(200, 205)]
    backend.reindex(docs)
    query = _near(radius_km=40, verified_only=False, per_page=7)
    seen = [h for n in range(1, 20) for h in backend.search(replace(query, page=n)).hits]

    def key(doc: dict[str, Any]) -> tuple[Any, ...]:
        point = quantize(doc["locations"][0]["lat"], doc["locations"][0]["lon"])
        return (not doc["verified"], arc_distance_km(*ORIGIN, *point), doc["id"])

    expected = [d["id"] for d in sorted(docs, key=key) if arc_distance_km(*ORIGIN, *quantize(
        d["locations"][0]["lat"], d["locations"][0]["lon"])) <= 40]
    assert [h.id for h in seen] == expected


def _rated(average: float, count: int) -> dict[str, Any]:
    """Return the rating fields of a document as the application computes them (default prior)."""
    return {"rating_average": average, "rating_count": count,
            "rating_bayes": bayesian_average(average, count, RatingPrior())}


def test_rating_order_is_bayesian_then_count_then_distance(backend: EmbeddedBackend) -> None:
    backend.reindex([
        _doc(1, ORIGIN[0] + 0.01, ORIGIN[1], **_rated(4.0, 3)),
        _doc(2, ORIGIN[0] + 0.02, ORIGIN[1], **_rated(4.0, 9)),
        _doc(3, ORIGIN[0] + 0.03, ORIGIN[1]),
        _doc(4, ORIGIN[0] + 0.04, ORIGIN[1], **_rated(5.0, 1)),
        _doc(5, ORIGIN[0] + 0.05, ORIGIN[1], **_rated(4.0, 3)),
        _doc(6, ORIGIN[0] + 0.06, ORIGIN[1], **_rated(4.7, 6)),
    ])
    # 4.7 from six (4.38) tops one 5-star review (4.17), which tops 4.0 (4.0 however many); equal scores go by
    # count, then distance; no reviews last.
    assert [h.id for h in backend.search(_near(sort="rating")).hits] == [6, 4, 2, 1, 5, 3]


def test_a_rating_change_reorders_after_an_update(backend: EmbeddedBackend) -> None:
    backend.reindex([_doc(1, *ORIGIN, **_rated(4.7, 6)), _doc(2, *ORIGIN, **_rated(4.5, 2))])
    assert [h.id for h in backend.search(_near(sort="rating")).hits] == [1, 2]
    backend.apply([Change(2, _doc(2, *ORIGIN, **_rated(4.9, 40)))])
    assert [h.id for h in backend.search(_near(sort="rating")).hits] == [2, 1]


def test_facet_counts_cover_every_match_and_new_values_get_codes(backend: EmbeddedBackend) -> None:
    backend.reindex([_doc(1, *ORIGIN), _doc(2, *ORIGIN, methods=(NEEDLING, CUPPING), languages=("en", "fr")),
                     _doc(3, *ORIGIN, vetting_status="expiring", methods=(CUPPING,))])
    page = backend.search(_near(per_page=1))
    assert page.facets == {"methods": {"filiform-needling": 2, "cupping": 2}, "conditions": {"low-back-pain": 3},
                           "languages": {"en": 3, "fr": 1}, "vetting_status": {"verified": 2, "expiring": 1}}
    moxa = VocabularyTerm("moxibustion", "Moxibustion", ("moxa",))
    assert backend.apply([Change(4, _doc(4, *ORIGIN, methods=(moxa,)))]).acknowledged == [4]
    # A second backend on the same file (another process) learns the new code from the file.
    other = EmbeddedBackend(backend.path)
    assert other.search(_near(methods=("moxibustion",))).facets["methods"] == {"moxibustion": 1}
    assert [h.id for h in other.search(_near(methods=("moxibustion", "cupping"))).hits] == [2, 3, 4]
    assert other.search(_near(methods=("no-such-method",))).total == 0
    other.close()


def test_text_near_a_place_only_finds_practitioners_inside_the_radius(backend: EmbeddedBackend) -> None:
    backend.reindex([
        _doc(1, *ORIGIN, bio="Cupping for athletes."),
        _doc(2, ORIGIN[0] + 2.0, ORIGIN[1], bio="Cupping for athletes."),  # 222 km north: another cell
        _doc(3, ORIGIN[0] + 0.3, ORIGIN[1] + 0.4, bio="Cupping and needling."),  # ~44 km: a neighbouring cell
    ])
    for sort in ("relevance", "distance"):
        assert [h.id for h in backend.search(_near(text="cupping", radius_km=50, sort=sort)).hits] == [1, 3]
    assert [h.id for h in backend.search(SearchQuery(text="cupping")).hits] == [1, 2, 3]
    # A cell word typed as text is not a place: the cells column is not searchable as text, also near the place
    # and beside a word that matches (ordinary words are matched without a column filter, cell words never are).
    assert backend.search(SearchQuery(text="g275x115")).total == 0
    assert backend.search(_near(text="g275x115", radius_km=50)).total == 0
    assert backend.search(_near(text="cupping g275x115", radius_km=50)).total == 0
    assert backend.search(_near(text="cupping", radius_km=50)).total == 2


def test_a_practitioner_without_locations_is_found_only_without_an_origin(backend: EmbeddedBackend) -> None:
    backend.reindex([_doc(1, *ORIGIN, locations=())])
    assert backend.search(_near(radius_km=500)).total == 0
    assert [h.id for h in backend.search(SearchQuery()).hits] == [1]


def _at(*points: tuple[float, float]) -> tuple[PlacePoint, ...]:
    return tuple(PlacePoint(lat, lon, "Seattle", "WA", "98101", "US") for lat, lon in points)


@pytest.mark.parametrize("text", ["", "acupuncturist"])
def test_a_practitioner_with_several_locations_counts_once_at_the_nearest_one_in_the_radius(
        backend: EmbeddedBackend, text: str) -> None:
    # Single-location practitioners are matched point by point, the others grouped: both in one order and total.
    near, far = (ORIGIN[0] + 0.01, ORIGIN[1]), (ORIGIN[0] + 0.2, ORIGIN[1])
    backend.reindex([
        _doc(1, *far),
        _doc(2, *ORIGIN, locations=_at(far, near)),  # both inside 30 km: once, at the near one
        _doc(3, *ORIGIN, locations=_at(near, (ORIGIN[0] + 3.0, ORIGIN[1]))),  # one inside, one 333 km away
        _doc(4, *ORIGIN, locations=_at((ORIGIN[0] + 3.0, ORIGIN[1]), (ORIGIN[0] - 3.0, ORIGIN[1]))),  # none inside
        _doc(5, *ORIGIN, locations=_at(near, near)),  # two addresses on one point
        _doc(6, *ORIGIN, locations=_at((ORIGIN[0] + 0.005, ORIGIN[1]))),
    ])
    page = backend.search(_near(radius_km=30, text=text, sort="distance"))
    assert [h.id for h in page.hits] == [6, 2, 3, 5, 1]
    assert page.total == 5 and page.facets["methods"] == {"filiform-needling": 5}
    assert page.hits[1].distance_km == pytest.approx(arc_distance_km(*quantize(*ORIGIN), *quantize(*near)))
    assert backend.search(_near(radius_km=500, text=text)).total == 6
    assert backend.search(SearchQuery(text=text)).total == 6


@pytest.mark.parametrize("text", ["", "acupuncturist"])
@pytest.mark.parametrize("sort", ["distance", "relevance", "rating"])
def test_a_practitioner_with_three_locations_or_more_counts_once_at_the_nearest_one_in_the_radius(
        backend: EmbeddedBackend, text: str, sort: str) -> None:
    # Their points are grouped: in the radius scan by GROUP BY, in a text search after the match (nearest_of_grouped).
    near, nearer, far = (ORIGIN[0] + 0.02, ORIGIN[1]), (ORIGIN[0] + 0.01, ORIGIN[1]), (ORIGIN[0] + 0.2, ORIGIN[1])
    away = [(ORIGIN[0] + 3.0, ORIGIN[1]), (ORIGIN[0] - 3.0, ORIGIN[1]), (ORIGIN[0], ORIGIN[1] + 4.0)]
    backend.reindex([
        _doc(1, *ORIGIN, locations=_at(far, near, nearer)),  # all inside 30 km: once, at the nearest
        _doc(2, *ORIGIN, locations=_at(away[0], near, away[1])),  # one inside
        _doc(3, *ORIGIN, locations=_at(*away)),  # none inside
        _doc(4, *ORIGIN, locations=_at(far, far, near, away[2])),  # two addresses on one point, one far away
        _doc(5, *ORIGIN, locations=_at((ORIGIN[0] + 0.005, ORIGIN[1]))),
    ])
    page = backend.search(_near(radius_km=30, text=text, sort=sort))
    assert page.total == 4 and page.facets["methods"] == {"filiform-needling": 4}
    assert sorted(h.id for h in page.hits) == [1, 2, 4, 5]
    distances = {h.id: h.distance_km for h in page.hits}
    for pid, point in ((1, nearer), (2, near), (4, near)):
        assert distances[pid] == pytest.approx(arc_distance_km(*quantize(*ORIGIN), *quantize(*point)))
    if sort == "distance":
        assert [h.id for h in page.hits] == [5, 1, 2, 4]
    assert backend.search(_near(radius_km=500, text=text)).total == 5
    assert backend.search(SearchQuery(text=text)).total == 5
    # The radius through the nearest point's Lucene edge: in or out on the nearest point alone.
    edge_km = arc_distance_km(*quantize(*ORIGIN), *quantize(*nearer))
    assert 1 in [h.id for h in backend.search(_near(radius_km=edge_km * 1.0001, text=text)).hits]
    assert 1 not in [h.id for h in backend.search(_near(radius_km=edge_km * 0.9999, text=text)).hits]


def _legacy_index(directory: Path, version: int, *ddl: str) -> Path:
    """Write an index file of an older schema ``version`` (its tables as ``ddl``); return its path."""
    path = directory / f"v{version}.db"
    with sqlite3.connect(path) as conn:
        for statement in ddl:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    return path


def test_an_index_of_schema_5_is_rebuilt_when_the_point_table_gained_its_location_count(tmp_path: Path) -> None:
    path = _legacy_index(tmp_path, 5, "CREATE TABLE point (band INTEGER, lon REAL, lat REAL, doc_id INTEGER, x REAL, "
                         "y REAL, z REAL, visible INTEGER, verified INTEGER, codes TEXT, "
                         "PRIMARY KEY (band, lon, lat, doc_id)) WITHOUT ROWID")
    backend = EmbeddedBackend(str(path))
    assert backend.ensure_index() is True
    backend.reindex([_doc(1, *ORIGIN, locations=_at(ORIGIN, (ORIGIN[0] + 0.01, ORIGIN[1])))])
    assert backend.search(_near()).total == 1
    backend.close()


def test_an_index_of_schema_6_is_rebuilt_when_the_point_table_gained_verified_and_grouped_keys(tmp_path: Path) -> None:
    path = _legacy_index(tmp_path, 6, "CREATE TABLE point (band INTEGER, lon REAL, lat REAL, doc_id INTEGER, x REAL, "
                         "y REAL, z REAL, others INTEGER, visible INTEGER, verified INTEGER, codes TEXT, "
                         "PRIMARY KEY (band, lon, lat, doc_id)) WITHOUT ROWID")
    backend = EmbeddedBackend(str(path))
    assert backend.ensure_index() is True
    assert backend.ensure_index() is False
    sites = _at(ORIGIN, (ORIGIN[0] + 0.01, ORIGIN[1]), (ORIGIN[0] + 0.02, ORIGIN[1]))
    backend.reindex([_doc(1, *ORIGIN, locations=sites[:2]), _doc(2, *ORIGIN, locations=sites)])
    page = backend.search(_near())
    assert (page.total, [h.distance_km for h in page.hits]) == (2, [0.0, 0.0])
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(point)")]
    assert "grouped" in columns and "others" not in columns
    backend.close()


def test_an_index_of_schema_7_is_rebuilt_when_the_text_probe_gained_the_sibling_site(tmp_path: Path) -> None:
    path = _legacy_index(tmp_path, 7, "CREATE TABLE point (band INTEGER, lon REAL, lat REAL, doc_id INTEGER, x REAL, "
                         "y REAL, z REAL, sx REAL, sy REAL, sz REAL, slat REAL, slon REAL, grouped INTEGER, "
                         "visible INTEGER, PRIMARY KEY (band, lon, lat, doc_id)) WITHOUT ROWID",
                         "CREATE INDEX point_doc ON point (doc_id, visible, grouped, x, y, z)")
    backend = EmbeddedBackend(str(path))
    assert backend.ensure_index() is True
    near = (ORIGIN[0] + 0.01, ORIGIN[1])
    backend.reindex([_doc(1, *ORIGIN, locations=_at((ORIGIN[0] + 0.1, ORIGIN[1]), near))])
    page = backend.search(_near(text="acupuncturist", sort="relevance"))
    assert page.total == 1
    assert page.hits[0].distance_km == pytest.approx(arc_distance_km(*quantize(*ORIGIN), *quantize(*near)))
    with sqlite3.connect(path) as conn:
        columns = [row[2] for row in conn.execute("PRAGMA index_info(point_doc)")]
    assert {"sx", "sy", "sz", "slat", "slon"} <= set(columns)
    backend.close()

"""Parity: the same documents and queries give the same ids, in the same order, on every backend.

The embedded case runs everywhere; Elasticsearch and OpenSearch run against real nodes
started once per session by engine/ (required when CI=true).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from directory.reviews.rating import RatingPrior, bayesian_average
from search import SearchBackend, SearchQuery, create_backend
from search.backends.cluster import ClusterBackend
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.geo import z_order_cell
from search.hours import dated_keys, open_keys
from search.types import Change, SearchUnavailable
from tests.support.radius_edge import edge_cases, lucene_total

BOSTON = (42.3601, -71.0589)
KM_LAT = 1 / 111.195  # degrees of latitude per km on Elasticsearch's sphere

MOXA = VocabularyTerm("moxibustion", "Moxibustion", ("moxa", "moxa therapy"))
NEEDLING = VocabularyTerm("filiform-needling", "Filiform needling", ("needling",))
CUPPING = VocabularyTerm("cupping", "Cupping", ("cupping therapy",))
BACK = VocabularyTerm("low-back-pain", "Low back pain", ("lumbago", "backache"))
NECK = VocabularyTerm("torticollis", "Torticollis", ("wry neck",))


def _north_of_boston(km: float, city: str = "Boston") -> PlacePoint:
    return PlacePoint(BOSTON[0] + km * KM_LAT, BOSTON[1], city, "MA", "02108", "US")


def _hours(point: PlacePoint, zone: str, *intervals: tuple[int, int, int]) -> PlacePoint:
    """Return ``point`` with weekly opening hours in ``zone``."""
    return replace(point, timezone=zone, hours=intervals)


MONDAY_9_TO_17 = (0, 9 * 60, 17 * 60)
MONDAY_EVENING = (0, 18 * 60, 20 * 60)
ZONES = ("America/New_York", "Europe/Zurich", "UTC")


def _doc(pid: int, first: str, last: str, points: list[PlacePoint], **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(id=pid, slug=f"p-{pid}", first_name=first, last_name=last, title="L.Ac.",
                                bio="Licensed acupuncturist.", gender="female", accepting_new_patients=True,
                                telehealth=False, hidden=False, vetting_status="verified", locations=tuple(points),
                                methods=(NEEDLING,), conditions=(BACK,), languages=("en",))
    base.update(kw)
    # The Bayesian average as the application computes it at indexing, with the default prior.
    base.setdefault("rating_bayes", bayesian_average(base.get("rating_average"), base.get("rating_count", 0), RatingPrior()))
    return practitioner_search_document(PractitionerSource(**base))


PORTLAND = (45.5152, -122.6784)


def _portland(km: float) -> PlacePoint:
    return PlacePoint(PORTLAND[0] + km * KM_LAT, PORTLAND[1], "Portland", "OR", "97204", "US")


DOCS = [
    _doc(1, "Ada", "Near", [_hours(_north_of_boston(1.0), "America/New_York", MONDAY_9_TO_17)], methods=(MOXA, NEEDLING), rating_average=4.5, rating_count=10),
    _doc(2, "Bo", "Mid", [_hours(_north_of_boston(5.0), "America/New_York", MONDAY_EVENING)], methods=(CUPPING,), conditions=(NECK,), languages=("en", "zh"),
         rating_average=5.0, rating_count=2, gender="male"),
    _doc(3, "Cy", "Inside", [_north_of_boston(24.9)], rating_average=3.0, rating_count=4, telehealth=True),
    _doc(4, "Di", "Outside", [_north_of_boston(25.1)]),
    # Two clinics: far one first; found through the near one, distance to the nearest.
    _doc(5, "Eve", "Twosites", [_hours(PlacePoint(40.7128, -74.0060, "New York", "NY", "10007", "US"), "America/New_York",
                                       MONDAY_9_TO_17), _north_of_boston(3.0)],
         methods=(MOXA,), bio="Moxibustion and warm needle for lumbago."),
    _doc(6, "Fay", "Pending", [_north_of_boston(2.0)], vetting_status="pending"),
    _doc(7, "Gus", "Suspended", [_north_of_boston(2.5)], vetting_status="suspended"),
    _doc(8, "Hal", "Hidden", [_north_of_boston(1.5)], hidden=True),
    _doc(9, "Zoë", "Ñúñez", [_hours(_north_of_boston(4.0, "Zürich Street"), "Europe/Zurich", MONDAY_9_TO_17)], vetting_status="expiring",
         languages=("es",), bio="Habla español. Zürich trained."),
    _doc(10, "李", "伟", [_north_of_boston(6.0)], languages=("zh",), methods=(CUPPING, MOXA)),
    # Antimeridian pair (Fiji) and the north pole pair.
    _doc(11, "Ike", "East", [PlacePoint(-16.80, 179.95, "Taveuni", "", "", "FJ")]),
    _doc(12, "Jo", "West", [PlacePoint(-16.80, -179.95, "Taveuni", "", "", "FJ")]),
    _doc(13, "Kai", "Pole", [PlacePoint(89.95, 0.0, "North", "", "", "NO")]),
    _doc(14, "Lu", "Pole", [PlacePoint(89.95, 180.0, "North", "", "", "NO")]),
    # The README's worked example (How ratings are ranked), nearest first so distance cannot explain the order.
    _doc(15, "Max", "Onefive", [_portland(1.0)], rating_average=5.0, rating_count=1),
    _doc(16, "Ned", "Sixfourseven", [_portland(2.0)], rating_average=4.7, rating_count=6),
    _doc(17, "Oda", "Fortyfourfive", [_portland(3.0)], rating_average=4.5, rating_count=40),
    _doc(18, "Pia", "Unreviewed", [_portland(0.5)]),
    _doc(19, "Quy", "Threefour", [_portland(4.0)], rating_average=4.0, rating_count=3),
    _doc(20, "Rex", "Fourfour", [_portland(5.0)], rating_average=4.0, rating_count=4),
]


def _near_boston(**kw: Any) -> SearchQuery:
    return SearchQuery(lat=BOSTON[0], lon=BOSTON[1], **kw)


# (name, query, expected ids in order, expected total)
CASES: list[tuple[str, SearchQuery, list[int]]] = [
    ("radius edge: 24.9 in, 25.1 out", _near_boston(radius_km=25), [1, 5, 9, 2, 10, 3]),
    ("unverified included when asked, verified first", _near_boston(radius_km=25, verified_only=False),
     [1, 5, 9, 2, 10, 3, 6]),
    ("wider radius reaches the 25.1 km one", _near_boston(radius_km=26), [1, 5, 9, 2, 10, 3, 4]),
    ("method filter", _near_boston(methods=("moxibustion",)), [1, 5, 10]),
    ("OR within a kind", _near_boston(methods=("moxibustion", "cupping")), [1, 5, 2, 10]),
    ("AND across kinds", _near_boston(methods=("cupping",), conditions=("torticollis",)), [2]),
    ("language filter", _near_boston(languages=("zh",)), [2, 10]),
    ("gender and telehealth flags", _near_boston(gender="female", telehealth=True), [3]),
    ("synonym typed as text", _near_boston(text="moxa"), [1, 5, 10]),
    ("condition synonym", _near_boston(text="lumbago", radius_km=5), [1, 5, 9]),
    ("accents folded", _near_boston(text="zurich"), [9]),
    ("unicode name", _near_boston(text="Ñúñez"), [9]),
    ("query syntax is only data", _near_boston(text='moxa" OR (*:\\ AND'), []),
    ("nothing matches", _near_boston(text="homeopathy"), []),
    ("pagination page 2", _near_boston(per_page=2, page=2), [9, 2]),
    # Bayesian averages (prior 4.0 weighing 5 reviews): 4.5 from ten (4.33) before 5.0 from two (4.29).
    ("sort by rating", _near_boston(sort="rating"), [1, 2, 3, 5, 9, 10]),
    # 40 x 4.5 (4.44), 6 x 4.7 (4.38), 1 x 5 (4.17), then 4.0 from four before 4.0 from three, unreviewed last.
    ("sort by Bayesian rating", SearchQuery(lat=PORTLAND[0], lon=PORTLAND[1], radius_km=10, sort="rating"),
     [17, 16, 15, 20, 19, 18]),
    ("one 5-star review is not page 1's top", SearchQuery(lat=PORTLAND[0], lon=PORTLAND[1], radius_km=10,
                                                          sort="rating", per_page=2, page=2), [15, 20]),
    ("antimeridian", SearchQuery(lat=-16.80, lon=179.99, radius_km=20), [11, 12]),
    ("antimeridian from the west", SearchQuery(lat=-16.80, lon=-179.99, radius_km=20), [12, 11]),
    ("north pole", SearchQuery(lat=90.0, lon=0.0, radius_km=10), [13, 14]),
    ("no origin, everywhere", SearchQuery(methods=("moxibustion",)), [1, 5, 10]),
    # Monday 15:00 UTC: 10:00 in Boston and New York, 16:00 in Zurich. Eve is open through her New York clinic.
    ("open now, each location in its own zone", _near_boston(open_keys=open_keys(ZONES, datetime(2026, 1, 5, 15))),
     [1, 5, 9]),
    # Monday 23:30 UTC: 18:30 in Boston (the evening hours), already Tuesday in Zurich.
    ("open now in the evening", _near_boston(open_keys=open_keys(ZONES, datetime(2026, 1, 5, 23, 30))), [2]),
    ("open now, summer time", _near_boston(open_keys=open_keys(ZONES, datetime(2026, 7, 6, 20, 59))), [1, 5]),
    ("open now with no zone in use", _near_boston(open_keys=()), []),
]


@contextlib.contextmanager
def _loaded_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str,
                    docs: list[dict[str, Any]]) -> Iterator[SearchBackend]:
    """Yield a backend of the kind ``request.param`` names (an embedded file of its own, or a ``name`` index)
    holding ``docs``; close it afterwards."""
    kind = request.param
    if kind == "embedded":
        instance = create_backend("embedded", path=str(Path(tmp_path_factory.mktemp(name)) / "s.db"))
    else:
        url = request.getfixturevalue("elasticsearch_url" if kind == "elasticsearch" else "opensearch_url")
        instance = create_backend(kind, url=url, index_prefix=f"{name}-{kind}")
    try:
        instance.ensure_index()
        instance.reindex(iter(docs))
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module", params=["embedded", "elasticsearch", "opensearch"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchBackend]:
    """Return a backend of each kind loaded with DOCS."""
    with _loaded_backend(request, tmp_path_factory, "parity", DOCS) as instance:
        yield instance


@pytest.mark.parametrize(("name", "query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_same_ids_in_the_same_order(backend: SearchBackend, name: str, query: SearchQuery, expected: list[int]) -> None:
    page = backend.search(query)
    assert [h.id for h in page.hits] == expected, name


def test_distances_are_to_the_nearest_location(backend: SearchBackend) -> None:
    page = backend.search(_near_boston(radius_km=25))
    distances = {h.id: h.distance_km for h in page.hits}
    assert distances[1] == pytest.approx(1.0, abs=0.01)
    assert distances[5] == pytest.approx(3.0, abs=0.01)
    assert distances[3] == pytest.approx(24.9, abs=0.01)


def test_totals_and_facets(backend: SearchBackend) -> None:
    page = backend.search(_near_boston(per_page=2))
    assert page.total == 6
    assert page.facets["methods"] == {"moxibustion": 3, "filiform-needling": 3, "cupping": 2}
    assert page.facets["languages"] == {"en": 4, "zh": 2, "es": 1}
    assert page.facets["vetting_status"] == {"verified": 5, "expiring": 1}


def test_only_the_asked_facets_are_counted_and_the_page_stays_the_same(backend: SearchBackend) -> None:
    every = backend.search(_near_boston(per_page=2))
    some = backend.search(_near_boston(per_page=2, facets=("languages",)))
    none = backend.search(_near_boston(per_page=2, facets=()))
    assert some.facets == {"languages": {"en": 4, "zh": 2, "es": 1}}
    assert none.facets == {}
    for page in (some, none):
        assert (page.total, page.hits) == (every.total, every.hits)


def test_relevance_puts_name_matches_before_bio_matches(backend: SearchBackend) -> None:
    page = backend.search(_near_boston(text="moxibustion", sort="relevance"))
    ids = [h.id for h in page.hits]
    assert set(ids) == {1, 5, 10}
    assert ids.index(5) == 0, "moxibustion in vocabulary and bio outranks vocabulary only"


def test_updates_and_deletes_apply(backend: SearchBackend) -> None:
    moved = dict(DOCS[3], locations=[{"lat": BOSTON[0], "lon": BOSTON[1]}])
    result = backend.apply([Change(4, moved), Change(6, None)])
    assert sorted(result.acknowledged) == [4, 6] and not result.failed
    if hasattr(backend, "refresh"):
        backend.refresh()
    ids = [h.id for h in backend.search(_near_boston(radius_km=25, verified_only=False)).hits]
    assert ids[0] == 4 and 6 not in ids
    backend.apply([Change(4, DOCS[3]), Change(6, DOCS[5])])
    if hasattr(backend, "refresh"):
        backend.refresh()


DENVER = (39.7392, -104.9903)
WEEKDAYS_9_TO_17 = tuple((day, 9 * 60, 17 * 60) for day in range(5))
HOLIDAY, SUNDAY = date(2026, 12, 7), date(2026, 12, 6)  # a Monday, and the Sunday before it


def _denver(km: float, *exceptions: tuple[date, tuple[tuple[int, int], ...]]) -> PlacePoint:
    return PlacePoint(DENVER[0] + km * KM_LAT, DENVER[1], "Denver", "CO", "80202", "US", timezone="America/Denver",
                      hours=WEEKDAYS_9_TO_17, exceptions=exceptions)


DATED_DOCS = [
    _doc(201, "Hol", "Iday", [_denver(1.0, (HOLIDAY, ()))]),  # closed on the Monday
    _doc(202, "Sun", "Day", [_denver(2.0, (SUNDAY, ((600, 720),)))]),  # open 10:00-12:00 on the Sunday
    _doc(203, "Two", "Clinics", [_denver(3.0, (HOLIDAY, ())), _denver(3.5)]),  # one clinic closed, the other open
]


def _open_near_denver(at: datetime, dated: bool = True) -> SearchQuery:
    zones = ["America/Denver"]
    return SearchQuery(lat=DENVER[0], lon=DENVER[1], radius_km=10, open_keys=open_keys(zones, at),
                       dated_keys=dated_keys(zones, at) if dated else ())


@pytest.fixture(scope="module", params=["embedded", "elasticsearch", "opensearch"])
def dated_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchBackend]:
    """Return a backend of each kind holding DATED_DOCS."""
    with _loaded_backend(request, tmp_path_factory, "parity-dated", DATED_DOCS) as instance:
        yield instance


@pytest.mark.parametrize(("name", "query", "expected"), [
    # 10:00 in Denver (MST) is 17:00 UTC.
    ("a holiday closes one clinic, not the practitioner's other one", _open_near_denver(datetime(2026, 12, 7, 17)),
     [202, 203]),
    ("special hours open a Sunday", _open_near_denver(datetime(2026, 12, 6, 17)), [202]),
    ("special hours end at noon", _open_near_denver(datetime(2026, 12, 6, 19, 30)), []),
    ("the day after, the week again", _open_near_denver(datetime(2026, 12, 8, 17)), [201, 202, 203]),
    ("without dated keys the week alone decides", _open_near_denver(datetime(2026, 12, 7, 17), dated=False),
     [201, 202, 203]),
])
def test_dated_exceptions_decide_open_now_alike(dated_backend: SearchBackend, name: str, query: SearchQuery,
                                               expected: list[int]) -> None:
    page = dated_backend.search(query)
    assert ([h.id for h in page.hits], page.total) == (expected, len(expected)), name


# The query of issue #15 item 7, which once totalled one more on Elasticsearch than on the embedded backend.
EDGE_ORIGIN = (40.75453, -73.97612)


@pytest.fixture(scope="module", params=["embedded", "elasticsearch", "opensearch"])
def edge_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchBackend, list[float], list[int]]]:
    """Return a backend of each kind holding points a hair from the radii asked, with those radii and Lucene's totals."""
    points, radii = edge_cases(EDGE_ORIGIN, 200, 7)
    docs = [_doc(100 + i, "Ed", f"Edge{i}", [PlacePoint(lat, lon, "New York", "NY", "10017", "US")])
            for i, (lat, lon) in enumerate(points)]
    with _loaded_backend(request, tmp_path_factory, "parity-edge", docs) as instance:
        yield instance, radii, [lucene_total(EDGE_ORIGIN, points, r) for r in radii]


def test_points_a_hair_from_the_radius_count_the_same_on_every_backend(
        edge_backend: tuple[SearchBackend, list[float], list[int]]) -> None:
    # Each radius passes within half a micrometre of one point: Elasticsearch measures from the origin on Lucene's
    # grid (OpenSearch from the origin as sent, so the app sends the encoded one), and both round with Lucene's
    # sloppy cosine, which the embedded backend replays at the edge.
    backend, radii, expected = edge_backend
    totals = [backend.search(SearchQuery(lat=EDGE_ORIGIN[0], lon=EDGE_ORIGIN[1], radius_km=r, sort="distance",
                                         verified_only=True, per_page=1)).total for r in radii]
    assert totals == expected


def test_suggest_completes_names(backend: SearchBackend) -> None:
    assert "Ada Near" in backend.suggest("ad")


def test_replace_keeps_query_immutable() -> None:
    q = _near_boston()
    assert replace(q, page=2).page == 2 and q.page == 1


@pytest.mark.parametrize("kind", ["embedded", "elasticsearch", "opensearch"])
def test_a_missing_index_is_unavailable_not_a_crash(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind == "embedded":
        instance = create_backend("embedded", path=str(tmp_path / "never-built.db"))
    else:
        url = request.getfixturevalue("elasticsearch_url" if kind == "elasticsearch" else "opensearch_url")
        instance = create_backend(kind, url=url, index_prefix=f"never-built-{kind}")
    try:
        with pytest.raises(SearchUnavailable):
            instance.search(_near_boston())
    finally:
        instance.close()


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_the_engines_keep_their_index_in_geo_cell_order(kind: str, request: pytest.FixtureRequest) -> None:
    """Built and rebuilt indexes are sorted by each document's Z-order cell, and the documents carry it."""
    url = request.getfixturevalue(f"{kind}_url")
    instance = create_backend(kind, url=url, index_prefix=f"ordered-{kind}")
    assert isinstance(instance, ClusterBackend)
    admin = instance.engine.admin
    try:
        for build in (instance.ensure_index, lambda: instance.reindex(iter(DOCS))):
            build()
            (settings,) = dict(admin.indices.get_settings(index=instance.alias)).values()
            assert settings["settings"]["index"]["sort"] == {"field": "geo_cell", "order": "asc"}
        instance.engine.refresh(instance.alias)
        (found,) = dict(admin.search(index=instance.alias, body={"query": {"ids": {"values": ["11"]}}}))["hits"]["hits"]
        assert found["_source"]["geo_cell"] == z_order_cell(-16.80, 179.95)  # Ike East's only location
        assert instance.ensure_index() is False
    finally:
        for index in instance.engine.alias_targets(instance.alias):
            instance.engine.delete_index(index)
        instance.close()

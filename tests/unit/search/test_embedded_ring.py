"""The embedded backend's shortcuts for dense radius searches, pinned to the plain rule they stand in for.

A distance page is sorted from a small ring of the circle (search/backends/embedded_query.py: ring_radius_km),
and the circle is read as per-band longitude ranges (band_ranges): each case compares pages, totals and facets
with a brute-force sort of every document by exact distance.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import pytest

from search.backends.embedded import EmbeddedBackend
from search.backends.embedded_query import (
    BAND_PER_DEGREE,
    RING_MAX_GROWTH,
    RING_START,
    band_ranges,
    next_ring_km,
    ring_radius_km,
    window,
)
from search.documents import PlacePoint, PractitionerSource, VocabularyTerm, practitioner_search_document
from search.geo import arc_distance_km, distance_query_sort_key, haversin_sort_key, quantize
from search.types import EARTH_RADIUS_KM, Change, SearchQuery

ORIGIN = (40.7128, -74.0060)
NEEDLING = VocabularyTerm("filiform-needling", "Filiform needling", ("needling",))
CUPPING = VocabularyTerm("cupping", "Cupping", ("cupping therapy",))


def _at(lat: float, lon: float) -> PlacePoint:
    return PlacePoint(lat, lon, "New York", "NY", "10007", "US")


def _doc(pid: int, *points: tuple[float, float], **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(id=pid, slug=f"p-{pid}", first_name="Ann", last_name=f"Lee{pid}", title="L.Ac.",
                                bio="Licensed acupuncturist.", gender="female", accepting_new_patients=True,
                                telehealth=False, hidden=False, vetting_status="verified",
                                locations=tuple(_at(*p) for p in points), methods=(NEEDLING,), conditions=(),
                                languages=("en",))
    base.update(kw)
    return practitioner_search_document(PractitionerSource(**base))


def _north(km: float) -> tuple[float, float]:
    """Return the point ``km`` due north of the origin (on the engines' sphere)."""
    return ORIGIN[0] + math.degrees(km / EARTH_RADIUS_KM), ORIGIN[1]


def _expected(docs: list[dict[str, Any]], q: SearchQuery) -> list[int]:
    """Return every matching id in the engines' order: verified first, then exact distance, then id."""
    origin = quantize(q.lat or 0.0, q.lon or 0.0)
    ranked = []
    for d in docs:
        if not d["visible"] or (q.verified_only and not d["verified"]) or not d["locations"]:
            continue
        if q.methods and not set(q.methods) & set(d["methods"]):
            continue
        distance = min(arc_distance_km(*origin, *quantize(p["lat"], p["lon"])) for p in d["locations"])
        if distance <= q.radius_km:
            ranked.append((not d["verified"], distance, d["id"]))
    return [pid for *_, pid in sorted(ranked)]


def _pages(backend: EmbeddedBackend, q: SearchQuery, pages: int) -> list[int]:
    return [h.id for n in range(1, pages + 1) for h in backend.search(replace(q, page=n)).hits]


def _dense(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Return a city: most practitioners within 5 km, the rest out to 60 km; some pending, some with two sites."""
    docs = []
    for pid in range(1, count + 1):
        km = rng.uniform(0, 5) if rng.random() < 0.7 else rng.uniform(5, 60)
        bearing = rng.uniform(0, 2 * math.pi)
        point = (ORIGIN[0] + math.degrees(km / EARTH_RADIUS_KM) * math.cos(bearing),
                 ORIGIN[1] + math.degrees(km / EARTH_RADIUS_KM) * math.sin(bearing) / math.cos(math.radians(ORIGIN[0])))
        points = [point] if rng.random() < 0.7 else [point, (point[0] + rng.uniform(-0.5, 0.5), point[1] + 0.3)]
        docs.append(_doc(pid, *points, vetting_status=rng.choice(["verified", "verified", "verified", "pending"]),
                         methods=(NEEDLING, CUPPING) if rng.random() < 0.4 else (NEEDLING,)))
    # Five practitioners in one building, at the page boundaries of the ring's order: equal distances, by id.
    docs += [_doc(pid, _north(1.0)) for pid in range(9001, 9006)]
    return docs


@pytest.mark.parametrize("verified_only", [True, False])
@pytest.mark.parametrize("sort", ["distance", "relevance"])  # relevance without text orders by distance
def test_distance_pages_from_the_ring_are_slices_of_the_whole_circles_order(
        backend: EmbeddedBackend, verified_only: bool, sort: Any) -> None:
    docs = _dense(random.Random(5), 1500)
    backend.reindex(docs)
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=50, per_page=9, verified_only=verified_only, sort=sort)
    expected = _expected(docs, q)
    assert ring_radius_km(q, len(expected), sum(window(replace(q, page=4)))) is not None, "the ring is used"
    assert _pages(backend, q, 4) == expected[:36]
    page = backend.search(replace(q, page=3))
    assert page.total == len(expected)
    assert page.facets["methods"]["filiform-needling"] == len(expected)
    filtered = replace(q, methods=("cupping",))
    assert _pages(backend, filtered, 3) == _expected(docs, filtered)[:27]


def test_a_ring_short_of_rows_grows_by_the_area_it_lacked_between_double_and_eight_times() -> None:
    assert next_ring_km(1.0, 30, 120) == pytest.approx(math.sqrt(3.0 * 120 / 30))  # a quarter of the rows: ~3.5x
    assert next_ring_km(1.0, 100, 120) == 2.0  # nearly enough: at least doubled
    assert next_ring_km(1.0, 0, 120) == RING_MAX_GROWTH  # an empty ring: at most eight times
    assert next_ring_km(2.0, 120, 120) == 4.0  # enough rows, but the last one pending: doubled


def test_the_first_ring_is_smaller_than_an_even_spread_asks_for() -> None:
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=100)
    assert ring_radius_km(q, 93_892, 30) == pytest.approx(100 * math.sqrt(3.0 * 30 / 93_892) / RING_START)
    assert ring_radius_km(q, 200, 30) is None  # even spread would need more than half the radius: the whole circle


def test_a_hollow_circle_is_paged_through_rings_grown_past_the_even_spread_one(backend: EmbeddedBackend) -> None:
    # Nobody within 30 km, then a town at 30-31 km and the rest out to 50: every ring until the town's holds nothing.
    rng = random.Random(3)
    docs = [_doc(pid, _north(30 + rng.random())) for pid in range(1, 60)]
    docs += [_doc(pid, _north(31 + 19 * rng.random())) for pid in range(60, 2000)]
    backend.reindex(docs)
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=50, per_page=10)
    first = ring_radius_km(q, len(docs), sum(window(replace(q, page=3))))
    assert first is not None and first * RING_START < 30
    assert _pages(backend, q, 3) == _expected(docs, q)[:30]
    assert backend.search(q).total == len(docs)


@pytest.mark.parametrize("shift", [-1e-9, 0.0, 1e-9])
def test_the_last_row_a_page_needs_at_the_ring_radius_is_found_inside_or_by_the_doubled_ring(
        backend: EmbeddedBackend, shift: float) -> None:
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=50, per_page=20)
    start, size = window(q)
    total = 1000
    ring = ring_radius_km(q, total, start + size)
    assert ring is not None
    # The window's 29 first rows well inside the first ring, its 30th (the last one the page needs) on the ring's
    # edge, the rest beyond it: the ring holds exactly the window, or one row short of it.
    docs = [_doc(pid, _north(ring * 0.03 * pid)) for pid in range(1, start + size)]
    docs.append(_doc(500, _north(ring * (1 + shift))))
    docs += [_doc(1000 + pid, _north(ring + 1 + pid * 0.01)) for pid in range(total - len(docs))]
    backend.reindex(docs)
    expected = _expected(docs, q)
    assert len(expected) == total
    assert _pages(backend, q, 3) == expected[:60]
    assert backend.search(q).total == total


def test_a_practitioner_with_sites_inside_and_outside_the_ring_counts_once_at_the_nearest(
        backend: EmbeddedBackend) -> None:
    docs = [_doc(pid, _north(20 + pid * 0.01)) for pid in range(1, 400)]
    docs.append(_doc(777, _north(40.0), _north(0.5), _north(1.5)))  # nearest first in the whole circle
    docs.append(_doc(778, _north(0.7), _north(0.7)))  # two addresses on one point
    backend.reindex(docs)
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=50, per_page=5)
    page = backend.search(q)
    assert [h.id for h in page.hits][:2] == [777, 778]
    assert page.total == 401 and page.facets["methods"] == {"filiform-needling": 401}
    assert page.hits[0].distance_km == pytest.approx(arc_distance_km(*quantize(*ORIGIN), *quantize(*_north(0.5))))
    assert _pages(backend, q, 6) == _expected(docs, q)[:30]


@pytest.mark.parametrize("origin", [(40.7, -74.0), (64.1, -21.9), (-33.9, 151.2), (0.0, 179.95), (-0.3, -179.9),
                                    (89.2, 10.0), (-88.9, -120.0)])
@pytest.mark.parametrize("km", [0.3, 5.0, 100.0, 500.0])
def test_the_band_ranges_hold_every_point_of_the_circle(origin: tuple[float, float], km: float) -> None:
    rng = random.Random(hash((origin, km)))
    ranges = band_ranges(*origin, km)
    for _ in range(3000):
        # Points up to the radius (a quarter of them on its very edge), in every direction.
        d = km * (1.0 if rng.random() < 0.25 else math.sqrt(rng.random()))
        lat, lon = _destination(origin, d, rng.uniform(0, 2 * math.pi))
        if arc_distance_km(*origin, lat, lon) > km:
            continue
        band = math.floor(lat * BAND_PER_DEGREE)
        assert sum(b == band and lo <= lon <= hi for b, lo, hi, _ in ranges) == 1, (lat, lon)


@pytest.mark.parametrize("origin", [(40.7, -74.0), (64.1, -21.9), (-33.9, 151.2), (0.0, 179.95), (-0.3, -179.9),
                                    (89.2, 10.0), (-88.9, -120.0), (70.0, 0.0)])
@pytest.mark.parametrize("km", [1.0, 5.0, 100.0, 500.0])
def test_every_point_of_an_inner_range_is_inside_the_radius_by_lucenes_own_test(
        origin: tuple[float, float], km: float) -> None:
    rng = random.Random(hash((origin, km, "inner")))
    inner = [(b, lo, hi) for b, lo, hi, flag in band_ranges(*origin, km) if flag]
    assert inner or km <= 10 or abs(origin[0]) > 85  # a band is 11 km tall: smaller circles have no inner range
    key = distance_query_sort_key(km * 1000)
    for band, lo, hi in inner:
        # The corners of the range (where the circle comes closest) and random points inside it.
        corners = [(band / BAND_PER_DEGREE, lo), (band / BAND_PER_DEGREE, hi), (math.nextafter((band + 1) / BAND_PER_DEGREE, 0), lo),
                   (math.nextafter((band + 1) / BAND_PER_DEGREE, 0), hi)]
        randoms = [(rng.uniform(band, band + 1) / BAND_PER_DEGREE, rng.uniform(lo, hi)) for _ in range(20)]
        for lat, lon in corners + randoms:
            point = quantize(lat, lon)
            assert haversin_sort_key(*origin, *point) <= key, (band, lat, lon)
            assert arc_distance_km(*origin, *point) < km


def _destination(origin: tuple[float, float], km: float, bearing: float) -> tuple[float, float]:
    """Return the point ``km`` from ``origin`` along ``bearing`` (radians) on the engines' sphere."""
    phi1, lmb1, delta = math.radians(origin[0]), math.radians(origin[1]), km / EARTH_RADIUS_KM
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(bearing))
    lmb2 = lmb1 + math.atan2(math.sin(bearing) * math.sin(delta) * math.cos(phi1),
                             math.cos(delta) - math.sin(phi1) * math.sin(phi2))
    return math.degrees(phi2), (math.degrees(lmb2) + 540) % 360 - 180


def test_a_ring_crowded_with_pending_practitioners_is_widened_until_it_holds_the_verified_ones(
        backend: EmbeddedBackend) -> None:
    # Verified practitioners come first at any distance: a ring full of nearer pending ones is not enough.
    docs = [_doc(pid, _north(0.001 * pid), vetting_status="pending") for pid in range(1, 901)]
    docs += [_doc(1000 + pid, _north(10 + 0.3 * pid)) for pid in range(100)]
    backend.reindex(docs)
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=50, verified_only=False)
    assert ring_radius_km(q, len(docs), sum(window(q))) is not None
    expected = _expected(docs, q)
    assert expected[0] == 1000
    assert _pages(backend, q, 7) == expected[:140]


@pytest.mark.parametrize("text", ["", "acupuncturist"])  # the radius scan, and the text probe by document
@pytest.mark.parametrize("radius_km", [50.0, 0.9])
def test_documents_with_two_or_three_sites_count_once_at_the_nearest_one_inside(
        backend: EmbeddedBackend, radius_km: float, text: str) -> None:
    # Two sites: the nearer row stands for the document; three: grouped. Sites on either side of the origin at
    # one distance tie: either one gives the same distance.
    east = (ORIGIN[0], ORIGIN[1] + 0.01)
    west = (ORIGIN[0], ORIGIN[1] - 0.01)
    docs = [_doc(pid, _north(0.2 + pid * 0.001)) for pid in range(1, 300)]
    docs += [_doc(801, _north(0.8), _north(0.3)), _doc(802, _north(0.85), _north(30), _north(0.35)),
             _doc(803, east, west), _doc(804, east, west, _north(45)), _doc(805, _north(60), _north(70)),
             _doc(806, _north(60), _north(70), _north(80)), _doc(807, _north(0.6), _north(49.9), _north(0.5))]
    backend.reindex(docs)
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=radius_km, per_page=10, verified_only=False, text=text)
    expected = _expected(docs, q)
    page = backend.search(q)
    assert page.total == len(expected)
    assert page.facets["vetting_status"] == {"verified": len(expected)}
    seen = [h for n in range(1, len(expected) // 10 + 2) for h in backend.search(replace(q, page=n)).hits]
    assert [h.id for h in seen] == expected
    origin = quantize(*ORIGIN)
    nearest = {d["id"]: min(arc_distance_km(*origin, *quantize(p["lat"], p["lon"])) for p in d["locations"])
               for d in docs}
    assert [h.distance_km for h in seen] == [nearest[h.id] for h in seen]
    assert backend.search(SearchQuery(per_page=1, verified_only=False)).total == len(docs)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("radius_km", [50.0, 4.0])
def test_a_counted_pair_of_sites_counts_once_whichever_of_the_two_lies_inside(
        backend: EmbeddedBackend, radius_km: float, threads: int) -> None:
    # The count (and its facets) keeps a two-site document at its first site by (lat, lon) when that one is inside,
    # else at the other one when that one is: each case here, on each side of the origin and of the radius,
    # inside an inner range (no distance computed) or near the edge (Lucene's test), counted whole or in shards.
    r = radius_km
    pairs = {
        901: (_north(0.3 * r), _north(-0.4 * r)),  # both inside, the first (southern) one nearer
        902: (_north(0.2 * r), _north(-0.9 * r)),  # both inside, the second one nearer
        903: (_north(0.5 * r), _north(-1.3 * r)),  # only the second (northern) one inside
        904: (_north(-0.5 * r), _north(1.3 * r)),  # only the first one inside
        905: (_north(1.2 * r), _north(-1.4 * r)),  # neither
        906: (_north(r * (1 - 1e-7)), _north(-r * (1 + 1e-7))),  # a hair inside and a hair outside the edge
        907: (_north(-r * (1 - 1e-7)), _north(r * (1 + 1e-7))),
        908: (_north(r * 0.999), _north(-r * 0.999)),  # both inside, a hair from the edge
    }
    docs = [_doc(pid, *sites, methods=(CUPPING,) if pid % 2 else (NEEDLING,)) for pid, sites in pairs.items()]
    docs += [_doc(pid, _north(r * pid / 400)) for pid in range(1, 300)]
    backend.reindex(docs)
    counted = EmbeddedBackend(backend.path, threads=threads)
    try:
        q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=r, per_page=10, verified_only=False,
                        facets=("methods", "vetting_status"))
        expected = _expected(docs, q)
        assert {901, 902, 903, 904} <= set(expected) and 905 not in expected, "the cases are what they say"
        page = counted.search(q)
        assert page.total == len(expected)
        cupping = sum(1 for pid in expected if pid in pairs and pid % 2)
        assert page.facets["methods"] == {"cupping": cupping, "filiform-needling": len(expected) - cupping}
        assert page.facets["vetting_status"] == {"verified": len(expected)}
        assert (counted._helpers is not None) == (threads > 1), "counted in shards with two threads"
    finally:
        counted.close()


def test_an_update_that_adds_or_removes_sites_moves_the_document_between_pairs_and_groups(
        backend: EmbeddedBackend) -> None:
    backend.reindex([_doc(1, _north(3.0))])
    q = SearchQuery(lat=ORIGIN[0], lon=ORIGIN[1], radius_km=10)
    origin = quantize(*ORIGIN)
    for sites in ([_north(3.0), _north(2.0)], [_north(3.0), _north(2.0), _north(1.0)], [_north(30.0), _north(4.0)],
                  [_north(30.0)]):
        backend.apply([Change(1, _doc(1, *sites))])
        page = backend.search(q)
        inside = [arc_distance_km(*origin, *quantize(*s)) for s in sites if arc_distance_km(*origin, *quantize(*s)) <= 10]
        assert page.total == (1 if inside else 0)
        assert [h.distance_km for h in page.hits] == ([min(inside)] if inside else [])

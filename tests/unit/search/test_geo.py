"""Great-circle arithmetic: Lucene's quantization, arc distances, and the boxes that prefilter a radius."""

from __future__ import annotations

import math
import random
import struct

import pytest

from search.geo import (
    arc_distance_km,
    bounding_boxes,
    distance_query_sort_key,
    haversin_sort_key,
    quantize,
    sloppy_cos,
    z_order_cell,
)
from search.types import EARTH_RADIUS_KM

BOSTON = (42.3601, -71.0589)
NEW_YORK = (40.7128, -74.0060)
TAVEUNI_EAST = (-16.8, 179.95)
TAVEUNI_WEST = (-16.8, -179.95)
Box = tuple[float, float, float, float]


def _random_points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    return [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(n)]


def _destination(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` away from (lat, lon) along ``bearing_deg``, on the same sphere, lon in [-180, 180)."""
    phi, lmb, theta, delta = math.radians(lat), math.radians(lon), math.radians(bearing_deg), km / EARTH_RADIUS_KM
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi),
                            math.cos(delta) - math.sin(phi) * math.sin(phi2))
    return math.degrees(phi2), (math.degrees(lmb2) + 180) % 360 - 180


def _inside(boxes: list[Box], lat: float, lon: float) -> bool:
    return any(min_lat <= lat <= max_lat and min_lon <= lon <= max_lon for min_lat, max_lat, min_lon, max_lon in boxes)


# quantize


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(0.0, 0.0), BOSTON, NEW_YORK, TAVEUNI_EAST, TAVEUNI_WEST, (89.95, 180.0), (-1e-300, -1e-300),
     (90.0, 180.0), (-90.0, -180.0), (90.0, -180.0), (-90.0, 180.0)],
)
def test_quantize_is_idempotent_and_within_1e7_degrees(lat: float, lon: float) -> None:
    q_lat, q_lon = quantize(lat, lon)
    assert quantize(q_lat, q_lon) == (q_lat, q_lon)
    assert abs(q_lat - lat) < 1e-7
    assert abs(q_lon - lon) < 1e-7


def test_quantize_is_idempotent_and_close_on_random_points() -> None:
    for lat, lon in _random_points(random.Random(1), 2000):
        q = quantize(lat, lon)
        assert quantize(*q) == q
        assert abs(q[0] - lat) < 1e-7 and abs(q[1] - lon) < 1e-7


def test_quantize_rounds_down_like_lucene() -> None:
    for lat, lon in _random_points(random.Random(1), 500):
        q_lat, q_lon = quantize(lat, lon)
        assert q_lat <= lat and q_lon <= lon


def test_quantize_edges_stay_in_range_without_overflow() -> None:
    assert quantize(-90.0, -180.0) == (-90.0, -180.0)
    q_lat, q_lon = quantize(90.0, 180.0)
    assert (q_lat, q_lon) == ((2**31 - 1) * 180.0 / 2**32, (2**31 - 1) * 360.0 / 2**32)
    assert 90.0 - 1e-7 < q_lat < 90.0
    assert 180.0 - 1e-7 < q_lon < 180.0


def test_quantize_keeps_zero() -> None:
    assert quantize(0.0, 0.0) == (0.0, 0.0)


# arc_distance_km


@pytest.mark.parametrize("point", [(0.0, 0.0), BOSTON, TAVEUNI_EAST, (90.0, 0.0), (-90.0, 45.0), (10.0, -180.0)])
def test_distance_to_the_same_point_is_zero(point: tuple[float, float]) -> None:
    assert arc_distance_km(*point, *point) == 0.0


def test_boston_to_new_york() -> None:
    assert arc_distance_km(*BOSTON, *NEW_YORK) == pytest.approx(306, abs=1)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((0.0, 0.0), (0.0, 1.0), math.pi * EARTH_RADIUS_KM / 180),
        ((0.0, 0.0), (1.0, 0.0), math.pi * EARTH_RADIUS_KM / 180),
        ((0.0, 0.0), (90.0, 0.0), math.pi * EARTH_RADIUS_KM / 2),
        ((0.0, 0.0), (0.0, 180.0), math.pi * EARTH_RADIUS_KM),
        ((45.0, 30.0), (-45.0, -150.0), math.pi * EARTH_RADIUS_KM),
        ((90.0, 0.0), (90.0, 123.0), 0.0),
    ],
)
def test_known_distances_on_the_sphere(a: tuple[float, float], b: tuple[float, float], km: float) -> None:
    assert arc_distance_km(*a, *b) == pytest.approx(km, abs=1e-6)


@pytest.mark.parametrize(("a", "b"), [(BOSTON, NEW_YORK), (TAVEUNI_EAST, TAVEUNI_WEST), ((89.9, 10.0), (-12.5, -170.0))])
def test_distance_is_symmetric(a: tuple[float, float], b: tuple[float, float]) -> None:
    assert arc_distance_km(*a, *b) == pytest.approx(arc_distance_km(*b, *a), abs=1e-9)


def test_distance_is_symmetric_on_random_pairs() -> None:
    rng = random.Random(1)
    for a, b in zip(_random_points(rng, 500), _random_points(rng, 500), strict=True):
        assert arc_distance_km(*a, *b) == pytest.approx(arc_distance_km(*b, *a), abs=1e-9)


def test_antimeridian_neighbours_are_close() -> None:
    km = arc_distance_km(*TAVEUNI_EAST, *TAVEUNI_WEST)
    assert 10.5 < km < 10.8
    assert km == pytest.approx(arc_distance_km(*TAVEUNI_EAST, TAVEUNI_WEST[0], TAVEUNI_WEST[1] + 360), abs=1e-9)


# bounding_boxes


def test_one_box_normally() -> None:
    boxes = bounding_boxes(*BOSTON, 25)
    assert len(boxes) == 1
    min_lat, max_lat, min_lon, max_lon = boxes[0]
    dlat = math.degrees(25 / EARTH_RADIUS_KM)
    assert BOSTON[0] - min_lat == pytest.approx(dlat, rel=2e-3)
    assert max_lat - BOSTON[0] == pytest.approx(dlat, rel=2e-3)
    # Longitude degrees shrink with latitude, so the box is wider in degrees than it is tall.
    assert min_lon < BOSTON[1] < max_lon
    assert max_lon - BOSTON[1] == pytest.approx(BOSTON[1] - min_lon)
    assert max_lon - BOSTON[1] > dlat


@pytest.mark.parametrize("center", [TAVEUNI_EAST, TAVEUNI_WEST, (0.0, 180.0), (0.0, -180.0)])
def test_two_boxes_across_the_antimeridian(center: tuple[float, float]) -> None:
    boxes = bounding_boxes(*center, 20)
    assert len(boxes) == 2
    east, west = boxes
    assert east[3] == 180.0 and west[2] == -180.0
    assert all(-180.0 <= b[2] <= b[3] <= 180.0 for b in boxes)
    for lon in (179.95, 180.0, -180.0, -179.95):
        assert _inside(boxes, center[0], lon)
    assert not _inside(boxes, center[0], 0.0)


@pytest.mark.parametrize(("center", "radius_km"), [((89.95, 0.0), 25), ((89.95, 180.0), 25), ((-89.9, 10.0), 50),
                                                  ((88.0, -70.0), 500), ((90.0, 0.0), 1)])
def test_one_full_longitude_box_near_a_pole(center: tuple[float, float], radius_km: float) -> None:
    boxes = bounding_boxes(*center, radius_km)
    assert len(boxes) == 1
    min_lat, max_lat, min_lon, max_lon = boxes[0]
    assert (min_lon, max_lon) == (-180.0, 180.0)
    assert -90.0 <= min_lat < max_lat <= 90.0
    assert max_lat == 90.0 if center[0] > 0 else min_lat == -90.0


def test_box_latitudes_never_pass_the_poles() -> None:
    (box,) = bounding_boxes(89.95, 0.0, 500)
    assert (box[0], box[1]) == (pytest.approx(89.95 - math.degrees(500 * 1.001 / EARTH_RADIUS_KM)), 90.0)


@pytest.mark.parametrize(
    "center",
    [BOSTON, TAVEUNI_EAST, TAVEUNI_WEST, (0.0, 180.0), (0.0, 0.0), (89.95, 0.0), (-89.9, 10.0), (60.0, 179.0),
     (-75.0, -179.5), (85.0, 100.0)],
)
@pytest.mark.parametrize("radius_km", [0.5, 25, 500])
def test_every_point_within_the_radius_lies_in_a_box(center: tuple[float, float], radius_km: float) -> None:
    rng = random.Random(1)
    boxes = bounding_boxes(*center, radius_km)
    for _ in range(300):
        lat, lon = _destination(*center, rng.uniform(0, 360), radius_km * math.sqrt(rng.random()))
        assert arc_distance_km(*center, lat, lon) <= radius_km + 1e-6
        assert _inside(boxes, lat, lon), (center, radius_km, lat, lon, boxes)


def test_points_at_the_edge_of_random_circles_lie_in_a_box() -> None:
    rng = random.Random(1)
    for lat, lon in _random_points(rng, 300):
        radius_km = rng.uniform(0.1, 500)
        boxes = bounding_boxes(lat, lon, radius_km)
        for _ in range(40):
            point = _destination(lat, lon, rng.uniform(0, 360), radius_km * rng.choice([1.0, rng.random()]))
            assert _inside(boxes, *point), (lat, lon, radius_km, point, boxes)


def test_random_points_in_range_lie_in_a_box() -> None:
    rng = random.Random(1)
    centers = _random_points(rng, 50)
    for lat, lon in centers:
        radius_km = rng.uniform(50, 500)
        boxes = bounding_boxes(lat, lon, radius_km)
        dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
        for _ in range(400):
            p_lat = max(-90.0, min(90.0, lat + rng.uniform(-dlat, dlat)))
            p_lon = (lon + rng.uniform(-180, 180) + 180) % 360 - 180
            if arc_distance_km(lat, lon, p_lat, p_lon) <= radius_km:
                assert _inside(boxes, p_lat, p_lon), (lat, lon, radius_km, p_lat, p_lon, boxes)


# -- Lucene's radius test (the replica the embedded backend applies at the edge) -----------------------------------

def test_sloppy_cosine_is_within_lucenes_stated_error() -> None:
    rng = random.Random(11)
    for a in [0.0, 1e-9, 7.85e-4, math.pi / 2, math.pi, 3.0, -2.5] + [rng.uniform(-7, 7) for _ in range(2000)]:
        assert abs(sloppy_cos(a) - math.cos(a)) <= 2e-15, a


def test_sort_key_is_one_minus_cos_of_the_angle_with_three_bits_cleared() -> None:
    rng = random.Random(12)
    for lat, lon in _random_points(rng, 200):
        other = _destination(lat, lon, rng.uniform(0, 360), rng.uniform(0.1, 400))
        key = haversin_sort_key(lat, lon, *other)
        angle = arc_distance_km(lat, lon, *other) / EARTH_RADIUS_KM
        assert key == pytest.approx(2 * math.sin(angle / 2) ** 2, rel=1e-6, abs=1e-14)
        assert struct.unpack("<q", struct.pack("<d", key))[0] & 0b111 == 0


@pytest.mark.parametrize("radius_m", [1.0, 500.0, 5000.0, 25_000.0, 500_000.0])
def test_the_radius_key_measures_the_radius_or_is_the_first_key_beyond_it(radius_m: float) -> None:
    key = distance_query_sort_key(radius_m)
    below = struct.unpack("<d", struct.pack("<q", struct.unpack("<q", struct.pack("<d", key))[0] - 1))[0]

    def metres(sort_key: float) -> float:  # SloppyMath.haversinMeters, operations in its order
        return 6_371_008.7714 * 2 * math.asin(min(1.0, math.sqrt(sort_key * 0.5)))

    # As GeoUtils.distanceQuerySortKey: a key found at exactly the radius, else the first one past it.
    assert metres(key) == radius_m or metres(key) > radius_m > metres(below)


def _slow_z_order(lat: float, lon: float) -> int:
    """Bit-by-bit interleaving of the 16-bit cell coordinates (x in the even bits, y in the odd ones)."""
    x = min(int((lon + 180.0) / 360.0 * 65536), 65535)
    y = min(int((lat + 90.0) / 180.0 * 65536), 65535)
    return sum(((x >> i) & 1) << (2 * i) | ((y >> i) & 1) << (2 * i + 1) for i in range(16))


def test_z_order_cell_interleaves_the_cell_coordinates() -> None:
    rng = random.Random(5)
    points = [(-90.0, -180.0), (90.0, 180.0), (0.0, 0.0), BOSTON, NEW_YORK, TAVEUNI_EAST, TAVEUNI_WEST]
    points += [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(2000)]
    for lat, lon in points:
        assert z_order_cell(lat, lon) == _slow_z_order(lat, lon)
    assert z_order_cell(-90.0, -180.0) == 0
    assert z_order_cell(90.0, 180.0) == (1 << 32) - 1  # the poles and the antimeridian stay in range


def test_z_order_cells_of_one_area_are_close_and_far_areas_apart() -> None:
    rng = random.Random(9)
    boston = [z_order_cell(BOSTON[0] + rng.uniform(-0.05, 0.05), BOSTON[1] + rng.uniform(-0.05, 0.05))
              for _ in range(200)]
    new_york = z_order_cell(*NEW_YORK)
    # Within about 5 km of Boston: a span of cells far smaller than the distance to New York's.
    assert max(boston) - min(boston) < abs(new_york - min(boston)) / 10

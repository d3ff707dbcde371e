"""Points a hair from a search radius, and how many of them Lucene's radius test keeps (for parity tests)."""

from __future__ import annotations

import math
import random

from search.geo import arc_distance_km, distance_query_sort_key, haversin_sort_key, quantize
from search.types import EARTH_RADIUS_KM


def edge_cases(origin_sent: tuple[float, float], n: int, seed: int) -> tuple[list[tuple[float, float]], list[float]]:
    """Return ``n`` points 4.9-5.1 km from the (encoded) origin and, per point, a radius within 1e-10 of its distance."""
    origin = quantize(*origin_sent)
    rng = random.Random(seed)
    points = [quantize(*destination(*origin, rng.uniform(0, 360), rng.uniform(4.9, 5.1))) for _ in range(n)]
    radii = [arc_distance_km(*origin, *p) * (1 + rng.uniform(-1e-10, 1e-10)) for p in points]
    return points, radii


def lucene_total(origin_sent: tuple[float, float], points: list[tuple[float, float]], radius_km: float) -> int:
    """Return how many points Lucene's radius test keeps (search.geo's replica of it)."""
    key = distance_query_sort_key(radius_km * 1000)
    return sum(haversin_sort_key(*quantize(*origin_sent), *p) <= key for p in points)


def destination(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """Return the point ``km`` from (lat, lon) along ``bearing_deg`` on the engines' sphere."""
    phi, lmb, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    delta = km / EARTH_RADIUS_KM
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2))
    return math.degrees(phi2), math.degrees(lmb2)

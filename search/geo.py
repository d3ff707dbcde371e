"""Great-circle distance and bounding boxes, matching Elasticsearch's arithmetic."""

from __future__ import annotations

import math

from search.types import EARTH_RADIUS_KM

# Lucene stores a geo_point as two 32-bit integers (GeoEncodingUtils); the embedded
# backend stores the same quantized values, so distances agree to the last digit.
_LAT_DECODE = 180.0 / (1 << 32)
_LON_DECODE = 360.0 / (1 << 32)


def quantize(lat: float, lon: float) -> tuple[float, float]:
    """Return (lat, lon) as Lucene's LatLonPoint encodes and decodes them."""
    lat_enc = min(math.floor(lat / _LAT_DECODE), (1 << 31) - 1)
    lon_enc = min(math.floor(lon / _LON_DECODE), (1 << 31) - 1)
    return lat_enc * _LAT_DECODE, lon_enc * _LON_DECODE


def arc_distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the haversine distance in km (Elasticsearch's "arc" distance type)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_boxes(lat: float, lon: float, radius_km: float) -> list[tuple[float, float, float, float]]:
    """Return (min_lat, max_lat, min_lon, max_lon) boxes covering the circle.

    Two boxes when the circle crosses the antimeridian; the full longitude range
    when it reaches a pole. Boxes are a prefilter: exact distance decides.
    """
    margin = 1.001  # stay generous: the exact distance test does the real filtering
    dlat = math.degrees(radius_km * margin / EARTH_RADIUS_KM)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90:
        return [(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)]
    dlon = math.degrees(math.asin(min(1.0, math.sin(math.radians(dlat)) / math.cos(math.radians(lat)))))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180:
        return [(min_lat, max_lat, min_lon + 360, 180.0), (min_lat, max_lat, -180.0, max_lon)]
    if max_lon > 180:
        return [(min_lat, max_lat, min_lon, 180.0), (min_lat, max_lat, -180.0, max_lon - 360)]
    return [(min_lat, max_lat, min_lon, max_lon)]

"""Great-circle distance and bounding boxes, matching Elasticsearch's arithmetic."""

from __future__ import annotations

import math
import struct
import sys
from functools import lru_cache

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


CELL_BITS = 16  # per axis: cells of 1/65,536 of the longitude and latitude ranges (about 600 m by 300 m)


def z_order_cell(lat: float, lon: float) -> int:
    """Return the Z-order (Morton) number of the grid cell holding (lat, lon): near places get near numbers.

    The engines keep their index sorted by it (search.backends.cluster), so the practitioners of one area sit side by
    side on disk and a search around a place reads their doc values in a few runs instead of one by one.
    """
    top = (1 << CELL_BITS) - 1
    x = min(int((lon + 180.0) / 360.0 * (top + 1)), top)
    y = min(int((lat + 90.0) / 180.0 * (top + 1)), top)
    return _spread(x) | (_spread(y) << 1)


def _spread(value: int) -> int:
    """Return ``value``'s 16 bits spaced one apart (bit i moves to bit 2i), for interleaving."""
    value = (value | (value << 8)) & 0x00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F
    value = (value | (value << 2)) & 0x33333333
    return (value | (value << 1)) & 0x55555555


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


# -- Lucene's own radius test ------------------------------------------------------------------------------------
# Elasticsearch and OpenSearch decide a geo_distance radius with Lucene's SloppyMath: a document matches when
# haversinSortKey(origin, point) <= distanceQuerySortKey(radius). Its table-based cosine and the cancellation in
# 1 - cos(angle) put the key off the exact haversine by up to ~1e-15 (absolute), so a point within a few
# micrometres of the radius can be in on one side and out on the other. The embedded backend asks this replica
# for exactly those points (org.apache.lucene.util.SloppyMath and geo.GeoUtils, same operations in the same order).

def _bits(value: int) -> float:
    """Return the double whose IEEE-754 bits are ``value`` (Java's Double.longBitsToDouble)."""
    return float(struct.unpack("<d", struct.pack("<q", value))[0])


def _raw(value: float) -> int:
    """Return the IEEE-754 bits of ``value`` (Java's Double.doubleToRawLongBits)."""
    return int(struct.unpack("<q", struct.pack("<d", value))[0])


_TO_METERS = 6_371_008.7714
_PIO2_HI = _bits(0x3FF921FB54400000)
_PIO2_LO = _bits(0x3DD0B4611A626331)
_TABS = (1 << 11) + 1
_DELTA_HI = 4 * _PIO2_HI / (_TABS - 1)
_DELTA_LO = 4 * _PIO2_LO / (_TABS - 1)
_INDEXER = 1 / (_DELTA_HI + _DELTA_LO)
_MAX_FOR_INT_MODULO = ((((1 << 31) - 1) >> 9) / _INDEXER) * 0.99


def _sin_cos_tables() -> tuple[list[float], list[float]]:
    """Return SloppyMath's sine and cosine tables (exact zeros at multiples of pi/2)."""
    sines, cosines = [], []
    pi_index = (_TABS - 1) // 2
    for i in range(_TABS):
        angle = i * _DELTA_HI + i * _DELTA_LO
        sines.append(0.0 if i in (pi_index, 2 * pi_index) else math.sin(angle))
        cosines.append(0.0 if i in (pi_index // 2, 3 * pi_index // 2) else math.cos(angle))
    return sines, cosines


_SIN_TAB, _COS_TAB = _sin_cos_tables()


def sloppy_cos(a: float) -> float:
    """Return SloppyMath.cos(a): a table value refined by four Taylor terms."""
    a = abs(a)
    if a > _MAX_FOR_INT_MODULO:
        return math.cos(a)
    index = int(a * _INDEXER + 0.5)
    delta = (a - index * _DELTA_HI) - index * _DELTA_LO
    index &= _TABS - 2
    c, s = _COS_TAB[index], _SIN_TAB[index]
    return c + delta * (-s + delta * (-c * 0.5 + delta * (s * (1 / 6.0) + delta * c * (1 / 24.0))))


def haversin_sort_key(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return Lucene's SloppyMath.haversinSortKey (1 - cos of the angle, low three bits cleared)."""
    x1, x2 = math.radians(lat1), math.radians(lat2)
    h1 = 1 - sloppy_cos(x1 - x2)
    h2 = 1 - sloppy_cos(math.radians(lon1 - lon2))
    h = h1 + sloppy_cos(x1) * sloppy_cos(x2) * h2
    return _bits(_raw(h) & ~0b111)


def _haversin_meters(sort_key: float) -> float:
    """Return the distance in metres of a sort key (SloppyMath.haversinMeters).

    With the exact asin: Lucene's table asin differs from it by a unit in the last place or so at a search
    radius's small angles, which moves the threshold below by as little, far less than the cosine's error.
    """
    return _TO_METERS * 2 * math.asin(min(1.0, math.sqrt(sort_key * 0.5)))


@lru_cache(maxsize=256)
def distance_query_sort_key(radius_m: float) -> float:
    """Return Lucene's GeoUtils.distanceQuerySortKey: the largest sort key a match may have (bisection on bits)."""
    lo, hi = 0, _raw(sys.float_info.max)
    while lo <= hi:
        mid = (lo + hi) >> 1
        mid_radius = _haversin_meters(_bits(mid))
        if mid_radius == radius_m:
            return _bits(mid)
        if mid_radius > radius_m:
            hi = mid - 1
        else:
            lo = mid + 1
    return _bits(lo)

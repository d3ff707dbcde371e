"""The embedded backend's match SQL: which point rows a search reads, and how it orders and cuts a page.

Pure functions over a SearchQuery; nothing here opens a connection. The backend (search/backends/embedded.py)
runs what they build.

How a radius search reads few rows at 1M practitioners (a dense 100 km search around New York matches ~94k):

* ``point`` is clustered on (0.1° latitude band, verified, grouped, longitude): each band of the circle is one
  contiguous range per (verified, grouped) pair, cut to the circle's own longitude extent in that band, not to
  the circle's bounding box (a box around Hartford reached into Manhattan). A verified-only search never reads
  an unverified row. Documents with one or two locations are matched row by row (of two, the nearer row stands
  for the document); only the rows of documents with three or more are grouped, in a disjoint scan.
* Inside a band's inner range (inside the radius at every latitude of the band) no distance is tested.
* For ``sort=distance`` the page comes from a small ring first (see ``ring_radius_km``): a COUNT of the whole
  circle gives the total, and only the ring's few matches are sorted.
* What stays linear in the matches: reading each matching row once (~0.3 µs), concatenating its facet codes,
  and for text the probe of each word match's points (~1.3 µs) and bm25, whose IDF step reads every posting of
  every phrase of the query (the words and the cell words) once per search.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from search.geo import arc_distance_km, bounding_boxes, distance_query_sort_key
from search.query import TEXT_FIELDS, engine_origin, text_terms
from search.types import EARTH_RADIUS_KM, SearchHit, SearchQuery

Row = tuple[Any, ...]
CodeLookup = Callable[[str, str], "str | None"]

BAND_PER_DEGREE = 10
# A practitioner without a location still has one row (no coordinates) in a band no radius reaches.
NO_POINT_BAND = 10_000
CODED_KINDS = ("methods", "conditions", "languages")
# Each facet kind's codes live in a column of their own: a facet count scans only its kind's characters.
CODE_COLUMNS = {"methods": "method_codes", "conditions": "condition_codes", "languages": "language_codes",
                "vetting_status": "status_code"}
# Points whose squared chord is this close to the radius's (relative, plus absolute) get Lucene's own radius test
# (search/geo.py): its sloppy cosine puts points a few micrometres from the edge on the other side of it.
EDGE = 1e-9
EDGE_ABS = 1e-13
# The margin bounding_boxes() adds to a radius: the per-band longitude ranges stay as generous.
RANGE_MARGIN = 1.001
# A band range is "inner" (no distance tested) only inside this much less than the radius (relative; ~1 m at
# 100 km, against rounding errors of micrometres), and only for radii of a kilometre or more.
INNER_MARGIN = 1e-5
INNER_MIN_KM = 1.0
# Each location is also a word of the full-text index's ``cells`` column: its 0.5° cell. A text
# search near a place matches the words AND the cells around it, so FTS5 only scores (bm25)
# the practitioners nearby, not every practitioner in the country who mentions "sciatica".
CELLS_PER_DEGREE = 2
MAX_CELLS = 64
TEXT_COLUMNS = "{name vocabulary places bio}"
# What a word of the cells column looks like (see _cells in embedded.py), broadly: a "g" and digits of any script.
# A typed word like it keeps the column filter, so it never matches a place.
CELL_WORD = re.compile(r"g\w*\d\w*")
# Rows on either side of the page re-sorted by exact distance, so near-ties order as on the engines.
SORT_MARGIN = 10
BM25_WEIGHTS = ", ".join(f"{TEXT_FIELDS[c]:g}" for c in ("name", "vocabulary", "places", "bio")) + ", 0"
# The ring holds about this many times the rows a page needs (matches are rarely spread evenly), and is only
# tried when it is clearly smaller than the circle.
RING_SLACK = 3.0
RING_MAX_SHARE = 0.5
# Matches crowd a city's centre: around midtown Manhattan the ring an even spread asks for (3.1 km for a page of
# 30 among 94k matches in 100 km) held 14k rows, and sorting them was a fifth of the search. The first ring is this
# much smaller (its area 64 times), and a ring short of rows grows by the area it lacks, at least doubling, at most
# RING_MAX_GROWTH times: a sparse centre costs a few small rings, each cheaper than the next.
RING_START = 8.0
RING_MAX_GROWTH = 8.0
# ``grouped``: a text search's rows of a document with three locations or more, until nearest_of_grouped() runs.
MATCH_COLUMNS = ("id, d2, lat, lon, score, verified, rating_bayes, rating_count, " + ", ".join(CODE_COLUMNS.values())
                 + ", grouped")


@dataclass(frozen=True)
class Shard:
    """One of ``of`` disjoint shares of a match, which the backend runs at once on as many connections.

    A radius scan without text reads the latitude bands with ``band % of == index`` (bands are 0.1°, so the shares
    of any circle wider than a few bands hold about as many rows each, however its matches crowd); a text search
    reads the documents with ids in ``(low_id, high_id]`` (a document's points all stay in one share, and FTS5 reads
    only that range of its postings).
    """

    index: int
    of: int
    low_id: int = 0
    high_id: int = 0


def window(q: SearchQuery) -> tuple[int, int]:
    """Return (first row, number of rows) of the sorted matches the page is cut from, with SORT_MARGIN each side."""
    start = max(0, q.offset - SORT_MARGIN)
    return start, q.offset - start + q.per_page + SORT_MARGIN


def match_sql(q: SearchQuery, code: CodeLookup, ring_km: float | None = None,
              shard: Shard | None = None) -> tuple[str, list[Any]]:
    """Return the SELECT of every matching doc, one row each with MATCH_COLUMNS (see match_parts)."""
    with_clause, with_params, parts = match_parts(q, code, ring_km, shard)
    return with_clause + " UNION ALL ".join(sql for sql, _ in parts), [*with_params, *(v for _, p in parts for v in p)]


def match_parts(q: SearchQuery, code: CodeLookup, ring_km: float | None = None,
                shard: Shard | None = None, *,
                count_only: bool = False) -> tuple[str, list[Any], list[tuple[str, list[Any]]]]:
    """Return the WITH clause, its parameters, and the disjoint parts of the match (each a SELECT, parameters).

    With ``ring_km`` only the matches whose nearest point lies within ``ring_km`` (a plain squared-chord test,
    strictly inside the radius's Lucene band) of the origin: a subset of the full match, its rows unchanged.

    A document with one or two locations is matched point by point: of two, the point nearer the origin (its
    row carries the other one) stands for the document. Only the points of documents with three or more are
    grouped (nearest point per document). A text search keeps every point of a grouped document in the match
    table, and nearest_of_grouped() then reduces them to the nearest one.

    With ``shard`` only that share of the match (see Shard; a radius scan's shard holds at least one band).

    ``count_only`` (a radius scan that is only counted, with its facets): of a document's two points the one
    first by (lat, lon) stands for it when it is inside, the other one only when the first is not. The same
    documents, each once, as "the nearer point, when inside" (the radius test only grows with the squared chord),
    but a point inside an inner range is kept without computing a distance at all, and of two such points only
    the second computes its sibling's: the pair test of two chords per point was a third of a dense count's time.
    The rows' d2 and (lat, lon) are then no longer the nearest point's: only a count may use them.
    """
    terms = text_terms(q)
    params: list[Any] = []
    d2, radius, first = "NULL", "", "(p.lat < p.slat OR (p.lat = p.slat AND p.lon < p.slon))"
    d2_params: list[Any] = []
    radius_params: list[Any] = []
    near: list[Any] = []
    if q.has_origin:
        lat, lon = engine_origin(q)
        x, y, z = unit_vector(lat, lon)
        d2 = "(p.x - ?) * (p.x - ?) + (p.y - ?) * (p.y - ?) + (p.z - ?) * (p.z - ?)"
        d2_params = [x, x, y, y, z, z]
        if ring_km is None:
            radius, radius_params = radius_test(q, "p.")
            near = [radius_params[1]]
        else:
            inner, _ = edge_band(q.radius_km)
            radius, radius_params = "d2 <= ?", [min(chord2_of(ring_km), inner)]
            near = radius_params
        # Of two locations the one with the smaller squared chord (as min() over them would pick), on a tie the
        # first by (lat, lon).
        sibling = d2.replace("p.x", "p.sx").replace("p.y", "p.sy").replace("p.z", "p.sz")
        first = f"(d2 < {sibling} OR (d2 = {sibling} AND {first}))"
    filters = _filters(q, code, params)
    probe = _open_now(q)
    columns = ", ".join(f"p.{c}" for c in CODE_COLUMNS.values())
    sibling_params = [*d2_params, *d2_params]  # the sibling's squared chord appears twice in the pair test
    if count_only and q.has_origin and ring_km is None and not terms:
        sibling = d2.replace("p.x", "p.sx").replace("p.y", "p.sy").replace("p.z", "p.sz")
        sibling_radius, sibling_radius_params = radius_test(q, "p.s")
        # radius_test reads the alias d2 twice: the sibling's chord is written out at both places instead.
        first_of_two, rest = sibling_radius.split("d2", 1)
        sibling_radius = f"{first_of_two}({sibling}){rest.replace('d2', f'({sibling})')}"
        inner_chord, outer_chord, *lucene_params = sibling_radius_params
        first = f"(p.lat < p.slat OR (p.lat = p.slat AND p.lon < p.slon) OR NOT {sibling_radius})"
        sibling_params = [*d2_params, inner_chord, *d2_params, outer_chord, *lucene_params]
    if terms:
        return "", [], [_text_sql(q, terms, ["p.visible", *filters], probe, params,
                                  (d2, d2_params, radius, radius_params), (first, sibling_params), columns, shard)]
    verified = "p.verified = 1" if q.verified_only else "p.verified IN (1, 0)"
    # A grouped document's points may lie in several bands, so the grouped scan is never split: the first shard
    # runs it over every band (``g``), the others not at all.
    grouped_here = shard is None or shard.index == 0
    with_clause, range_params = "", []
    if q.has_origin:
        ranges = band_ranges(*engine_origin(q), q.radius_km if ring_km is None else ring_km)
        tables = [("r", ranges)]
        if shard is not None:
            # A shard of a circle narrower than its number of shards may hold no band: then a range matching nothing.
            mine = [r for r in ranges if r[0] % shard.of == shard.index] or [(NO_POINT_BAND, 0.0, -1.0, 0)]
            tables = [("r", mine), *([("g", ranges)] if grouped_here else [])]
        with_clause = "WITH " + ", ".join(f"{name}(band, lo, hi, inner) AS (VALUES {', '.join('(?, ?, ?, ?)' for _ in rs)})"
                                          for name, rs in tables) + " "
        range_params = [v for _, rs in tables for r in rs for v in r]

    def source(grouped: int) -> str:
        """Return the FROM and WHERE of one of the two disjoint scans (point by point, or grouped)."""
        rows = f"{verified} AND p.grouped = {grouped}"
        if q.has_origin:
            r = "g" if grouped and shard is not None else "r"
            return f"{r} CROSS JOIN point p ON p.band = {r}.band AND {rows} AND p.lon BETWEEN {r}.lo AND {r}.hi WHERE"
        return f"point p WHERE {rows} AND"

    # Cheapest first: the filters on the row itself (instr rejects most rows of a filtered search), the squared
    # chord, the pair test (a second one), the open-now probe.
    select = f"p.lat, p.lon, 0.0 AS score, p.verified, p.rating_bayes, p.rating_count, {columns}, 0 AS grouped"
    pointwise = " AND ".join(["p.visible", *filters, *([f"(r.inner OR {radius})"] if radius else []),
                              f"(p.sx IS NULL OR {first})",
                              *probe])
    singles = f"SELECT p.doc_id AS id, {d2} AS d2, {select} FROM {source(0)} {pointwise}"  # noqa: S608
    # min() makes SQLite take the bare columns (lat, lon) from the nearest point of each document.
    grouped_where = " AND ".join(["p.visible", *filters, *([f"{d2} <= ?"] if near else []), *probe])
    grouped = (f"SELECT p.doc_id AS id, min({d2}) AS d2, {select} FROM {source(1)} {grouped_where} "  # noqa: S608
               "GROUP BY p.doc_id" + (f" HAVING {radius}" if radius else ""))
    return (with_clause, range_params,
            [(singles, [*d2_params, *params, *radius_params, *sibling_params]),
             *([(grouped, [*d2_params, *params, *(d2_params if near else []), *near, *radius_params])]
               if grouped_here else [])])


def radius_test(q: SearchQuery, prefix: str) -> tuple[str, list[Any]]:
    """Return the radius test on a row's ``d2`` and ``{prefix}lat``/``lon`` (a query with an origin), and its parameters.

    Inside the radius's squared chord less the edge margin: in; beyond it plus the margin: out; between the two, a
    hair from the edge, Lucene's own test decides (search/geo.py).
    """
    lat, lon = engine_origin(q)
    inner, outer = edge_band(q.radius_km)
    return (f"(d2 <= ? OR (d2 <= ? AND lucene_key(?, ?, {prefix}lat, {prefix}lon) <= ?))",
            [inner, outer, lat, lon, distance_query_sort_key(q.radius_km * 1000)])


def edge_band(radius_km: float) -> tuple[float, float]:
    """Return the squared chords a hair inside and outside the radius (EDGE), between which Lucene's test decides."""
    chord2 = chord2_of(radius_km)
    margin = chord2 * EDGE + EDGE_ABS
    return chord2 - margin, chord2 + margin


def nearest_of_grouped(q: SearchQuery) -> list[tuple[str, list[Any]]]:
    """Return the statements that finish a text search's match in ``temp.m`` (see _text_sql).

    Of each grouped document's rows only the nearest stays (min() takes the rowid from the row of the least d2);
    with an origin it is then dropped when it lies outside the radius, as the engines test a document by its
    nearest point.
    """
    statements: list[tuple[str, list[Any]]] = [
        ("DELETE FROM temp.m WHERE grouped AND rowid NOT IN "
         "(SELECT rowid FROM (SELECT rowid, min(d2) FROM temp.m WHERE grouped GROUP BY id))", [])]
    if q.has_origin:
        radius, params = radius_test(q, "")
        statements.append((f"DELETE FROM temp.m WHERE grouped AND NOT {radius}", params))  # noqa: S608 (ours)
    return statements


def _text_sql(q: SearchQuery, terms: list[str], where: list[str], probe: list[str], params: list[Any],
              distance: tuple[str, list[Any], str, list[Any]], pair: tuple[str, list[Any]],
              columns: str, shard: Shard | None = None) -> tuple[str, list[Any]]:
    """Return the match of a text search: the words' matches first, each probing its points by document.

    As in the radius scan, of a document's two points only the nearer is kept (``pair``); only the points of
    documents with three or more are grouped.
    """
    d2, d2_params, radius, radius_params = distance
    first, first_params = pair
    # Scored only when the order needs it. Each word is a quoted FTS5 string: user text is data, never syntax.
    rank = f"-bm25(doc_fts, {BM25_WEIGHTS})" if q.sort == "relevance" else "0.0"
    box_where: list[str] = []
    box_params: list[Any] = []
    if q.has_origin:
        lat, lon = engine_origin(q)
        boxes = []
        for min_lat, max_lat, min_lon, max_lon in bounding_boxes(lat, lon, q.radius_km):
            bands = range(math.floor(min_lat * BAND_PER_DEGREE), math.floor(max_lat * BAND_PER_DEGREE) + 1)
            boxes.append(f"(p.band IN ({', '.join(str(b) for b in bands)}) AND p.lon BETWEEN ? AND ? "
                         "AND p.lat BETWEEN ? AND ?)")
            box_params += [min_lon, max_lon, min_lat, max_lat]
        box_where = [f"({' OR '.join(boxes)})"]
    if q.verified_only:
        box_where.append("p.verified")
    near_params = []
    if radius:  # a point beyond the radius's Lucene band is never a document's match
        box_where.append("d2 <= ?")
        near_params = [radius_params[1]]
    # A grouped document's points all stay in the match for now, each tested only against the radius's outer band
    # (``d2 <= ?`` above); nearest_of_grouped() then keeps the nearest one and tests it. Every other point is
    # tested against the radius here.
    edge = [f"(p.grouped OR {radius})"] if radius else []
    condition = " AND ".join([*where, *box_where, f"(p.grouped OR p.sx IS NULL OR {first})", *edge, *probe])
    # CROSS JOIN keeps the words' matches the outer loop, INDEXED BY the probe by document: without statistics
    # SQLite otherwise scans the radius's boxes once per match (seconds at 1M). The score is computed only for the
    # points that pass every filter (bm25 was a third of a dense search). The rows go straight into the match
    # table: grouping them here (a materialized CTE read twice, the grouped half through GROUP BY) cost 2-7% of
    # the slowest text searches at 1M ("sciatica" 50 km around Manhattan, 23k matches: 134 ms, now 125).
    sql = (f"SELECT p.doc_id AS id, {d2} AS d2, p.lat AS lat, p.lon AS lon, "  # noqa: S608
           f"{rank} AS score, p.verified AS verified, p.rating_bayes AS rating_bayes, p.rating_count AS rating_count, "
           f"{columns}, p.grouped AS grouped FROM doc_fts CROSS JOIN point p INDEXED BY point_doc "
           f"ON p.doc_id = doc_fts.rowid WHERE doc_fts MATCH ? "
           + ("AND doc_fts.rowid > ? AND doc_fts.rowid <= ? " if shard else "") + f"AND {condition}")
    ids = [shard.low_id, shard.high_id] if shard else []
    return sql, [*d2_params, fts_query(terms, q), *ids, *params, *box_params, *near_params, *first_params,
                 *(radius_params if radius else [])]


def _filters(q: SearchQuery, code: CodeLookup, params: list[Any]) -> list[str]:
    """Return the conditions of the query's filters but open-now on a point ``p``; append their parameters."""
    where = []
    for kind in CODED_KINDS:
        values = getattr(q, kind)
        if values:
            codes = [c for v in values if (c := code(kind, v))]
            column = CODE_COLUMNS[kind]
            where.append("(" + " OR ".join(f"instr(p.{column}, ?) > 0" for _ in codes) + ")" if codes else "0")
            params += codes
    for column in ("gender", "accepting_new_patients", "telehealth", "wheelchair_accessible"):
        value = getattr(q, column)
        if value is not None:
            where.append(f"p.{column} = ?")
            params.append(value)
    return where


def _open_now(q: SearchQuery) -> list[str]:
    """Return the open-now condition on a point ``p`` (a probe per point: tested after every cheaper one)."""
    if q.open_keys is None:
        return []
    if not q.open_keys:
        return ["0"]
    weekly = ("EXISTS (SELECT 1 FROM open_hours o JOIN temp.open_key k ON k.key >= o.low AND k.key < o.high "
              "WHERE o.doc_id = p.doc_id)")
    if not q.dated_keys:
        return [weekly]
    # As search/query.py build_open_now: the week, unless a dated exception closes it; or a dated exception opens it.
    dated = ("EXISTS (SELECT 1 FROM open_dated d JOIN temp.dated_key k ON k.key >= d.low AND k.key < d.high "
             "WHERE d.doc_id = p.doc_id AND d.closed = {})")
    return [f"(({weekly} AND NOT {dated.format(1)}) OR {dated.format(0)})"]


def band_ranges(lat: float, lon: float, radius_km: float) -> list[tuple[int, float, float, int]]:
    """Return (band, min_lon, max_lon, inner) ranges covering the circle: per band, the circle's widest extent in it.

    On a sphere a circle's half-width in longitude at latitude phi is acos((cos r - sin phi sin phi0) /
    (cos phi cos phi0)); it grows up to one latitude and shrinks after it, so over a band its maximum is at that
    latitude clipped to the band, its minimum at one of the band's edges. The radius carries bounding_boxes()'
    margin: the ranges are a prefilter, the squared chord (and Lucene's test at the edge) decides. Except in an
    ``inner`` range: every point of the band there lies inside the radius by far more than any rounding, so no
    distance is tested (the ranges of a band do not overlap).
    """
    r = min(math.pi, radius_km * RANGE_MARGIN / EARTH_RADIUS_KM)
    r_in = radius_km * (1 - INNER_MARGIN) / EARTH_RADIUS_KM
    phi0 = math.radians(lat)
    widest = math.asin(max(-1.0, min(1.0, math.sin(phi0) / math.cos(r)))) if r < math.pi / 2 else phi0
    ranges = []
    for min_lat, max_lat, min_lon, max_lon in bounding_boxes(lat, lon, radius_km):
        full = min_lon == -180.0 and max_lon == 180.0
        for band in range(math.floor(min_lat * BAND_PER_DEGREE), math.floor(max_lat * BAND_PER_DEGREE) + 1):
            if full:
                ranges.append((band, min_lon, max_lon, 0))
                continue
            low, high = max(min_lat, band / BAND_PER_DEGREE), min(max_lat, (band + 1) / BAND_PER_DEGREE)
            half = _half_width(r, phi0, math.radians(max(low, min(high, math.degrees(widest)))))
            inner = _inner_half_width(radius_km, r_in, phi0, band)
            for shift in (-360.0, 0.0, 360.0):  # a box on the far side of the antimeridian
                lo, hi = max(min_lon, lon - half + shift), min(max_lon, lon + half + shift)
                if lo <= hi:
                    ranges += _split(band, lo, hi, lon + shift, inner)
    return ranges


def _split(band: int, lo: float, hi: float, center: float, inner: float | None) -> list[tuple[int, float, float, int]]:
    """Return the range [lo, hi] of a band cut into outer, inner and outer parts that share no longitude."""
    ilo, ihi = (max(lo, center - inner), min(hi, center + inner)) if inner is not None else (hi, lo)
    if ilo > ihi:
        return [(band, lo, hi, 0)]
    parts = [(band, lo, math.nextafter(ilo, -math.inf), 0)] if lo < ilo else []
    parts.append((band, ilo, ihi, 1))
    return parts + ([(band, math.nextafter(ihi, math.inf), hi, 0)] if ihi < hi else [])


def _half_width(r: float, phi0: float, phi: float) -> float:
    """Return (degrees, slightly widened) the circle's half-width in longitude at latitude ``phi``."""
    denominator = math.cos(phi) * math.cos(phi0)
    if denominator <= 0:
        return 180.0
    cos_dlon = (math.cos(r) - math.sin(phi) * math.sin(phi0)) / denominator
    return min(180.0, math.degrees(math.acos(max(-1.0, min(1.0, cos_dlon)))) * RANGE_MARGIN + 1e-9)


def _inner_half_width(radius_km: float, r_in: float, phi0: float, band: int) -> float | None:
    """Return (degrees, slightly narrowed) the half-width inside the circle at every latitude of ``band``, or None."""
    if radius_km < INNER_MIN_KM:
        return None
    widths = []
    for edge in (band / BAND_PER_DEGREE, (band + 1) / BAND_PER_DEGREE):
        phi = math.radians(edge)
        denominator = math.cos(phi) * math.cos(phi0)
        cos_dlon = (math.cos(r_in) - math.sin(phi) * math.sin(phi0)) / denominator if denominator > 0 else 2.0
        if cos_dlon >= 1.0:  # the band reaches beyond the circle in latitude
            return None
        widths.append(math.degrees(math.acos(max(-1.0, cos_dlon))))
    return min(widths) * (1 - INNER_MARGIN) if min(widths) < 180.0 else None


def ring_radius_km(q: SearchQuery, total: int, need: int) -> float | None:
    """Return the radius of the first ring to hold the ``need`` first rows of a distance page, or None.

    Sized for matches spread evenly over the circle's area (RING_SLACK covers denser edges), then RING_START times
    smaller for a denser centre; a ring that turns out too small grows (next_ring_km), and the whole circle is read
    when even the evenly spread ring would not be much smaller than it.
    """
    if not q.has_origin or q.sort == "rating" or text_terms(q) or total < need:
        return None
    share = math.sqrt(min(1.0, RING_SLACK * need / max(total, 1)))
    return q.radius_km * share / RING_START if share <= RING_MAX_SHARE else None


def next_ring_km(ring_km: float, found: int, need: int) -> float:
    """Return the radius of the ring to try after one of ``ring_km`` held ``found`` of the ``need`` rows.

    By the area it lacked when it held too few (at least doubled); doubled when it held enough rows but not
    enough verified ones.
    """
    growth = math.sqrt(RING_SLACK * need / max(found, 1)) if found < need else 2.0
    return ring_km * min(RING_MAX_GROWTH, max(2.0, growth))


def fts_query(terms: list[str], q: SearchQuery) -> str:
    """Return the FTS5 query: every word in the text columns, and near the origin one of its cells.

    The words carry the column filter only when one of them could be a cell word: only cell words are in the
    cells column, so any other word matches the text columns alone anyway. A column filter makes FTS5 read every
    posting's column list, in the match and again in bm25's count of each word's documents: at 1M practitioners
    "ear acupuncture" within 50 km of Seville took 72 ms with it and 32 ms without (the same hits).
    """
    words = " AND ".join(f'"{w}"' for w in terms)
    text = f"{TEXT_COLUMNS} : ({words})" if any(CELL_WORD.fullmatch(w) for w in terms) else f"({words})"
    if q.lat is None or q.lon is None:
        return text
    cells = []
    for min_lat, max_lat, min_lon, max_lon in bounding_boxes(q.lat, q.lon, q.radius_km):
        (lat0, lon0), (lat1, lon1) = cell(min_lat, min_lon), cell(max_lat, max_lon)
        cells += [f"g{i}x{j}" for i in range(lat0, lat1 + 1) for j in range(lon0, lon1 + 1)]
    if len(cells) > MAX_CELLS:  # near a pole: the radius filter alone is cheaper than hundreds of cells
        return text
    return f"{text} AND cells : ({' OR '.join(cells)})"


def cell(lat: float, lon: float) -> tuple[int, int]:
    """Return the 0.5° cell of a point."""
    return math.floor((lat + 90) * CELLS_PER_DEGREE), math.floor((lon + 180) * CELLS_PER_DEGREE)


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """Return the point on the unit sphere for (lat, lon) in degrees."""
    phi, lmb = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lmb), math.cos(phi) * math.sin(lmb), math.sin(phi)


def chord2_of(radius_km: float) -> float:
    """Return the squared chord (on the unit sphere) of a great-circle distance."""
    return float((2 * math.sin(min(math.pi, radius_km / EARTH_RADIUS_KM) / 2)) ** 2)


def order_by(q: SearchQuery) -> str:
    """Return the ORDER BY matching search.query.build_sort (by squared chord, refined in exact_page)."""
    geo = "d2 ASC, " if q.has_origin else ""
    if q.sort == "relevance" and text_terms(q):
        return f"score DESC, {geo}id ASC"
    if q.sort == "rating":
        return f"verified DESC, rating_bayes DESC NULLS LAST, rating_count DESC, {geo}id ASC"
    return f"verified DESC, {geo}id ASC"


def merge_key(q: SearchQuery, columns: str) -> Callable[[Row], tuple[Any, ...]]:
    """Return the Python key that orders rows of ``columns`` (names, comma-separated) exactly as order_by does.

    It merges the rows of shards, which carry d2 beside the page's columns.
    """
    at = {name.strip(): i for i, name in enumerate(columns.split(","))}
    id_, d2, score, verified = at["id"], at["d2"], at["score"], at["verified"]
    bayes, count = at["rating_bayes"], at["rating_count"]
    geo: Callable[[Row], tuple[Any, ...]] = (lambda r: (r[d2],)) if q.has_origin else (lambda r: ())
    if q.sort == "relevance" and text_terms(q):
        return lambda r: (-r[score], *geo(r), r[id_])
    if q.sort == "rating":  # NULLS LAST: a row without a rating after every rated one
        return lambda r: (-r[verified], r[bayes] is None, -(r[bayes] or 0.0), -r[count], *geo(r), r[id_])
    return lambda r: (-r[verified], *geo(r), r[id_])


def exact_page(rows: list[Row], q: SearchQuery, skip: int) -> list[SearchHit]:
    """Give the window's rows their haversine distance, re-sort them exactly as the engines do, cut the page."""
    hits = []
    origin = engine_origin(q)
    for doc_id, lat, lon, score, verified, rating_bayes, rating_count in rows:
        distance = arc_distance_km(*origin, lat, lon) if q.has_origin else None
        hits.append((_sort_key(q, doc_id, distance or 0.0, score or 0.0, verified, rating_bayes, rating_count),
                     SearchHit(id=doc_id, distance_km=distance, score=score or 0.0)))
    hits.sort(key=lambda pair: pair[0])
    return [hit for _, hit in hits[skip:skip + q.per_page]]


def _sort_key(q: SearchQuery, doc_id: int, distance: float, score: float, verified: int,
              rating_bayes: float | None, rating_count: int) -> tuple[Any, ...]:
    """Return the Python sort key equal to order_by with the exact distance."""
    if q.sort == "relevance" and text_terms(q):
        return (-score, distance, doc_id)
    if q.sort == "rating":
        return (-verified, rating_bayes is None, -(rating_bayes or 0.0), -rating_count, distance, doc_id)
    return (-verified, distance, doc_id)

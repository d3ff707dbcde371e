"""The embedded backend: SQLite FTS5 for text, a clustered point table for the radius.

It lives in its own SQLite file beside the app database and needs nothing installed.
Lucene's own radius test (from the origin on Lucene's grid, on Lucene-quantized points) decides
the radius edge and exact great-circle distance the order of the page, so it returns the same ids
in the same order as the cluster backend.

How a search stays fast on 100k practitioners (a dense 100 km search matches ~9k):

* ``point`` holds one row per practice location, clustered on (0.1° latitude band,
  longitude): a radius is a handful of contiguous range scans, not an index probe per
  point. Each row carries what filters, sorts and facets need, so no join is made, and
  how many other locations its document has, so only those documents' points are grouped.
* Distances are compared as squared chord lengths between unit vectors, stored per
  point: plain arithmetic, monotonic in the great-circle distance. Haversine (the same
  function the engines use) is only computed for the rows a page shows, and Lucene's radius
  test (search/geo.py) for the few points within a hair of the radius.
* Facet values are coded as one character each (``facet_code``); a practitioner's
  values are a short string, and facet counts are ``str.count`` over the matches'
  concatenated strings instead of a join through a term table.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from search.geo import arc_distance_km, bounding_boxes, distance_query_sort_key, haversin_sort_key, quantize
from search.query import TEXT_FIELDS, engine_origin, text_terms
from search.types import (
    EARTH_RADIUS_KM,
    ApplyResult,
    Change,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
)

# Bumped whenever the tables change: an index file of another version is dropped and
# rebuilt empty by ensure_index() (`flask bootstrap` then reindexes it).
SCHEMA_VERSION = 6
TABLES = ("doc", "suggest", "point", "open_hours", "doc_fts", "doc_version")
SCHEMA = """
-- The highest version written or deleted per document (the engines' external versioning). Deleted documents
-- keep theirs, so a late older write cannot bring one back. A rebuild replaces it as it replaces the documents,
-- as a new cluster index does.
CREATE TABLE IF NOT EXISTS doc_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS doc (
    id INTEGER PRIMARY KEY, display_name TEXT NOT NULL, visible INTEGER NOT NULL, verified INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS facet_code (
    kind TEXT NOT NULL, value TEXT NOT NULL, code TEXT NOT NULL UNIQUE, PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS suggest (value TEXT NOT NULL, doc_id INTEGER NOT NULL, PRIMARY KEY (value, doc_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS point (
    band INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL, doc_id INTEGER NOT NULL,
    x REAL, y REAL, z REAL,
    -- How many other locations the document has: only the points of documents with several need grouping.
    others INTEGER NOT NULL,
    visible INTEGER NOT NULL, verified INTEGER NOT NULL, gender TEXT, accepting_new_patients INTEGER,
    telehealth INTEGER, wheelchair_accessible INTEGER, rating_bayes REAL, rating_count INTEGER NOT NULL,
    codes TEXT NOT NULL,
    PRIMARY KEY (band, lon, lat, doc_id)
) WITHOUT ROWID;
-- Opening hours as key ranges [low, high) (search/hours.py), for "open now".
CREATE TABLE IF NOT EXISTS open_hours (
    doc_id INTEGER NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL, PRIMARY KEY (doc_id, low, high)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS doc_fts USING fts5 (
    name, vocabulary, places, bio, cells, tokenize = 'unicode61 remove_diacritics 2'
);
"""
# Secondary indexes, created after a bulk load rather than maintained row by row during it.
INDEXES = """
CREATE INDEX IF NOT EXISTS suggest_doc ON suggest (doc_id);
-- Covering: a text search probes it once per word match (INDEXED BY), and reading the point row too was half
-- its time at 1M. Band and longitude stay out of the front of the key: SQLite would probe once per band.
CREATE INDEX IF NOT EXISTS point_doc ON point (
    doc_id, visible, verified, others, x, y, z, gender, accepting_new_patients, telehealth, wheelchair_accessible,
    rating_bayes, rating_count, codes
);
"""
BAND_PER_DEGREE = 10
# A practitioner without a location still has one row (no coordinates) in a band no radius reaches.
NO_POINT_BAND = 10_000
CODED_KINDS = ("methods", "conditions", "languages")
# Facet codes are Unicode private-use characters: they never occur in anything else stored.
_CODE_BASE, _CODE_BASE_2, _CODE_SPAN = 0xE000, 0xF0000, 0x1900
# Points whose squared chord is this close to the radius's (relative, plus absolute) get Lucene's own radius test
# (search/geo.py): its sloppy cosine puts points a few micrometres from the edge on the other side of it.
EDGE = 1e-9
EDGE_ABS = 1e-13
# Each location is also a word of the full-text index's ``cells`` column: its 0.5° cell. A text
# search near a place matches the words AND the cells around it, so FTS5 only scores (bm25)
# the practitioners nearby, not every practitioner in the country who mentions "sciatica".
CELLS_PER_DEGREE = 2
MAX_CELLS = 64
TEXT_COLUMNS = "{name vocabulary places bio}"
# Rows on either side of the page re-sorted by exact distance, so near-ties order as on the engines.
SORT_MARGIN = 10
# The keys of "now" in each time zone of an open-now search, filled per search.
OPEN_KEY_TABLE = "CREATE TEMP TABLE IF NOT EXISTS open_key (key INTEGER PRIMARY KEY)"
# No primary key: the matches are distinct documents by construction, and appending rows is cheaper than keeping
# a B-tree on id.
MATCH_TABLE = ("CREATE TEMP TABLE IF NOT EXISTS m (id INTEGER, d2 REAL, lat REAL, lon REAL, score REAL, "
               "verified INTEGER, rating_bayes REAL, rating_count INTEGER, codes TEXT)")
INDEX_FULL_HINT = "free disk space; changes wait in the outbox until then"
BM25_WEIGHTS = ", ".join(f"{TEXT_FIELDS[c]:g}" for c in ("name", "vocabulary", "places", "bio")) + ", 0"
Row = tuple[Any, ...]


class EmbeddedBackend:
    """SearchBackend over one SQLite file; one connection per thread."""

    name = "embedded"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._codes: dict[tuple[str, str], str] = {}
        self._decode: dict[str, tuple[str, str]] = {}

    # -- connections -------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA temp_store=MEMORY")
                conn.create_function("lucene_key", 4, haversin_sort_key, deterministic=True)
            except sqlite3.Error as exc:
                raise SearchUnavailable(f"embedded index {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this backend opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- facet codes -------------------------------------------------------
    def _load_codes(self, conn: sqlite3.Connection) -> None:
        """(Re)read the facet codes; they are only ever appended, so a cached copy is never wrong, only short."""
        rows = conn.execute("SELECT kind, value, code FROM facet_code").fetchall()
        self._codes = {(kind, value): code for kind, value, code in rows}
        self._decode = {code: (kind, value) for kind, value, code in rows}

    def _code(self, conn: sqlite3.Connection, kind: str, value: str, *, create: bool) -> str | None:
        """Return the character standing for (kind, value); assign the next one if ``create``."""
        code = self._codes.get((kind, value))
        if code is None:
            self._load_codes(conn)
            code = self._codes.get((kind, value))
        if code is None and create:
            n = len(self._codes)
            code = chr(_CODE_BASE + n if n < _CODE_SPAN else _CODE_BASE_2 + n - _CODE_SPAN)
            conn.execute("INSERT INTO facet_code VALUES (?, ?, ?)", (kind, value, code))
            self._codes[(kind, value)] = code
            self._decode[code] = (kind, value)
        return code

    # -- writing -----------------------------------------------------------
    def ensure_index(self) -> bool:
        """Create the tables if they are missing; drop an index file of another schema version (True then)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            stale = conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION
            if stale:
                for (table,) in conn.execute("SELECT name FROM pragma_table_list WHERE schema = 'main' "
                                             "AND type IN ('table', 'virtual') AND name NOT LIKE 'sqlite_%'").fetchall():
                    conn.execute(f'DROP TABLE IF EXISTS "{table}"')
            _script(conn, SCHEMA + INDEXES)
            if stale:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if stale:
            self._codes, self._decode = {}, {}
        return bool(stale)

    def apply(self, changes: Sequence[Change]) -> ApplyResult:
        """Upsert or delete each document in one transaction; all succeed or none.

        A versioned change no newer than what the index holds is skipped and acknowledged: the write lock
        (BEGIN IMMEDIATE) makes the comparison and the write one step, whichever process applies them.
        """
        conn = self._conn()
        result = ApplyResult()
        try:
            conn.execute("BEGIN IMMEDIATE")
            newer = _newer(conn, changes)
            for change in newer:
                _delete(conn, change.doc_id)
            self._insert(conn, [c.document for c in newer if c.document is not None])
            _record_versions(conn, [(c.doc_id, c.version) for c in newer if c.version is not None])
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK") if conn.in_transaction else None
            self._codes, self._decode = {}, {}  # codes assigned in the rolled-back transaction are gone
            result.failed = {c.doc_id: index_error(self.path, exc) for c in changes}
            return result
        result.acknowledged = [c.doc_id for c in changes]
        return result

    def reindex(self, documents: Iterable[dict[str, Any]], progress: Any = None, batch_size: int = 1000) -> int:
        """Replace every document in one transaction; readers see the old index until commit."""
        self.ensure_index()
        conn = self._conn()
        count = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Empty tables without secondary indexes load fastest; the indexes are built once at the end.
            for table in TABLES:
                conn.execute(f"DROP TABLE {table}")  # noqa: S608 (fixed table names)
            _script(conn, SCHEMA)
            batch: list[dict[str, Any]] = []
            for doc in documents:
                batch.append(doc)
                if len(batch) >= batch_size:
                    count += self._flush(conn, batch, progress)
            count += self._flush(conn, batch, progress)
            _script(conn, INDEXES)
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.execute("ROLLBACK") if conn.in_transaction else None  # SQLITE_FULL has rolled back already
            self._codes, self._decode = {}, {}
            if isinstance(exc, sqlite3.Error):
                raise SearchUnavailable(index_error(self.path, exc) + "; the old index still serves") from exc
            raise
        return count

    def _flush(self, conn: sqlite3.Connection, batch: list[dict[str, Any]], progress: Any) -> int:
        """Insert a batch of documents and report them to ``progress``; empty the batch."""
        n = len(batch)
        if n:
            self._insert(conn, batch)
            _record_versions(conn, [(d["id"], d["version"]) for d in batch if d.get("version") is not None])
            if progress:
                progress(n)
            batch.clear()
        return n

    def _insert(self, conn: sqlite3.Connection, docs: Sequence[dict[str, Any]]) -> None:
        """Insert documents into every table, one statement per table."""
        if not docs:
            return
        conn.executemany("INSERT INTO doc VALUES (?, ?, ?, ?)",
                         [(d["id"], d["display_name"], d["visible"], d["verified"]) for d in docs])
        conn.executemany("INSERT OR IGNORE INTO suggest VALUES (?, ?)",
                         [(v, d["id"]) for d in docs for v in set(d["name_suggest"])])
        conn.executemany("INSERT OR IGNORE INTO point VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [row for d in docs for row in self._point_rows(conn, d)])
        conn.executemany("INSERT OR IGNORE INTO open_hours VALUES (?, ?, ?)",
                         [(d["id"], r["gte"], r["lt"]) for d in docs for r in d["open_hours"]])
        conn.executemany("INSERT INTO doc_fts (rowid, name, vocabulary, places, bio, cells) VALUES (?, ?, ?, ?, ?, ?)",
                         [(d["id"], d["name"], d["vocabulary"], d["places"], d["bio"], _cells(d["locations"]))
                          for d in docs])

    def _point_rows(self, conn: sqlite3.Connection, doc: dict[str, Any]) -> list[Row]:
        """Return the point rows of one document: its attributes repeated on each of its locations."""
        codes = "".join(self._code(conn, kind, value, create=True) or "" for kind in CODED_KINDS for value in doc[kind])
        codes += self._code(conn, "vetting_status", doc["vetting_status"], create=True) or ""
        attributes = (doc["visible"], doc["verified"], doc["gender"], doc["accepting_new_patients"], doc["telehealth"],
                      doc["wheelchair_accessible"], doc["rating_bayes"], doc["rating_count"], codes)
        if not doc["locations"]:
            return [(NO_POINT_BAND, 0.0, 0.0, doc["id"], None, None, None, 0, *attributes)]
        # Two locations can quantize to one point: one row then (the primary key), and "others" counts rows.
        points = sorted({quantize(point["lat"], point["lon"]) for point in doc["locations"]})
        return [(math.floor(lat * BAND_PER_DEGREE), lon, lat, doc["id"], *_unit_vector(lat, lon), len(points) - 1,
                 *attributes) for lat, lon in points]

    # -- reading -----------------------------------------------------------
    def count(self) -> int:
        """Return the number of documents."""
        try:
            return int(self._conn().execute("SELECT count(*) FROM doc").fetchone()[0])
        except sqlite3.Error as exc:
            raise SearchUnavailable(str(exc)) from exc

    def health(self) -> dict[str, Any]:
        """Report ok with the document count, or unavailable with the reason."""
        try:
            return {"status": "ok", "backend": self.name, "documents": self.count()}
        except SearchUnavailable as exc:
            return {"status": "unavailable", "backend": self.name, "error": str(exc)}

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return display names whose first or last name starts with ``prefix``."""
        from search.text import fold

        key = fold(prefix.strip())
        if not key:
            return []
        rows = self._conn().execute(
            "SELECT DISTINCT d.id, d.display_name, d.verified FROM suggest s JOIN doc d ON d.id = s.doc_id "
            "WHERE s.value >= ? AND s.value < ? AND d.visible ORDER BY d.verified DESC, d.id LIMIT ?",
            (key, key + "\uffff", limit),
        ).fetchall()
        return [str(name) for _, name, _ in rows]

    def search(self, query: SearchQuery) -> SearchPage:
        """Run ``query``: filter, rank, page and count facets, all inside SQLite."""
        started = time.perf_counter()
        conn = self._conn()
        try:
            sql, params = self._match_sql(conn, query)
            if query.open_keys:
                conn.execute(OPEN_KEY_TABLE)
                conn.execute("DELETE FROM temp.open_key")
                conn.executemany("INSERT INTO temp.open_key VALUES (?)", [(k,) for k in query.open_keys])
            # One temporary table per connection, emptied per search: creating and dropping it each time
            # changed the schema and made SQLite prepare every statement again.
            conn.execute(MATCH_TABLE)
            conn.execute("DELETE FROM temp.m")
            conn.execute(f"INSERT INTO temp.m {sql}", params)
            total, codes = conn.execute("SELECT count(*), group_concat(codes, '') FROM temp.m").fetchone()
            window_start = max(0, query.offset - SORT_MARGIN)
            rows = conn.execute(
                "SELECT id, lat, lon, score, verified, rating_bayes, rating_count FROM temp.m "  # noqa: S608
                f"ORDER BY {_order_by(query)} LIMIT ? OFFSET ?",
                (query.offset - window_start + query.per_page + SORT_MARGIN, window_start),
            ).fetchall()
            conn.execute("DELETE FROM temp.m")
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"embedded search failed: {exc}") from exc
        hits = _exact_page(rows, query, query.offset - window_start)
        facets = self._facets(conn, codes or "", query.facets) if query.facets else {}
        return SearchPage(hits=hits, total=total, facets=facets, took_ms=(time.perf_counter() - started) * 1000)

    def _facets(self, conn: sqlite3.Connection, codes: str, fields: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Count each value of the facet ``fields`` over all matches from their concatenated codes."""
        counts = {code: codes.count(code) for code in list(self._decode)}
        if sum(counts.values()) != len(codes):  # a code another process assigned since: read them again
            self._load_codes(conn)
            counts = {code: codes.count(code) for code in list(self._decode)}
        facets: dict[str, dict[str, int]] = {name: {} for name in fields}
        for code, n in counts.items():
            if n:
                kind, value = self._decode[code]
                if kind in facets:
                    facets[kind][value] = n
        return facets

    def _match_sql(self, conn: sqlite3.Connection, q: SearchQuery) -> tuple[str, list[Any]]:
        """Return the SELECT of every matching doc: (id, d2, lat, lon, score, verified, rating_bayes, count, codes).

        Most documents have one location: their points are matches as they are. Only the points of documents
        with several are grouped (nearest point per document), so the sort a GROUP BY needs covers a third
        of the points, not all of them (it was most of a dense radius search's time). A text search groups
        its few matches in one pass.
        """
        ctes: list[str] = []
        cte_params: list[Any] = []
        source = "point p"
        where = ["p.visible"]
        params: list[Any] = []
        terms = text_terms(q)
        score = "0.0"
        if terms:
            # Matched once up front (MATERIALIZED), not once per point, and scored only when the
            # order needs it. Each word is a quoted FTS5 string: user text is data, never syntax.
            relevance = q.sort == "relevance"
            rank = f"-bm25(doc_fts, {BM25_WEIGHTS})" if relevance else "0.0"
            ctes.append(f"t AS MATERIALIZED (SELECT rowid AS doc_id, {rank} AS score "  # noqa: S608
                        "FROM doc_fts WHERE doc_fts MATCH ?)")
            cte_params.append(_fts_query(terms, q))
            # CROSS JOIN keeps the words' matches the outer loop, INDEXED BY the probe by document: without
            # statistics SQLite otherwise scans the radius's boxes once per match (seconds at 1M).
            source = "t CROSS JOIN point p INDEXED BY point_doc ON p.doc_id = t.doc_id"
            score = "t.score"
        d2, d2_params = "NULL", []
        radius, radius_params = "", []
        if q.has_origin:
            lat, lon = engine_origin(q)
            x, y, z = _unit_vector(lat, lon)
            d2 = "(p.x - ?) * (p.x - ?) + (p.y - ?) * (p.y - ?) + (p.z - ?) * (p.z - ?)"
            d2_params = [x, x, y, y, z, z]
            boxes = []
            for min_lat, max_lat, min_lon, max_lon in bounding_boxes(lat, lon, q.radius_km):
                bands = range(math.floor(min_lat * BAND_PER_DEGREE), math.floor(max_lat * BAND_PER_DEGREE) + 1)
                boxes.append(f"(p.band IN ({', '.join(str(b) for b in bands)}) AND p.lon BETWEEN ? AND ? "
                             "AND p.lat BETWEEN ? AND ?)")
                params += [min_lon, max_lon, min_lat, max_lat]
            where.append(f"({' OR '.join(boxes)})")
            chord2 = _chord2(q.radius_km)
            margin = chord2 * EDGE + EDGE_ABS
            radius = "(d2 <= ? OR (d2 <= ? AND lucene_key(?, ?, p.lat, p.lon) <= ?))"
            radius_params = [chord2 - margin, chord2 + margin, lat, lon, distance_query_sort_key(q.radius_km * 1000)]
        where += self._filters(conn, q, params)
        with_clause = f"WITH {', '.join(ctes)} " if ctes else ""
        columns = f"p.lat, p.lon, {score}, p.verified, p.rating_bayes, p.rating_count, p.codes FROM {source}"
        condition = " AND ".join(where)
        # min() makes SQLite take the bare columns (lat, lon) from the nearest point of each document.
        grouped = (f"SELECT p.doc_id, min({d2}) AS d2, {columns} WHERE {condition} "  # noqa: S608
                   "GROUP BY p.doc_id" + (f" HAVING {radius}" if radius else ""))
        # Parameters follow the text: the CTE's MATCH, then per part the distance, the boxes and filters, the edge.
        part_params = [*d2_params, *params, *radius_params]
        if terms:  # the words' matches are few: one grouped pass over them beats reading them twice
            return f"{with_clause}{grouped}", [*cte_params, *part_params]
        singles = (f"SELECT p.doc_id, {d2} AS d2, {columns} WHERE {condition} AND p.others = 0"  # noqa: S608
                   + (f" AND {radius}" if radius else ""))
        several = grouped.replace(" GROUP BY p.doc_id", " AND p.others > 0 GROUP BY p.doc_id")
        return f"{singles} UNION ALL {several}", [*part_params, *part_params]

    def _filters(self, conn: sqlite3.Connection, q: SearchQuery, params: list[Any]) -> list[str]:
        """Return the conditions of the query's filters on a point ``p``; append their parameters to ``params``."""
        where = []
        if q.verified_only:
            where.append("p.verified")
        for kind in CODED_KINDS:
            values = getattr(q, kind)
            if values:
                codes = [c for v in values if (c := self._code(conn, kind, v, create=False))]
                where.append("(" + " OR ".join("instr(p.codes, ?) > 0" for _ in codes) + ")" if codes else "0")
                params += codes
        for column in ("gender", "accepting_new_patients", "telehealth", "wheelchair_accessible"):
            value = getattr(q, column)
            if value is not None:
                where.append(f"p.{column} = ?")
                params.append(value)
        if q.open_keys is not None:
            where.append("EXISTS (SELECT 1 FROM open_hours o JOIN temp.open_key k ON k.key >= o.low AND k.key < o.high "
                         "WHERE o.doc_id = p.doc_id)" if q.open_keys else "0")
        return where


def index_error(path: str, exc: sqlite3.Error) -> str:
    """Say what went wrong writing the index file, plainly when its disk (or size limit) is full."""
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return f"the embedded search index {path} is full (no space left to grow it): {INDEX_FULL_HINT}"
    return f"embedded index {path}: {exc}"


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run each statement of ``script`` inside the current transaction (executescript would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _cell(lat: float, lon: float) -> tuple[int, int]:
    """Return the 0.5° cell of a point."""
    return math.floor((lat + 90) * CELLS_PER_DEGREE), math.floor((lon + 180) * CELLS_PER_DEGREE)


def _cells(locations: list[dict[str, float]]) -> str:
    """Return the cell words of a document's (quantized) locations."""
    return " ".join(sorted({"g{}x{}".format(*_cell(*quantize(p["lat"], p["lon"]))) for p in locations}))


def _fts_query(terms: list[str], q: SearchQuery) -> str:
    """Return the FTS5 query: every word in the text columns, and near the origin one of its cells."""
    text = f"{TEXT_COLUMNS} : ({' AND '.join(f'{chr(34)}{w}{chr(34)}' for w in terms)})"
    if q.lat is None or q.lon is None:
        return text
    cells = []
    for min_lat, max_lat, min_lon, max_lon in bounding_boxes(q.lat, q.lon, q.radius_km):
        (lat0, lon0), (lat1, lon1) = _cell(min_lat, min_lon), _cell(max_lat, max_lon)
        cells += [f"g{i}x{j}" for i in range(lat0, lat1 + 1) for j in range(lon0, lon1 + 1)]
    if len(cells) > MAX_CELLS:  # near a pole: the radius filter alone is cheaper than hundreds of cells
        return text
    return f"{text} AND cells : ({' OR '.join(cells)})"


def _unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """Return the point on the unit sphere for (lat, lon) in degrees."""
    phi, lmb = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lmb), math.cos(phi) * math.sin(lmb), math.sin(phi)


def _chord2(radius_km: float) -> float:
    """Return the squared chord (on the unit sphere) of a great-circle distance."""
    return float((2 * math.sin(min(math.pi, radius_km / EARTH_RADIUS_KM) / 2)) ** 2)


def _newer(conn: sqlite3.Connection, changes: Sequence[Change]) -> list[Change]:
    """Return the changes to apply: unversioned ones, and versioned ones above the version the index holds."""
    versioned = [c.doc_id for c in changes if c.version is not None]
    held: dict[int, int] = {}
    for start in range(0, len(versioned), 500):  # within SQLite's limit on bound parameters
        ids = versioned[start:start + 500]
        held.update(conn.execute(f"SELECT id, version FROM doc_version WHERE id IN ({', '.join('?' * len(ids))})",  # noqa: S608
                                 ids).fetchall())
    return [c for c in changes if c.version is None or c.version > held.get(c.doc_id, -1)]


def _record_versions(conn: sqlite3.Connection, versions: list[tuple[int, int]]) -> None:
    """Remember the version each document was last written or deleted at."""
    conn.executemany("INSERT INTO doc_version VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                     versions)


def _delete(conn: sqlite3.Connection, doc_id: int) -> None:
    """Remove one document from every table."""
    for table, column in (("doc", "id"), ("suggest", "doc_id"), ("point", "doc_id"), ("open_hours", "doc_id"),
                          ("doc_fts", "rowid")):
        conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (doc_id,))  # noqa: S608 (fixed names)


def _order_by(q: SearchQuery) -> str:
    """Return the ORDER BY matching search.query.build_sort (by squared chord, refined in _exact_page)."""
    geo = "d2 ASC, " if q.has_origin else ""
    if q.sort == "relevance" and text_terms(q):
        return f"score DESC, {geo}id ASC"
    if q.sort == "rating":
        return f"verified DESC, rating_bayes DESC NULLS LAST, rating_count DESC, {geo}id ASC"
    return f"verified DESC, {geo}id ASC"


def _exact_page(rows: list[Row], q: SearchQuery, skip: int) -> list[SearchHit]:
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
    """Return the Python sort key equal to _order_by with the exact distance."""
    if q.sort == "relevance" and text_terms(q):
        return (-score, distance, doc_id)
    if q.sort == "rating":
        return (-verified, rating_bayes is None, -(rating_bayes or 0.0), -rating_count, distance, doc_id)
    return (-verified, distance, doc_id)

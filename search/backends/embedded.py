"""The embedded backend: SQLite FTS5 for text, R*Tree for the radius prefilter.

It lives in its own SQLite file beside the app database and needs nothing installed.
Exact great-circle distance (on Lucene-quantized points) decides the radius and the
order, so it returns the same ids in the same order as the cluster backend.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from search.geo import arc_distance_km, bounding_boxes, quantize
from search.query import TEXT_FIELDS, text_terms
from search.types import (
    EARTH_RADIUS_KM,
    FACET_FIELDS,
    ApplyResult,
    Change,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS doc (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, visible INTEGER NOT NULL, verified INTEGER NOT NULL,
    gender TEXT, accepting_new_patients INTEGER, telehealth INTEGER, wheelchair_accessible INTEGER,
    vetting_status TEXT, rating_average REAL, rating_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS doc_term (
    kind TEXT NOT NULL, value TEXT NOT NULL, doc_id INTEGER NOT NULL, PRIMARY KEY (kind, value, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_term_doc ON doc_term (doc_id);
CREATE TABLE IF NOT EXISTS doc_point (id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL);
CREATE INDEX IF NOT EXISTS doc_point_doc ON doc_point (doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS point_rtree USING rtree (id, min_lat, max_lat, min_lon, max_lon);
CREATE VIRTUAL TABLE IF NOT EXISTS doc_fts USING fts5 (
    name, vocabulary, places, bio, tokenize = 'unicode61 remove_diacritics 2'
);
"""
TERM_KINDS = ("methods", "conditions", "languages")
MATCH_TABLE = ("CREATE TEMP TABLE m (id INTEGER PRIMARY KEY, dist REAL, score REAL, verified INTEGER, "
               "rating_average REAL, rating_count INTEGER, vetting_status TEXT)")
BM25_WEIGHTS = ", ".join(f"{TEXT_FIELDS[c]:g}" for c in ("name", "vocabulary", "places", "bio"))


class EmbeddedBackend:
    """SearchBackend over one SQLite file; one connection per thread."""

    name = "embedded"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # -- connections -------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it (and the schema) on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.create_function("arc_km", 4, arc_distance_km, deterministic=True)
                self._local.math = _has_math_functions(conn)
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

    # -- writing -----------------------------------------------------------
    def ensure_index(self) -> None:
        """Create the tables if they are missing."""
        self._conn().executescript(SCHEMA)

    def apply(self, changes: Sequence[Change]) -> ApplyResult:
        """Upsert or delete each document in one transaction; all succeed or none."""
        conn = self._conn()
        result = ApplyResult()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for change in changes:
                _delete(conn, change.doc_id)
                if change.document is not None:
                    _insert(conn, change.document)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK") if conn.in_transaction else None
            result.failed = {c.doc_id: str(exc) for c in changes}
            return result
        result.acknowledged = [c.doc_id for c in changes]
        return result

    def reindex(self, documents: Iterable[dict[str, Any]], progress: Any = None) -> int:
        """Replace every document in one transaction; readers see the old index until commit."""
        self.ensure_index()
        conn = self._conn()
        count = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("doc", "doc_term", "doc_point", "point_rtree", "doc_fts"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed table names)
            for doc in documents:
                _insert(conn, doc)
                count += 1
                if progress:
                    progress(1)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

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
        from search.documents import fold

        key = fold(prefix.strip())
        if not key:
            return []
        rows = self._conn().execute(
            "SELECT DISTINCT d.id, d.source FROM doc_term t JOIN doc d ON d.id = t.doc_id "
            "WHERE t.kind = 'suggest' AND t.value >= ? AND t.value < ? AND d.visible "
            "ORDER BY d.verified DESC, d.id LIMIT ?",
            (key, key + "\uffff", limit),
        ).fetchall()
        return [json.loads(source)["display_name"] for _, source in rows]

    def search(self, query: SearchQuery) -> SearchPage:
        """Run ``query``: filter, rank, page and count facets, all inside SQLite."""
        started = time.perf_counter()
        conn = self._conn()
        sql, params = _match_sql(query, getattr(self._local, "math", False))
        try:
            conn.execute("DROP TABLE IF EXISTS temp.m")
            # A rowid table keyed by doc id: facet and page queries look matches up by key.
            conn.execute(MATCH_TABLE)
            conn.execute(f"INSERT INTO temp.m {sql}", params)
            total = conn.execute("SELECT count(*) FROM temp.m").fetchone()[0]
            rows = conn.execute(
                f"SELECT id, dist, score FROM temp.m ORDER BY {_order_by(query)} LIMIT ? OFFSET ?",  # noqa: S608
                (query.per_page, query.offset),
            ).fetchall()
            facets = _facets(conn)
            conn.execute("DROP TABLE temp.m")
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"embedded search failed: {exc}") from exc
        hits = [SearchHit(id=r[0], distance_km=r[1], score=r[2] or 0.0) for r in rows]
        return SearchPage(hits=hits, total=total, facets=facets, took_ms=(time.perf_counter() - started) * 1000)


def _delete(conn: sqlite3.Connection, doc_id: int) -> None:
    """Remove one document from every table."""
    point_ids = [r[0] for r in conn.execute("SELECT id FROM doc_point WHERE doc_id = ?", (doc_id,))]
    conn.executemany("DELETE FROM point_rtree WHERE id = ?", [(i,) for i in point_ids])
    for table, column in (("doc", "id"), ("doc_term", "doc_id"), ("doc_point", "doc_id"), ("doc_fts", "rowid")):
        conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (doc_id,))  # noqa: S608 (fixed names)


def _insert(conn: sqlite3.Connection, doc: dict[str, Any]) -> None:
    """Insert one document into every table."""
    doc_id = doc["id"]
    conn.execute(
        "INSERT INTO doc VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            doc_id, json.dumps(doc), doc["visible"], doc["verified"], doc["gender"], doc["accepting_new_patients"],
            doc["telehealth"], doc["wheelchair_accessible"], doc["vetting_status"], doc["rating_average"],
            doc["rating_count"],
        ),
    )
    terms = [(kind, value, doc_id) for kind in TERM_KINDS for value in doc[kind]]
    terms += [("suggest", value, doc_id) for value in set(doc["name_suggest"])]
    conn.executemany("INSERT OR IGNORE INTO doc_term VALUES (?, ?, ?)", terms)
    for point in doc["locations"]:
        lat, lon = quantize(point["lat"], point["lon"])
        cur = conn.execute("INSERT INTO doc_point (doc_id, lat, lon) VALUES (?, ?, ?)", (doc_id, lat, lon))
        conn.execute("INSERT INTO point_rtree VALUES (?, ?, ?, ?, ?)", (cur.lastrowid, lat, lat, lon, lon))
    conn.execute(
        "INSERT INTO doc_fts (rowid, name, vocabulary, places, bio) VALUES (?, ?, ?, ?, ?)",
        (doc_id, doc["name"], doc["vocabulary"], doc["places"], doc["bio"]),
    )


def _has_math_functions(conn: sqlite3.Connection) -> bool:
    """Tell whether this SQLite has its built-in math functions (SQLITE_ENABLE_MATH_FUNCTIONS)."""
    try:
        conn.execute("SELECT asin(sqrt(power(sin(radians(1.0)), 2)))").fetchone()
    except sqlite3.OperationalError:
        return False
    return True


def _distance_sql(math: bool) -> tuple[str, int]:
    """Return the SQL distance from (?, ?) to point p and how many origin parameters it takes.

    The same haversine as search.geo.arc_distance_km; in SQL it costs a tenth of calling
    back into Python for each of the thousands of candidate points of a dense city.
    """
    if not math:
        return "arc_km(?, ?, p.lat, p.lon)", 2
    return (f"2 * {EARTH_RADIUS_KM!r} * asin(min(1.0, sqrt(power(sin((radians(p.lat) - radians(?)) / 2), 2) + "
            "cos(radians(?)) * cos(radians(p.lat)) * power(sin(radians(p.lon - ?) / 2), 2))))"), 3


def _match_sql(q: SearchQuery, math: bool = False) -> tuple[str, list[Any]]:
    """Return the SELECT of every matching doc as (id, dist, score, verified, rating...)."""
    params: list[Any] = []
    ctes, joins, where = [], [], ["d.visible"]
    score = "0.0"
    terms = text_terms(q)
    if terms:
        # Matched once up front (MATERIALIZED): as a plain join, SQLite re-ran the full-text
        # match for every practitioner inside the radius. Each word is a quoted FTS5 string:
        # user text is data, never query syntax.
        ctes.append(f"t AS MATERIALIZED (SELECT rowid AS doc_id, -bm25(doc_fts, {BM25_WEIGHTS}) AS score "  # noqa: S608
                    "FROM doc_fts WHERE doc_fts MATCH ?)")
        params.append(" ".join(f'"{w}"' for w in terms))
        joins.append("JOIN t ON t.doc_id = d.id")
        score = "t.score"
    dist = "NULL"
    if q.has_origin:
        boxes = bounding_boxes(q.lat or 0.0, q.lon or 0.0, q.radius_km)
        box_sql = " OR ".join("(r.max_lat >= ? AND r.min_lat <= ? AND r.max_lon >= ? AND r.min_lon <= ?)" for _ in boxes)
        distance, origin_params = _distance_sql(math)
        params += [q.lat, q.lat, q.lon] if origin_params == 3 else [q.lat, q.lon]
        for b in boxes:
            params += [b[0], b[1], b[2], b[3]]
        params.append(q.radius_km)
        joins.append(
            f"JOIN (SELECT p.doc_id, MIN({distance}) AS dist FROM point_rtree r "  # noqa: S608
            f"JOIN doc_point p ON p.id = r.id WHERE {box_sql} GROUP BY p.doc_id HAVING dist <= ?) g ON g.doc_id = d.id"
        )
        dist = "g.dist"
    if q.verified_only:
        where.append("d.verified")
    for kind in TERM_KINDS:
        values = getattr(q, kind)
        if values:
            marks = ", ".join("?" for _ in values)
            where.append(f"d.id IN (SELECT doc_id FROM doc_term WHERE kind = '{kind}' AND value IN ({marks}))")  # noqa: S608
            params += list(values)
    for column in ("gender", "accepting_new_patients", "telehealth", "wheelchair_accessible"):
        value = getattr(q, column)
        if value is not None:
            where.append(f"d.{column} = ?")
            params.append(value)
    with_clause = f"WITH {', '.join(ctes)} " if ctes else ""
    sql = (
        f"{with_clause}SELECT d.id AS id, {dist} AS dist, {score} AS score, d.verified AS verified, "  # noqa: S608
        f"d.rating_average AS rating_average, d.rating_count AS rating_count, d.vetting_status AS vetting_status "
        f"FROM doc d {' '.join(joins)} WHERE {' AND '.join(where)}"
    )
    # Parameters follow the text: the CTE's MATCH, then the geo join, then the filters.
    return sql, params


def _order_by(q: SearchQuery) -> str:
    """Return the ORDER BY matching search.query.build_sort."""
    geo = "dist ASC, " if q.has_origin else ""
    if q.sort == "relevance" and text_terms(q):
        return f"score DESC, {geo}id ASC"
    if q.sort == "rating":
        return f"verified DESC, rating_average DESC NULLS LAST, rating_count DESC, {geo}id ASC"
    return f"verified DESC, {geo}id ASC"


def _facets(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Count each facet value over all matches (not just the page)."""
    facets: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
    # CROSS JOIN fixes the order: from the matches into doc_term_doc, so cost follows the result size.
    for kind, value, n in conn.execute(
        "SELECT t.kind, t.value, count(*) FROM temp.m m CROSS JOIN doc_term t ON t.doc_id = m.id "
        "WHERE t.kind IN ('methods', 'conditions', 'languages') GROUP BY t.kind, t.value"
    ):
        facets[kind][value] = n
    for status, n in conn.execute("SELECT vetting_status, count(*) FROM temp.m GROUP BY vetting_status"):
        facets["vetting_status"][status] = n
    return facets

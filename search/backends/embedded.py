"""The embedded backend: SQLite FTS5 for text, a clustered point table for the radius.

It lives in its own SQLite file beside the app database and needs nothing installed.
Lucene's own radius test (from the origin on Lucene's grid, on Lucene-quantized points) decides
the radius edge and exact great-circle distance the order of the page, so it returns the same ids
in the same order as the cluster backend. Which rows a search reads is search/backends/embedded_query.py.

* ``point`` holds one row per practice location, clustered on (0.1° latitude band, verified,
  grouped, longitude). Each row carries what filters, sorts and facets need, so no join is made,
  and the other location of a document with two, so only documents with three or more are grouped.
* Distances are compared as squared chord lengths between unit vectors, stored per
  point: plain arithmetic, monotonic in the great-circle distance. Haversine (the same
  function the engines use) is only computed for the rows a page shows, and Lucene's radius
  test (search/geo.py) for the few points within a hair of the radius.
* Facet values are coded as one character each (``facet_code``), one column per facet kind; a
  practitioner's values are short strings, and facet counts are ``str.count`` over the matches'
  concatenated strings of that kind instead of a join through a term table.
* A wide search (SHARD_MIN_KM) is split into shards run at once on connections of their own: latitude
  bands by residue for a radius (a grouped document's rows, whose points span bands, all in shard 0),
  rowid ranges for text. Totals and facet codes add up; each shard returns its first start + size rows
  with their squared chord, and the page is cut from their merge (embedded_query.merge_key).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from search.backends.embedded_query import (
    BAND_PER_DEGREE,
    CODE_COLUMNS,
    CODED_KINDS,
    MATCH_COLUMNS,
    NO_POINT_BAND,
    Shard,
    cell,
    exact_page,
    match_parts,
    match_sql,
    merge_key,
    nearest_of_grouped,
    next_ring_km,
    order_by,
    ring_radius_km,
    unit_vector,
    window,
)
from search.backends.embedded_schema import (
    DATED_KEY_TABLE,
    INDEXES,
    MATCH_TABLE,
    OPEN_KEY_TABLE,
    PAGE_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    TABLES,
)
from search.geo import haversin_sort_key, quantize
from search.hours import MINUTES_PER_DAY
from search.query import text_terms
from search.types import ApplyResult, Change, SearchPage, SearchQuery, SearchUnavailable

# Facet codes are Unicode private-use characters: they never occur in anything else stored.
_CODE_BASE, _CODE_BASE_2, _CODE_SPAN = 0xE000, 0xF0000, 0x1900
# Reads map the index file instead of copying each page through read() into a 2 MB per-connection cache: a dense
# search reads thousands of pages (a 100 km count around New York ~5,000). SQLite caps it at its build's limit
# (2 GB for Python's), mapping the rest of a larger file through reads as before.
MMAP_BYTES = 1 << 36
INDEX_FULL_HINT = "free disk space; changes wait in the outbox until then"
# A search over a radius this wide or wider (or a text search with no origin) is split into ``threads`` shards run
# at once, one per connection (SQLite releases the GIL while it steps): a dense 100 km count around New York takes
# ~30 ms instead of ~46 on two cores. From 3 km on it pays in a city too: 10 km around Midtown Manhattan (43,000
# matches, three bands) took 37 ms whole and takes 23 in shards; at 12 random city spots per radius at 1M, the mean
# of 5 km went 3.4 -> 2.5 ms, of 12 km 18 -> 12. Narrower ones mostly lie in one band: the hand-off (~0.15 ms) is
# all they would get.
SHARD_MIN_KM = 3.0
# A shard's rows: the page's columns and the squared chord the merge orders by (stripped after it).
SHARD_COLUMNS = f"{PAGE_COLUMNS}, d2"
T = TypeVar("T")
# Per facet kind, how often each code occurs among some matches.
Tally = dict[str, dict[str, int]]


class EmbeddedBackend:
    """SearchBackend over one SQLite file; one connection per thread.

    ``threads``: how many shards a wide search is split into, each run on a connection of its own at the same time
    (1: never split). The shards beyond the first run on ``threads - 1`` helper threads shared by every search; a
    search that finds them busy (another search is using them, as under load, when every core is busy anyway) runs
    unsplit on its own thread rather than queue for them.
    """

    name = "embedded"

    def __init__(self, path: str, threads: int = 1) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._codes: dict[tuple[str, str], str] = {}
        self._decode: dict[str, tuple[str, str]] = {}
        # Connections to ":memory:" are each a database of their own: nothing to share a search with.
        self.threads = max(1, threads) if path != ":memory:" else 1
        self._helpers: ThreadPoolExecutor | None = None
        self._helpers_free = threading.Lock()

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
                conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
                conn.create_function("lucene_key", 4, haversin_sort_key, deterministic=True)
            except sqlite3.Error as exc:
                raise SearchUnavailable(f"embedded index {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this backend opened."""
        if self._helpers is not None:
            self._helpers.shutdown(wait=True)
            self._helpers = None
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
        conn.executemany(f"INSERT OR IGNORE INTO point VALUES ({', '.join('?' * 25)})",  # noqa: S608 (placeholders)
                         [row for d in docs for row in self._point_rows(conn, d)])
        conn.executemany("INSERT OR IGNORE INTO open_hours VALUES (?, ?, ?)",
                         [(d["id"], r["gte"], r["lt"]) for d in docs for r in d["open_hours"]])
        conn.executemany("INSERT OR IGNORE INTO open_dated VALUES (?, ?, ?, ?)",
                         [(d["id"], closed, r["gte"], r["lt"]) for d in docs
                          for closed, field in ((1, "closed_dated"), (0, "open_dated")) for r in d.get(field, ())])
        conn.executemany("INSERT INTO doc_fts (rowid, name, vocabulary, places, bio, cells) VALUES (?, ?, ?, ?, ?, ?)",
                         [(d["id"], d["name"], d["vocabulary"], d["places"], d["bio"], _cells(d["locations"]))
                          for d in docs])

    def _point_rows(self, conn: sqlite3.Connection, doc: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Return the point rows of one document: its attributes repeated on each of its locations."""
        codes = ["".join(self._code(conn, kind, value, create=True) or "" for value in doc[kind]) for kind in CODED_KINDS]
        codes.append(self._code(conn, "vetting_status", doc["vetting_status"], create=True) or "")
        attributes = (doc["visible"], doc["verified"], doc["gender"], doc["accepting_new_patients"], doc["telehealth"],
                      doc["wheelchair_accessible"], doc["rating_bayes"], doc["rating_count"], *codes)
        if not doc["locations"]:
            return [(NO_POINT_BAND, 0.0, 0.0, doc["id"], None, None, None, None, None, None, None, None, 0,
                     *attributes)]
        # Two locations can quantize to one point: one row then (the primary key).
        points = sorted({quantize(point["lat"], point["lon"]) for point in doc["locations"]})
        rows = []
        for lat, lon in points:
            (slat, slon), = [p for p in points if p != (lat, lon)] if len(points) == 2 else [(None, None)]
            sibling = unit_vector(slat, slon) if slat is not None and slon is not None else (None, None, None)
            rows.append((math.floor(lat * BAND_PER_DEGREE), lon, lat, doc["id"], *unit_vector(lat, lon), *sibling,
                         slat, slon, int(len(points) > 2), *attributes))
        return rows

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
            if query.open_keys and query.dated_keys and not _dated_now(conn, query.dated_keys):
                # No dated range holds this minute: the week alone decides, and each match skips two probes.
                query = replace(query, dated_keys=())
            if _by_distance(query):
                total, codes, rows = self._distance_page(conn, query)
            else:
                total, codes, rows = self._merged(query, self._sharded(
                    query, lambda c, shard: self._sorted(c, query, shard)))
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"embedded search failed: {exc}") from exc
        hits = exact_page(rows, query, query.offset - window(query)[0])
        facets = self._facets(codes, query.facets) if query.facets else {}
        return SearchPage(hits=hits, total=total, facets=facets, took_ms=(time.perf_counter() - started) * 1000)

    # -- shards --------------------------------------------------------------
    def _shards(self, q: SearchQuery) -> list[Shard] | None:
        """Return the shards to split ``q`` into, or None to run it whole."""
        if self.threads < 2 or (q.has_origin and q.radius_km < SHARD_MIN_KM):
            return None
        if text_terms(q):
            top = self._conn().execute("SELECT max(rowid) FROM doc").fetchone()[0] or 0
            bounds = [top * k // self.threads for k in range(self.threads + 1)]
            bounds[0] = -1
            return [Shard(k, self.threads, bounds[k], bounds[k + 1]) for k in range(self.threads)]
        if not q.has_origin:  # a scan of every band: its rows are not split by band without reading them all
            return None
        return [Shard(k, self.threads) for k in range(self.threads)]

    def _sharded(self, q: SearchQuery, work: Callable[[sqlite3.Connection, Shard | None], T]) -> list[T]:
        """Run ``work`` on each shard of ``q`` at once (one on this thread), or whole on this thread.

        Whole when ``q`` is not worth splitting or the helper threads are busy with another search.
        """
        shards = self._shards(q)
        if shards is None or not self._helpers_free.acquire(blocking=False):
            return [work(self._prepared(q), None)]
        try:
            if self._helpers is None:
                self._helpers = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="embedded-shard")
            futures: list[Future[T]] = [self._helpers.submit(self._on_prepared, q, work, shard) for shard in shards[1:]]
            try:
                first = work(self._prepared(q), shards[0])
            finally:
                results = [future.result() for future in futures]
            return [first, *results]
        finally:
            self._helpers_free.release()

    def _on_prepared(self, q: SearchQuery, work: Callable[[sqlite3.Connection, Shard | None], T], shard: Shard) -> T:
        """Run ``work`` on ``shard`` on this (helper) thread's connection."""
        return work(self._prepared(q), shard)

    def _prepared(self, q: SearchQuery) -> sqlite3.Connection:
        """Return this thread's connection with the query's open-now keys in its temp table."""
        conn = self._conn()
        if q.open_keys:
            conn.execute(OPEN_KEY_TABLE)
            conn.execute("DELETE FROM temp.open_key")
            conn.executemany("INSERT INTO temp.open_key VALUES (?)", [(k,) for k in q.open_keys])
            conn.execute(DATED_KEY_TABLE)
            conn.execute("DELETE FROM temp.dated_key")
            conn.executemany("INSERT OR IGNORE INTO temp.dated_key VALUES (?)", [(k,) for k in q.dated_keys])
        return conn

    def _merged(self, q: SearchQuery,
                shares: list[tuple[int, Tally, list[tuple[Any, ...]]]]) -> tuple[int, Tally, list[Any]]:
        """Return the total, the codes and the page window of the whole match from its shards' (or the whole's)."""
        if len(shares) == 1:
            return shares[0]
        start, size = window(q)
        total, codes = _added(((count, share_codes) for count, share_codes, _ in shares), q.facets)
        rows = sorted((row for _, _, share_rows in shares for row in share_rows), key=merge_key(q, SHARD_COLUMNS))
        return total, codes, [row[:-1] for row in rows[start:start + size]]

    def _sorted(self, conn: sqlite3.Connection, q: SearchQuery,
                shard: Shard | None = None) -> tuple[int, Tally, list[tuple[Any, ...]]]:
        """Return the total, the facet kinds' code tallies and the page window, through a match table.

        Of a shard, the rows of the page window's first ``start + size`` rows it holds, each with its d2 (merge_key).
        """
        sql, params = match_sql(q, self._lookup(conn), shard=shard)
        # One temporary table per connection, emptied per search: creating and dropping it each time
        # changed the schema and made SQLite prepare every statement again.
        conn.execute(MATCH_TABLE)
        conn.execute("DELETE FROM temp.m")
        conn.execute(f"INSERT INTO temp.m ({MATCH_COLUMNS}) {sql}", params)
        if text_terms(q) and conn.execute("SELECT EXISTS (SELECT 1 FROM temp.m WHERE grouped)").fetchone()[0]:
            for statement, statement_params in nearest_of_grouped(q):
                conn.execute(statement, statement_params)
        total, codes = self._count(conn, q, "temp.m", [])
        start, size = window(q)
        columns, limits = (PAGE_COLUMNS, (size, start)) if shard is None else (SHARD_COLUMNS, (start + size, 0))
        rows = conn.execute(f"SELECT {columns} FROM temp.m ORDER BY {order_by(q)} LIMIT ? OFFSET ?",  # noqa: S608
                            limits).fetchall()
        conn.execute("DELETE FROM temp.m")
        return total, codes, rows

    def _distance_page(self, conn: sqlite3.Connection,
                       q: SearchQuery) -> tuple[int, Tally, list[tuple[Any, ...]]]:
        """Return what _sorted does for a radius search by distance: count the circle, sort only a ring of it.

        The first rows by (verified, squared chord, id) of the whole circle are the first rows of any smaller
        circle (ring) holding at least as many verified matches: every match outside the ring is farther than
        every match inside it. A ring holding too few grows (next_ring_km); the whole circle is sorted when none fits.
        The count (most of a dense search) runs in shards.
        """
        lookup = self._lookup(conn)
        total, codes = _added(self._sharded(q, lambda c, shard: self._circle_count(c, q, shard)), q.facets)
        start, size = window(q)
        if total <= start:  # nothing on this page (or nothing at all): no page to sort
            return total, codes, []
        sql, params = match_sql(q, lookup)
        need = start + size
        ring = ring_radius_km(q, total, need)
        while ring is not None and ring < q.radius_km:
            ring_sql, ring_params = match_sql(q, lookup, ring_km=ring)
            rows = _top(conn, q, ring_sql, ring_params, need, 0)
            if len(rows) == need and (q.verified_only or rows[-1][4]):
                return total, codes, rows[start:]
            ring = next_ring_km(ring, len(rows), need)
        return total, codes, _top(conn, q, sql, params, size, start)

    def _circle_count(self, conn: sqlite3.Connection, q: SearchQuery,
                      shard: Shard | None) -> tuple[int, Tally]:
        """Return the number of matches in the circle (or a shard of it) and their codes per facet kind."""
        with_clause, with_params, parts = match_parts(q, self._lookup(conn), shard=shard, count_only=True)
        # Counted apart: SQLite then reads only the columns a count needs.
        return _added((self._count(conn, q, f"({part})", [*with_params, *part_params], with_clause)
                       for part, part_params in parts), q.facets)

    def _count(self, conn: sqlite3.Connection, q: SearchQuery, source: str, params: list[Any],
               with_clause: str = "") -> tuple[int, Tally]:
        """Return the number of matches in ``source`` and, per asked facet kind, how often each code occurs.

        Counted on the thread that ran the statement: a shard's helper counts its codes while this thread's
        share is still in SQLite (which lets go of the GIL), where the shards' codes used to be joined and counted
        here after both (8 ms of a 94,000-match count).
        """
        kinds = [kind for kind in CODE_COLUMNS if kind in q.facets]
        columns = "".join(f", group_concat({CODE_COLUMNS[kind]}, '')" for kind in kinds)
        total, *codes = conn.execute(f"{with_clause}SELECT count(*){columns} FROM {source}",  # noqa: S608
                                     params).fetchone()
        return int(total), {kind: self._tally(conn, kind, text or "") for kind, text in zip(kinds, codes, strict=True)}

    def _tally(self, conn: sqlite3.Connection, kind: str, text: str) -> dict[str, int]:
        """Return how often each code of ``kind`` occurs in ``text`` (the codes of the matches, concatenated)."""
        counts = self._count_codes(kind, text)
        if sum(counts.values()) != len(text):  # a code another process assigned since: read them again
            self._load_codes(conn)
            counts = self._count_codes(kind, text)
        return counts

    def _lookup(self, conn: sqlite3.Connection) -> Callable[[str, str], str | None]:
        """Return the code of a (kind, value) a query filters on, None for a value no document has."""
        return lambda kind, value: self._code(conn, kind, value, create=False)

    def _facets(self, tally: Tally, fields: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Return each value of the facet ``fields`` with its number of matches, from their codes' tally."""
        decode = self._decode
        return {kind: {decode[code][1]: n for code, n in tally.get(kind, {}).items() if n} for kind in fields}

    def _count_codes(self, kind: str, text: str) -> dict[str, int]:
        """Return how often each known code of ``kind`` occurs in ``text``."""
        return {code: text.count(code) for code, (known, _) in list(self._decode.items()) if known == kind}


def _added(counts: Iterable[tuple[int, Tally]], kinds: Sequence[str]) -> tuple[int, Tally]:
    """Return the sum of disjoint parts' match counts and, per facet kind, of their codes' tallies."""
    parts = list(counts)
    if len(parts) == 1:
        return parts[0]
    tally: Tally = {kind: {} for kind in kinds}
    for _, part in parts:
        for kind, counts_of_kind in part.items():
            into = tally[kind]
            for code, n in counts_of_kind.items():
                into[code] = into.get(code, 0) + n
    return sum(count for count, _ in parts), tally


def _dated_now(conn: sqlite3.Connection, keys: Sequence[int]) -> bool:
    """Tell whether any document's dated range (open or closed) holds one of ``keys``: an index seek per key."""
    values = ", ".join("(?)" for _ in keys)
    return bool(conn.execute(
        f"WITH k(key) AS (VALUES {values}) SELECT EXISTS (SELECT 1 FROM k JOIN open_dated d "  # noqa: S608 (placeholders)
        f"ON d.low > k.key - {MINUTES_PER_DAY} AND d.low <= k.key AND d.high > k.key)", list(keys)).fetchone()[0])


def _by_distance(q: SearchQuery) -> bool:
    """Tell whether a radius search is ordered by distance (counted, then paged from a ring).

    Relevance without text has no score to order by: it orders as distance does (search.query.build_sort).
    """
    return q.has_origin and q.sort != "rating" and not text_terms(q)


def _top(conn: sqlite3.Connection, q: SearchQuery, sql: str, params: list[Any], size: int,
         start: int) -> list[tuple[Any, ...]]:
    """Return rows ``start`` to ``start + size`` of a match in the search's order."""
    return conn.execute(f"SELECT {PAGE_COLUMNS} FROM ({sql}) ORDER BY {order_by(q)} LIMIT ? OFFSET ?",  # noqa: S608
                        [*params, size, start]).fetchall()


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


def _cells(locations: list[dict[str, float]]) -> str:
    """Return the cell words of a document's (quantized) locations."""
    return " ".join(sorted({"g{}x{}".format(*cell(*quantize(p["lat"], p["lon"]))) for p in locations}))


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
                          ("open_dated", "doc_id"), ("doc_fts", "rowid")):
        conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (doc_id,))  # noqa: S608 (fixed names)

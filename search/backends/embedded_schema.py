"""The embedded index file's tables: what each holds, and the version that says when a file must be rebuilt."""

from __future__ import annotations

from search.backends.embedded_query import CODE_COLUMNS

# Bumped whenever the tables change: an index file of another version is dropped and
# rebuilt empty by ensure_index() (`flask bootstrap` then reindexes it).
SCHEMA_VERSION = 9
TABLES = ("doc", "suggest", "point", "open_hours", "open_dated", "doc_fts", "doc_version")
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
    -- The document's other location when it has two (unit vector, lat, lon): the nearer of the two stands for it.
    sx REAL, sy REAL, sz REAL, slat REAL, slon REAL,
    -- Whether the document has three locations or more: only those documents' points are grouped per search.
    grouped INTEGER NOT NULL,
    visible INTEGER NOT NULL, verified INTEGER NOT NULL, gender TEXT, accepting_new_patients INTEGER,
    telehealth INTEGER, wheelchair_accessible INTEGER, rating_bayes REAL, rating_count INTEGER NOT NULL,
    method_codes TEXT NOT NULL, condition_codes TEXT NOT NULL, language_codes TEXT NOT NULL, status_code TEXT NOT NULL,
    -- Verified and grouped before longitude: a verified-only search never reads an unverified row, and the
    -- point-by-point and grouped scans read disjoint rows (embedded_query.py).
    PRIMARY KEY (band, verified, grouped, lon, lat, doc_id)
) WITHOUT ROWID;
-- Opening hours as key ranges [low, high) (search/hours.py), for "open now".
CREATE TABLE IF NOT EXISTS open_hours (
    doc_id INTEGER NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL, PRIMARY KEY (doc_id, low, high)
) WITHOUT ROWID;
-- Where dated exceptions make the weekly hours wrong, as dated key ranges [low, high) (search/hours.py
-- dated_ranges): closed = 1 where the week says open and the day is closed, 0 where the day opens though the week
-- is closed. Only documents with exceptions from yesterday on have rows (schema 9). A range never leaves its local
-- day, so one holding a key starts less than a day before it (open_dated_low).
CREATE TABLE IF NOT EXISTS open_dated (
    doc_id INTEGER NOT NULL, closed INTEGER NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL,
    PRIMARY KEY (doc_id, closed, low, high)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS doc_fts USING fts5 (
    name, vocabulary, places, bio, cells, tokenize = 'unicode61 remove_diacritics 2'
);
"""
# Secondary indexes, created after a bulk load rather than maintained row by row during it.
INDEXES = """
CREATE INDEX IF NOT EXISTS suggest_doc ON suggest (doc_id);
CREATE INDEX IF NOT EXISTS open_dated_low ON open_dated (low);
-- Covering: a text search probes it once per word match (INDEXED BY), and reading the point row too was half
-- its time at 1M. Band and longitude stay out of the front of the key: SQLite would probe once per band. The
-- sibling's columns let the probe keep the nearer of two points, so only grouped documents are grouped (schema 8).
CREATE INDEX IF NOT EXISTS point_doc ON point (
    doc_id, visible, verified, grouped, x, y, z, gender, accepting_new_patients, telehealth, wheelchair_accessible,
    rating_bayes, rating_count, method_codes, condition_codes, language_codes, status_code, sx, sy, sz, slat, slon
);
"""
# The keys of "now" in each time zone of an open-now search, filled per search.
OPEN_KEY_TABLE = "CREATE TEMP TABLE IF NOT EXISTS open_key (key INTEGER PRIMARY KEY)"
# The dated keys of the same minute (search/hours.py dated_keys).
DATED_KEY_TABLE = "CREATE TEMP TABLE IF NOT EXISTS dated_key (key INTEGER PRIMARY KEY)"
# No primary key: the matches are distinct documents by construction, and appending rows is cheaper than keeping
# a B-tree on id.
MATCH_TABLE = ("CREATE TEMP TABLE IF NOT EXISTS m (id INTEGER, d2 REAL, lat REAL, lon REAL, score REAL, "
               "verified INTEGER, rating_bayes REAL, rating_count INTEGER, "
               + ", ".join(f"{column} TEXT" for column in CODE_COLUMNS.values()) + ", grouped INTEGER)")
PAGE_COLUMNS = "id, lat, lon, score, verified, rating_bayes, rating_count"

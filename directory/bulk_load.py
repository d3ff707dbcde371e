"""Write the demo seed's rows in bulk: driver executemany on SQLite, and the settings a fresh load can afford."""

from __future__ import annotations

import gc
import multiprocessing
import queue
import sqlite3
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from operator import itemgetter
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Dialect, Table, insert
from sqlalchemy.dialects.sqlite import DATE, DATETIME, TIME

from directory.extensions import db

# SQLite's page cache during a seed (KiB; the default is 2 MB): 1M practitioners write 12 GB. The random
# unique key (verification_check.row_hash) touches a different index page per row, so the cache grows with the
# seed, up to what the index needs at 1M (~1.4 GB). At 300k, 586 MB instead of 256 MB took 8% off the writer's CPU.
BULK_CACHE_KIB = 256 * 1024
BULK_CACHE_KIB_PER_PRACTITIONER = 2
BULK_CACHE_KIB_MAX = 2 * 1024 * 1024


# A fresh load writes the database file once, without the write-ahead log (which holds every page and then
# copies it into the file: 12 GB twice at 1M). Rolling back still works (the journal is in memory); a crash
# mid-seed leaves a broken file, acceptable only for a database that held nothing.
FRESH_JOURNAL_MODE = "MEMORY"


@dataclass(frozen=True)
class DeferredIndex:
    """A secondary index dropped for the load and built again, from its own definition, at the end."""

    name: str
    sql: str


def cache_kib(count: int) -> int:
    """Return the page cache (KiB) for seeding ``count`` practitioners."""
    return min(BULK_CACHE_KIB_MAX, max(BULK_CACHE_KIB, count * BULK_CACHE_KIB_PER_PRACTITIONER))


@contextmanager
def bulk_load(tables: Sequence[Table], count: int) -> Iterator[list[DeferredIndex]]:
    """Pause the cyclic garbage collector, enlarge SQLite's page cache and defer the empty tables' indexes.

    Yield the deferred indexes; they are built again when the block ends without an error (on an error the
    caller's rollback undoes their drop, as SQLite's DDL is transactional). Both settings are restored.

    The seed keeps millions of objects alive (the places, one chunk's rows) and makes no reference cycles, so
    each full collection walked them all for nothing (12% of the CPU time). The random keys
    (verification_check.row_hash, unique) touch a different index page per row; with SQLite's default 2 MB
    cache each such page was written out and read back many times in the seed's one transaction.
    """
    collecting = gc.isenabled()
    gc.disable()
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one()) if sqlite else 0
    try:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size = -{cache_kib(count)}")
        deferred = drop_secondary_indexes(connection, tables) if sqlite else []
        yield deferred
        build_indexes(connection, deferred)
    finally:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")
        if collecting:
            gc.enable()


@contextmanager
def fresh_load(fresh: bool) -> Iterator[bool]:
    """For a load into a fresh SQLite database, write without the WAL and commit in the block; restore after.

    ``fresh`` means the session was idle (nothing of the caller's is uncommitted) and the tables to load are
    empty. Then the block runs in a transaction of its own with journal_mode MEMORY and synchronous OFF, and
    is committed at its end (the journal mode can only change outside a transaction); the caller's commit
    that follows commits nothing. Yield whether the journal was switched: it stays WAL when another
    connection has the file open (a running site must keep its WAL), or when not ``fresh``.
    """
    connection = db.session.connection()
    # A session inside someone else's transaction (a test's) begins with a savepoint: not ours to commit.
    if not fresh or connection.dialect.name != "sqlite" or connection.in_nested_transaction():
        yield False
        return
    raw = cast(sqlite3.Connection, connection.connection.dbapi_connection)
    # The session's transaction has just begun (our BEGIN, nothing read yet): end it, switch, begin again.
    raw.commit()
    journal, synchronous = raw.execute("PRAGMA journal_mode").fetchone()[0], raw.execute("PRAGMA synchronous").fetchone()[0]
    switched = _switch_journal(raw, FRESH_JOURNAL_MODE)
    if switched:
        raw.execute("PRAGMA synchronous = OFF")
    raw.execute("BEGIN")
    try:
        yield switched
        db.session.flush()
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        if switched:
            _switch_journal(raw, journal)
            raw.execute(f"PRAGMA synchronous = {int(synchronous)}")
        raw.execute("BEGIN")  # the session's transaction goes on, as SQLAlchemy believes


def _switch_journal(raw: sqlite3.Connection, mode: str) -> bool:
    """Set the journal mode of ``raw`` (outside a transaction); return False when another connection prevents it."""
    timeout = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout = 0")  # leaving WAL needs the file to itself: ask once, do not wait
    try:
        current = raw.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    if str(current).upper() != mode.upper():
        raise RuntimeError(f"SQLite kept journal_mode {current} instead of {mode}")
    return True


def drop_secondary_indexes(connection: Connection, tables: Sequence[Table]) -> list[DeferredIndex]:
    """Drop the non-unique indexes of those ``tables`` that are empty; return them, to be built again.

    One sorted build at the end is cheaper than keeping each index up to date row by row. Unique constraints
    stay (they guard the data while it is written): on SQLite they are part of the table (sqlite_autoindex_*).
    Only empty tables: an index over existing rows would be dropped and rebuilt for a small addition.
    """
    empty = [t.name for t in tables if connection.exec_driver_sql(
        f'SELECT NOT EXISTS (SELECT 1 FROM "{t.name}")').scalar_one()]  # noqa: S608 (our table names)
    if not empty:
        return []
    rows = connection.exec_driver_sql("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND sql IS NOT NULL ORDER BY tbl_name, name").all()
    deferred = [DeferredIndex(str(name), str(sql)) for table, name, sql in rows
                if table in empty and not str(sql).upper().startswith("CREATE UNIQUE")]
    for index in deferred:
        connection.exec_driver_sql(f'DROP INDEX "{index.name}"')
    return deferred


def build_indexes(connection: Connection, indexes: Sequence[DeferredIndex]) -> None:
    """Build ``indexes`` again from their stored definitions, so the schema is the migrations' own."""
    for index in indexes:
        connection.exec_driver_sql(index.sql)


@dataclass(frozen=True)
class Rows:
    """One table's rows for executemany: the column names, and each row's values in that order."""

    names: tuple[str, ...]
    values: list[tuple[Any, ...]]

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> Rows:
        """Return dict rows (all with the same keys) as tuples."""
        names = tuple(rows[0])
        return cls(names, list(map(itemgetter(*names), rows)) if len(names) > 1 else [(r[names[0]],) for r in rows])


def insert_rows(tables: Sequence[Table], rows: Mapping[str, Rows]) -> None:
    """Insert each table's ``rows`` in the order of ``tables`` (parents before children)."""
    connection = db.session.connection()
    for table in tables:
        batch = rows.get(table.name)
        if batch is None or not batch.values:
            continue
        if connection.dialect.name == "sqlite":
            sql, params = driver_insert(table, connection.dialect, batch)
            connection.exec_driver_sql(sql, params)
        else:  # PostgreSQL: Core batches the rows into multi-row INSERTs (insertmanyvalues), already fast
            db.session.execute(insert(table), [dict(zip(batch.names, values, strict=True)) for values in batch.values])


def driver_insert(table: Table, dialect: Dialect, rows: Rows) -> tuple[str, list[tuple[Any, ...]]]:
    """Return an INSERT for the driver and the rows' values, converted as Core would convert them.

    Core's executemany compiles the parameters of each row dict value by value in Python; here each column
    is converted at once with the same bind processors (SQLite stores dates as text in SQLAlchemy's format),
    and a column the rows leave out gets its scalar default, as Core gives it. The stored rows are the same.
    """
    names = list(rows.names)
    columns: list[Any] = list(zip(*rows.values, strict=True))
    for index, name in enumerate(names):
        process = _bind_processor(table.c[name].type.dialect_impl(dialect), dialect)
        if process is not None:
            columns[index] = _converted(process, columns[index])
    for column in table.c:
        if column.name not in names and column.default is not None:
            if not column.default.is_scalar:
                raise ValueError(f"seed rows for {table.name} leave out {column.name}, whose default is computed")
            names.append(column.name)
            columns.append([column.default.arg] * len(rows.values))  # type: ignore[attr-defined]
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 (our names)
           f"VALUES ({', '.join('?' * len(names))})")
    return sql, list(zip(*columns, strict=True))


def _converted(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """Return ``values`` through ``process``, each distinct value converted once.

    Most date and time columns of a chunk repeat a few values (opening hours, the load's own moment, review
    days): converting the distinct ones and looking the rest up in C is cheaper than a Python call per value.
    """
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # an unhashable value (a JSON column's dict)
        return list(map(process, values))
    if len(distinct) * 2 > len(values):
        return list(map(process, values))
    for value in distinct:
        distinct[value] = process(value)
    return list(map(distinct.__getitem__, values))


_SQLITE_TYPES: dict[type, type] = {datetime: DATETIME, date: DATE, time: TIME}
# SQLAlchemy's SQLite date and time types store text in these default formats, written by a %-format over a dict
# per value (~1.2 us; a seed converts ~60 per practitioner). isoformat writes the same text in C.
_ISO_FORMATS: dict[type, tuple[str, Callable[[Any], str]]] = {
    datetime: ("%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d",
               lambda v: v.isoformat(" ", "microseconds")),
    date: ("%(year)04d-%(month)02d-%(day)02d", date.isoformat),
    time: ("%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d", lambda v: v.isoformat("microseconds")),
}


def _bind_processor(impl: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """Return the column type's bind processor, or a faster one that writes the same text.

    The fast one takes only naive values of exactly the column's Python type from year 1000 on (what
    isoformat writes like the %-format); anything else goes to SQLAlchemy's own.
    """
    process = impl.bind_processor(dialect)
    if process is None or dialect.name != "sqlite":
        return process
    python_type = next((t for t in _ISO_FORMATS if isinstance(impl, _SQLITE_TYPES[t])), None)
    if python_type is None or getattr(impl, "_storage_format", None) != _ISO_FORMATS[python_type][0]:
        return process
    iso = _ISO_FORMATS[python_type][1]

    def fast(value: Any) -> Any:
        if type(value) is python_type and getattr(value, "tzinfo", None) is None and getattr(value, "year", 1000) >= 1000:
            return iso(value)
        return process(value)

    return fast


class ChunkSource(Protocol):
    """What a second process can generate rows from: a picklable plan whose chunks come out in order."""

    def chunks(self) -> Iterator[Any]:
        """Yield chunks with ``size``, ``rows`` (table name -> Rows) and ``suspended``."""
        ...


@dataclass(frozen=True)
class PreparedChunk:
    """One chunk as the driver takes it: an INSERT and its parameter tuples per table, in insert order."""

    size: int
    statements: list[tuple[str, list[tuple[Any, ...]]]]
    suspended: list[int]


# Chunks waiting for the writer (each ~20 MB of tuples): enough to keep both processes busy, bounded in memory.
QUEUED_CHUNKS = 3


def generated_elsewhere(plan: ChunkSource, tables: Sequence[Table]) -> Iterator[PreparedChunk]:
    """Yield ``plan``'s chunks, generated and converted for SQLite's driver in a second process, in order.

    A spawned process (not forked: this one holds open SQLite connections) runs ``plan.chunks()``; this one
    only writes. The rows are the same as generated here. A failure over there is raised here.
    """
    context = multiprocessing.get_context("spawn")
    channel: multiprocessing.Queue[tuple[str, Any]] = context.Queue(maxsize=QUEUED_CHUNKS)
    worker = context.Process(target=_generate, args=(plan, [t.name for t in tables], channel), daemon=True,
                             name="seed-rows")
    worker.start()
    try:
        while True:
            try:
                kind, payload = channel.get(timeout=1.0)
            except queue.Empty:
                if not worker.is_alive():
                    raise RuntimeError(f"the seed's row generator died (exit code {worker.exitcode})") from None
                continue
            if kind == "done":
                break
            if kind == "error":
                raise RuntimeError(f"the seed's row generator failed:\n{payload}")
            yield payload
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()
        channel.close()


def _generate(plan: ChunkSource, table_names: list[str], channel: multiprocessing.Queue[tuple[str, Any]]) -> None:
    """Run in the second process: generate each chunk, convert it for the driver, and send it."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    import directory.models  # noqa: F401 (registers every table on the metadata)

    gc.disable()  # as in bulk_load: millions of live objects, no cycles
    dialect = sqlite_dialect.dialect()
    tables = [db.metadata.tables[name] for name in table_names]
    try:
        for chunk in plan.chunks():
            statements = [driver_insert(table, dialect, chunk.rows[table.name]) for table in tables
                          if table.name in chunk.rows and chunk.rows[table.name].values]
            channel.put(("chunk", PreparedChunk(chunk.size, statements, chunk.suspended)))
    except Exception:  # noqa: BLE001 (not hidden: sent to the writer, which raises it)
        channel.put(("error", traceback.format_exc()))
        return
    channel.put(("done", None))


def write_prepared(chunks: Iterator[PreparedChunk], progress: Callable[[int], None] | None) -> list[int]:
    """Execute each prepared chunk on the session's connection; return the ids of the suspended practitioners."""
    connection = db.session.connection()
    suspended: list[int] = []
    for chunk in chunks:
        for sql, params in chunk.statements:
            connection.exec_driver_sql(sql, params)
        suspended.extend(chunk.suspended)
        if progress:
            progress(chunk.size)
    return suspended

"""Flask extensions, created unbound here and bound to an app with ``init_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

from search import SearchBackend, create_backend

# A naming convention lets Alembic give every constraint a stable, predictable name
# on SQLite and PostgreSQL alike (see the Alembic "naming constraints" docs).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every Meridian model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "accounts.sign_in"
login_manager.login_message = "Please sign in to continue."
limiter = Limiter(key_func=get_remote_address)
talisman = Talisman()


@limiter.request_filter
def _second_pass_of_a_busy_post() -> bool:
    """Exempt the read-only second pass of a post the busy database refused (errors._form_as_sent): the first pass
    was already counted, and counting the same post twice would spend a visitor's limit on our lock."""
    return bool(g.get("database_busy"))


def reading_connection() -> Connection:
    """Return the session's connection for Core reads, after the flush the session's own execute would make.

    Core on the connection skips the ORM layer of ``session.execute`` (0.2 ms a statement), and with it autoflush:
    a credential added and then read back in one transaction must still be seen (``no_autoflush`` is respected).
    """
    if db.session.autoflush:
        db.session.flush()
    return db.session.connection()


def upsert_into(connection: Connection, table: Table) -> Any:
    """Return an INSERT into ``table`` that takes ``.on_conflict_do_update``: PostgreSQL's, or SQLite's (the two we run on)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on foreign keys and hand transaction control to SQLAlchemy on SQLite.

    The busy timeout (how long a writer waits for another writer's transaction to end) is pysqlite's
    ``timeout``, set from SQLITE_BUSY_TIMEOUT_S by ``sqlite_engine_options``.
    """
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own transaction handling breaks SAVEPOINT (used by per-test
    # rollback and nested transactions); SQLAlchemy's documented recipe disables it
    # and emits BEGIN itself in the "begin" hook below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_engine_options(app: Flask) -> None:
    """Give the app's SQLite connections the configured busy timeout (pysqlite calls sqlite3_busy_timeout)."""
    from sqlalchemy.engine import make_url

    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        return
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("connect_args", {}).setdefault("timeout", float(app.config["SQLITE_BUSY_TIMEOUT_S"]))


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    """Emit BEGIN on SQLite ourselves (see the connect hook); a request that may write takes the write lock now.

    A deferred transaction that reads, and then writes after another connection committed, cannot take
    the write lock at all (SQLITE_BUSY_SNAPSHOT: "database is locked" at once, whatever the busy timeout),
    so a form post would fail whenever the outbox worker or another request wrote in between. BEGIN
    IMMEDIATE makes such a request wait its turn instead. Reads (GET) stay deferred and never wait.

    When that wait ran out (``errors.handle_database_busy``), the request is answered again in read-only
    mode (``query_only``) to show the form as it was sent: it must not wait a second time, nor write.
    """
    if conn.dialect.name != "sqlite":
        return
    read_only = _answering_busy_request()
    if conn.info.get("query_only", False) != read_only:  # the pooled connection keeps the pragma: reset it
        conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
        conn.info["query_only"] = read_only
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _request_may_write() and not read_only else "BEGIN")


def _request_may_write() -> bool:
    """Return whether this transaction belongs to a request whose method may change data."""
    from flask import has_request_context, request

    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def _answering_busy_request() -> bool:
    """Return whether this request is being answered again, read-only, after the database was busy."""
    from flask import g, has_request_context

    return has_request_context() and bool(g.get("database_busy"))


class SearchState:
    """One app's search backend, created on first use (so start-up does no I/O)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._settings = settings
        self._backend: SearchBackend | None = None

    def backend(self) -> SearchBackend:
        """Return this app's backend, creating it on first use."""
        if self._backend is None:
            self._backend = create_backend(**self._settings)
        return self._backend

    def close(self) -> None:
        """Release the backend's connections (tests and CLI teardown)."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None


class SearchExtension:
    """Gives each app its own SearchState in ``app.extensions["search"]``; ``backend()`` uses the current app's."""

    def init_app(self, app: Flask) -> None:
        """Register a SearchState built from ``app``'s settings."""
        app.extensions["search"] = SearchState({
            "kind": app.config["SEARCH_BACKEND"],
            "url": app.config.get("SEARCH_URL"),
            "path": app.config["SEARCH_EMBEDDED_PATH"],
            "index_prefix": app.config["SEARCH_INDEX_PREFIX"],
            "timeout": app.config["SEARCH_TIMEOUT_S"],
            "threads": app.config["SEARCH_EMBEDDED_THREADS"],
        })

    def backend(self) -> SearchBackend:
        """Return the current app's backend."""
        state: SearchState = current_app.extensions["search"]
        return state.backend()


search = SearchExtension()


def content_security_policy(tile_url: str) -> dict[str, Any]:
    """Return the CSP: scripts and styles only from this site (no inline), map tiles from their host."""
    from urllib.parse import urlsplit

    parts = urlsplit(tile_url)
    tile_origin = f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"  # Leaflet's {s} subdomains
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": ["'self'", "data:", tile_origin],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_extensions(app: Flask) -> None:
    """Bind every extension to ``app``."""
    sqlite_engine_options(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=content_security_policy(app.config["MAP_TILE_URL"]),
        referrer_policy="strict-origin-when-cross-origin",
    )
    search.init_app(app)

"""Session-wide fixtures: one migrated database per run, one rolled-back transaction per test."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession

from directory import create_app
from directory.extensions import db
from tests.support.npi_server import FakeNpiRegistry, running_registry
from tests.support.postgres import PostgresUnavailable, start_cluster

pytest_plugins = ["tests.integration.conftest_engines"]


# A fixed Fernet key (32 bytes, url-safe base64) so sealed test rows read back in every app the tests build.
TEST_REFERRAL_KEY = base64.urlsafe_b64encode(b"meridian-test-referral-key-32b!!").decode()
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(reason: str) -> None:
    """Skip locally, fail in CI: a missing real component is never silently skipped there."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the test database URL: SQLite by default, PostgreSQL when MERIDIAN_TEST_DATABASE=postgresql."""
    kind = os.environ.get("MERIDIAN_TEST_DATABASE", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    if os.environ.get("MERIDIAN_TEST_DATABASE_URL"):
        yield os.environ["MERIDIAN_TEST_DATABASE_URL"]
        return
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        require(f"PostgreSQL: {exc}")
    yield cluster.url
    cluster.stop()


def make_config(database_url: str, tmp: Path, **extra: Any) -> dict[str, Any]:
    """Return the settings a test app runs with."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "REFERRAL_KEYS": TEST_REFERRAL_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_BACKEND": "embedded",
        "SEARCH_EMBEDDED_PATH": str(tmp / "search.db"),
        "INSTANCE_DIR": tmp,
        "RATELIMIT_ENABLED": False,  # rate-limit tests turn it on in their own app
        "SERVER_NAME": None,
        **extra,
    }


@contextmanager
def extra_app(database_url: str, tmp: Path, **overrides: Any) -> Iterator[Flask]:
    """Build another app on the test database with its own settings; release its connections afterwards.

    Flask-Limiter keeps ``enabled`` on the one module-level limiter (the last init_app wins): an app built with
    RATELIMIT_ENABLED=True would leave rate limits on, and its counts, for every test after it on the session app.
    """
    from directory.extensions import limiter

    enabled = limiter.enabled
    application = create_app(make_config(database_url, tmp, **overrides))
    try:
        yield application
    finally:
        if limiter.enabled:
            with application.app_context():
                limiter.reset()
        limiter.enabled = enabled
        application.extensions["search"].close()
        with application.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Return the app with its database built by running the migrations, vocabularies loaded."""
    from directory.practitioners.vocabulary import load_vocabularies

    application = create_app(make_config(database_url, tmp_path_factory.mktemp("instance")))
    with application.app_context():
        upgrade(directory=str(application.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
        application.extensions["search"].backend().ensure_index()
    yield application
    application.extensions["search"].close()
    with application.app_context():
        db.engine.dispose()


class ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's session, but every statement goes through the test's one connection."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.bind


def _fresh_g(sender: Flask, **extra: Any) -> None:
    """Empty ``g`` at each request start.

    The test holds an app context open, and Flask reuses it for requests, so without this
    ``g`` (Flask-WTF's CSRF token, Flask-Login's user) would leak from one request to the
    next, which never happens in production where every request gets its own context.
    """
    g.__dict__.clear()


@contextmanager
def rolled_back_session(application: Flask) -> Iterator[sa.orm.scoped_session[Any]]:
    """Run a block inside a transaction that is rolled back afterwards (commits become savepoints)."""
    request_started.connect(_fresh_g, application)
    with application.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        # Flask-SQLAlchemy's own get_bind would pick the engine and ignore this connection.
        db.session = db._make_scoped_session(
            {"class_": ConnectionBoundSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()
            request_started.disconnect(_fresh_g, application)


@pytest.fixture
def session(app: Flask) -> Iterator[sa.orm.scoped_session[Any]]:
    """Run the test inside a transaction that is rolled back afterwards, and empty the search index it used.

    The index lives outside the transaction; left as it is, it would hold documents, and the versions the
    engine compares, of practitioners whose ids and search versions the rollback hands out again.
    """
    with rolled_back_session(app) as scoped:
        yield scoped
    with app.app_context():
        app.extensions["search"].backend().reindex(iter(()))


@pytest.fixture(scope="session")
def registry_server(app: Flask) -> Iterator[FakeNpiRegistry]:
    """Run a local NPPES registry (the real JSON shape) for the session, the app's NPI client pointed at it."""
    with running_registry(app) as registry:
        yield registry


@pytest.fixture
def registry(registry_server: FakeNpiRegistry) -> FakeNpiRegistry:
    """Return the local registry with no scripted answers and no recorded requests."""
    registry_server.reset()
    return registry_server


@pytest.fixture
def client(app: Flask, session: Any) -> FlaskClient:
    """Return a test client whose requests share the test's transaction."""
    return app.test_client()

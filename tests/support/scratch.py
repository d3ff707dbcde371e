"""A throwaway, migrated database for tests whose threads must see each other's commits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.exc import OperationalError

from directory.extensions import db
from tests.conftest import extra_app


@contextmanager
def scratch_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a new database beside ``database_url``, migrated, with vocabularies; drop it afterwards.

    Such tests cannot run inside one rolled-back transaction; a database of their own, dropped even when the
    test fails, keeps the session's database clean.
    """
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield _migrated(url.set(database=str(tmp_path / f"scratch-{uuid.uuid4().hex[:8]}.db")), tmp_path)
        return
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield _migrated(url.set(database=name), tmp_path)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _migrated(url: sa.engine.URL, tmp_path: Path) -> str:
    """Run the migrations and load the vocabularies on ``url``; return it as a string."""
    from directory.practitioners.vocabulary import load_vocabularies

    rendered = url.render_as_string(hide_password=False)
    instance = tmp_path / f"migrate-{uuid.uuid4().hex[:8]}"
    instance.mkdir()
    with extra_app(rendered, instance) as application, application.app_context():
        upgrade(directory=str(application.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
    return rendered


def in_app_context(application: Flask, work: Callable[[], Any]) -> Any:
    """Run ``work`` in an app context of its own (its own session and connection), then release them."""
    with application.app_context():
        try:
            return work()
        finally:
            db.session.remove()


def retrying_when_locked(application: Flask, work: Callable[[], Any], attempts: int = 50) -> Any:
    """Run ``work`` like ``in_app_context``, again while SQLite reports "database is locked".

    A SQLite transaction that read before writing cannot write once another connection has committed since
    its read (SQLITE_BUSY_SNAPSHOT; waiting does not help). Outbox workers commit all the time in these tests,
    so a thread standing in for the site starts such a transaction again, as a client of SQLite has to.
    """
    for attempt in range(attempts):
        try:
            return in_app_context(application, work)
        except OperationalError as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)
    return None

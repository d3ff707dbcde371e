"""Two outbox workers (two `flask serve` processes) drain one outbox while writes go on: the index ends equal to the
database, document for document and version for version, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from directory.extensions import db, search
from directory.indexing.models import SearchOutbox
from directory.indexing.services import documents_for, sync_outbox
from directory.models import Practitioner
from tests import factories
from tests.conftest import extra_app

PRACTITIONERS = 12
EDITS = 120


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Return a migrated database of this test's own.

    The workers must see each other's commits, so this test cannot run inside one rolled-back transaction;
    a throwaway database (dropped afterwards, even when the test fails) keeps the session's database clean.
    """
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        scratch = url.set(database=str(tmp_path / "scratch.db"))
        yield _migrated(scratch.render_as_string(hide_password=False), tmp_path)
        return
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield _migrated(url.set(database=name).render_as_string(hide_password=False), tmp_path)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def _migrated(url: str, tmp_path: Path) -> str:
    """Run the migrations and load the vocabularies on ``url``; return it."""
    from directory.practitioners.vocabulary import load_vocabularies

    with extra_app(url, tmp_path) as application, application.app_context():
        upgrade(directory=str(application.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
        application.extensions["search"].backend().ensure_index()
    return url


def _in(application: Flask, work: Callable[[], Any]) -> Any:
    """Run ``work`` in an app context of its own (its own session and connection), then release them."""
    with application.app_context():
        try:
            return work()
        finally:
            db.session.remove()


def _create_practitioners() -> list[int]:
    """Add the practitioners the writer edits, with an empty shared index; return their ids."""
    ids = [factories.practitioner().id for _ in range(PRACTITIONERS)]
    db.session.commit()
    search.backend().ensure_index()
    return ids


def _writer(application: Flask, ids: list[int], done: threading.Event, errors: list[BaseException]) -> None:
    """Edit, empty, refill and delete practitioners one transaction at a time, as the site does."""
    rng = random.Random(13)
    try:
        for n in range(EDITS):
            pid = rng.choice(ids)

            def edit(n: int = n, pid: int = pid) -> None:
                p = db.session.get(Practitioner, pid)
                if p is None:
                    return
                if n % 29 == 28:
                    db.session.delete(p)  # gone: its document must go too
                elif n % 13 == 12:
                    p.locations.clear() if p.locations else p.locations.append(factories.location())
                else:
                    p.bio = f"edit {n}"
                    p.last_name = f"Writer{n}"
                db.session.commit()

            _retrying_when_locked(application, edit)
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)
    finally:
        done.set()


def _retrying_when_locked(application: Flask, work: Callable[[], Any], attempts: int = 50) -> None:
    """Run ``work``, again while SQLite reports "database is locked".

    A SQLite transaction that read before writing cannot write once another connection has committed
    since its read (SQLITE_BUSY_SNAPSHOT, no waiting helps); the workers commit all the time here, so this
    stand-in for the site starts such a transaction again, as a client of SQLite has to.
    """
    for attempt in range(attempts):
        try:
            _in(application, work)
            return
        except OperationalError as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)


def _worker(application: Flask, writes_done: threading.Event, errors: list[BaseException]) -> None:
    """Drain in small batches until the writer has finished and nothing is due any more."""
    backend = application.extensions["search"].backend()
    try:
        while True:
            finished = writes_done.is_set()
            report = _in(application, lambda: sync_outbox(backend, batch_size=3))
            assert report.failed == 0, report.last_error
            if finished and not report.applied:
                return
    except BaseException as exc:
        errors.append(exc)


def _indexed(path: Path) -> dict[int, tuple[int, str, str]]:
    """Read (version, display name, bio) of every document straight from the embedded index file."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT d.id, v.version, d.display_name, f.bio FROM doc d "
                            "JOIN doc_version v ON v.id = d.id JOIN doc_fts f ON f.rowid = d.id").fetchall()
    return {pid: (version, name, bio) for pid, version, name, bio in rows}


def test_two_workers_draining_one_outbox_leave_the_index_equal_to_the_database(scratch_url: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared"  # both "processes" write the same embedded index file
    shared.mkdir()
    with extra_app(scratch_url, shared) as site, extra_app(scratch_url, shared) as first, \
            extra_app(scratch_url, shared) as second:
        ids = _in(site, _create_practitioners)
        writes_done = threading.Event()
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_writer, args=(site, ids, writes_done, errors)),
                   threading.Thread(target=_worker, args=(first, writes_done, errors)),
                   threading.Thread(target=_worker, args=(second, writes_done, errors))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert not any(thread.is_alive() for thread in threads)

        def expected() -> tuple[int, dict[int, tuple[int, str, str]]]:
            docs = documents_for(ids)
            left = db.session.scalar(select(func.count(SearchOutbox.id))) or 0
            return left, {pid: (d["version"], d["display_name"], d["bio"]) for pid, d in docs.items()}

        left, database = _in(site, expected)
    assert left == 0
    assert database, "some practitioners are still listed"
    assert len(database) < PRACTITIONERS, "the writer deleted or emptied some"
    assert _indexed(shared / "search.db") == database

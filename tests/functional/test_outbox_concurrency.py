"""Two outbox workers (two `flask serve` processes) drain one outbox while writes go on: the index ends equal to the
database, document for document and version for version, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.extensions import db, search
from directory.indexing.models import SearchOutbox
from directory.indexing.services import documents_for, sync_outbox
from directory.models import Practitioner
from tests import factories
from tests.conftest import extra_app
from tests.support.scratch import in_app_context, retrying_when_locked, scratch_database

PRACTITIONERS = 12
EDITS = 120


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Return a migrated database of this test's own (the workers must see each other's commits)."""
    with scratch_database(database_url, tmp_path) as url:
        yield url


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

            retrying_when_locked(application, edit)
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)
    finally:
        done.set()


def _worker(application: Flask, writes_done: threading.Event, errors: list[BaseException]) -> None:
    """Drain in small batches until the writer has finished and nothing is due any more."""
    backend = application.extensions["search"].backend()
    try:
        while True:
            finished = writes_done.is_set()
            report = in_app_context(application, lambda: sync_outbox(backend, batch_size=3))
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
        ids = in_app_context(site, _create_practitioners)
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

        left, database = in_app_context(site, expected)
    assert left == 0
    assert database, "some practitioners are still listed"
    assert len(database) < PRACTITIONERS, "the writer deleted or emptied some"
    assert _indexed(shared / "search.db") == database

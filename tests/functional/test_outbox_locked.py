"""The outbox worker and `flask search sync` meet a locked SQLite database: they wait, retry, and never die.

Real locks, held by another sqlite3 connection in another thread, on a database of the test's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from directory.cli import DATABASE_LOCKED, _outbox_worker
from directory.extensions import db, search
from directory.indexing import services as indexing
from tests import factories
from tests.conftest import extra_app
from tests.support.locks import lock_held
from tests.support.scratch import in_app_context, scratch_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database of this test's own (this is about SQLite's one write lock)."""
    with scratch_database(f"sqlite:///{tmp_path / 'base.db'}", tmp_path) as url:
        yield url


def _add(last_name: str) -> None:
    factories.practitioner(first_name="Locked", last_name=last_name)
    db.session.commit()


def _found(app: Flask) -> list[str]:
    return list(in_app_context(app, lambda: search.backend().suggest("locked")))


def test_sync_waits_out_a_lock_longer_than_the_busy_timeout(sqlite_url: str, tmp_path: Path) -> None:
    with extra_app(sqlite_url, tmp_path, SQLITE_BUSY_TIMEOUT_S=0.2) as app:
        in_app_context(app, lambda: search.backend().ensure_index())
        in_app_context(app, lambda: _add("Waiter"))
        with lock_held(sqlite_url, release_after_s=1.0):
            result = app.test_cli_runner().invoke(args=["search", "sync"])
        assert result.exit_code == 0, result.output
        assert "applied 1, failed 0" in result.output
        assert _found(app) == ["Locked Waiter"]


def test_sync_under_a_lock_that_outlasts_its_retries_says_so_and_loses_nothing(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexing, "LOCK_RETRIES", 2)  # two tries of 0.2 s, 0.5 s apart: the lock outlasts them
    with extra_app(sqlite_url, tmp_path, SQLITE_BUSY_TIMEOUT_S=0.2) as app:
        in_app_context(app, lambda: search.backend().ensure_index())
        in_app_context(app, lambda: _add("Patient"))
        with lock_held(sqlite_url):
            result = app.test_cli_runner().invoke(args=["search", "sync"])
        assert result.exit_code == 1
        assert DATABASE_LOCKED in result.output and "Traceback" not in result.output
        assert in_app_context(app, lambda: indexing.outbox_status().pending) == 1
        assert app.test_cli_runner().invoke(args=["search", "sync"]).exit_code == 0
        assert _found(app) == ["Locked Patient"]


def test_the_serve_worker_keeps_going_through_a_lock(sqlite_url: str, tmp_path: Path) -> None:
    stop = threading.Event()
    with extra_app(sqlite_url, tmp_path, SQLITE_BUSY_TIMEOUT_S=0.2) as app:
        in_app_context(app, lambda: search.backend().ensure_index())
        in_app_context(app, lambda: _add("Worker"))
        worker = threading.Thread(target=_outbox_worker, args=(app, 0.05, stop), daemon=True)
        try:
            with lock_held(sqlite_url):
                worker.start()
                time.sleep(1.0)  # it meets the lock, waits, retries
                assert _found(app) == []
            deadline = time.monotonic() + 20
            while _found(app) != ["Locked Worker"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _found(app) == ["Locked Worker"]
            assert worker.is_alive()
        finally:
            stop.set()
            worker.join(timeout=30)
        assert in_app_context(app, lambda: indexing.outbox_status().pending) == 0


def test_a_command_without_lock_handling_of_its_own_says_the_database_is_busy_instead_of_a_traceback(
        sqlite_url: str, tmp_path: Path) -> None:
    with extra_app(sqlite_url, tmp_path, SQLITE_BUSY_TIMEOUT_S=0.2) as app:
        in_app_context(app, lambda: search.backend().ensure_index())
        # EXCLUSIVE locking mode shuts readers out too: even `search status`, which only reads, meets the lock.
        with lock_held(sqlite_url, readers_too=True):
            status = app.test_cli_runner().invoke(args=["search", "status"])
            admin = app.test_cli_runner().invoke(args=["users", "create-admin", "--email", "a@example.org",
                                                       "--name", "A Admin", "--password", "locked out for a moment 2026"])
        for result in (status, admin):
            assert result.exit_code == 1, result.output
            assert "the database is busy or unreachable (database is locked)" in result.output
            assert "Traceback" not in result.output and result.exception is not None
        # Once the lock is gone the same commands work, and registering the commands again (each app does) did not
        # wrap them twice.
        assert app.test_cli_runner().invoke(args=["search", "status"]).exit_code == 0
    with extra_app(sqlite_url, tmp_path, SQLITE_BUSY_TIMEOUT_S=0.2) as again:
        callback = again.cli.commands["search"].commands["status"].callback  # type: ignore[attr-defined]
        assert callback.reports_database_trouble
        assert not getattr(callback.__wrapped__, "reports_database_trouble", False), "wrapped twice"

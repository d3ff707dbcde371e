"""SQLite: a form post that reads and then writes never fails because another connection wrote in between."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from directory.accounts.policy import public
from directory.extensions import db
from tests.conftest import extra_app
from tests.support.scratch import scratch_database


def _other_connection_writes(url: str) -> None:
    """Commit a write from another connection and thread (as the outbox worker would); re-raise its error."""
    errors: list[BaseException] = []

    def write() -> None:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=200")  # fail fast instead of waiting its turn
                conn.exec_driver_sql("UPDATE method SET name = name")
                conn.commit()
        except sa.exc.OperationalError as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Any:
    """A scratch SQLite database (this is about SQLite's locking; PostgreSQL has row locks)."""
    with scratch_database(f"sqlite:///{tmp_path / 'base.db'}", tmp_path) as url:
        yield url


def test_a_post_takes_the_write_lock_first_so_its_write_cannot_fail(sqlite_url: str, tmp_path: Path) -> None:
    with extra_app(sqlite_url, tmp_path) as app, app.test_request_context("/admin/x", method="POST"):
        db.session.execute(sa.text("SELECT count(*) FROM method")).scalar()
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            _other_connection_writes(sqlite_url)  # waits its turn: the post holds the write lock
        db.session.execute(sa.text("UPDATE method SET name = name"))
        db.session.commit()


def test_a_read_stays_deferred_and_blocks_no_writer(sqlite_url: str, tmp_path: Path) -> None:
    with extra_app(sqlite_url, tmp_path) as app, app.test_request_context("/search", method="GET"):
        db.session.execute(sa.text("SELECT count(*) FROM method")).scalar()
        _other_connection_writes(sqlite_url)
        db.session.rollback()


def test_a_busy_database_is_a_plain_503_not_a_traceback(sqlite_url: str, tmp_path: Path) -> None:
    with extra_app(sqlite_url, tmp_path) as app:
        @public
        def locked() -> str:
            raise sa.exc.OperationalError("UPDATE method", {}, Exception("database is locked"))

        app.add_url_rule("/test-locked", "test_locked", locked)
        response = app.test_client().get("/test-locked")
        assert response.status_code == 503
        assert "nothing was saved" in response.get_data(as_text=True)

"""The embedded index file cannot grow (SQLITE_FULL): changes wait in the outbox, say so, and drain after.

The disk is "full" for real as SQLite sees it: ``PRAGMA max_page_count`` caps the index connection's file at
its present size, so the next write that needs a page fails with SQLITE_FULL, "database or disk is full",
through the very path a full disk takes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from directory.extensions import db, search
from directory.indexing.services import outbox_status, sync_outbox
from search.backends.embedded import EmbeddedBackend
from search.types import SearchQuery
from tests import factories
from tests.support.web import sign_in_as

BOSTON = {"lat": 42.3601, "lon": -71.0589}
# Longer than a page (4 KiB) and of distinct words: its document cannot fit in the room left in existing pages.
LONG_BIO = " ".join(f"practice{n}" for n in range(1500))


@contextmanager
def index_full(backend: Any) -> Iterator[None]:
    """Cap the embedded index file at its present size for this thread's connection (the one the app uses)."""
    assert isinstance(backend, EmbeddedBackend)
    conn: sqlite3.Connection = backend._conn()
    conn.execute("VACUUM")  # no free pages left inside the file: the next write must grow it
    limit = conn.execute("PRAGMA max_page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA max_page_count = {limit}")


def _found(text: str) -> list[int]:
    page = search.backend().search(SearchQuery(**BOSTON, radius_km=50, text=text, verified_only=False))
    return [hit.id for hit in page.hits]


def _indexed(last_name: str) -> Any:
    practitioner = factories.practitioner(last_name=last_name)
    db.session.commit()
    sync_outbox(search.backend())
    return practitioner


def test_a_change_waits_in_the_outbox_while_the_index_is_full_and_drains_after(app: Flask, session: Any,
                                                                               client: Any) -> None:
    earlier = _indexed("Earlier")
    runner = app.test_cli_runner()
    with index_full(search.backend()):
        added = factories.practitioner(last_name="Fullerton", bio=LONG_BIO)
        db.session.commit()  # the write itself is the database's: it is committed whatever the index does
        report = sync_outbox(search.backend())
        assert (report.applied, report.failed) == (0, 1)
        status = outbox_status()
        assert (status.pending, status.max_attempts) == (1, 1)
        assert "is full" in (status.last_error or "")
        sync = runner.invoke(args=["search", "sync"])
        assert sync.exit_code == 1 and "is full" in sync.output and "wait in the outbox" in sync.output
        said = runner.invoke(args=["search", "status"]).output
        assert "outbox: 1 pending" in said
        assert "Search is behind: 1 listing waits in the outbox" in said and "is full" in said
        assert _found("Earlier") == [earlier.id], "search keeps serving what it has"
        assert _found("Fullerton") == []
        api = client.get("/api/v1/practitioners/search", query_string={**BOSTON, "radius_km": 50, "verified_only": "false"})
        assert api.status_code == 200 and [hit["id"] for hit in api.get_json()["hits"]] == [earlier.id]
        assert client.get(f"/practitioners/{added.slug}").status_code == 200, "the listing itself is saved and shown"
    sync = runner.invoke(args=["search", "sync"])
    assert sync.exit_code == 0, sync.output
    assert "applied 1, failed 0" in sync.output
    assert outbox_status().pending == 0
    assert "Search is up to date" in runner.invoke(args=["search", "status"]).output
    assert _found("Fullerton") == [added.id]


def test_the_admin_dashboard_says_the_index_is_full(app: Flask, session: Any, client: Any) -> None:
    admin = factories.user("admin")
    db.session.commit()
    sign_in_as(client, admin)
    with index_full(search.backend()):
        factories.practitioner(last_name="Fullerton", bio=LONG_BIO)
        db.session.commit()
        sync_outbox(search.backend())
        page = client.get("/account").get_data(as_text=True)
    assert "Search is behind: 1 listing waits in the outbox" in page
    assert "is full (no space left to grow it)" in page
    sync_outbox(search.backend())
    assert outbox_status().pending == 1, "still waiting: its retry is scheduled later (backoff)"


def test_a_reindex_into_a_full_index_fails_clearly_and_the_old_index_serves(app: Flask, session: Any) -> None:
    kept = _indexed("Kept")
    for n in range(30):  # a rebuild needing more room than the index has
        factories.practitioner(last_name=f"Later{n}", bio=LONG_BIO)
    db.session.commit()
    runner = app.test_cli_runner()
    with index_full(search.backend()):
        result = runner.invoke(args=["search", "reindex"])
        assert result.exit_code == 1
        assert "is full" in result.output and "the old index still serves" in result.output
        assert "Traceback" not in result.output
        assert _found("Kept") == [kept.id]
        assert search.backend().count() == 1
        assert outbox_status().pending == 30, "the rebuild cleared nothing: every change still waits"
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert search.backend().count() == 31 and outbox_status().pending == 0

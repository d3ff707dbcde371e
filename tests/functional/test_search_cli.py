"""flask search sync / reindex / status on the embedded backend."""

from __future__ import annotations

from typing import Any

from flask import Flask

from directory.extensions import db, search
from tests import factories


def test_sync_applies_pending_changes_and_reports_them(app: Flask, session: Any) -> None:
    p = factories.practitioner(last_name="Syncable")
    db.session.commit()
    runner = app.test_cli_runner()
    status = runner.invoke(args=["search", "status"])
    assert "outbox: 1 pending" in status.output
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output
    assert "applied 1, failed 0" in result.output
    assert "outbox: 0 pending" in runner.invoke(args=["search", "status"]).output
    assert search.backend().suggest("syncable") == [f"{p.first_name} Syncable"]


def test_reindex_rebuilds_from_the_database_with_progress(app: Flask, session: Any) -> None:
    factories.practitioner(last_name="Rebuilt")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexing practitioners" in result.output
    assert "indexed 1 documents" in result.output
    assert search.backend().count() == 1
    assert "outbox: 0 pending" in app.test_cli_runner().invoke(args=["search", "status"]).output

"""Two outbox workers (two `flask serve` processes) drain one outbox while writes go on: the index ends equal to the
database, document for document and version for version, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import extra_app
from tests.support.outbox_race import Indexed, race
from tests.support.scratch import scratch_database


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Return a migrated database of this test's own (the workers must see each other's commits)."""
    with scratch_database(database_url, tmp_path) as url:
        yield url


def _indexed(path: Path) -> Indexed:
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
        left, database = race(site, [first, second])
    assert left == 0
    assert _indexed(shared / "search.db") == database

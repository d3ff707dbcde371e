"""The demo seed writes rows the app reads back as if the ORM had written them, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select, text

from directory.extensions import db
from directory.models import Location, OpeningHours, Practitioner, Review, ReviewRevision, VerificationCheck
from directory.vetting.chain import verify_chain
from tests.conftest import extra_app
from tests.support.scratch import scratch_database


def test_seeded_rows_read_back_typed_with_the_defaults_core_would_give(session: Any) -> None:
    from directory.seed import seed_practitioners

    assert seed_practitioners(40, 3) == 40
    p = session.scalars(select(Practitioner).order_by(Practitioner.id.desc()).limit(1)).one()
    # Columns the seed leaves out get their model defaults, not NULL.
    assert (p.fees, p.insurance, p.hidden_reason, p.hidden) == ("", "", "", False)
    assert isinstance(p.created_at, datetime) and isinstance(p.accepting_new_patients, bool)
    hours = session.scalars(select(OpeningHours).join(Location).where(Location.practitioner_id == p.id)).first()
    assert isinstance(hours.opens, time) and isinstance(hours.closes, time)
    review = session.scalars(select(Review).where(Review.hold_reason == "")).first()
    assert review is not None and isinstance(review.visit_date, date)
    assert session.scalar(select(func.count()).select_from(ReviewRevision).where(ReviewRevision.methods == "")) > 0
    # Queries compare dates in SQL, so SQLite must hold them in SQLAlchemy's own text format.
    if session.get_bind().dialect.name == "sqlite":
        stored = session.execute(text("SELECT created_at FROM practitioner WHERE id = :id"), {"id": p.id}).scalar()
        assert stored == p.created_at.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_seeded_chains_verify_and_the_bulk_load_settings_are_restored(session: Any) -> None:
    from directory.seed import seed_practitioners

    sqlite = session.get_bind().dialect.name == "sqlite"
    cache_size = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None
    seed_practitioners(30, 4)
    assert gc.isenabled()
    if sqlite:
        assert session.execute(text("PRAGMA cache_size")).scalar() == cache_size
    pids = session.scalars(select(VerificationCheck.practitioner_id).distinct()).all()
    assert pids
    for pid in pids:
        checks = session.scalars(select(VerificationCheck).where(VerificationCheck.practitioner_id == pid)
                                 .order_by(VerificationCheck.sequence)).all()
        rows = [{c.name: getattr(check, c.name) for c in VerificationCheck.__table__.columns} for check in checks]
        assert verify_chain(rows) == []


def test_each_seeded_review_has_one_first_revision_repeating_it(session: Any) -> None:
    from directory.seed import seed_practitioners

    seed_practitioners(40, 7)
    reviews = session.scalars(select(Review).order_by(Review.id)).all()
    revisions = session.scalars(select(ReviewRevision).order_by(ReviewRevision.id)).all()
    assert reviews and [r.review_id for r in revisions] == [r.id for r in reviews]
    for review, revision in zip(reviews, revisions, strict=True):
        assert revision.revision == 1 and revision.methods == ""
        assert (revision.rating, revision.title, revision.body, revision.visit_date, revision.edited_at) == (
            review.rating, review.title, review.body, review.visit_date, review.created_at)
    # A second seed's revisions follow on from the first's, one for each of its reviews.
    seed_practitioners(10, 8)
    assert session.scalar(select(func.count()).select_from(ReviewRevision)) == session.scalar(
        select(func.count()).select_from(Review))
    assert session.scalar(select(func.count(ReviewRevision.review_id.distinct()))) == session.scalar(
        select(func.count()).select_from(Review))


def _index_definitions(session: Any) -> dict[str, tuple[Any, ...]]:
    """Return each index and trigger of the database by name: its table, definition and (SQLite) root page."""
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(text("SELECT name, tbl_name, sql, rootpage FROM sqlite_master "
                                    "WHERE type IN ('index', 'trigger')")).all()
    else:
        rows = session.execute(text("SELECT indexname, tablename, indexdef, 0 FROM pg_indexes "
                                    "WHERE schemaname = current_schema()")).all()
    return {name: (table, sql, page) for name, table, sql, page in rows}


def _definitions_only(indexes: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """Return the indexes without their root pages."""
    return {name: (table, sql) for name, (table, sql, _) in indexes.items()}


def _rebuilt(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> set[str]:
    """Return the names of the indexes whose root page moved (dropped and built again)."""
    return {name for name in before if before[name][2] != after[name][2]}


SECONDARY = {"ix_verification_check_practitioner_id", "ix_verification_check_credential_id", "ix_review_practitioner_id",
             "ix_credential_practitioner_id", "ix_opening_hours_location_id", "ix_practitioner_vetting_status"}


def test_a_seed_defers_the_secondary_indexes_of_empty_tables_and_leaves_the_migrated_schema(session: Any) -> None:
    from directory.seed import seed_practitioners

    before = _index_definitions(session)
    seed_practitioners(30, 5)
    after = _index_definitions(session)
    assert _definitions_only(after) == _definitions_only(before)
    if session.get_bind().dialect.name == "sqlite":
        rebuilt = _rebuilt(before, after)
        assert SECONDARY <= rebuilt
        # Unique constraints guard the rows as they are written: never dropped.
        assert not any(name.startswith("sqlite_autoindex") for name in rebuilt)
        # Into tables that already hold rows, the indexes stay as they are.
        seed_practitioners(10, 6)
        assert _index_definitions(session) == after


def _seed_fresh(url: str, tmp_path: Path, *, other_connection: bool) -> list[str]:
    """Seed 30 practitioners into the fresh database at ``url``; return the SQL statements SQLite traced."""
    from directory.seed import seed_practitioners

    statements: list[str] = []
    with extra_app(url, tmp_path) as application, application.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", lambda dbapi, record: dbapi.set_trace_callback(statements.append))
        with contextlib.ExitStack() as stack:
            if other_connection:  # a running site holds the file open in WAL mode
                other = stack.enter_context(contextlib.closing(sqlite3.connect(sa.make_url(url).database or "")))
                other.execute("SELECT count(*) FROM practitioner").fetchone()
            before = _index_definitions(db.session)
            db.session.commit()
            assert seed_practitioners(30, 4) == 30
            db.session.commit()
            after = _index_definitions(db.session)
            assert _definitions_only(after) == _definitions_only(before)
            if db.engine.dialect.name == "sqlite":
                assert SECONDARY <= _rebuilt(before, after)
                assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL, as connections start
            assert gc.isenabled()
            assert db.session.scalar(select(func.count()).select_from(Practitioner)) == 30
    return statements


def test_a_seed_into_a_fresh_database_writes_without_the_wal_and_restores_it(database_url: str, tmp_path: Path) -> None:
    with scratch_database(database_url, tmp_path) as url:
        statements = _seed_fresh(url, tmp_path, other_connection=False)
        if database_url.startswith("sqlite"):
            assert "PRAGMA journal_mode = MEMORY" in statements and "PRAGMA synchronous = OFF" in statements
            # Committed by the seed itself, and visible to any other connection.
            with contextlib.closing(sqlite3.connect(sa.make_url(url).database or "")) as other:
                assert other.execute("SELECT count(*) FROM practitioner").fetchone()[0] == 30
                assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.skipif(os.environ.get("MERIDIAN_TEST_DATABASE", "sqlite") != "sqlite", reason="SQLite's journal")
def test_a_fresh_seed_keeps_the_wal_while_another_connection_has_the_file_open(database_url: str,
                                                                               tmp_path: Path) -> None:
    with scratch_database(database_url, tmp_path) as url:
        statements = _seed_fresh(url, tmp_path, other_connection=True)
        assert "PRAGMA journal_mode = MEMORY" in statements  # asked once, refused at once
        assert "PRAGMA synchronous = OFF" not in statements


@pytest.mark.parametrize(("credential_id", "previous"), [(None, None), (7, "ab" * 32)])
@pytest.mark.parametrize(("source", "outcome", "reference"), [("exclusion_list", "needs_review", "LEIE"),
                                                              ("npi_registry", "pass", "")])
def test_the_demo_check_hash_is_the_chain_s_row_hash(credential_id: int | None, previous: str | None, source: str,
                                                     outcome: str, reference: str) -> None:
    from directory.seed_history import DEMO_NOTE, Check, demo_check_hash
    from directory.vetting.chain import row_hash, sha256_text

    check = Check(datetime(2026, 3, 4, 5, 6, 7), None, source, outcome, reference)
    evidence_sha256 = sha256_text('{"demo": true}')
    row = {"practitioner_id": 12, "user_id": None, "sequence": 3, "credential_id": credential_id, "source": source,
           "performed_by_id": None, "performed_at": check.performed_at, "outcome": outcome, "reference": reference,
           "note": DEMO_NOTE, "evidence_sha256": evidence_sha256, "previous_hash": previous}
    assert demo_check_hash(12, 3, credential_id, check, evidence_sha256, previous) == row_hash(row)


SEEDED = ("practitioner", "location", "opening_hours", "practitioner_method", "practitioner_condition",
          "practitioner_language", "credential", "verification_check", "review", "review_revision")


def _seeded_rows(url: str, tmp_path: Path, *, parallel: bool) -> dict[str, list[tuple[Any, ...]]]:
    """Seed 150 practitioners into a fresh database at a fixed moment; return every seeded table's rows."""
    from directory.seed import seed_practitioners

    with extra_app(url, tmp_path) as application, application.app_context():
        seed_practitioners(150, 9, now=datetime(2026, 11, 25, 15, 0), parallel=parallel)
        db.session.commit()
        return {table: [tuple(r) for r in db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]  # noqa: S608
                for table in SEEDED}


def test_rows_generated_in_a_second_process_are_the_rows_generated_in_this_one(database_url: str,
                                                                             tmp_path: Path) -> None:
    with scratch_database(database_url, tmp_path) as one, scratch_database(database_url, tmp_path) as other:
        here, there = _seeded_rows(one, tmp_path, parallel=False), _seeded_rows(other, tmp_path, parallel=True)
    assert len(here["verification_check"]) > 150 * 10
    assert here == there


class _BrokenPlan:
    """A plan whose generation fails after one chunk (picklable: the spawned process imports this module)."""

    def chunks(self) -> Any:
        """Yield one empty chunk, then fail."""
        from directory.seed import Chunk

        yield Chunk(1, {}, [])
        raise ValueError("the places ran out")


def test_a_failure_in_the_row_generating_process_is_raised_in_the_writer() -> None:
    from directory.bulk_load import generated_elsewhere

    chunks = generated_elsewhere(_BrokenPlan(), [])
    assert next(chunks).size == 1
    with pytest.raises(RuntimeError, match="the places ran out"):
        next(chunks)


def test_seeded_biographies_name_methods_and_conditions_as_the_vocabulary_does(session: Any) -> None:
    from directory.seed import seed_practitioners

    seed_practitioners(200, 5)
    bios = session.scalars(select(Practitioner.bio)).all()
    text_of_all = " ".join(bios)
    # The slugs read "headache migraine" and "chemotherapy nausea"; a sentence needs the vocabulary's names.
    assert "headache migraine" not in text_of_all and "chemotherapy nausea" not in text_of_all
    assert "headache and migraine" in text_of_all or "nausea after chemotherapy" in text_of_all
    assert "tui na" not in text_of_all  # a proper name keeps its capitals ("Tui Na")

"""Two admins press "Continue" on the same batch at the same moment: the chunk's checks run once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.clock import utcnow
from directory.extensions import db
from directory.models import User, VerificationCheck
from directory.vetting import batches
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.npi import npi_is_valid
from directory.vetting.workbench_models import VettingBatch
from tests.conftest import extra_app
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record, running_registry
from tests.support.scratch import scratch_database
from tests.unit.vetting.builders import DATA, us_practitioner


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Return a migrated database of this test's own (the two requests must see each other's commits)."""
    with scratch_database(database_url, tmp_path) as url:
        yield url


def _npi(n: int) -> str:
    base = f"1{n:08d}"
    return next(base + str(d) for d in range(10) if npi_is_valid(base + str(d)))


def _setup(app: Flask, registry: FakeNpiRegistry) -> tuple[int, int, int]:
    """Add two admins and a batch over three practitioners whose registry answers take a moment."""
    with app.app_context():
        admins = [User(email=f"racer{i}@example.org", password_hash="x", role="admin", email_confirmed_at=utcnow(),
                       approved_at=utcnow()) for i in range(2)]
        db.session.add_all(admins)
        import_exclusion_list(DATA / "leie_sample.csv")
        people = []
        for i in range(3):
            npi = _npi(9100 + i)
            people.append(us_practitioner(npi=npi, licence=False, first_name="Rae", last_name=f"Racer{i}"))
            registry.answer(npi, Scripted(body=found(npi_record(npi, first="RAE", last=f"RACER{i}")), delay=0.15))
        db.session.flush()
        batch = batches.start_batch([p.id for p in people], "", admins[0])
        db.session.commit()
        result = admins[0].id, admins[1].id, batch.id
        db.session.remove()
    return result


def _press_continue(app: Flask, admin_id: int, batch_id: int, start: threading.Barrier,
                    answers: list[dict[str, Any]]) -> None:
    """Post step 0 of the batch as this admin, the moment the other admin does."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(admin_id), True
    start.wait()
    response = client.post(f"/admin/vetting/batches/{batch_id}/step", data={"at": "0"},
                           headers={"Accept": "application/json"})
    answers.append({"status": response.status_code, **(response.get_json() or {})})


def test_two_admins_pressing_continue_together_run_the_chunk_once(scratch_url: str, tmp_path: Path) -> None:
    with extra_app(scratch_url, tmp_path, WTF_CSRF_ENABLED=False) as app, running_registry(app) as registry:
        first, second, batch_id = _setup(app, registry)
        start, answers = threading.Barrier(2), []  # type: ignore[var-annotated]
        threads = [threading.Thread(target=_press_continue, args=(app, admin, batch_id, start, answers))
                   for admin in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted((a["status"], a["ran"]) for a in answers) == [(200, False), (200, True)]
        assert {a["done"] for a in answers} == {3}
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(VerificationCheck)) == 6
            batch = db.session.get(VettingBatch, batch_id)
            assert batch is not None and (batch.done, batch.finished_at is not None) == (3, True)
            db.session.remove()
        assert len(registry.requests) == 3

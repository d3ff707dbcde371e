"""The outbox worker `flask serve` runs in every process: several at once keep search in step, and a database
error only delays them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from directory.cli import _outbox_worker
from directory.extensions import db, search
from tests import factories
from tests.conftest import extra_app
from tests.support.scratch import in_app_context, retrying_when_locked, scratch_database


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Return a migrated database of this test's own (the worker threads must see its commits)."""
    with scratch_database(database_url, tmp_path) as url:
        yield url


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _add(last_name: str) -> None:
    factories.practitioner(first_name="Serve", last_name=last_name)
    db.session.commit()


def _rename(table: str, to: str) -> None:
    db.session.execute(db.text(f"ALTER TABLE {table} RENAME TO {to}"))
    db.session.commit()


def test_workers_of_two_processes_index_every_change_and_survive_a_database_error(scratch_url: str,
                                                                                  tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    stop = threading.Event()
    with extra_app(scratch_url, shared) as site, extra_app(scratch_url, shared) as one, \
            extra_app(scratch_url, shared) as two:
        in_app_context(site, lambda: search.backend().ensure_index())
        workers = [threading.Thread(target=_outbox_worker, args=(app, 0.05, stop), daemon=True) for app in (one, two)]
        for worker in workers:
            worker.start()
        try:
            names = [f"Worker{n}" for n in range(6)]
            for name in names:
                retrying_when_locked(site, lambda name=name: _add(name))

            def all_found() -> bool:
                return in_app_context(site, lambda: sorted(search.backend().suggest("serve", limit=20))) == \
                    sorted(f"Serve {name}" for name in names)

            assert _wait_for(all_found)

            retrying_when_locked(site, lambda: _rename("search_outbox", "search_outbox_away"))
            time.sleep(0.3)  # both workers poll a database without the table, log it, and poll again
            retrying_when_locked(site, lambda: _rename("search_outbox_away", "search_outbox"))
            names.append("Afterwards")
            retrying_when_locked(site, lambda: _add("Afterwards"))
            assert _wait_for(all_found), "the workers went on after the database error"
            assert all(worker.is_alive() for worker in workers)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=10)
    assert not any(worker.is_alive() for worker in workers), "stop ends them"

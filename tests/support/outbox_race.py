"""A writer and several outbox workers at once, each app standing for one `flask serve` process."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

from flask import Flask
from sqlalchemy import func, select

from directory.extensions import db, search
from directory.indexing.models import SearchOutbox
from directory.indexing.services import documents_for, sync_outbox
from directory.models import Practitioner
from tests import factories
from tests.support.scratch import in_app_context, retrying_when_locked

PRACTITIONERS = 12
EDITS = 120
# What the comparison reads of each document: its version, the name shown, the text searched.
Indexed = dict[int, tuple[int, str, str]]


def race(site: Flask, workers: Sequence[Flask]) -> tuple[int, Indexed]:
    """Let the site edit practitioners while ``workers`` drain the outbox; return rows left and what the DB says now.

    Run on a scratch database: the threads must see each other's commits.
    """
    ids = in_app_context(site, _create_practitioners)
    writes_done = threading.Event()
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_writer, args=(site, ids, writes_done, errors))]
    threads += [threading.Thread(target=_worker, args=(worker, writes_done, errors)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    def expected() -> tuple[int, Indexed]:
        docs = documents_for(ids)
        left = db.session.scalar(select(func.count(SearchOutbox.id))) or 0
        return left, {pid: (d["version"], d["display_name"], d["bio"]) for pid, d in docs.items()}

    left, database = in_app_context(site, expected)
    assert database, "some practitioners are still listed"
    assert len(database) < PRACTITIONERS, "the writer deleted or emptied some"
    return left, database


def _create_practitioners() -> list[int]:
    """Add the practitioners the writer edits, with an empty index; return their ids."""
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
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)

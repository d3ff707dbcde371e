"""A bounded stream of searches and profile writes against a running app, for node-loss tests and bench/cluster.py.

Searches go through the whole app (the HTML page and the JSON API, through Flask's test client, one per thread);
writes are profile edits committed to the app's database, which the outbox turns into search changes, drained by
the production outbox worker thread (`flask serve`'s). Nothing here is mocked; it only records what happened.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.exc import OperationalError

from directory.cli import _outbox_worker
from directory.extensions import db
from directory.indexing.services import documents_for, outbox_status
from directory.practitioners.models import Practitioner


@dataclass(frozen=True)
class Sample:
    """One search: when it started (monotonic s), how long it took, its HTTP status, and what went wrong."""

    at: float
    ms: float
    status: int
    path: str
    error: str = ""

    @property
    def ok(self) -> bool:
        """Tell whether the app answered: results, or a 400 for a request it refuses (a page past the last one)."""
        return self.status < 500


@dataclass
class Stream:
    """Searcher threads, one writer thread and the outbox worker, started together and stopped together."""

    app: Flask
    ids: Sequence[int]
    searches: Sequence[str]  # paths with query strings, e.g. "/api/v1/practitioners/search?lat=..&lon=.."
    searchers: int = 2
    write_pause_s: float = 0.05
    search_pause_s: float = 0.0
    sync_interval_s: float = 0.2
    max_seconds: float = 600.0  # a hard bound: every loop stops by itself even if stop() is never called
    samples: list[Sample] = field(default_factory=list)
    writes_sent: int = 0
    write_errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _stop_writes: threading.Event = field(default_factory=threading.Event)
    _worker_stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Stream:
        """Start every thread; return self."""
        self._deadline = time.monotonic() + self.max_seconds
        self._threads = [threading.Thread(target=self._search_loop, args=(i,), name=f"searcher-{i}", daemon=True)
                         for i in range(self.searchers)]
        self._threads.append(threading.Thread(target=self._write_loop, name="writer", daemon=True))
        self._worker = threading.Thread(target=_outbox_worker, args=(self.app, self.sync_interval_s, self._worker_stop),
                                        name="outbox-worker", daemon=True)
        for thread in [*self._threads, self._worker]:
            thread.start()
        return self

    def stop(self, drain_timeout_s: float = 120.0) -> float:
        """Stop searches and writes, let the worker drain the outbox, stop it; return how long draining took."""
        self._stop.set()
        self._stop_writes.set()
        for thread in self._threads:
            thread.join(timeout=60)
        started = time.monotonic()
        try:
            wait_for_empty_outbox(self.app, drain_timeout_s)
        finally:
            self._worker_stop.set()
            self._worker.join(timeout=60)
        return time.monotonic() - started

    def pause_writes(self) -> None:
        """Stop the writer only (searches and the worker go on)."""
        self._stop_writes.set()

    def failed(self, since: float = 0.0, until: float = float("inf")) -> list[Sample]:
        """Return the searches that did not answer 200 in [since, until)."""
        return [s for s in self.samples if not s.ok and since <= s.at < until]

    def _search_loop(self, index: int) -> None:
        client = self.app.test_client()
        n = index
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            path = self.searches[n % len(self.searches)]
            n += self.searchers
            started = time.monotonic()
            try:
                response = client.get(path)
                status, error = response.status_code, "" if response.status_code == 200 else _snippet(response)
            except Exception as exc:  # recorded as a failed search (an exception here is the app's 500)
                status, error = 500, f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.samples.append(Sample(started, (time.monotonic() - started) * 1000, status, path, error))
            if self.search_pause_s:
                time.sleep(self.search_pause_s)

    def _write_loop(self) -> None:
        rng = random.Random(31)
        n = 0
        while not self._stop_writes.is_set() and time.monotonic() < self._deadline:
            pid = rng.choice(self.ids)
            try:
                retry_when_locked(self.app, lambda pid=pid, n=n: _edit(pid, n))
                self.writes_sent += 1
            except Exception as exc:  # recorded: the test or the bench reports it
                self.write_errors.append(f"{type(exc).__name__}: {exc}")
            n += 1
            time.sleep(self.write_pause_s)


def _edit(pid: int, n: int) -> None:
    """Change what search shows of one practitioner, as a profile edit does, and commit."""
    practitioner = db.session.get(Practitioner, pid)
    if practitioner is not None:
        practitioner.bio = f"Stream edit {n}: treats back pain with needling."
        db.session.commit()


def _snippet(response: Any) -> str:
    """Return what an error answer says: the page's "temporarily unavailable" notice, or the start of its body."""
    body = str(response.get_data(as_text=True))
    if "temporarily unavailable" in body:
        return "search temporarily unavailable"
    return body[:200].replace("\n", " ")


def retry_when_locked(app: Flask, work: Callable[[], Any], attempts: int = 100) -> Any:
    """Run ``work`` in an app context of its own, again while SQLite says "database is locked" (as a site must)."""
    for attempt in range(attempts):
        with app.app_context():
            try:
                return work()
            except OperationalError as exc:
                db.session.rollback()
                if "database is locked" not in str(exc) or attempt == attempts - 1:
                    raise
            finally:
                db.session.remove()
        time.sleep(0.02)
    return None


def wait_for_empty_outbox(app: Flask, timeout_s: float) -> None:
    """Wait until no outbox row is pending; raise AssertionError with the outbox's state after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = retry_when_locked(app, outbox_status)
        if status.pending == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox not drained after {timeout_s:.0f}s: {status}")
        time.sleep(0.2)


def lost_writes(app: Flask, ids: Sequence[int]) -> dict[int, str]:
    """Return the practitioners whose indexed document differs from the database (pid -> what differs)."""
    backend: Any = app.extensions["search"].backend()
    backend.refresh()
    expected = retry_when_locked(app, lambda: {pid: (d["version"], d["bio"]) for pid, d in documents_for(ids).items()})
    body = {"size": len(ids), "query": {"ids": {"values": [str(i) for i in ids]}}, "_source": ["version", "bio"]}
    hits = backend.engine.client.search(index=backend.alias, body=body)["hits"]["hits"]
    indexed = {int(h["_id"]): (h["_source"]["version"], h["_source"]["bio"]) for h in hits}
    return {pid: f"database {expected.get(pid)} != index {indexed.get(pid)}"
            for pid in set(expected) | set(indexed) if expected.get(pid) != indexed.get(pid)}

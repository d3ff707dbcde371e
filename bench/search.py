"""Search benchmark: indexing throughput, query latency (service, HTTP API, engine) and change visibility.

Not a test. Run from the repository root, e.g.::

    .venv/bin/python bench/search.py --sizes 10000,100000 --backends embedded,elasticsearch,opensearch

For each size N it seeds one fresh SQLite database once, then for each backend builds an app on that
same database, rebuilds the index, replays one deterministic query mix through the service and the
HTTP API, measures how long a committed change takes to show up in search, and prints one table
(also written to bench/results/search-N.txt). See bench/README.md for what each column means.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is sys.path[0] and this file would shadow the `search` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import http.client  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import string  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.stats import percentile  # noqa: E402
from directory import create_app  # noqa: E402
from directory.cli import freeze_startup_heap  # noqa: E402
from directory.errors import DomainError  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.geo import sample_places  # noqa: E402
from directory.indexing.services import outbox_status, reindex_all, retrying_when_locked, sync_outbox  # noqa: E402
from directory.practitioners import search_service  # noqa: E402
from directory.practitioners.models import Location, Practitioner  # noqa: E402
from directory.practitioners.search_service import build_query, search_practitioners  # noqa: E402
from search import SearchBackend, SearchPage, SearchQuery  # noqa: E402
from search.backends.cluster import SEARCH_FILTER_PATH  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
BACKENDS = ("embedded", "elasticsearch", "opensearch")
CLUSTER = ("elasticsearch", "opensearch")
API_PATH = "/api/v1/practitioners/search"
MIX_SEED = 7
# "Open now" is drawn from a generator of its own, so the rest of the mix stays what earlier runs measured.
OPEN_NOW_SEED = 8
OPEN_NOW_SHARE = 0.10
# The clock every backend's "open now" searches read (a Wednesday, 10:00 in New York): the same keys, hence the
# same totals, on every backend whenever each one runs.
BENCH_NOW = datetime(2026, 11, 25, 15, 0)
RADII_KM = (5, 10, 25, 50, 100)
METHODS = ("filiform-needling", "electroacupuncture", "moxibustion", "tui-na", "cupping", "auricular",
           "acupressure", "laser-acupuncture", "scalp-acupuncture", "gua-sha")
CONDITIONS = ("low-back-pain", "sciatica", "neck-pain", "torticollis", "knee-osteoarthritis", "hip-osteoarthritis",
              "shoulder-osteoarthritis", "spondylosis", "early-disc-herniation", "headache-migraine", "fibromyalgia",
              "frozen-shoulder", "plantar-fasciitis", "chemotherapy-nausea", "tennis-elbow")
LANGUAGES = ("es", "es", "es", "zh", "zh", "fr", "vi", "ko", "de", "ja", "ru", "pt", "en")
FREE_TEXT = ("moxa", "lumbago", "back pain", "cupping", "sciatica", "migraine", "tui na", "frozen shoulder",
             "ear acupuncture", "knee arthritis")
VISIBILITY_CHANGES = 10
VISIBILITY_TIMEOUT_S = 30.0
POLL_S = 0.02
WORKER_INTERVAL_S = 0.5  # what `flask serve` uses (directory/cli.py serve_command --sync-interval)
API_WARMUP = 50
SCALE_TARGETS_AT = 1_000_000  # issue #15 item 5: API p95 <= 40 ms embedded, <= 20 ms ES/OS, seeding >= 5,000 docs/s
SCALE_SEED_DOCS_S = 5_000
TARGETS_AT = 100_000
# The application's own cost per query (API minus the same engine request sent raw), issue #15 item 6.
OVERHEAD_P50_MS = 2.5
OVERHEAD_P95_MS = 4.0
# API passes whose paired overheads are combined per query (the median of each query's pairs): one pair mixes the
# engine's own run-to-run jitter (a 2 ms query answering in 1 or 5 ms) into the application's overhead.
OVERHEAD_PAIRS = 3


# --------------------------------------------------------------------------- small helpers


@dataclass
class Latencies:
    """Milliseconds of one measured pass, with its percentiles."""

    ms: list[float] = field(default_factory=list)

    def p(self, pct: float) -> float:
        """Return the ``pct`` percentile."""
        return percentile(self.ms, pct)

    def triple(self) -> str:
        """Return "p50/p95/p99" rounded for the table."""
        return "/".join(_fmt(self.p(q)) for q in (50, 95, 99))


def _fmt(value: float) -> str:
    """Format a latency compactly: one decimal under 100, none above."""
    if value != value:  # NaN
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def say(message: str) -> None:
    """Print one progress line, flushed (the script runs for minutes, often in the background)."""
    print(message, flush=True)


class Progress:
    """Count a long step's items and say how far it is, at most once per ``every`` seconds (a 1M seed takes minutes).

    Call it with each batch's size, as ``seed_practitioners`` and ``reindex_all`` call their ``progress``.
    """

    def __init__(self, label: str, total: int, every: float = 30.0,
                 clock: Callable[[], float] = time.perf_counter, out: Callable[[str], None] = say) -> None:
        self.label, self.total, self.every, self.clock, self.out = label, total, every, clock, out
        self.done = 0
        self.started = self.last = clock()

    def __call__(self, count: int) -> None:
        self.done += count
        now = self.clock()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate else float("nan")
            self.out(f"    {self.label}: {self.done:,} of {self.total:,} ({self.done / self.total:.0%}, "
                     f"{rate:,.0f}/s, ~{left:.0f}s left)")


# --------------------------------------------------------------------------- machine and engines


def machine_facts(engine_versions: dict[str, str]) -> str:
    """Return one line with CPU count, RAM, CPU model, Python, SQLite and engine versions."""
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    engines = ", ".join(f"{k} {v}" for k, v in engine_versions.items()) or "no cluster engine"
    return (f"machine: nproc={os.cpu_count()}, RAM={ram_gib:.1f} GiB, CPU={model or platform.machine()}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {engines}")


def engine_version(url: str, fallback: str) -> str:
    """Return the version the node reports (``fallback`` when it does not say).

    GET / first; Elasticsearch's integ-test distribution answers it 405 (no such handler), so the node info then.
    """
    with contextlib.suppress(requests.RequestException, ValueError, AttributeError):
        number = requests.get(url, timeout=10).json().get("version", {}).get("number")
        if number:
            return str(number)
    with contextlib.suppress(requests.RequestException, ValueError, AttributeError):
        nodes = requests.get(f"{url.rstrip('/')}/_nodes/_local", params={"filter_path": "nodes.*.version"},
                             timeout=10).json().get("nodes", {})
        versions = {node.get("version") for node in nodes.values()}
        if len(versions) == 1 and (number := versions.pop()):
            return str(number)
    return fallback


class Engines:
    """Starts at most one real node at a time (nproc is small) and stops it, also on errors."""

    def __init__(self, external: dict[str, str | None], heap: str) -> None:
        self.external = {k: v.rstrip("/") for k, v in external.items() if v}
        self.heap = heap
        self.handle: Any = None
        self.versions: dict[str, str] = {}

    @contextlib.contextmanager
    def running(self, kind: str) -> Iterator[str]:
        """Yield the URL of a ``kind`` node: the external one, or a fresh node stopped afterwards."""
        if kind in self.external:
            url = self.external[kind]
            self.versions[kind] = engine_version(url, "version unknown")
            yield url
            return
        from engine import start_elasticsearch, start_opensearch

        start = start_elasticsearch if kind == "elasticsearch" else start_opensearch
        say(f"  starting {kind} (heap {self.heap}) ...")
        self.handle = start(0, heap=self.heap, progress=lambda m: say(f"    {m}"))
        try:
            self.versions[kind] = engine_version(self.handle.url, self.handle.version)
            yield self.handle.url
        finally:
            self.stop()

    def owned(self, kind: str) -> bool:
        """Tell whether this run started the ``kind`` node (so its indices need no cleanup)."""
        return kind not in self.external

    def stop(self) -> None:
        """Stop the node this run started, if any."""
        if self.handle is not None:
            say(f"  stopping {self.handle.kind}")
            self.handle.stop()
            self.handle = None


# --------------------------------------------------------------------------- database and apps


def make_app(workdir: Path, backend: str, url: str | None = None, prefix: str = "bench") -> Flask:
    """Return an app on the shared benchmark database, configured for ``backend``."""
    config: dict[str, Any] = {
        "SECRET_KEY": "bench-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'meridian.db'}",
        "INSTANCE_DIR": workdir,
        "SEARCH_BACKEND": backend,
        "SEARCH_EMBEDDED_PATH": str(workdir / "search-embedded.db"),
        "SEARCH_INDEX_PREFIX": prefix,
        # One client replaying a mix back to back is not abuse; the limiter would answer 429 after 120 requests.
        "RATELIMIT_ENABLED": False,
        # The same timeout covers bulk requests; a 1,000-document bulk to a cold node on a busy 2-CPU box can take
        # longer than the 5 s default (see the report). Searches are measured, not limited, here.
        "SEARCH_TIMEOUT_S": 60.0,
    }
    if url:
        config["SEARCH_URL"] = url
    return create_app(config)


def seed_database(workdir: Path, size: int) -> float:
    """Migrate a fresh database, load vocabularies, seed ``size`` practitioners; return the seed seconds."""
    from directory.practitioners.vocabulary import load_vocabularies
    from directory.seed import seed_practitioners

    app = make_app(workdir, "embedded")
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
        started = time.perf_counter()
        seed_practitioners(size, seed=42, progress=Progress("seeded", size))
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.engine.dispose()
    return elapsed


def sample_last_names(app: Flask, rng: random.Random, k: int) -> list[str]:
    """Return ``k`` real last names from the seeded database, chosen deterministically."""
    with app.app_context():
        names = sorted(set(db.session.scalars(select(Practitioner.last_name).order_by(Practitioner.id).limit(5000))))
    return rng.sample(names, min(k, len(names)))


def visibility_candidates(app: Flask, k: int) -> list[int]:
    """Return ``k`` verified, shown practitioners with a location, the same for every backend."""
    with app.app_context():
        ids = db.session.scalars(
            select(Practitioner.id)
            .where(Practitioner.hidden.is_(False), Practitioner.vetting_status.in_(("verified", "expiring")),
                   Practitioner.id.in_(select(Location.practitioner_id)))
            .order_by(Practitioner.id).limit(2000)
        ).all()
    return random.Random(11).sample(list(ids), k)


# --------------------------------------------------------------------------- the query mix


def build_mix(count: int, last_names: list[str]) -> list[dict[str, Any]]:
    """Return ``count`` API query-parameter dicts, deterministic (random.Random(7)), one mix for all backends."""
    rng = random.Random(MIX_SEED)
    origins = sample_places(rng, count)
    mix = [_one_query(rng, place.lat, place.lon, last_names) for place in origins]
    open_now = random.Random(OPEN_NOW_SEED)
    for params in mix:
        if open_now.random() < OPEN_NOW_SHARE:
            params["open_now"] = "true"
    return mix


def _one_query(rng: random.Random, lat: float, lon: float, last_names: list[str]) -> dict[str, Any]:
    """Return one realistic search: a place and radius, some filters, a sort and a page."""
    params: dict[str, Any] = {"lat": lat, "lon": lon, "radius_km": rng.choice(RADII_KM)}
    if rng.random() < 0.40:
        params["method"] = rng.choice(METHODS)
    if rng.random() < 0.30:
        params["condition"] = rng.choice(CONDITIONS)
    if rng.random() < 0.15:
        params["q"] = rng.choice(last_names) if rng.random() < 0.3 and last_names else rng.choice(FREE_TEXT)
    if rng.random() < 0.15:
        params["language"] = rng.choice(LANGUAGES)
    params["sort"] = _pick_sort(rng, "q" in params)
    params["page"] = rng.choices((1, 2, 3), weights=(90, 7, 3))[0]
    params["verified_only"] = "true" if rng.random() < 0.85 else "false"
    return params


def _pick_sort(rng: random.Random, has_text: bool) -> str:
    """Return a sort order: relevance mostly with text, distance mostly without."""
    weights = (20, 70, 10) if has_text else (65, 10, 25)
    return rng.choices(("distance", "relevance", "rating"), weights=weights)[0]


def describe_mix(mix: list[dict[str, Any]]) -> str:
    """Return one line with the share of each feature in the mix."""
    def share(test: Callable[[dict[str, Any]], bool]) -> str:
        return f"{100 * sum(map(test, mix)) / len(mix):.0f}%"

    return (f"query mix: {len(mix)} queries, method {share(lambda q: 'method' in q)}, "
            f"condition {share(lambda q: 'condition' in q)}, text {share(lambda q: 'q' in q)}, "
            f"language {share(lambda q: 'language' in q)}, sort distance/relevance/rating "
            f"{share(lambda q: q['sort'] == 'distance')}/{share(lambda q: q['sort'] == 'relevance')}/"
            f"{share(lambda q: q['sort'] == 'rating')}, page 1 {share(lambda q: q['page'] == 1)}, "
            f"verified_only {share(lambda q: q['verified_only'] == 'true')}, open now {share(lambda q: 'open_now' in q)}")


def service_args(params: dict[str, Any]) -> tuple[dict[str, Any], None, float, float]:
    """Return build_query's arguments for the same search the API parameters describe."""
    filters = {
        "radius_km": float(params["radius_km"]),
        "methods": (params["method"],) if "method" in params else (),
        "conditions": (params["condition"],) if "condition" in params else (),
        "languages": (params["language"],) if "language" in params else (),
        "text": params.get("q", ""),
        "verified_only": params["verified_only"] == "true",
        "sort": params["sort"],
        "page": params["page"],
        "open_now": params.get("open_now") == "true",
    }
    return filters, None, params["lat"], params["lon"]


# --------------------------------------------------------------------------- measuring queries


class EngineClock:
    """Wraps one backend instance's ``search`` to record the engine's own time of every call.

    On a cluster backend it also keeps the last request the backend sent (index and body, as built by
    search/query.py), so the benchmark can replay that very request to the node without the application.
    """

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.inner = backend.search
        self.ms: list[float] = []
        self.wall = Latencies()
        self.recording = False
        self.last_request: tuple[str, dict[str, Any]] | None = None
        backend.search = self._search  # type: ignore[method-assign]
        engine = getattr(backend, "engine", None)
        if engine is not None:
            self.engine_search = engine.search
            engine.search = self._engine_search

    def _search(self, query: SearchQuery) -> SearchPage:
        page = self.inner(query)
        if self.recording:
            self.ms.append(page.engine_took_ms if page.engine_took_ms is not None else page.took_ms)
            self.wall.ms.append(page.took_ms)
        return page

    def _engine_search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.last_request = (index, body)
        result: dict[str, Any] = self.engine_search(index, body)
        return result

    @contextlib.contextmanager
    def record(self) -> Iterator[Latencies]:
        """Record engine times into a fresh Latencies for the duration of the block (``wall``: backend.search())."""
        self.ms, self.wall, self.recording = [], Latencies(), True
        result = Latencies()
        try:
            yield result
        finally:
            self.recording = False
            result.ms = self.ms


@dataclass
class ServicePass:
    """The result of one pass of the mix through the service."""

    latency: Latencies
    totals: list[int | None]
    errors: Counter[str]


def run_service_pass(app: Flask, mix: list[dict[str, Any]]) -> ServicePass:
    """Call search_practitioners(*build_query(...)) for each query, one app context each (like a request)."""
    result = ServicePass(Latencies(), [], Counter())
    for params in mix:
        with app.app_context():
            started = time.perf_counter()
            try:
                total: int | None = search_practitioners(*build_query(*service_args(params))).total
            except DomainError as exc:
                total = None
                result.errors[f"{exc.code} ({exc.field})"] += 1
            result.latency.ms.append((time.perf_counter() - started) * 1000)
        result.totals.append(total)
    return result


@contextlib.contextmanager
def http_server(app: Flask, threads: int = 8) -> Iterator[str]:
    """Serve ``app`` with waitress on a free 127.0.0.1 port in a background thread; yield its base URL.

    The start-up heap is frozen (directory/cli.py freeze_startup_heap), as `flask serve` does.
    """
    from waitress.server import create_server
    from waitress.wasyncore import close_all

    server: Any = create_server(app, host="127.0.0.1", port=0, threads=threads)
    freeze_startup_heap()  # as `flask serve` does before serving
    thread = threading.Thread(target=server.run, daemon=True, name="bench-waitress")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()
        # Closed by the server's own loop thread: closing its sockets from here while it sits in select()
        # made that thread die with "Bad file descriptor".
        server.trigger.pull_trigger(lambda: close_all(server._map))
        thread.join(timeout=5)


class RawEngine:
    """The engine alone, paired with each API call: the same request to the same node, without the application.

    Cluster: the index and body the backend just sent (captured by EngineClock), POSTed with the backend's
    ``filter_path`` on one keep-alive http.client connection of its own, right after the API call, the body
    encoded before the clock starts. Embedded: the wall time of ``EmbeddedBackend.search()`` inside that very
    API call (the engine runs in-process; there is no hop to replay).
    """

    def __init__(self, clock: EngineClock, url: str | None) -> None:
        self.clock = clock
        self.connection: http.client.HTTPConnection | None = None
        if url is not None:
            target = urllib.parse.urlsplit(url)
            self.connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        self.calls = 0

    def before_api_call(self) -> None:
        """Forget the previous request, so a call that never reached the engine pairs with nothing."""
        self.clock.last_request = None
        self.calls = len(self.clock.wall.ms)

    def after_api_call(self) -> tuple[float | None, int | None]:
        """Return the raw engine milliseconds of the request the API call just made, and the total it found."""
        if self.connection is None:
            searched = len(self.clock.wall.ms) > self.calls
            return (self.clock.wall.ms[-1] if searched else None), None
        if self.clock.last_request is None:
            return None, None
        index, body = self.clock.last_request
        path = f"/{urllib.parse.quote(index)}/_search?filter_path={urllib.parse.quote(SEARCH_FILTER_PATH)}"
        payload = json.dumps(body).encode()
        started = time.perf_counter()
        self.connection.request("POST", path, payload, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"raw engine call answered {response.status}: {data[:300]!r}")
        return elapsed, int(json.loads(data)["hits"]["total"]["value"])

    def close(self) -> None:
        """Close the raw connection."""
        if self.connection is not None:
            self.connection.close()


@dataclass
class ApiPass:
    """The result of one pass of the mix through the HTTP API (with the paired raw engine calls, if any)."""

    latency: Latencies
    totals: list[int | None]
    errors: Counter[int]
    raw_ms: list[float | None] = field(default_factory=list)
    raw_totals: list[int | None] = field(default_factory=list)


def run_api_pass(base_url: str, mix: list[dict[str, Any]], raw: RawEngine | None = None) -> ApiPass:
    """GET the search API for each query, sequentially on one keep-alive connection.

    The client is the standard library's http.client: `requests` spends about 0.9 ms of its own per call
    (session hooks, cookie jar, adapters), measured against the same server; that is the client's time, not
    the API's. URLs are encoded before the clock starts. With ``raw``, each API call is followed by the same
    engine request without the application (see RawEngine).
    """
    result = ApiPass(Latencies(), [], Counter())
    target = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
    try:
        for params in mix:
            path = f"{API_PATH}?{urllib.parse.urlencode(params, doseq=True)}"
            if raw is not None:
                raw.before_api_call()
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            result.latency.ms.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                result.errors[response.status] += 1
            result.totals.append(json.loads(body)["total"] if response.status == 200 else None)
            if raw is not None:
                raw_ms, raw_total = raw.after_api_call()
                result.raw_ms.append(raw_ms)
                result.raw_totals.append(raw_total)
    finally:
        connection.close()
    return result


def paired_overhead(api: ApiPass) -> list[float | None]:
    """Return, per query, API ms minus raw engine ms (None where the API answered an error or never searched)."""
    return [a - r if r is not None and total is not None else None
            for a, r, total in zip(api.latency.ms, api.raw_ms, api.totals, strict=True)]


def median_overhead(passes: list[list[float | None]]) -> list[float | None]:
    """Return, per query, the median of its paired overheads over several API passes (None if it never paired).

    Each pair is one API call and one raw call of the same body, so each carries the engine's run-to-run jitter;
    the median over passes keeps what the application adds to that query and drops most of the jitter.
    """
    combined: list[float | None] = []
    for pairs in zip(*passes, strict=True):
        values = [ms for ms in pairs if ms is not None]
        combined.append(statistics.median(values) if values else None)
    return combined


# --------------------------------------------------------------------------- change visibility


class OutboxWorker:
    """The outbox worker of `flask serve` (directory/cli.py _outbox_worker), but stoppable."""

    def __init__(self, app: Flask, interval: float = WORKER_INTERVAL_S) -> None:
        self.app = app
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="bench-outbox-worker")

    def _run(self) -> None:
        while not self.stopping.is_set():
            with self.app.app_context():
                try:
                    sync_outbox(self.app.extensions["search"].backend())
                finally:
                    db.session.remove()
            self.stopping.wait(self.interval)

    def __enter__(self) -> OutboxWorker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def measure_visibility(app: Flask, candidates: list[int]) -> list[float]:
    """Rename each candidate to a unique word, commit, poll a text search until it shows; restore names."""
    rng = random.Random(13)
    seconds, originals = [], {}
    with OutboxWorker(app):
        for pid in candidates:
            word = "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
            originals[pid] = _rename(app, pid, word)
            committed = time.perf_counter()
            seconds.append(_wait_until_found(app, pid, word, committed))
        for pid, name in originals.items():
            _rename(app, pid, name)
        _wait_for_empty_outbox(app)
    return seconds


def _rename(app: Flask, pid: int, last_name: str) -> str:
    """Set one practitioner's last name and commit; return the previous one.

    Retried while SQLite says locked (retrying_when_locked, as the card rebuild's batches are): outside a
    request it reads first (deferred BEGIN), and the worker marking the previous change done between that read
    and the write makes SQLite refuse the write at once (SQLITE_BUSY_SNAPSHOT). The probe renames right after
    the previous change became visible, which is when the worker commits that mark.
    """
    def rename() -> str:
        practitioner = db.session.get(Practitioner, pid)
        assert practitioner is not None
        previous, practitioner.last_name = practitioner.last_name, last_name
        db.session.commit()
        return previous

    with app.app_context():
        return retrying_when_locked(rename)


def _wait_until_found(app: Flask, pid: int, word: str, committed: float) -> float:
    """Return seconds from ``committed`` until a search for ``word`` returns ``pid`` (inf on timeout)."""
    query = SearchQuery(text=word, verified_only=False)
    while time.perf_counter() - committed < VISIBILITY_TIMEOUT_S:
        with app.app_context():
            if any(row.practitioner.id == pid for row in search_practitioners(query).rows):
                return time.perf_counter() - committed
        time.sleep(POLL_S)
    return float("inf")


def _wait_for_empty_outbox(app: Flask, timeout: float = 60.0) -> None:
    """Block until the worker has applied every pending change (so the next backend starts clean)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if outbox_status().pending == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the outbox did not drain within a minute")


# --------------------------------------------------------------------------- one backend, one size


@dataclass
class BackendResult:
    """Everything measured for one backend at one size."""

    backend: str
    indexed: int = 0
    index_s: float = 0.0
    service: Latencies = field(default_factory=Latencies)
    api: Latencies = field(default_factory=Latencies)
    engine: Latencies = field(default_factory=Latencies)
    backend_wall: Latencies = field(default_factory=Latencies)
    raw: Latencies = field(default_factory=Latencies)
    # Per query of the mix, API minus raw engine ms (None: an error response, nothing to pair): the median over
    # OVERHEAD_PAIRS passes, and the first pass's single pair.
    overhead_by_query: list[float | None] = field(default_factory=list)
    overhead_single: list[float | None] = field(default_factory=list)
    visible_s: list[float] = field(default_factory=list)
    totals: list[int | None] = field(default_factory=list)
    errors: str = ""
    load: list[float] = field(default_factory=list)
    failure: str = ""
    reused: int = 0  # documents of a kept index reused instead of rebuilt (--keep-index)
    # The API p95 of each pass of the mix (the first is the table's; the others are the overhead's extra passes):
    # the same code and data gave 54 and 67 ms at 1M embedded in two runs, so one pass's p95 is read with its spread.
    api_p95_by_pass: list[float] = field(default_factory=list)

    @property
    def docs_per_s(self) -> float:
        """Return indexing throughput."""
        return self.indexed / self.index_s if self.index_s else 0.0

    @property
    def overhead(self) -> Latencies:
        """Return the paired per-query overhead (API minus raw engine) of the queries that could be paired."""
        return Latencies([ms for ms in self.overhead_by_query if ms is not None])


def bench_backend(kind: str, workdir: Path, url: str | None, mix: list[dict[str, Any]], candidates: list[int],
                  *, profile: bool = False, external: bool = False, warmup: int = 3,
                  keep_index: str | None = None) -> BackendResult:
    """Index, query (service, then API), and measure change visibility on one backend.

    With ``keep_index`` (external nodes only) the index behind that prefix is reused when it holds documents and is
    kept afterwards; it is built once (timed, without the warm-up rebuild) when it does not.
    """
    result = BackendResult(kind, load=[os.getloadavg()[0]])
    app = make_app(workdir, kind, url, prefix=keep_index or f"bench{os.getpid()}")
    try:
        with app.app_context():
            backend = app.extensions["search"].backend()
            stale = backend.ensure_index()
            if keep_index and not stale and backend.count():
                result.reused = backend.count()
                say(f"  {kind}: reusing index {keep_index} ({result.reused} docs; not rebuilt, not timed)")
            else:
                if warmup and not keep_index:
                    # A node's first bulk load runs on a cold JVM (3,600 docs/s where the next ones ran at
                    # 6,100-7,300); rebuilds in service run on a warm node, so the timed one is the second.
                    reindex_all(backend)
                started = time.perf_counter()
                result.indexed = reindex_all(backend, progress=Progress(
                    f"{kind} indexed", db.session.scalar(select(func.count(Practitioner.id))) or 0))
                result.index_s = time.perf_counter() - started
                say(f"  {kind}: indexed {result.indexed} docs in {result.index_s:.1f}s ({result.docs_per_s:.0f} docs/s)")
        clock = EngineClock(backend)
        _measure_queries(app, clock, mix, result, warmup, url)
        if profile:
            # The size from the seed marker: a --keep folder is named N, a temporary one meridian-bench-N-xxxx.
            profile_service(app, mix, (workdir / "seeded").read_text().strip(), kind)
        result.visible_s = measure_visibility(app, candidates)
        say(f"  {kind}: visible after commit {_fmt_visibility(result.visible_s)} s (p50/max)")
        result.load.append(os.getloadavg()[0])
    finally:
        _close_app(app, drop_index=external and not keep_index)
    return result


def _measure_queries(app: Flask, clock: EngineClock, mix: list[dict[str, Any]], result: BackendResult,
                     warmup: int = 3, url: str | None = None, pairs: int = OVERHEAD_PAIRS) -> None:
    """Warm up, then measure the service pass and the API pass (engine times recorded during the API pass).

    A node is measured warm, as it runs in service: a freshly started JVM compiles its search paths over the first
    thousand or so queries (one warm-up pass left Elasticsearch at p50/p95 8/26 ms where a warm node answers the
    same mix in 4/9 ms).
    """
    for _ in range(warmup):
        run_service_pass(app, mix)
    service = run_service_pass(app, mix)
    result.service, result.totals = service.latency, service.totals
    say(f"  {result.backend}: service p50/p95/p99 {service.latency.triple()} ms")
    raw = RawEngine(clock, url)
    try:
        with http_server(app) as base_url:
            run_api_pass(base_url, mix[:API_WARMUP], raw)
            with clock.record() as engine:
                api = run_api_pass(base_url, mix, raw)
            backend_wall = clock.wall
            # More pairs per query for the overhead only; latencies, engine times and totals are the first pass's.
            more_pairs = []
            result.api_p95_by_pass = [api.latency.p(95)]
            for _ in range(pairs - 1):
                with clock.record():  # embedded pairs with backend.search()'s wall time, recorded here
                    extra = run_api_pass(base_url, mix, raw)
                more_pairs.append(paired_overhead(extra))
                result.api_p95_by_pass.append(extra.latency.p(95))
    finally:
        raw.close()
    result.api, result.engine, result.backend_wall = api.latency, engine, backend_wall
    result.raw = Latencies([ms for ms in api.raw_ms if ms is not None])
    result.overhead_single = paired_overhead(api)
    result.overhead_by_query = median_overhead([result.overhead_single, *more_pairs])
    same = sum(a == b for a, b in zip(api.totals, service.totals, strict=True))
    paired = [(a, r) for a, r in zip(api.totals, api.raw_totals, strict=True) if a is not None and r is not None]
    unexpected = sum(n for status, n in api.errors.items() if status != 400)
    result.errors = (f"service errors {dict(service.errors) or 'none'}, non-200 API responses "
                     f"{dict(api.errors) or 'none'} (400 = page past the last one, expected); "
                     f"API totals equal service totals on {same}/{len(mix)}"
                     + (f"; raw engine totals equal API totals on {sum(a == r for a, r in paired)}/{len(paired)}"
                        if paired else "")
                     + (f"; WARNING: {unexpected} unexpected API failures, API latencies are not valid"
                        if unexpected else ""))
    say(f"  {result.backend}: API p50/p95/p99 {result.api.triple()} ms, engine {result.engine.triple()} ms, "
        f"overhead {result.overhead.triple()} ms ({result.errors})")


def _close_app(app: Flask, drop_index: bool) -> None:
    """Release the backend and the database pool; drop the benchmark index on an external cluster."""
    with app.app_context():
        backend: Any = app.extensions["search"].backend()
        if drop_index:
            for index in backend.engine.alias_targets(backend.alias):
                backend.engine.delete_index(index)
        app.extensions["search"].close()
        db.engine.dispose()


def profile_service(app: Flask, mix: list[dict[str, Any]], label: str, kind: str) -> None:
    """Profile the service pass and the in-process API path with cProfile; write the top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    run_service_pass(app, mix)
    client = app.test_client()
    for params in mix:
        client.get(API_PATH, query_string=params)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"profile-{label}-{kind}.txt"
    path.write_text(out.getvalue())
    say(f"  {kind}: cProfile of service + in-process API written to {path}")


# --------------------------------------------------------------------------- report


def _fmt_visibility(seconds: list[float]) -> str:
    """Return "p50/max" seconds."""
    if not seconds:
        return "-"
    return f"{percentile(seconds, 50):.2f}/{max(seconds):.2f}"


COLUMNS = ("backend", "index docs/s", "service ms p50/p95/p99", "API ms p50/p95/p99", "engine ms p50/p95/p99",
           "raw ms p50/p95/p99", "overhead ms p50/p95/p99", "visible s p50/max")


def table(results: list[BackendResult]) -> str:
    """Return the aligned result table."""
    rows = [COLUMNS] + [
        (r.backend, "FAILED", "-", "-", "-", "-", "-", "-") if r.failure else
        (r.backend, "reused" if r.reused else f"{r.docs_per_s:,.0f}", r.service.triple(), r.api.triple(),
         r.engine.triple(), r.raw.triple(), r.overhead.triple(), _fmt_visibility(r.visible_s))
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def targets(results: list[BackendResult], size: int, seed_s: float | None = None) -> list[str]:
    """Return one PASS/MISS line per target and backend (issue #15's million-listing targets at N >= 1M)."""
    at_scale = size >= SCALE_TARGETS_AT
    lines = [f"targets (set for N={SCALE_TARGETS_AT if at_scale else TARGETS_AT:,}"
             + ("" if size in (TARGETS_AT, SCALE_TARGETS_AT) else "; shown for reference") + "):"]

    def check(ok: bool, text: str) -> None:
        lines.append(f"  [{'PASS' if ok else 'MISS'}] {text}")

    if at_scale and seed_s is not None:
        check(size / seed_s >= SCALE_SEED_DOCS_S, f"seeding {size / seed_s:,.0f} docs/s >= {SCALE_SEED_DOCS_S:,}")

    for r in results:
        if r.failure:
            check(False, f"{r.backend}: failed, nothing measured")
            continue
        limit = (40.0 if at_scale else 60.0) if r.backend == "embedded" else (20.0 if at_scale else 30.0)
        check(r.api.p(95) <= limit, f"{r.backend}: API p95 {r.api.p(95):.1f} ms <= {limit:.0f} ms")
        overhead = r.overhead
        check(overhead.p(50) <= OVERHEAD_P50_MS,
              f"{r.backend}: overhead p50 {overhead.p(50):.2f} ms <= {OVERHEAD_P50_MS} ms (API minus raw engine, paired)")
        check(overhead.p(95) <= OVERHEAD_P95_MS,
              f"{r.backend}: overhead p95 {overhead.p(95):.2f} ms <= {OVERHEAD_P95_MS:.0f} ms")
        if not r.reused:
            check(r.docs_per_s >= 3000, f"{r.backend}: indexing {r.docs_per_s:,.0f} docs/s >= 3,000")
        worst = max(r.visible_s) if r.visible_s else float("inf")
        check(worst <= 2.0, f"{r.backend}: visible after commit max {worst:.2f} s <= 2 s")
    return lines


def agreement(results: list[BackendResult]) -> list[str]:
    """Return how many queries found the same total on every backend (a sanity check, not a target)."""
    ran = [r for r in results if not r.failure] or results
    zero = sum(t == 0 for t in ran[0].totals)
    if len(ran) < 2:
        return [f"sanity: {zero}/{len(ran[0].totals)} queries find nothing"]
    same = sum(len(set(totals)) == 1 for totals in zip(*(r.totals for r in ran), strict=True))
    return [f"sanity: {same}/{len(results[0].totals)} queries have the same total on every backend that ran; "
            f"{zero} find nothing"]


def total_mismatches(results: list[BackendResult], mix: list[dict[str, Any]]) -> list[str]:
    """Return one line per query whose total differs between the backends that ran it (none when all agree)."""
    ran = [r for r in results if not r.failure]
    lines = []
    for i, totals in enumerate(zip(*(r.totals for r in ran), strict=True)):
        known = {r.backend: total for r, total in zip(ran, totals, strict=True) if total is not None}
        if len(set(known.values())) > 1:
            lines.append(f"  query {i + 1}: " + ", ".join(f"{name} {total:,}" for name, total in known.items())
                         + f"  {mix[i]}")
    return lines


def details(results: list[BackendResult], mix: list[dict[str, Any]]) -> str:
    """Return per-backend breakdowns (by query feature) and the slowest queries, to find where time goes."""
    lines = []
    for r in results:
        if r.failure or not len(r.engine.ms) == len(r.backend_wall.ms) == len(mix):
            continue
        lines.append(f"== {r.backend}: ms p50/p95 by query feature (API, engine, backend.search() wall and the "
                     f"paired overhead, the median of {OVERHEAD_PAIRS} API passes' pairs and the first pass's single "
                     "pair; service in the service pass)")
        overhead = [ms if ms is not None else float("nan") for ms in r.overhead_by_query]
        single = [ms if ms is not None else float("nan") for ms in r.overhead_single] or overhead
        for label, test in FEATURES:
            picked = [i for i, q in enumerate(mix) if test(q)]
            if picked:
                lines.append(f"  {label:<16} n={len(picked):<4} " + "  ".join(
                    f"{name} {_fmt(percentile([ms[i] for i in picked if ms[i] == ms[i]], 50))}/"
                    f"{_fmt(percentile([ms[i] for i in picked if ms[i] == ms[i]], 95))}"
                    for name, ms in (("API", r.api.ms), ("engine", r.engine.ms), ("backend.search", r.backend_wall.ms),
                                     ("service", r.service.ms), ("overhead", overhead),
                                     ("1 pair", single))))
        lines.append("  slowest API calls:")
        for i in sorted(range(len(mix)), key=lambda i: -r.api.ms[i])[:8]:
            lines.append(f"    API {_fmt(r.api.ms[i])}  overhead {_fmt(overhead[i])}  engine {_fmt(r.engine.ms[i])}  "
                         f"service {_fmt(r.service.ms[i])}  total {r.totals[i]}  {mix[i]}")
    return "\n".join(lines)


FEATURES: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("all", lambda q: True),
    ("text", lambda q: "q" in q),
    ("no text", lambda q: "q" not in q),
    ("method", lambda q: "method" in q),
    ("condition", lambda q: "condition" in q),
    ("language", lambda q: "language" in q),
    ("radius <= 25 km", lambda q: q["radius_km"] <= 25),
    ("radius >= 50 km", lambda q: q["radius_km"] >= 50),
    ("sort rating", lambda q: q["sort"] == "rating"),
    ("page > 1", lambda q: q["page"] > 1),
    ("open now", lambda q: "open_now" in q),
)


def mismatch_block(results: list[BackendResult], mix: list[dict[str, Any]]) -> list[str]:
    """Return the loud report of queries whose totals differ between backends (nothing when they agree)."""
    lines = total_mismatches(results, mix)
    return [f"FAIL: totals differ between backends on {len(lines)}/{len(mix)} queries:", *lines] if lines else []


def pass_spread(result: BackendResult) -> str:
    """Return the API p95 of every pass of the mix, to read the table's (the first pass's) with its spread."""
    if len(result.api_p95_by_pass) < 2:
        return ""
    return ("; API p95 of each pass " + " / ".join(_fmt(ms) for ms in result.api_p95_by_pass)
            + " ms (the table and the targets: the first)")


def report(size: int, seed_s: float | None, mix: list[dict[str, Any]], results: list[BackendResult],
           engines: Engines, cards_s: float | None = None) -> str:
    """Return the full text block for one size."""
    cards = (f"result cards: {size:,} rows written in {cards_s:.1f}s ({size / cards_s:,.0f}/s), not part of the seed "
             "time" if cards_s else "result cards: current rows reused")
    lines = [
        f"Meridian search benchmark, N={size:,} practitioners ({time.strftime('%Y-%m-%d %H:%M')})",
        machine_facts(engines.versions),
        (f"seed: {size:,} practitioners in {seed_s:.1f}s ({size / seed_s:,.0f} docs/s)" if seed_s is not None
         else f"seed: {size:,} practitioners, reused from an earlier run (--keep)") + f"; {describe_mix(mix)}",
        cards,
        "",
        table(results),
        "",
        *(f"{r.backend}: FAILED: {r.failure[:300]}" if r.failure else
          f"{r.backend}: {r.errors}; 1-min load average {' -> '.join(f'{x:.1f}' for x in r.load)}"
          + pass_spread(r)
          for r in results),
        *agreement(results),
        *mismatch_block(results, mix),
        "",
        *targets(results, size, seed_s),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def bench_size(size: int, args: argparse.Namespace, engines: Engines) -> tuple[str, bool]:
    """Seed one database of ``size`` practitioners and run every backend on it; return the report, and whether
    every backend that ran found the same total for every query."""
    with _workdir(size, args.keep) as workdir:
        seed_s = _seeded(workdir, size)
        cards_s = _cards_written(workdir, size)
        probe = make_app(workdir, "embedded")
        mix = build_mix(args.queries, sample_last_names(probe, random.Random(MIX_SEED), 20))
        candidates = visibility_candidates(probe, VISIBILITY_CHANGES)
        say(describe_mix(mix))
        results = []
        for kind in args.backends:
            say(f"N={size:,}: {kind}")
            try:
                results.append(_bench_one(kind, workdir, mix, candidates, args, engines))
            except Exception as exc:  # one backend failing must not lose the others' numbers
                say(f"  {kind}: FAILED: {type(exc).__name__}: {exc}")
                results.append(BackendResult(kind, totals=[None] * len(mix), failure=f"{type(exc).__name__}: {exc}"))
    text = report(size, seed_s, mix, results, engines, cards_s)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"search-{size}.txt").write_text(text + "\n")
    (RESULTS_DIR / f"search-{size}-details.txt").write_text(details(results, mix) + "\n")
    return text, not total_mismatches(results, mix)


@contextlib.contextmanager
def _workdir(size: int, keep: Path | None) -> Iterator[Path]:
    """Yield a temporary directory, or ``keep/N`` (kept, so the next run skips seeding)."""
    if keep is not None:
        path = keep / str(size)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"meridian-bench-{size}-") as tmp:
        yield Path(tmp)


def _seeded(workdir: Path, size: int) -> float | None:
    """Seed ``workdir`` unless a finished seed of ``size`` is there; return the seed seconds (None if reused)."""
    marker = workdir / "seeded"
    if marker.exists() and marker.read_text().strip() == str(size):
        say(f"N={size:,}: reusing the database seeded in {workdir}")
        return None
    for stale in workdir.glob("*.db*"):
        stale.unlink()
    say(f"N={size:,}: seeding into {workdir} ...")
    seed_s = seed_database(workdir, size)
    marker.write_text(f"{size}\n")
    say(f"N={size:,}: seeded in {seed_s:.1f}s ({size / seed_s:,.0f} docs/s)")
    return seed_s


def _cards_written(workdir: Path, size: int) -> float | None:
    """Bring the database to the newest migration and write its result-card rows unless they are all current.

    Return the seconds the rows took (None when reused). Pages read cards from those rows (see
    directory/practitioners/cards.py); `flask seed` writes them after seeding, as this does.
    """
    from directory.indexing.models import CardCache, SearchVersion
    from directory.practitioners.cards import rebuild_cards

    app = make_app(workdir, "embedded")
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        current = db.session.scalar(
            select(func.count()).select_from(CardCache)
            .outerjoin(SearchVersion, SearchVersion.practitioner_id == CardCache.practitioner_id)
            .where(CardCache.version == func.coalesce(SearchVersion.version, 0)))
        total = db.session.scalar(select(func.count(Practitioner.id)))
        db.session.commit()
        if current == total:
            say(f"N={size:,}: reusing {current:,} current result-card rows")
            db.engine.dispose()
            return None
        say(f"N={size:,}: writing result-card rows ({current:,} of {total:,} current) ...")
        started = time.perf_counter()
        written = rebuild_cards(progress=Progress("cards written", total or 0))
        elapsed = time.perf_counter() - started
        db.engine.dispose()
    say(f"N={size:,}: wrote {written:,} result cards in {elapsed:.1f}s ({written / elapsed:,.0f}/s)")
    return elapsed


def _bench_one(kind: str, workdir: Path, mix: list[dict[str, Any]], candidates: list[int],
               args: argparse.Namespace, engines: Engines) -> BackendResult:
    """Run one backend, inside its own node's lifetime for cluster backends."""
    profile = kind in args.profile
    if kind not in CLUSTER:
        return bench_backend(kind, workdir, None, mix, candidates, profile=profile, warmup=args.warmup)
    with engines.running(kind) as url:
        return bench_backend(kind, workdir, url, mix, candidates, profile=profile, external=not engines.owned(kind),
                             warmup=args.warmup, keep_index=args.keep_index if not engines.owned(kind) else None)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="comma-separated practitioner counts (default 10000)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated, of " + ", ".join(BACKENDS))
    parser.add_argument("--queries", type=int, default=300, help="queries in the mix (default 300)")
    parser.add_argument("--es-url", help="use this Elasticsearch instead of starting one")
    parser.add_argument("--os-url", help="use this OpenSearch instead of starting one")
    parser.add_argument("--heap", default="1g", help="JVM heap of the nodes this script starts (default 1g)")
    parser.add_argument("--warmup", type=int, default=3, help="passes of the mix before measuring (default 3)")
    parser.add_argument("--keep", type=Path, help="seed into KEEP/N and keep it; later runs with --keep reuse it")
    parser.add_argument("--keep-index", metavar="PREFIX",
                        help="with --es-url/--os-url: keep the index PREFIX-practitioners on those nodes and reuse it "
                             "in later runs (built once when missing; index docs/s then says reused)")
    parser.add_argument("--profile", default="", help="comma-separated backends to cProfile (writes bench/results/)")
    args = parser.parse_args(argv)
    if args.keep_index and not (args.es_url or args.os_url):
        parser.error("--keep-index needs --es-url or --os-url (a node this script starts is gone afterwards)")
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.profile = [b.strip() for b in args.profile.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return args


def _sigterm(_signum: int, _frame: Any) -> None:
    """Turn SIGTERM into KeyboardInterrupt so engines are stopped on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for every size; print each table as soon as it is ready; 1 when backends disagree."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    # Only the clock of "open now" is fixed (see BENCH_NOW); the outbox and everything else keep the real one.
    search_service.utcnow = lambda: BENCH_NOW
    engines = Engines({"elasticsearch": args.es_url, "opensearch": args.os_url}, args.heap)
    disagreed = []
    try:
        for size in args.sizes:
            text, agreed = bench_size(size, args, engines)
            say("\n" + text + "\n")
            if not agreed:
                disagreed.append(size)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        engines.stop()
    if disagreed:
        say(f"FAIL: search totals differ between backends at N={', '.join(f'{n:,}' for n in disagreed)} "
            "(queries listed above): the backends must return the same practitioners")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

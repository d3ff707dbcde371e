"""Pytest plugin: real Elasticsearch / OpenSearch nodes for the integration tests.

Register it from tests/conftest.py with ``pytest_plugins = ["tests.integration.conftest_engines"]``
(or ``-p tests.integration.conftest_engines``). It provides two session-scoped
fixtures, each starting its engine once per session, lazily (only when a test
asks for it), on a free port (never 9200/9201, which belong to `make engine`),
and stopping it at the end of the session:

    elasticsearch_url  -> "http://127.0.0.1:NNNNN"
    opensearch_url     -> "http://127.0.0.1:NNNNN"

MERIDIAN_TEST_ES_URL / MERIDIAN_TEST_OS_URL point them at a node that is already
running instead. If an engine cannot start, the tests that need it are skipped
with a hint, except when CI=true, where they fail with the engine's log tail.
MERIDIAN_TEST_ENGINE_HEAP sets the heap (default 512m).

Pre-start: once collection is done, each engine that a selected test visibly
needs (it uses the fixture, or is parametrized with "elasticsearch"/"opensearch")
starts in a background thread, so its ~15 s JVM start overlaps the tests that
run before it. The fixture then just waits for it. MERIDIAN_TEST_ENGINE_PRESTART=0
turns that off (engines then start when first requested).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

from engine import EngineHandle, EngineStartError, cluster_health, start_elasticsearch, start_opensearch

HINT = (
    "needs Maven, a Java 21+ JDK and Maven Central (once, then cached): "
    "run `python -m engine fetch`, and `python -m engine status` to see what is missing"
)


KINDS = {
    # fixture name -> (display name, env var naming an external node, start function)
    "elasticsearch_url": ("Elasticsearch", "MERIDIAN_TEST_ES_URL", start_elasticsearch),
    "opensearch_url": ("OpenSearch", "MERIDIAN_TEST_OS_URL", start_opensearch),
}
HINT_VALUES = {
    "elasticsearch": "elasticsearch_url",
    "es": "elasticsearch_url",
    "opensearch": "opensearch_url",
    "os": "opensearch_url",
}


class _Start:
    """One engine start, run in a background thread or inline."""

    def __init__(self, fixture: str) -> None:
        self.fixture = fixture
        self.handle: EngineHandle | None = None
        self.error: str | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self, progress: Callable[[str], None]) -> None:
        _name, _env, start = KINDS[self.fixture]
        try:
            self.handle = start(0, heap=os.environ.get("MERIDIAN_TEST_ENGINE_HEAP", "512m"), progress=progress)
        except EngineStartError as exc:
            self.error = str(exc)
        except Exception as exc:  # reported through the fixture, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def in_background(self) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(lambda _msg: None,), name=f"start-{self.fixture}", daemon=True
        )
        self._thread.start()

    def result(self, progress: Callable[[str], None]) -> tuple[EngineHandle | None, str | None]:
        if self._thread is None and not self._done.is_set():
            self._run(progress)
        self._done.wait()
        return self.handle, self.error

    def stop(self) -> None:
        self._done.wait()
        if self.handle is not None:
            self.handle.stop()


_STARTS: dict[str, _Start] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs a real search engine or database (slower)")


def _needed_engines(items: list[pytest.Item]) -> set[str]:
    needed: set[str] = set()
    for item in items:
        needed.update(name for name in getattr(item, "fixturenames", ()) if name in KINDS)
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            for value in callspec.params.values():
                if isinstance(value, str) and value in HINT_VALUES:
                    needed.add(HINT_VALUES[value])
    return {name for name in needed if not os.environ.get(KINDS[name][1], "").strip()}


def pytest_collection_finish(session: pytest.Session) -> None:
    if os.environ.get("MERIDIAN_TEST_ENGINE_PRESTART", "1").strip() == "0" or session.config.option.collectonly:
        return
    for fixture in sorted(_needed_engines(session.items)):
        if fixture not in _STARTS:
            _STARTS[fixture] = _Start(fixture)
            _STARTS[fixture].in_background()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop engines that were pre-started but never requested (the fixtures stop the others)."""
    for start in _STARTS.values():
        start.stop()
    _STARTS.clear()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(kind: str, message: str) -> None:
    if _in_ci():
        pytest.fail(
            f"{kind} could not be started (CI=true, so this is a failure, not a skip):\n{message}", pytrace=False
        )
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    pytest.skip(f"{kind} not available: {first} -- {HINT}")


def _progress(config: pytest.Config) -> Callable[[str], None]:
    """Show start/fetch progress even while pytest captures output (a cold fetch takes a while)."""
    reporter = config.pluginmanager.getplugin("terminalreporter")
    capman = config.pluginmanager.getplugin("capturemanager")

    def say(msg: str) -> None:
        if reporter is None:
            return
        if capman is not None:
            with capman.global_and_fixture_disabled():
                reporter.write_line(f"[engine] {msg}")
        else:
            reporter.write_line(f"[engine] {msg}")

    return say


def _engine_url(request: pytest.FixtureRequest, fixture: str) -> Iterator[str]:
    kind, env_var, _start = KINDS[fixture]
    external = os.environ.get(env_var, "").strip().rstrip("/")
    if external:
        if cluster_health(external, timeout=10.0) is None:
            _unavailable(kind, f"{env_var}={external} does not answer /_cluster/health with yellow/green")
        yield external
        return
    start = _STARTS.setdefault(fixture, _Start(fixture))
    say = _progress(request.config)
    handle, error = start.result(say)
    if handle is None:
        # raises Skipped / Failed (outside any except block: no chained traceback)
        _unavailable(kind, error or "unknown error")
        return
    say(f"{handle.kind} {handle.version} on {handle.url} (started in {handle.started_in:.1f}s, log {handle.log_path})")
    try:
        yield handle.url
    finally:
        start.stop()
        _STARTS.pop(fixture, None)


@pytest.fixture(scope="session")
def elasticsearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real Elasticsearch 9 node, started once per session."""
    yield from _engine_url(request, "elasticsearch_url")


@pytest.fixture(scope="session")
def opensearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real OpenSearch 3 node, started once per session."""
    yield from _engine_url(request, "opensearch_url")

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
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from engine import EngineHandle, EngineStartError, cluster_health, start_elasticsearch, start_opensearch

HINT = (
    "needs Maven, a Java 21+ JDK and Maven Central (once, then cached): "
    "run `python -m engine fetch`, and `python -m engine status` to see what is missing"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs a real search engine or database (slower)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(kind: str, message: str) -> None:
    if _in_ci():
        pytest.fail(f"{kind} could not be started (CI=true, so this is a failure, not a skip):\n{message}",
                    pytrace=False)
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


def _engine_url(
    request: pytest.FixtureRequest,
    kind: str,
    env_var: str,
    start: Callable[..., EngineHandle],
) -> Iterator[str]:
    external = os.environ.get(env_var, "").strip().rstrip("/")
    if external:
        if cluster_health(external, timeout=10.0) is None:
            _unavailable(kind, f"{env_var}={external} does not answer /_cluster/health with yellow/green")
        yield external
        return
    heap = os.environ.get("MERIDIAN_TEST_ENGINE_HEAP", "512m")
    error = None
    try:
        handle = start(0, heap=heap, progress=_progress(request.config))
    except EngineStartError as exc:
        error = str(exc)
    if error is not None:
        _unavailable(kind, error)  # raises Skipped / Failed (outside the except: no chained traceback)
        return
    try:
        yield handle.url
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def elasticsearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real Elasticsearch 9 node, started once per session."""
    yield from _engine_url(request, "Elasticsearch", "MERIDIAN_TEST_ES_URL", start_elasticsearch)


@pytest.fixture(scope="session")
def opensearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real OpenSearch 3 node, started once per session."""
    yield from _engine_url(request, "OpenSearch", "MERIDIAN_TEST_OS_URL", start_opensearch)

"""`flask serve` behind a reverse proxy: waitress passes the proxy's headers to the app when TRUSTED_PROXIES is set,
so HTTPS is recognised (no redirect loop) and rate limits apply per visitor, not to the proxy as a whole."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from directory.extensions import search
from tests.conftest import extra_app
from tests.support.scratch import in_app_context, scratch_database

ROOT = Path(__file__).resolve().parents[2]
SEARCH = "/api/v1/practitioners/search?lat=42.36&lon=-71.06"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Run `flask serve` in a process of its own on a migrated scratch database; yield its base URL."""
    proxies = request.param
    with scratch_database(database_url, tmp_path) as url:
        with extra_app(url, tmp_path) as site:  # the embedded index at tmp_path/search.db, as the server's
            in_app_context(site, lambda: search.backend().ensure_index())
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": url, "MERIDIAN_INSTANCE_DIR": str(tmp_path),
               "SEARCH_EMBEDDED_PATH": str(tmp_path / "search.db"), "SECRET_KEY": "test-secret-key",
               "FORCE_HTTPS": "true", "TRUSTED_PROXIES": proxies, "RATELIMIT_ENABLED": "true",
               "RATELIMIT_SEARCH_API": "2 per minute", "MERIDIAN_ENV": "development"}
        flask = Path(sys.executable).parent / "flask"
        proc = subprocess.Popen([str(flask), "--app", "app", "serve", "--port", str(port), "--no-sync-worker",
                                 "--threads", "2", "--connection-limit", "10"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_listening(port, proc)
            yield base
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


def _wait_until_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1].decode()
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("flask serve did not start listening")


def _get(base: str, path: str, visitor: str) -> requests.Response:
    return requests.get(base + path, allow_redirects=False, timeout=10,
                        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": visitor})


@pytest.mark.parametrize("served", ["1"], indirect=True)
def test_behind_one_proxy_https_is_recognised_and_each_visitor_has_its_own_limit(served: str) -> None:
    assert requests.get(served + "/healthz", allow_redirects=False, timeout=10).status_code == 302  # plain http
    assert _get(served, "/healthz", "203.0.113.7").status_code == 200  # the proxy says https: no redirect loop
    first = [_get(served, SEARCH, "203.0.113.7").status_code for _ in range(3)]
    other = [_get(served, SEARCH, "198.51.100.9").status_code for _ in range(2)]
    assert first == [200, 200, 429]
    assert other == [200, 200]


@pytest.mark.parametrize("served", ["0"], indirect=True)
def test_without_trusted_proxies_the_forwarded_headers_are_ignored(served: str) -> None:
    assert _get(served, "/healthz", "203.0.113.7").status_code == 302  # a client cannot claim https

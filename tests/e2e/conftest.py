"""Browser-test fixtures: the real app served by waitress in a thread, and Debian's Chromium via Playwright.

Chromium is never downloaded: Playwright drives /usr/bin/chromium (tests/support/system-deps.sh installs it).
Without it the tests skip locally and fail in CI. Screenshots go to tests/e2e/artifacts/ (git-ignored).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade

from directory import create_app
from directory.config import PROJECT_ROOT
from directory.extensions import db, search
from tests.conftest import make_config, require
from tests.e2e.data import seed_e2e_database
from tests.support.live import serving

ARTIFACTS = Path(__file__).parent / "artifacts"
AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
LEAFLET_JS = PROJECT_ROOT / "static" / "vendor" / "leaflet" / "leaflet.js"


def _closed_port() -> int:
    """Return a local port nothing listens on (bound, then released), so connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The map must cope with a tile server it cannot reach: this one refuses every connection.
TILE_HOST = f"http://127.0.0.1:{_closed_port()}"
UNREACHABLE_TILES = TILE_HOST + "/{z}/{x}/{y}.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class LiveServer:
    """The running app: its base URL and the slugs of the known practitioners."""

    url: str
    slugs: dict[str, str] = field(default_factory=dict)
    app: Flask | None = None

    def at(self, path: str) -> str:
        """Return the absolute URL of ``path``."""
        return self.url + path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Return Debian's Chromium, or skip (fail in CI) when it or the npm assets are missing."""
    path = shutil.which("chromium")
    if path is None:
        require("Debian's chromium is not installed (apt-get install chromium, or make system-deps)")
    for asset in (AXE_JS, LEAFLET_JS):
        if not asset.exists():
            require(f"{asset.relative_to(PROJECT_ROOT)} is missing: run `npm ci` at the repository root")
    return str(path)


@pytest.fixture(scope="session")
def live_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve the real app (migrated SQLite, demo data, embedded search) with waitress on a free port."""
    from directory.indexing.services import reindex_all
    from directory.practitioners.vocabulary import load_vocabularies

    tmp = tmp_path_factory.mktemp("e2e")
    app = create_app(make_config(f"sqlite:///{tmp / 'e2e.db'}", tmp, MAP_TILE_URL=UNREACHABLE_TILES,
                                 MAP_TILE_ATTRIBUTION="Test tiles (unreachable on purpose)"))
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        slugs = seed_e2e_database()
        db.session.commit()
        search.backend().ensure_index()
        reindex_all(search.backend())
    with serving(app) as url:
        yield LiveServer(url, slugs, app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """Launch Debian's Chromium once for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class ConsoleWatch:
    """Collects browser console errors and failed same-origin requests (CSP violations show up here)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.errors: list[str] = []

    def on_console(self, message: Any) -> None:
        """Keep console errors, except the tile requests meant to fail and the browser's favicon probe."""
        url = (message.location or {}).get("url", "")
        if message.type != "error" or url.startswith(TILE_HOST) or url.endswith("/favicon.ico"):
            return
        # A page answered 400/404 on purpose logs its own status; a missing asset or script error does not pass.
        if message.text.startswith("Failed to load resource: the server responded with a status of 4") \
                and "/static/" not in url:
            return
        self.errors.append(f"{message.text} ({url})")

    def on_page_error(self, error: Any) -> None:
        """Keep uncaught script errors."""
        self.errors.append(f"uncaught: {error}")


def new_page(browser: Any, server: LiveServer, **context_options: Any) -> tuple[Any, ConsoleWatch]:
    """Open a page in a fresh context that records console errors."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = ConsoleWatch(server.url)
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    return page, watch


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A desktop-sized page; the test fails if the browser logged an error (a CSP violation, a script error)."""
    tab, watch = new_page(browser, live_server)
    yield tab
    tab.context.close()
    assert watch.errors == [], f"browser console errors: {watch.errors}"


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/e2e/artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

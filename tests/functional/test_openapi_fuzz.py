"""Schemathesis, a tool we did not write, fuzzes /api/v1 over real HTTP from the published OpenAPI document.

Every operation gets generated valid and invalid parameters; every response must be documented,
match its schema, and none may be a 5xx. Bounded (FUZZ_EXAMPLES per operation) to stay under a minute.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from directory.api import views
from directory.extensions import db, search
from directory.indexing.services import reindex_all
from directory.vetting.heads import issue_statement
from directory.vetting.services import record_check
from tests import factories
from tests.conftest import extra_app
from tests.support.live import serving
from tests.support.scratch import scratch_database
from tests.unit.vetting.builders import admin, us_practitioner

FUZZ_EXAMPLES = 100
CONFIG = Path(__file__).with_name("schemathesis.toml")


def _seed() -> None:
    """Listed practitioners around Cambridge MA with checked chains and a signed statement, indexed."""
    boss = admin()
    for p in (us_practitioner(), us_practitioner(npi=None, first_name="Ada", last_name="Lovelace")):
        record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
        record_check(p, source="state_board", outcome="pass", credential=p.credentials[0], performed_by=boss,
                     reference="https://board.example/AC12345", note="licence seen, ø ß")
    factories.practitioner(first_name="Bea", last_name="Far", conditions=("sciatica",), languages=("en", "zh"),
                           locations=[{"latitude": 42.50, "longitude": -71.10, "city": "Woburn"}])
    factories.practitioner(first_name="Cal", last_name="Pending", vetting_status="pending")
    issue_statement()
    db.session.commit()
    search.backend().ensure_index()
    reindex_all(search.backend())


@pytest.fixture(scope="module")
def live_api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app over waitress on a database of its own, seeded; yield its base URL."""
    tmp: Path = tmp_path_factory.mktemp("openapi-fuzz")
    with scratch_database(database_url, tmp) as url, extra_app(url, tmp) as app:
        with app.app_context():
            _seed()
        with serving(app) as base:
            yield base


def run_schemathesis(base: str, report: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run schemathesis's own CLI over the published document, every check on, seeded and bounded."""
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
               f"{base}/api/v1/openapi.json", "--checks", "all", "--phases", "examples,coverage,fuzzing",
               "--max-examples", str(FUZZ_EXAMPLES), "--seed", "15", "--workers", "1", "--generation-database",
               "none", "--no-color", "--report", "junit", "--report-junit-path", str(report), *extra]
    # Run in the report folder: schemathesis keeps a cache (.schemathesis/) in its working directory.
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=report.parent)


def test_every_answer_is_documented_and_none_is_a_server_error(live_api: str, tmp_path: Path) -> None:
    result = run_schemathesis(live_api, tmp_path / "junit.xml")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout
    assert "Tested: 4" in result.stdout  # every operation but the document itself


SEARCH_ONLY = ("--include-operation-id", "api_practitioners_search", "--max-examples", "5")


def test_the_fuzz_catches_a_server_error(live_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "search_practitioners", broken)
    result = run_schemathesis(live_api, tmp_path / "junit.xml", *SEARCH_ONLY)
    assert result.returncode == 1 and "Server error" in result.stdout, result.stdout[-5000:]


def test_the_fuzz_catches_a_body_the_document_does_not_describe(live_api: str, tmp_path: Path, api_contract: list[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "results_json", lambda results: {"total": "many"})
    result = run_schemathesis(live_api, tmp_path / "junit.xml", *SEARCH_ONLY)
    assert result.returncode == 1 and "Response violates schema" in result.stdout, result.stdout[-5000:]
    assert api_contract  # the suite's own contract check saw the served bodies too
    api_contract.clear()

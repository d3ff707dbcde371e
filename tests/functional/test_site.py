"""Home page and health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import extra_app


def test_home_page_shows_the_search_form(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'action="/search"' in html
    assert '<label for="place">Place</label>' in html
    assert "Moxibustion" in html and "Low back pain" in html
    assert "does not replace it" in html


def test_healthz_reports_database_and_search(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["search"]["status"] == "ok"
    assert body["search"]["backend"] == "embedded"


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    with extra_app(f"sqlite:///{tmp_path}/missing/dir/x.db", tmp_path) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unavailable"
    assert "unable to open database file" in body["database_error"]


def test_favicon_ico_leads_to_the_site_icon(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/static/favicon.svg")
    with client.get(response.headers["Location"]) as icon:  # a file response: closed here
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_unknown_page_is_a_friendly_404(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find that page" in response.get_data(as_text=True)


def test_unknown_api_path_answers_json(client: Any) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"

"""SQLite locked by another connection during a write: a short lock is waited out, a long one is a plain 503.

Real locks, held by another sqlite3 connection in another thread; each test has a database of its own, since
the request's connection must wait for a lock the test's rolled-back transaction would otherwise hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.errors import CHANGE_NOT_SAVED, DATABASE_UNAVAILABLE
from directory.extensions import db, search
from directory.reviews.models import Review
from tests import factories
from tests.conftest import extra_app
from tests.support.locks import lock_held
from tests.support.scratch import in_app_context, scratch_database
from tests.support.web import csrf_from, sign_in_as

REVIEW = {"rating": "5", "body": "Careful and calm; my back is better.", "condition": "low-back-pain",
          "methods": "filiform-needling", "visit_month": "2026-10"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database of this test's own (this is about SQLite's one write lock)."""
    with scratch_database(f"sqlite:///{tmp_path / 'base.db'}", tmp_path) as url:
        yield url


def _site(url: str, tmp_path: Path, busy_timeout_s: float) -> Any:
    return extra_app(url, tmp_path, SQLITE_BUSY_TIMEOUT_S=busy_timeout_s)


def _patient_and_profile(app: Flask) -> tuple[int, str]:
    def add() -> tuple[int, str]:
        patient, profile = factories.patient(), factories.practitioner()
        db.session.commit()
        return patient.id, profile.slug
    result: tuple[int, str] = in_app_context(app, add)
    return result


def _reviews(app: Flask) -> int:
    return int(in_app_context(app, lambda: db.session.scalar(select(func.count()).select_from(Review))))


def _review_form(app: Flask) -> tuple[Any, str, str]:
    """Sign a patient in; return the client, the review URL and the form's CSRF token."""
    patient_id, slug = _patient_and_profile(app)
    client = app.test_client()
    with app.app_context():
        sign_in_as(client, db.session.get(factories.User, patient_id))
        db.session.remove()
    url = f"/practitioners/{slug}/review"
    return client, url, csrf_from(client.get(url).get_data(as_text=True))


def test_a_review_posted_during_a_long_lock_is_a_503_with_the_form_as_sent(sqlite_url: str, tmp_path: Path) -> None:
    with _site(sqlite_url, tmp_path, busy_timeout_s=0.3) as app:
        client, url, token = _review_form(app)
        with lock_held(sqlite_url):
            response = client.post(url, data={"csrf_token": token, **REVIEW})
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert CHANGE_NOT_SAVED.split(":")[0] in page
        assert "Careful and calm; my back is better." in page, "what the patient wrote is still in the form"
        assert _reviews(app) == 0, "nothing of it was written"
        again = client.post(url, data={"csrf_token": csrf_from(page), **REVIEW})
        assert again.status_code == 303, "sent again once the lock is gone, it is saved"
        assert _reviews(app) == 1


def test_a_review_posted_during_a_short_lock_waits_and_is_saved(sqlite_url: str, tmp_path: Path) -> None:
    with _site(sqlite_url, tmp_path, busy_timeout_s=10) as app:
        client, url, token = _review_form(app)
        with lock_held(sqlite_url, release_after_s=0.5):
            response = client.post(url, data={"csrf_token": token, **REVIEW})
        assert response.status_code == 303
        assert _reviews(app) == 1


def test_an_action_without_a_form_to_show_again_says_nothing_was_saved(sqlite_url: str, tmp_path: Path) -> None:
    with _site(sqlite_url, tmp_path, busy_timeout_s=0.3) as app:
        client, _, token = _review_form(app)
        with lock_held(sqlite_url):
            response = client.post("/account/delete", data={"csrf_token": token, "confirm": "DELETE"})
        assert response.status_code == 503
        assert "your change was not saved. Please go back" in response.get_data(as_text=True)
        assert client.get("/account").status_code == 200, "still signed in: the account is still there"


def test_a_post_that_needs_no_write_is_answered_despite_the_lock(sqlite_url: str, tmp_path: Path) -> None:
    with _site(sqlite_url, tmp_path, busy_timeout_s=0.3) as app:
        client, _, token = _review_form(app)
        with lock_held(sqlite_url):
            response = client.post("/sign-out", data={"csrf_token": token})
        assert response.status_code == 303


def test_the_api_answers_a_locked_database_with_a_503_json_error_and_retry_after(sqlite_url: str,
                                                                                 tmp_path: Path) -> None:
    with _site(sqlite_url, tmp_path, busy_timeout_s=0.3) as app:
        in_app_context(app, lambda: search.backend().ensure_index())
        client = app.test_client()
        with lock_held(sqlite_url, readers_too=True):
            response = client.get("/api/v1/practitioners/search?lat=42.37&lon=-71.11")
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json() == {"error": "database_unavailable", "message": DATABASE_UNAVAILABLE}
        assert client.get("/api/v1/practitioners/search?lat=42.37&lon=-71.11").status_code == 200
        documented = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/practitioners/search"]
        assert "Retry-After" in documented["get"]["responses"]["503"]["headers"]


def test_a_post_whose_view_writes_outside_run_action_gets_the_plain_503(sqlite_url: str, tmp_path: Path) -> None:
    # Sign-in commits its failure count itself; on the read-only second pass that write is refused at once.
    with _site(sqlite_url, tmp_path, busy_timeout_s=0.3) as app:
        client = app.test_client()
        token = csrf_from(client.get("/sign-in").get_data(as_text=True))
        attempt = {"csrf_token": token, "email": "nobody@example.org", "password": "not the password"}
        with lock_held(sqlite_url):
            response = client.post("/sign-in", data=attempt)
        assert response.status_code == 503
        assert "your change was not saved. Please go back" in response.get_data(as_text=True)
        assert client.post("/sign-in", data=attempt).status_code == 401, "once the lock is gone, the usual answer"


def test_a_busy_post_counts_once_against_the_visitors_rate_limit(sqlite_url: str, tmp_path: Path) -> None:
    # /confirm/resend allows 5 posts a minute. Each busy post is answered by a read-only second pass of the same
    # request; counted twice, three busy posts would spend six and the next post would be refused (429).
    with extra_app(sqlite_url, tmp_path, SQLITE_BUSY_TIMEOUT_S=0.2, RATELIMIT_ENABLED=True) as app:
        def unconfirmed() -> str:
            user = factories.patient(email="waiting@example.org", email_confirmed_at=None)
            db.session.commit()
            return str(user.email)
        email = in_app_context(app, unconfirmed)
        client = app.test_client()
        url = "/confirm/resend"
        token = csrf_from(client.get(url).get_data(as_text=True))
        with lock_held(sqlite_url):
            busy = [client.post(url, data={"csrf_token": token, "email": email}) for _ in range(3)]
        assert [r.status_code for r in busy] == [503, 503, 503]
        after = [client.post(url, data={"csrf_token": token, "email": email}).status_code for _ in range(2)]
        assert all(status != 429 for status in after), after
        assert client.post(url, data={"csrf_token": token, "email": email}).status_code == 429, "the sixth is over"

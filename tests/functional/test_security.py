"""Attacks and protections: CSRF, open redirects, XSS, SQL meta-characters, size, fixation, headers, rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from directory.accounts.mail import public_url
from directory.accounts.models import OutgoingEmail, User
from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.config import ConfigError, load_config
from directory.extensions import db
from tests import factories
from tests.conftest import extra_app, rolled_back_session
from tests.support.web import csrf_from, last_email, post_form, sign_in_as

PASSWORD = "correct horse battery staple"


def _user(role: str = "patient", **kw: Any) -> User:
    return factories.user(role, password_hash=hash_password(PASSWORD), email_confirmed_at=utcnow(), **kw)


def test_post_without_csrf_token_is_refused(client: Any) -> None:
    _user(email="csrf@example.org")
    response = client.post("/sign-in", data={"email": "csrf@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_post_with_wrong_csrf_token_is_refused(client: Any) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"csrf_token": "forged", "email": "x@example.org", "password": PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example"])
def test_open_redirect_through_next_is_refused(client: Any, target: str) -> None:
    _user(email="redirect@example.org")
    response = post_form(client, "/sign-in", {"email": "redirect@example.org", "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


def test_next_within_the_site_is_followed(client: Any) -> None:
    _user(email="next@example.org")
    response = post_form(client, "/sign-in", {"email": "next@example.org", "password": PASSWORD,
                                              "next": "/search?method=moxibustion"})
    assert response.headers["Location"] == "/search?method=moxibustion"


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_stored_xss_in_names_renders_escaped(client: Any, text: str) -> None:
    admin = _user("admin", approved_at=utcnow())
    _user("doctor", full_name=text)
    factories.practitioner(first_name=text, bio=text, vetting_status="verified")
    sign_in_as(client, admin)
    for page in ("/admin/users", "/account"):
        html = client.get(page).get_data(as_text=True)
        assert text not in html
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "&lt;" in listing


def test_sql_meta_characters_are_stored_literally(client: Any) -> None:
    name = "Robert'); DROP TABLE \"user\";-- %_\\"
    post_form(client, "/sign-up", {"full_name": name, "email": "bobby@example.org", "password": PASSWORD,
                                   "role": "patient"})
    assert db.session.scalars(select(User).where(User.email == "bobby@example.org")).one().full_name == name


def test_oversized_body_is_413(client: Any, app: Flask) -> None:
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/sign-in", data=body, content_type="application/octet-stream")
    assert response.status_code == 413


def test_session_is_renewed_on_sign_in(client: Any) -> None:
    _user(email="fixation@example.org")
    with client.session_transaction() as session:
        session["planted"] = "attacker-chosen"
    before = client.get_cookie("session").value
    post_form(client, "/sign-in", {"email": "fixation@example.org", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]
    assert client.get_cookie("session").value != before


def test_security_headers_and_cookie_flags(client: Any) -> None:
    _user(email="headers@example.org")
    response = post_form(client, "/sign-in", {"email": "headers@example.org", "password": PASSWORD})
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture
def limited_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on the test database with rate limiting on (memory storage, fresh counters)."""
    with extra_app(database_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_SEARCH_API="3 per minute") as limited, \
            rolled_back_session(limited):
        limited.extensions["search"].backend().ensure_index()
        yield limited


def test_sign_in_is_rate_limited_with_retry_after(limited_app: Flask) -> None:
    client = limited_app.test_client()
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    statuses = [client.post("/sign-in", data={"csrf_token": token, "email": "rl@example.org", "password": "x" * 12})
                .status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    last = client.post("/sign-in", data={"csrf_token": token, "email": "rl@example.org", "password": "x" * 12})
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0


def test_a_rate_limited_search_answers_as_its_openapi_document_says(limited_app: Flask) -> None:
    client = limited_app.test_client()
    answers = [client.get("/api/v1/practitioners/search?lat=42.36&lon=-71.1") for _ in range(4)]
    responses = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/practitioners/search"]["get"][
        "responses"]
    assert set(responses["200"]["headers"]) <= set(answers[0].headers.keys())
    assert answers[3].status_code == 429 and int(answers[3].headers["Retry-After"]) > 0
    assert responses["429"]["headers"]["Retry-After"]["required"] is True


def test_search_api_is_rate_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    statuses = [client.get("/api/v1/practitioners/search?lat=42.36&lon=-71.1").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/practitioners/search?lat=42.36&lon=-71.1").get_json()["error"] == "too_many_requests"


@pytest.fixture
def proxied_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A rate-limited app behind one trusted reverse proxy (TRUSTED_PROXIES=1)."""
    with extra_app(database_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_SEARCH_API="3 per minute",
                   TRUSTED_PROXIES="1") as proxied, rolled_back_session(proxied):
        proxied.extensions["search"].backend().ensure_index()
        yield proxied


def _search_from(application: Flask, forwarded_for: str) -> int:
    """Return the status of one API search arriving through the proxy for ``forwarded_for``."""
    return application.test_client().get("/api/v1/practitioners/search?lat=42.36&lon=-71.1",
                                         headers={"X-Forwarded-For": forwarded_for}).status_code


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(proxied_app: Flask) -> None:
    assert [_search_from(proxied_app, "203.0.113.1") for _ in range(4)] == [200, 200, 200, 429]
    assert _search_from(proxied_app, "203.0.113.2") == 200


def test_behind_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(proxied_app: Flask) -> None:
    # The proxy appends the address it saw; anything the client put before it is not trusted.
    statuses = [_search_from(proxied_app, f"198.51.100.{n}, 203.0.113.7") for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_without_trusted_proxies_forwarded_for_is_ignored(limited_app: Flask) -> None:
    assert [_search_from(limited_app, f"203.0.113.{n}") for n in range(4)] == [200, 200, 200, 429]


@pytest.mark.parametrize("value", ["-1", "two", "99"])
def test_a_bad_trusted_proxies_count_is_one_clear_error(value: str) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be a whole number"):
        load_config({"SECRET_KEY": "s", "TRUSTED_PROXIES": value})


@pytest.mark.parametrize("url", ["/practitioners/ada%00", "/search?place=Boston%00", "/search?q=%00",
                                 "/api/v1/practitioners/search?q=a%00b", "/search?method%00=x", "/search/suggest?q=%00"])
def test_nul_bytes_are_a_400_not_a_database_error(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_nul_bytes_in_a_form_are_refused(client: Any) -> None:
    response = post_form(client, "/sign-up", {"full_name": "Nul\x00Name", "email": "nul@example.org",
                                              "password": PASSWORD, "role": "patient"})
    assert response.status_code == 400
    assert db.session.scalars(select(User).where(User.email == "nul@example.org")).first() is None


EVIL = {"Host": "evil.example"}


def _post_as_host(client: Any, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
    """Submit a form as a browser sent to another host would (cookies are per host)."""
    token = csrf_from(client.get(url, headers=headers).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, headers=headers)


@pytest.fixture
def public_site(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    """Configure the public address links in email are built from; return it."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://meridian.example")
    return "https://meridian.example"


def test_reset_link_comes_from_the_public_address_not_the_host_header(client: Any, public_site: str) -> None:
    _user(email="victim@example.org")
    response = _post_as_host(client, "/reset-password", {"email": "victim@example.org"}, EVIL)
    assert response.status_code == 200
    body = last_email("victim@example.org", "reset").body
    assert f"{public_site}/reset-password/" in body
    assert "evil.example" not in body


def test_confirmation_link_comes_from_the_public_address_not_the_host_header(client: Any, public_site: str) -> None:
    _post_as_host(client, "/sign-up", {"full_name": "Pat", "email": "newcomer@example.org", "password": PASSWORD,
                                       "role": "patient"}, EVIL)
    body = last_email("newcomer@example.org", "confirm").body
    assert f"{public_site}/confirm/" in body
    assert "evil.example" not in body


def test_public_url_needs_no_request_and_keeps_a_path_prefix(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://example.org/meridian")
    with app.app_context():
        assert public_url("accounts.reset_password", token="t") == "https://example.org/meridian/reset-password/t"


@pytest.fixture
def trusted_hosts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer only to meridian.example, as production does."""
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["meridian.example"])


@pytest.mark.usefixtures("trusted_hosts")
def test_a_reset_request_for_an_untrusted_host_is_refused_and_sends_nothing(client: Any) -> None:
    _user(email="target@example.org")
    assert _post_as_host(client, "/reset-password", {"email": "target@example.org"},
                         {"Host": "meridian.example"}).status_code == 200
    db.session.execute(delete(OutgoingEmail))
    token = csrf_from(client.get("/reset-password", headers={"Host": "meridian.example"}).get_data(as_text=True))
    client.set_cookie("session", client.get_cookie("session", domain="meridian.example").value, domain="evil.example")
    response = client.post("/reset-password", data={"csrf_token": token, "email": "target@example.org"}, headers=EVIL)
    assert response.status_code == 400
    assert "does not answer to the host name" in response.get_data(as_text=True)
    assert db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.recipient == "target@example.org")).first() is None


@pytest.mark.usefixtures("trusted_hosts")
@pytest.mark.parametrize(("method", "url"), [("GET", "/"), ("GET", "/search?q=moxa"), ("GET", "/no-such-page"),
                                             ("POST", "/sign-in"), ("GET", "/admin/users")])
def test_untrusted_hosts_get_a_plain_400_page(client: Any, method: str, url: str) -> None:
    response = client.open(url, method=method, headers=EVIL)
    assert response.status_code == 400
    assert "does not answer to the host name" in response.get_data(as_text=True)


@pytest.mark.usefixtures("trusted_hosts")
def test_untrusted_hosts_get_a_json_400_from_the_api(client: Any) -> None:
    response = client.get("/api/v1/practitioners/search?lat=42.36&lon=-71.1", headers=EVIL)
    assert response.status_code == 400
    assert response.get_json()["error"] == "untrusted_host"
    assert client.get("/api/v1/practitioners/search?lat=42.36&lon=-71.1",
                      headers={"Host": "meridian.example"}).status_code == 200


def test_untrusted_hosts_are_refused_before_rate_limits(app: Flask, database_url: str, tmp_path: Path) -> None:
    # (Not FORCE_HTTPS too: Talisman is one object, and its init_app would switch HTTPS on for every app.)
    with extra_app(database_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_SEARCH_API="1 per minute",
                   TRUSTED_HOSTS=["meridian.example"]) as strict, rolled_back_session(strict):
        client = strict.test_client()
        statuses = [client.get("/api/v1/practitioners/search", headers=EVIL).status_code for _ in range(3)]
        assert statuses == [400, 400, 400]
        assert "does not answer to the host name" in client.get("/", headers=EVIL).get_data(as_text=True)


def _production(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> dict[str, Any]:
    """Return production settings with ``overrides`` (a secret, a referral key and a signing key given)."""
    from cryptography.fernet import Fernet

    from directory.vetting.signing import new_signing_key

    monkeypatch.setenv("MERIDIAN_ENV", "production")
    return load_config({"SECRET_KEY": "s" * 32, "REFERRAL_KEYS": Fernet.generate_key().decode(),
                        "VERIFICATION_SIGNING_KEY": new_signing_key(), **overrides})


def test_production_requires_a_public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        _production(monkeypatch, PUBLIC_BASE_URL=None)
    with pytest.raises(ConfigError, match="https"):
        _production(monkeypatch, PUBLIC_BASE_URL="http://meridian.example")


def test_production_trusts_only_its_public_host_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _production(monkeypatch, PUBLIC_BASE_URL="https://meridian.example/")["TRUSTED_HOSTS"] == [
        "meridian.example"]
    listed = _production(monkeypatch, PUBLIC_BASE_URL="https://meridian.example", TRUSTED_HOSTS="a.example, B.example")
    assert listed["TRUSTED_HOSTS"] == ["a.example", "b.example"]


@pytest.mark.parametrize("value", ["ftp://meridian.example", "meridian.example", "https://meridian.example/?x=1"])
def test_a_malformed_public_address_is_one_clear_error(value: str) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be an http"):
        load_config({"SECRET_KEY": "s", "PUBLIC_BASE_URL": value})

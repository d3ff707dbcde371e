"""Signing a test client in, and reading the CSRF token a form page carries."""

from __future__ import annotations

import re
from typing import Any

_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')


def sign_in(client: Any, user: Any) -> None:
    """Put ``user`` in the client's session, as Flask-Login does after a real sign-in."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def csrf_from(html: str) -> str:
    """Return the first CSRF token in a page."""
    match = _CSRF.search(html)
    assert match, "no csrf_token input in the page"
    return match.group(1) or match.group(2)


def csrf_token(client: Any, url: str) -> str:
    """GET ``url`` (a page with a form) and return the CSRF token of its form."""
    response = client.get(url)
    assert response.status_code == 200, f"GET {url} answered {response.status_code}"
    return csrf_from(response.get_data(as_text=True))

"""Browser-like helpers for functional tests: CSRF tokens from pages, signing in, reading mail."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from directory.accounts.models import OutgoingEmail, User
from directory.extensions import db

_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')
_LINK = re.compile(r"https?://\S+")


def csrf_from(html: str) -> str:
    """Return the first CSRF token found in a page."""
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


def csrf_token(client: Any, url: str) -> str:
    """GET ``url`` (a page with a form) and return the CSRF token of its form."""
    response = client.get(url)
    assert response.status_code == 200, f"GET {url} answered {response.status_code}"
    return csrf_from(response.get_data(as_text=True))


def post_form(client: Any, url: str, data: dict[str, Any], form_page: str | None = None, **kw: Any) -> Any:
    """GET the form page for its CSRF token, then POST ``data`` like a browser would."""
    token = csrf_from(client.get(form_page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kw)


def sign_in_as(client: Any, user: User) -> None:
    """Put ``user`` in the client's session, as Flask-Login does after a real sign-in."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def last_email(recipient: str, kind: str | None = None) -> OutgoingEmail:
    """Return the newest queued message to ``recipient`` (optionally of one kind)."""
    stmt = select(OutgoingEmail).where(OutgoingEmail.recipient == recipient)
    if kind:
        stmt = stmt.where(OutgoingEmail.kind == kind)
    message = db.session.scalars(stmt.order_by(OutgoingEmail.id.desc())).first()
    assert message is not None, f"no {kind or ''} email to {recipient}"
    return message


def link_in(message: OutgoingEmail) -> str:
    """Return the path of the first link in a message body."""
    match = _LINK.search(message.body)
    assert match, "no link in the message"
    return re.sub(r"^https?://[^/]+", "", match.group(0))

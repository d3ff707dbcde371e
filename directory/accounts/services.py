"""Account services: loading users for Flask-Login (sign-up, sign-in and the rest follow)."""

from __future__ import annotations

from directory.accounts.models import User
from directory.extensions import db


def load_user(user_id: str) -> User | None:
    """Return the active user with this id, for Flask-Login's session loading."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.state == "active" else None

"""Signed, expiring tokens for email confirmation and password reset (itsdangerous)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM_MAX_AGE_S = 3 * 24 * 3600
RESET_MAX_AGE_S = 3600


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    """Return a serializer whose salt ties tokens to one purpose."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"meridian-{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    """Return a signed token carrying ``payload`` for ``purpose``."""
    return str(_serializer(purpose).dumps(payload))


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any] | None:
    """Return the payload of a valid, unexpired token, or None."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    return payload if isinstance(payload, dict) else None

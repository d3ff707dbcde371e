"""The one source of "now": naive UTC datetimes, stored the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (the storage convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    """Return today's date in UTC."""
    return utcnow().date()

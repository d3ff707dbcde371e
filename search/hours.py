"""Opening hours as numbers an engine can match: "open now" without scripts. Pure.

Hours are kept in each location's local time, and "now" differs per time zone (and per
season, with daylight saving time). So every opening interval becomes a range of *keys*:
``zone_code(zone) * MINUTES_PER_WEEK + local minute of the week``. At search time the
application computes one key per time zone in use, the local minute of the week there
right now; a practitioner is open now when one of its ranges holds one of those keys.
A zone's keys lie in a block of their own, so a range can only ever match its own zone's
"now", and the rule is exact through DST changes with nothing to reindex.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# An unknown zone name is read as UTC, here and on the result cards (directory/practitioners/hours.py).
FALLBACK_ZONE = "UTC"

# (weekday 0 = Monday, opens, closes) in minutes after local midnight; closes after opens.
WeeklyInterval = tuple[int, int, int]


def zone_code(zone: str) -> int:
    """Return the number standing for a time zone name (CRC-32: distinct for every IANA name, checked in tests)."""
    return zlib.crc32(zone.encode("utf-8"))


@lru_cache(maxsize=4096)
def open_ranges(zone: str, intervals: tuple[WeeklyInterval, ...]) -> tuple[tuple[int, int], ...]:
    """Return the key ranges [low, high) of a location's weekly opening intervals in ``zone``.

    Cached: locations share a few hundred combinations of zone and week, and a rebuild meets each one 100,000 times.
    """
    base = zone_code(zone) * MINUTES_PER_WEEK
    return tuple(sorted({(base + day * MINUTES_PER_DAY + opens, base + day * MINUTES_PER_DAY + closes)
                         for day, opens, closes in intervals
                         if 0 <= day < 7 and 0 <= opens < closes <= MINUTES_PER_DAY}))


@lru_cache(maxsize=1024)  # the tz database has ~600 names; bounded all the same, as names come from data
def zone_info(name: str) -> ZoneInfo:
    """Return the tz database zone called ``name`` (UTC when the name is unknown).

    Kept here for good: ZoneInfo's own cache holds only 8 zones strongly, so with a few dozen zones in use every
    search read their files again (3 ms for 42 zones instead of 0.2).
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(FALLBACK_ZONE)


def open_keys(zones: Iterable[str], at: datetime) -> tuple[int, ...]:
    """Return, for each zone, the key of the local minute of the week at the instant ``at`` (aware, or naive UTC)."""
    instant = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    keys = set()
    for name in zones:
        local = instant.astimezone(zone_info(name))
        keys.add(zone_code(name) * MINUTES_PER_WEEK + local.weekday() * MINUTES_PER_DAY
                 + local.hour * 60 + local.minute)
    return tuple(sorted(keys))

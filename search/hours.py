"""Opening hours as numbers an engine can match: "open now" without scripts. Pure.

Hours are kept in each location's local time, and "now" differs per time zone (and per
season, with daylight saving time). So every opening interval becomes a range of *keys*:
``zone_code(zone) * MINUTES_PER_WEEK + local minute of the week``. At search time the
application computes one key per time zone in use, the local minute of the week there
right now; a practitioner is open now when one of its ranges holds one of those keys.
A zone's keys lie in a block of their own, so a range can only ever match its own zone's
"now", and the rule is exact through DST changes with nothing to reindex.

A dated exception (closed on 24 December, or open only 10:00-14:00 that day) replaces a location's
week for one local day, so it is keyed by date: ``dated key = (zone_code(zone) * DATED_DAYS + local
day number) * MINUTES_PER_DAY + local minute of the day``. For each day some location has an exception,
a document carries where its week is wrong that day: *closed* ranges (the week says open, the day
is closed) and *open* ranges (the week says closed, the day is open). A document is open now when
(a weekly range holds a weekly key and no closed range holds a dated key) or an open range holds a
dated key (``dated_ranges``). The ranges are worked out across all the document's locations at once,
so one clinic's holiday never hides another clinic of the same practitioner that is open.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# An unknown zone name is read as UTC, here and on the result cards (directory/practitioners/hours.py).
FALLBACK_ZONE = "UTC"

# (weekday 0 = Monday, opens, closes) in minutes after local midnight; closes after opens.
WeeklyInterval = tuple[int, int, int]
# A dated exception: (local date, the day's (opens, closes) spans in minutes); no spans means closed all day.
DatedHours = tuple[date, tuple[tuple[int, int], ...]]
# Local days a zone's block of dated keys holds, counted from 1970-01-01 (to the year 2328): a dated key stays
# below 2**63 (CRC-32 zone codes < 2**32, times 2**17 days, times 1,440 minutes), as long_range fields need.
DATED_DAYS = 1 << 17
_EPOCH = date(1970, 1, 1).toordinal()
_RUNS = re.compile("1+")


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


def dated_key(zone: str, day: date, minute: int) -> int:
    """Return the dated key of local ``minute`` (after midnight) of local date ``day`` in ``zone``."""
    return (zone_code(zone) * DATED_DAYS + day.toordinal() - _EPOCH) * MINUTES_PER_DAY + minute


def _keyed(day: date) -> bool:
    """Tell whether ``day`` has dated keys: one outside the block would land in another zone's."""
    return 0 <= day.toordinal() - _EPOCH < DATED_DAYS


def dated_keys(zones: Iterable[str], at: datetime) -> tuple[int, ...]:
    """Return, for each zone, the dated key of the local minute at the instant ``at`` (aware, or naive UTC)."""
    instant = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    keys = set()
    for name in zones:
        local = instant.astimezone(zone_info(name))
        keys.add(dated_key(name, local.date(), local.hour * 60 + local.minute))
    return tuple(sorted(keys))


# One location as dated_ranges reads it: its zone, its week and its dated exceptions.
PlaceHours = tuple[str, Sequence[WeeklyInterval], Sequence[DatedHours]]


def dated_ranges(places: Sequence[PlaceHours]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return a document's (open, closed) dated key ranges [low, high): where its locations' weeks are wrong.

    For each local day on which some location has an exception, minute by minute of that day (in that
    location's zone): *open* where the document is open that minute though no week says so, *closed* where a
    week says open but the document is not. "Open" is the cards' rule (directory/practitioners/hours.py): a
    location with an exception on its local date is open inside the exception's spans only, any other location
    inside its week. Locations in other zones are read at the same instant in their own local time.
    """
    days = sorted({(zone, day) for zone, _, exceptions in places for day, _ in exceptions if _keyed(day)})
    opened: list[tuple[int, int]] = []
    closed: list[tuple[int, int]] = []
    for zone, day in days:
        weekly, actual = 0, 0
        for place in places:
            place_weekly, place_actual = _day_masks(place, zone, day)
            weekly |= place_weekly
            actual |= place_actual
        base = dated_key(zone, day, 0)
        opened += _runs(actual & ~weekly, base)
        closed += _runs(weekly & ~actual, base)
    return opened, closed


def _day_masks(place: PlaceHours, zone: str, day: date) -> tuple[int, int]:
    """Return (week says open, is open) for each minute of local ``day`` in ``zone``, as 1,440-bit masks."""
    place_zone, week, exceptions = place
    by_day = dict(exceptions)
    if place_zone == zone:
        weekly = _mask((opens, closes) for weekday, opens, closes in week if weekday == day.weekday())
        spans = by_day.get(day)
        return weekly, weekly if spans is None else _mask(spans)
    # Another zone: minute by minute, at the instant each local minute of ``day`` in ``zone`` is there.
    weekly = actual = 0
    start = datetime.combine(day, time(), tzinfo=zone_info(zone))
    there = zone_info(place_zone)
    for minute in range(MINUTES_PER_DAY):
        local = (start + timedelta(minutes=minute)).astimezone(there)
        at = local.hour * 60 + local.minute
        in_week = any(weekday == local.weekday() and opens <= at < closes for weekday, opens, closes in week)
        spans = by_day.get(local.date())
        is_open = in_week if spans is None else any(opens <= at < closes for opens, closes in spans)
        weekly |= in_week << minute
        actual |= is_open << minute
    return weekly, actual


def _mask(spans: Iterable[tuple[int, int]]) -> int:
    """Return the minutes of the day inside ``spans`` (valid ones only, as open_ranges keeps) as a bit mask."""
    mask = 0
    for opens, closes in spans:
        if 0 <= opens < closes <= MINUTES_PER_DAY:
            mask |= ((1 << (closes - opens)) - 1) << opens
    return mask


def _runs(mask: int, base: int) -> list[tuple[int, int]]:
    """Return the runs of set bits of a day's mask as key ranges [base + first, base + last + 1)."""
    bits = format(mask, "b")[::-1]
    return [(base + run.start(), base + run.end()) for run in _RUNS.finditer(bits)]

"""Opening hours as patients read them: the week at a glance and when a practice next opens. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Protocol

from search.hours import zone_info

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Interval(Protocol):
    """One opening interval (OpeningHours rows satisfy this)."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class NextOpening:
    """When a location is next open, in its local time."""

    open_now: bool
    days_ahead: int
    weekday: int
    opens: time
    closes: time

    @property
    def label(self) -> str:
        """Return the phrase a card shows: "Open now until 17:00", "Opens tomorrow at 09:00"."""
        if self.open_now:
            return f"Open now until {self.closes:%H:%M}"
        day = {0: "today", 1: "tomorrow"}.get(self.days_ahead, WEEKDAYS[self.weekday])
        return f"Opens {day} at {self.opens:%H:%M}"


def local_now(timezone: str, now_utc: datetime) -> datetime:
    """Return the naive-UTC ``now_utc`` as local time in ``timezone`` (UTC when the name is unknown, as search reads it)."""
    return now_utc.replace(tzinfo=UTC).astimezone(zone_info(timezone))


def next_opening(hours: Iterable[Interval], timezone: str, now_utc: datetime) -> NextOpening | None:
    """Return when the location is open next, within a week; None when it has no hours."""
    local = local_now(timezone, now_utc)
    ordered = sorted(hours, key=lambda h: (h.weekday, h.opens))
    for days_ahead in range(8):
        weekday = (local.weekday() + days_ahead) % 7
        for interval in (h for h in ordered if h.weekday == weekday):
            if days_ahead == 0 and local.time() >= interval.closes:
                continue
            open_now = days_ahead == 0 and interval.opens <= local.time()
            return NextOpening(open_now, days_ahead, weekday, interval.opens, interval.closes)
    return None


def weekly_hours(hours: Iterable[Interval]) -> list[tuple[str, list[str]]]:
    """Return (weekday name, ["09:00–17:00", ...]) for Monday to Sunday; an empty list means closed."""
    by_day: dict[int, list[str]] = {day: [] for day in range(7)}
    for h in sorted(hours, key=lambda h: (h.weekday, h.opens)):
        by_day[h.weekday].append(f"{h.opens:%H:%M}–{h.closes:%H:%M}")
    return [(WEEKDAYS[day], by_day[day]) for day in range(7)]

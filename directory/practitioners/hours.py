"""Opening hours as patients read them: the week at a glance and when a practice next opens. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from search.hours import zone_info

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Interval(Protocol):
    """One opening interval (OpeningHours rows satisfy this)."""

    weekday: int
    opens: time
    closes: time


class DatedException(Protocol):
    """A dated exception to the week (HoursException rows satisfy this): closed when it has no times."""

    on_date: date
    opens: time | None
    closes: time | None


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


def next_opening(hours: Iterable[Interval], timezone: str, now_utc: datetime,
                 exceptions: Iterable[DatedException] = ()) -> NextOpening | None:
    """Return when the location is open next, within a week (a dated exception replaces that day); None if never."""
    local = local_now(timezone, now_utc)
    ordered = sorted(hours, key=lambda h: (h.weekday, h.opens))
    by_date: dict[date, list[tuple[time, time]]] = {}
    for e in exceptions:
        spans = by_date.setdefault(e.on_date, [])
        if e.opens is not None and e.closes is not None:
            spans.append((e.opens, e.closes))
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        spans = sorted(by_date[day]) if day in by_date else [(h.opens, h.closes) for h in ordered
                                                              if h.weekday == day.weekday()]
        for opens, closes in spans:
            if days_ahead == 0 and local.time() >= closes:
                continue
            open_now = days_ahead == 0 and opens <= local.time()
            return NextOpening(open_now, days_ahead, day.weekday(), opens, closes)
    return None


def upcoming_exceptions(exceptions: Iterable[DatedException], timezone: str, now_utc: datetime,
                        days: int = 90) -> list[tuple[date, str]]:
    """Return (date, "Closed" or "10:00–14:00, ...", with its note) for the exceptions from today to ``days`` ahead."""
    today = local_now(timezone, now_utc).date()
    spans: dict[date, list[str]] = {}
    notes: dict[date, str] = {}
    for e in sorted(exceptions, key=lambda e: (e.on_date, e.opens or time.min)):
        if today <= e.on_date <= today + timedelta(days=days):
            spans.setdefault(e.on_date, [])
            if e.opens is not None and e.closes is not None:
                spans[e.on_date].append(f"{e.opens:%H:%M}–{e.closes:%H:%M}")
            notes[e.on_date] = notes.get(e.on_date) or str(getattr(e, "note", "") or "")
    return [(day, (f"Open {', '.join(found)}" if found else "Closed") + (f" ({notes[day]})" if notes[day] else ""))
            for day, found in spans.items()]


def weekly_hours(hours: Iterable[Interval]) -> list[tuple[str, list[str]]]:
    """Return (weekday name, ["09:00–17:00", ...]) for Monday to Sunday; an empty list means closed."""
    by_day: dict[int, list[str]] = {day: [] for day in range(7)}
    for h in sorted(hours, key=lambda h: (h.weekday, h.opens)):
        by_day[h.weekday].append(f"{h.opens:%H:%M}–{h.closes:%H:%M}")
    return [(WEEKDAYS[day], by_day[day]) for day in range(7)]

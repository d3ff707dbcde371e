"""Opening hours: the week table and "next opening" in the location's own time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import pytest

from directory.practitioners.hours import local_now, next_opening, weekly_hours


@dataclass
class Hours:
    weekday: int
    opens: time
    closes: time


WEEKDAYS_9_TO_5 = [Hours(d, time(9), time(17)) for d in range(5)]
# 2026-11-25 is a Wednesday (weekday 2).
WEDNESDAY = datetime(2026, 11, 25)


@pytest.mark.parametrize(("utc", "zone", "label"), [
    (WEDNESDAY.replace(hour=8), "UTC", "Opens today at 09:00"),
    (WEDNESDAY.replace(hour=12), "UTC", "Open now until 17:00"),
    (WEDNESDAY.replace(hour=17), "UTC", "Opens tomorrow at 09:00"),
    (datetime(2026, 11, 27, 18), "UTC", "Opens Monday at 09:00"),
    (datetime(2026, 11, 28, 12), "UTC", "Opens Monday at 09:00"),
    # 14:00 UTC is 09:00 in Boston (EST, UTC-5): open; 13:59 UTC is 08:59 there: not yet.
    (WEDNESDAY.replace(hour=14), "America/New_York", "Open now until 17:00"),
    (WEDNESDAY.replace(hour=13, minute=59), "America/New_York", "Opens today at 09:00"),
])
def test_next_opening_label(utc, zone, label):
    opening = next_opening(WEEKDAYS_9_TO_5, zone, utc)
    assert opening is not None and opening.label == label


def test_split_days_pick_the_next_interval():
    hours = [Hours(2, time(9), time(12)), Hours(2, time(14), time(18))]
    assert next_opening(hours, "UTC", WEDNESDAY.replace(hour=13)).label == "Opens today at 14:00"
    assert next_opening(hours, "UTC", WEDNESDAY.replace(hour=18)).label == "Opens Wednesday at 09:00"


def test_no_hours_means_no_next_opening():
    assert next_opening([], "UTC", WEDNESDAY) is None


def test_unknown_time_zone_falls_back_to_utc():
    assert local_now("Not/AZone", WEDNESDAY).utcoffset().total_seconds() == 0
    assert local_now("", WEDNESDAY).hour == 0


def test_weekly_hours_lists_every_day_and_closed_ones_empty():
    week = weekly_hours([Hours(0, time(14), time(18)), Hours(0, time(9), time(12))])
    assert week[0] == ("Monday", ["09:00–12:00", "14:00–18:00"])
    assert week[6] == ("Sunday", [])
    assert len(week) == 7

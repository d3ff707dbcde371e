"""Dated exceptions in "open now": the ranges a document carries agree with the cards' rule at every minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from directory.practitioners.hours import next_opening
from search.hours import (
    DATED_DAYS,
    MINUTES_PER_DAY,
    PlaceHours,
    dated_key,
    dated_keys,
    dated_ranges,
    open_keys,
    open_ranges,
    zone_code,
)

NEW_YORK, ZURICH, KOLKATA = "America/New_York", "Europe/Zurich", "Asia/Kolkata"
ZONES = (NEW_YORK, ZURICH, KOLKATA)
WEEKDAYS_9_TO_17 = tuple((day, 9 * 60, 17 * 60) for day in range(5))
MONDAY = date(2026, 12, 7)  # 10:00 in New York is 15:00 UTC (EST)


Ranges = tuple[list[tuple[int, int]], list[tuple[int, int]]]


def _open(places: list[PlaceHours], at: datetime, ranges: Ranges | None = None) -> bool:
    """Return what an engine finds: (a weekly range holds a key and no closed range a dated key) or an open one."""
    zones = sorted({zone for zone, _, _ in places})
    weekly = open_keys(zones, at)
    dated = dated_keys(zones, at)
    opened, closed = ranges or dated_ranges(places)
    week = any(low <= key < high for zone, hours, _ in places for low, high in open_ranges(zone, tuple(hours))
               for key in weekly)
    return (week and not any(low <= key < high for low, high in closed for key in dated)) or any(
        low <= key < high for low, high in opened for key in dated)


def _card_open(places: list[PlaceHours], at: datetime) -> bool:
    """Return what the cards say (directory/practitioners/hours.py): open now at one location or more."""
    def t(minutes: int) -> time:
        return time(minutes // 60, minutes % 60) if minutes < MINUTES_PER_DAY else time.max
    found = []
    for zone, hours, exceptions in places:
        week = [SimpleNamespace(weekday=d, opens=t(o), closes=t(c)) for d, o, c in hours]
        dated: list[Any] = []
        for day, spans in exceptions:
            dated += [SimpleNamespace(on_date=day, opens=t(o), closes=t(c)) for o, c in spans] or [
                SimpleNamespace(on_date=day, opens=None, closes=None)]
        opening = next_opening(week, zone, at.replace(tzinfo=None), dated)
        found.append(opening is not None and opening.open_now)
    return any(found)


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def test_a_dated_key_is_the_local_minute_of_the_local_day_in_the_zone_block() -> None:
    at = _utc(MONDAY, 15, 7)  # 10:07 in New York, 16:07 in Zurich
    assert dated_keys([NEW_YORK, ZURICH], at) == tuple(sorted((dated_key(NEW_YORK, MONDAY, 607),
                                                               dated_key(ZURICH, MONDAY, 967))))
    assert dated_key(NEW_YORK, MONDAY, 0) == ((zone_code(NEW_YORK) * DATED_DAYS + (MONDAY - date(1970, 1, 1)).days)
                                              * MINUTES_PER_DAY)


def test_dated_keys_stay_within_a_signed_64_bit_range_field() -> None:
    assert dated_key("UTC", date(1970, 1, 1) + timedelta(days=DATED_DAYS - 1), MINUTES_PER_DAY) < 2**63
    assert (2**32 * DATED_DAYS + DATED_DAYS) * MINUTES_PER_DAY < 2**63


def test_a_closed_day_hides_the_week_that_day_only() -> None:
    places: list[PlaceHours] = [(NEW_YORK, WEEKDAYS_9_TO_17, ((MONDAY, ()),))]
    assert not _open(places, _utc(MONDAY, 15))
    assert _open(places, _utc(MONDAY + timedelta(days=1), 15))
    assert _open(places, _utc(MONDAY - timedelta(days=7), 15))


def test_special_hours_open_a_closed_day_and_shorten_an_open_one() -> None:
    sunday, tuesday = MONDAY - timedelta(days=1), MONDAY + timedelta(days=1)
    places: list[PlaceHours] = [(NEW_YORK, WEEKDAYS_9_TO_17, ((sunday, ((600, 720),)), (tuesday, ((540, 660),))))]
    assert _open(places, _utc(sunday, 15))  # Sunday 10:00
    assert not _open(places, _utc(sunday, 17))  # Sunday 12:00
    assert _open(places, _utc(tuesday, 15))  # Tuesday 10:00
    assert not _open(places, _utc(tuesday, 16, 30))  # Tuesday 11:30: the week would say open


def test_one_clinic_s_holiday_never_hides_another_clinic_that_is_open() -> None:
    places: list[PlaceHours] = [(NEW_YORK, WEEKDAYS_9_TO_17, ((MONDAY, ()),)), (NEW_YORK, WEEKDAYS_9_TO_17, ()),
                                (ZURICH, ((0, 8 * 60, 12 * 60),), ((MONDAY, ()),))]
    assert _open(places, _utc(MONDAY, 15))
    # 08:30 in Zurich, 02:30 in New York: Zurich's holiday closes the only clinic whose week says open.
    assert not _open(places, _utc(MONDAY, 7, 30))
    assert dated_ranges([(NEW_YORK, WEEKDAYS_9_TO_17, ())]) == ([], [])


def test_a_zone_s_holiday_is_read_at_the_same_instant_in_another_zone() -> None:
    # Monday 16:00-18:00 in Zurich is 10:00-12:00 in New York, where the other clinic is closed that Monday.
    places: list[PlaceHours] = [(NEW_YORK, WEEKDAYS_9_TO_17, ((MONDAY, ()),)), (ZURICH, ((0, 16 * 60, 18 * 60),), ())]
    assert _open(places, _utc(MONDAY, 15, 30)) and _card_open(places, _utc(MONDAY, 15, 30))
    assert not _open(places, _utc(MONDAY, 17, 30)) and not _card_open(places, _utc(MONDAY, 17, 30))


def test_two_zones_exceptions_on_the_same_instant_are_both_read() -> None:
    # New York is closed that Monday; Zurich, closed on Mondays, opens 15:00-18:00 there (09:00-12:00 in New York).
    places: list[PlaceHours] = [(NEW_YORK, WEEKDAYS_9_TO_17, ((MONDAY, ()),)),
                                (ZURICH, ((1, 9 * 60, 12 * 60),), ((MONDAY, ((15 * 60, 18 * 60),)),))]
    assert _open(places, _utc(MONDAY, 15, 30)) and _card_open(places, _utc(MONDAY, 15, 30))
    assert not _open(places, _utc(MONDAY, 17, 30)) and not _card_open(places, _utc(MONDAY, 17, 30))


_minutes = st.integers(0, MINUTES_PER_DAY // 30).map(lambda n: n * 30)
_span = st.tuples(_minutes, _minutes).filter(lambda s: s[0] < s[1])
# Around the end of summer time in New York (1 November 2026) and in Zurich (25 October 2026).
_days = st.dates(date(2026, 10, 24), date(2026, 11, 3))
_place = st.tuples(st.sampled_from(ZONES),
                   st.lists(st.tuples(st.integers(0, 6), _minutes, _minutes).filter(lambda i: i[1] < i[2]), max_size=4),
                   st.dictionaries(_days, st.lists(_span, max_size=2).map(lambda s: tuple(sorted(set(s)))), max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.lists(_place, min_size=1, max_size=3), st.lists(st.integers(0, 11 * MINUTES_PER_DAY - 1), min_size=25,
                                                          max_size=25))
def test_open_now_agrees_with_the_cards_at_any_minute(raw: list[Any], minutes: list[int]) -> None:
    places: list[PlaceHours] = [(zone, tuple(week), tuple(sorted(days.items()))) for zone, week, days in raw]
    start = _utc(date(2026, 10, 23), 0)
    ranges = dated_ranges(places)
    for minute in minutes:
        at = start + timedelta(minutes=minute)
        if not _ambiguous(places, at):
            assert _open(places, at, ranges) == _card_open(places, at), at


def _ambiguous(places: list[PlaceHours], at: datetime) -> bool:
    """Tell whether ``at`` is in a zone's repeated hour (autumn), which dated_ranges reads at its first instant."""
    from search.hours import zone_info

    for zone, _, _ in places:
        local = at.astimezone(zone_info(zone))
        other = local.replace(fold=1 - local.fold)
        if other.utcoffset() != local.utcoffset():
            return True
    return False


def test_a_day_beyond_the_dated_block_gets_no_ranges_rather_than_another_zone_s_keys() -> None:
    far = date(1970, 1, 1) + timedelta(days=DATED_DAYS)
    assert dated_ranges([(NEW_YORK, WEEKDAYS_9_TO_17, ((far, ()),))]) == ([], [])
    last_weekday = next(far - timedelta(days=n) for n in range(1, 8) if (far - timedelta(days=n)).weekday() < 5)
    assert dated_ranges([(NEW_YORK, WEEKDAYS_9_TO_17, ((last_weekday, ()),))])[1]  # the block's last days still are

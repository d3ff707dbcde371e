"""Dated exceptions to the week: closed on a date, special hours, and how "next opening" reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import pytest

from directory.errors import InvalidParameter
from directory.practitioners.hours import next_opening, upcoming_exceptions
from directory.practitioners.location_service import check_coordinates, parse_spans


@dataclass
class Hours:
    weekday: int
    opens: time
    closes: time


@dataclass
class Exception_:
    on_date: date
    opens: time | None = None
    closes: time | None = None
    note: str = ""


WEEKDAYS_9_TO_5 = [Hours(d, time(9), time(17)) for d in range(5)]
WEDNESDAY_NOON = datetime(2026, 11, 25, 12)  # a Wednesday, in UTC


def test_closed_today_is_not_open_now_and_the_next_opening_is_tomorrow() -> None:
    opening = next_opening(WEEKDAYS_9_TO_5, "UTC", WEDNESDAY_NOON, [Exception_(date(2026, 11, 25))])
    assert opening is not None and opening.label == "Opens tomorrow at 09:00"


def test_special_hours_today_replace_the_week() -> None:
    special = [Exception_(date(2026, 11, 25), time(10), time(11)), Exception_(date(2026, 11, 25), time(13), time(15))]
    opening = next_opening(WEEKDAYS_9_TO_5, "UTC", WEDNESDAY_NOON, special)
    assert opening is not None and opening.label == "Opens today at 13:00"


def test_special_hours_on_a_closed_day_open_it() -> None:
    saturday = [Exception_(date(2026, 11, 28), time(10), time(12))]
    opening = next_opening(WEEKDAYS_9_TO_5, "UTC", datetime(2026, 11, 27, 18), saturday)
    assert opening is not None and opening.label == "Opens tomorrow at 10:00"  # Friday evening


def test_an_exception_is_read_on_the_location_s_own_date() -> None:
    # 03:00 UTC on Thursday is still Wednesday 22:00 in Boston: Thursday's closure is tomorrow there.
    closed_thursday = [Exception_(date(2026, 11, 26))]
    opening = next_opening(WEEKDAYS_9_TO_5, "America/New_York", datetime(2026, 11, 26, 3), closed_thursday)
    assert opening is not None and opening.label == "Opens Friday at 09:00"


def test_upcoming_exceptions_are_listed_in_order_with_notes_and_past_ones_left_out() -> None:
    found = upcoming_exceptions([Exception_(date(2026, 12, 31), time(9), time(12)),
                                 Exception_(date(2026, 12, 24), note="Christmas Eve"),
                                 Exception_(date(2026, 11, 1))], "UTC", WEDNESDAY_NOON)
    assert found == [(date(2026, 12, 24), "Closed (Christmas Eve)"), (date(2026, 12, 31), "Open 09:00–12:00")]


def test_spans_are_parsed_and_ordered() -> None:
    assert parse_spans("13:00-17:00, 9:00–12:30", "day_0") == [(time(9), time(12, 30)), (time(13), time(17))]
    assert parse_spans("  ", "day_0") == []


@pytest.mark.parametrize(("text", "words"), [
    ("09:00-12:00, 11:00-15:00", "overlap"),
    ("17:00-09:00", "ends before it starts"),
    ("12:00-12:00", "ends before it starts"),
    ("9am to 5pm", "Write hours as 09:00-17:00"),
    ("25:00-26:00", "is not a time of day"),
])
def test_bad_spans_are_refused_in_words(text: str, words: str) -> None:
    with pytest.raises(InvalidParameter, match=words) as refused:
        parse_spans(text, "day_3")
    assert refused.value.field == "day_3"


@pytest.mark.parametrize(("lat", "lon", "field"), [(90.5, 0.0, "latitude"), (0.0, -180.01, "longitude")])
def test_coordinates_off_the_globe_are_refused(lat: float, lon: float, field: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        check_coordinates(lat, lon)
    assert refused.value.field == field

"""Appointment times on the clinic's clock: typed in its zone, stored as UTC, read back with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from directory.errors import InvalidParameter
from directory.referrals.appointments import in_clinic_time, shown, zone_label, zone_name_of

NEW_YORK = "America/New_York"


def test_a_winter_and_a_summer_time_are_stored_as_utc_and_read_back_as_typed() -> None:
    winter = in_clinic_time(datetime(2026, 12, 9, 9, 30), NEW_YORK)
    summer = in_clinic_time(datetime(2027, 7, 9, 9, 30), NEW_YORK)
    assert winter.astimezone(UTC).replace(tzinfo=None) == datetime(2026, 12, 9, 14, 30)
    assert summer.astimezone(UTC).replace(tzinfo=None) == datetime(2027, 7, 9, 13, 30)
    assert shown(datetime(2026, 12, 9, 14, 30), NEW_YORK) == "09 Dec 2026 09:30 EST"
    assert shown(datetime(2027, 7, 9, 13, 30), NEW_YORK) == "09 Jul 2027 09:30 EDT"
    assert zone_name_of(winter) == NEW_YORK


def test_a_time_the_clocks_skip_is_refused_on_the_when_field() -> None:
    with pytest.raises(InvalidParameter) as refused:
        in_clinic_time(datetime(2027, 3, 14, 2, 30), NEW_YORK)
    assert refused.value.field == "when" and "does not exist" in refused.value.message


def test_a_time_that_happens_twice_is_its_first_occurrence() -> None:
    repeated = in_clinic_time(datetime(2026, 11, 1, 1, 30), NEW_YORK)  # 01:30 EDT, then 01:30 EST
    assert repeated.astimezone(UTC).replace(tzinfo=None) == datetime(2026, 11, 1, 5, 30)
    assert shown(datetime(2026, 11, 1, 5, 30), NEW_YORK) == "01 Nov 2026 01:30 EDT"


@pytest.mark.parametrize(("zone", "utc", "expected"), [
    ("Asia/Dubai", datetime(2026, 12, 9, 6, 0), "09 Dec 2026 10:00 UTC+04"),  # no letters for this zone: its offset
    ("Asia/Kathmandu", datetime(2026, 12, 9, 4, 15), "09 Dec 2026 10:00 UTC+05:45"),
    ("America/St_Johns", datetime(2026, 12, 9, 13, 30), "09 Dec 2026 10:00 NST"),
    ("UTC", datetime(2026, 12, 9, 10, 0), "09 Dec 2026 10:00 UTC"),
    (None, datetime(2026, 12, 9, 10, 0), "09 Dec 2026 10:00 UTC"),
    ("Not/A_Zone", datetime(2026, 12, 9, 10, 0), "09 Dec 2026 10:00 UTC"),
])
def test_the_zone_is_always_named(zone: str | None, utc: datetime, expected: str) -> None:
    assert shown(utc, zone) == expected


def test_the_form_names_the_clinic_zone_or_utc() -> None:
    assert zone_label(NEW_YORK) == "clinic time, America/New_York"
    assert zone_label("UTC") == "UTC"


def test_a_wall_clock_time_with_no_instant_python_can_hold_is_refused() -> None:
    with pytest.raises(InvalidParameter) as refused:
        in_clinic_time(datetime(1, 1, 1, 0, 0), "Asia/Tokyo")  # UTC+9: the year 0
    assert refused.value.field == "when"

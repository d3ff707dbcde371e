"""Opening hours as key ranges, and the keys of "now" per time zone: exact through daylight saving time."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from zoneinfo import available_timezones

from search.hours import MINUTES_PER_DAY, MINUTES_PER_WEEK, open_keys, open_ranges, zone_code

NEW_YORK = "America/New_York"
BASE = zone_code(NEW_YORK) * MINUTES_PER_WEEK
MONDAY_9_TO_17 = (0, 9 * 60, 17 * 60)


def _is_open(zone: str, intervals: list[tuple[int, int, int]], at: datetime) -> bool:
    keys = open_keys([zone], at)
    return any(low <= key < high for low, high in open_ranges(zone, tuple(intervals)) for key in keys)


def test_zone_code_is_the_crc32_of_the_name() -> None:
    assert zone_code(NEW_YORK) == 1693519529 == zlib.crc32(b"America/New_York")


def test_every_iana_zone_has_its_own_code() -> None:
    zones = available_timezones()
    assert len({zone_code(z) for z in zones}) == len(zones)


def test_keys_stay_within_a_signed_64_bit_range_field() -> None:
    assert max(zone_code(z) for z in available_timezones()) * MINUTES_PER_WEEK + MINUTES_PER_WEEK < 2**63


def test_open_ranges_are_local_minutes_of_the_week_in_the_zone_block() -> None:
    assert open_ranges(NEW_YORK, (MONDAY_9_TO_17, (5, 600, 720))) == (
        (BASE + 540, BASE + 1020), (BASE + 5 * MINUTES_PER_DAY + 600, BASE + 5 * MINUTES_PER_DAY + 720))


def test_open_ranges_drop_impossible_intervals_and_duplicates() -> None:
    assert open_ranges(NEW_YORK, ((7, 540, 600), (0, 600, 540), (0, 0, MINUTES_PER_DAY + 1), MONDAY_9_TO_17,
                                  MONDAY_9_TO_17)) == ((BASE + 540, BASE + 1020),)


def test_open_keys_are_the_local_minute_of_the_week_in_each_zone() -> None:
    wednesday_noon_utc = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert open_keys(["UTC", NEW_YORK], wednesday_noon_utc) == tuple(sorted((
        zone_code("UTC") * MINUTES_PER_WEEK + 2 * MINUTES_PER_DAY + 12 * 60,
        BASE + 2 * MINUTES_PER_DAY + 7 * 60,  # 07:00 EST
    )))


def test_naive_instants_are_utc() -> None:
    assert open_keys([NEW_YORK], datetime(2026, 11, 25, 12)) == open_keys([NEW_YORK], datetime(2026, 11, 25, 12, tzinfo=UTC))


def test_daylight_saving_time_moves_the_opening_in_utc_not_in_local_time() -> None:
    # 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 UTC in summer (EDT).
    winter_monday, summer_monday = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 7, 6, tzinfo=UTC)
    assert not _is_open(NEW_YORK, [MONDAY_9_TO_17], winter_monday.replace(hour=13, minute=59))
    assert _is_open(NEW_YORK, [MONDAY_9_TO_17], winter_monday.replace(hour=14))
    assert _is_open(NEW_YORK, [MONDAY_9_TO_17], summer_monday.replace(hour=13))
    assert not _is_open(NEW_YORK, [MONDAY_9_TO_17], summer_monday.replace(hour=21))  # 17:00 EDT: closed


def test_a_range_never_matches_another_zones_now() -> None:
    # 10:00 Monday in Tokyo is 20:00 Sunday in New York: the New York practice is closed, whatever Tokyo's keys say.
    at = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    keys = open_keys(["Asia/Tokyo", NEW_YORK], at)
    assert not any(low <= key < high for low, high in open_ranges(NEW_YORK, (MONDAY_9_TO_17,)) for key in keys)
    assert any(low <= key < high for low, high in open_ranges("Asia/Tokyo", (MONDAY_9_TO_17,)) for key in keys)


def test_unknown_zone_names_read_as_utc() -> None:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert _is_open("Napakiak", [MONDAY_9_TO_17], at)
    assert not _is_open("Napakiak", [MONDAY_9_TO_17], at.replace(hour=8))

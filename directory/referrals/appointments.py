"""Appointment times in the clinic's own time: what the practitioner types, and what every party reads.

An appointment is stored as naive UTC (``referral.scheduled_for``, the storage convention) together with the time
zone it was booked in (``referral.scheduled_zone``): the zone of the practitioner's first location with one. The
practitioner types the clinic's wall-clock time, and the doctor and the patient read it in that zone, with its
abbreviation, because that is when they have to be at the door. A practitioner with no location (telehealth only)
books in UTC, and says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from directory.errors import InvalidParameter
from directory.practitioners.models import Practitioner

FALLBACK_ZONE = "UTC"


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """Return the zone called ``name``, None for an empty or unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clinic_zone(practitioner: Practitioner) -> str:
    """Return the IANA name of the practitioner's clinic time: their first location's zone, else UTC."""
    for location in practitioner.locations:
        if location.timezone and location.timezone != FALLBACK_ZONE and zone_or_none(location.timezone):
            return location.timezone
    return FALLBACK_ZONE


def in_clinic_time(wall_clock: datetime, zone_name: str) -> datetime:
    """Return the instant a clinic's wall-clock time (naive) names, aware, in the clinic's zone.

    A time the clocks skip (the hour lost when summer time starts) names no instant: refused with a reason. A time
    that happens twice (the hour repeated when summer time ends) is its first occurrence, as calendars take it.
    """
    zone = zone_or_none(zone_name) or ZoneInfo(FALLBACK_ZONE)
    aware = wall_clock.replace(tzinfo=zone, fold=0)
    try:
        round_trip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    except OverflowError:  # the year 9999 late in the day west of UTC, the year 1 early in the day east of it
        raise InvalidParameter("Choose a date and time within the next few years.", field="when") from None
    if round_trip != wall_clock.replace(tzinfo=None):
        raise InvalidParameter(f"{wall_clock:%H:%M} does not exist on {wall_clock:%d %b %Y} in {zone_name}: the "
                               "clocks go forward then. Choose another time.", field="when")
    return aware


def zone_name_of(when: datetime | None) -> str | None:
    """Return the IANA name of an aware time's zone (None for a naive time or a zone without a name)."""
    tz = when.tzinfo if when is not None else None
    if isinstance(tz, ZoneInfo):
        return tz.key
    return FALLBACK_ZONE if tz is UTC else None


def local_time(utc_naive: datetime, zone_name: str | None) -> datetime:
    """Return a stored (naive UTC) time as an aware time in ``zone_name`` (UTC when unknown)."""
    zone = zone_or_none(zone_name) or ZoneInfo(FALLBACK_ZONE)
    return utc_naive.replace(tzinfo=UTC).astimezone(zone)


def abbreviation(local: datetime) -> str:
    """Return the zone's abbreviation at that time ("EST", "CEST"), or its offset ("UTC+03") where it has none."""
    name = local.strftime("%Z")
    if name and name[0] not in "+-":
        return name
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def shown(utc_naive: datetime, zone_name: str | None) -> str:
    """Return a stored time as people read it in ``zone_name``: "06 Dec 2026 09:00 EST"."""
    local = local_time(utc_naive, zone_name)
    return f"{local:%d %b %Y %H:%M} {abbreviation(local)}"


def zone_label(zone_name: str) -> str:
    """Return how the scheduling form names the zone it takes times in."""
    return "UTC" if zone_name == FALLBACK_ZONE else f"clinic time, {zone_name}"

"""A listing's practice locations and their hours: placed offline, flagged when unplaceable, audited.

Every change is to model rows, so the flush listener writes the search outbox row in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import InvalidParameter, NotFound
from directory.extensions import db
from directory.geo.zips import zip_index
from directory.imports.listings import Address, place_address
from directory.practitioners.models import HoursException, Location, OpeningHours, Practitioner
from search.geo import arc_distance_km

# A typed pin further than this from every ZIP centroid is not in the gazetteer's country: its zone stays UTC.
ZONE_SEARCH_KM = 300.0
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
# How far ahead a dated exception may be set (add_exception).
EXCEPTION_YEARS_AHEAD = 2


@dataclass(frozen=True)
class LocationEdit:
    """What the location form sends, already validated by its form (coordinates both given or both empty)."""

    name: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str
    booking_url: str
    latitude: float | None = None
    longitude: float | None = None


def location_of(practitioner: Practitioner, location_id: int) -> Location:
    """Return the listing's location with this id, or raise NotFound (another listing's is "not here")."""
    location = db.session.get(Location, location_id)
    if location is None or location.practitioner_id != practitioner.id:
        raise NotFound("There is no such location.")
    return location


def save_location(actor: User, practitioner: Practitioner, edit: LocationEdit,
                  location: Location | None = None) -> Location:
    """Add or update a location; place it from the gazetteer (or the typed pin); flag it when neither places it."""
    if location is None:
        location = Location(practitioner=practitioner)
        db.session.add(location)
    location.name, location.address_line1 = edit.name.strip(), edit.address_line1.strip()
    location.address_line2, location.city = edit.address_line2.strip(), edit.city.strip()
    location.region, location.postal_code = edit.region.strip().upper(), edit.postal_code.strip()
    location.country, location.phone = edit.country.strip().upper(), edit.phone.strip()
    location.booking_url = edit.booking_url.strip()
    _place(location, edit)
    db.session.flush()
    record_audit("location_saved", actor_id=actor.id, subject_type="practitioner", subject_id=practitioner.id,
                 location_id=location.id, placed=location.placed)
    return location


def _place(location: Location, edit: LocationEdit) -> None:
    """Set coordinates and zone: the typed pin wins, else the gazetteer; neither leaves it unplaced and flagged."""
    placement = place_address(Address(edit.address_line1, edit.address_line2, edit.city, location.region,
                                      location.postal_code, location.country))
    if edit.latitude is not None and edit.longitude is not None:
        check_coordinates(edit.latitude, edit.longitude)
        location.latitude, location.longitude = edit.latitude, edit.longitude
        location.timezone = zone_near(edit.latitude, edit.longitude)
    elif placement is not None:
        location.latitude, location.longitude, location.timezone = placement.lat, placement.lon, placement.timezone
    else:
        # Never 0,0: without a place the location has no coordinates and waits in the admins' queue.
        location.latitude = location.longitude = None
        location.timezone = "UTC"
    location.unplaced_since = None if location.placed else (location.unplaced_since or utcnow())


def pin_was_typed(location: Location) -> bool:
    """Tell whether the location's pin differs from where the gazetteer puts its address (so it was typed or dragged)."""
    if not location.placed:
        return False
    placement = place_address(Address(location.address_line1, location.address_line2, location.city,
                                      location.region, location.postal_code, location.country))
    return placement is None or (placement.lat, placement.lon) != (location.latitude, location.longitude)


def check_coordinates(lat: float, lon: float) -> None:
    """Refuse a point that is not on the globe."""
    if not -90 <= lat <= 90:
        raise InvalidParameter("Latitude must be between -90 and 90.", field="latitude")
    if not -180 <= lon <= 180:
        raise InvalidParameter("Longitude must be between -180 and 180.", field="longitude")


def zone_near(lat: float, lon: float) -> str:
    """Return the time zone of the ZIP centroid nearest the point (UTC when none lies within ZONE_SEARCH_KM)."""
    best, best_km = "UTC", ZONE_SEARCH_KM
    for zip_code in zip_index().by_code.values():
        if zip_code.timezone and abs(zip_code.lat - lat) < 3 and abs(zip_code.lon - lon) < 4:
            km = arc_distance_km(lat, lon, zip_code.lat, zip_code.lon)
            if km < best_km:
                best, best_km = zip_code.timezone, km
    return best


def remove_location(actor: User, practitioner: Practitioner, location: Location) -> None:
    """Remove a location with its hours (the last one too: the listing then drops out of radius search)."""
    record_audit("location_removed", actor_id=actor.id, subject_type="practitioner", subject_id=practitioner.id,
                 location_id=location.id)
    practitioner.locations.remove(location)  # delete-orphan: the row and its hours go at the flush


def parse_spans(text: str, field: str) -> list[tuple[time, time]]:
    """Return the day's ranges from "09:00-12:00, 13:00-17:00", refusing bad, reversed or overlapping ones."""
    spans = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _SPAN.match(part)
        if match is None:
            raise InvalidParameter(f"Write hours as 09:00-17:00, several separated by commas (not {part.strip()!r}).",
                                   field=field)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 > 0):
            raise InvalidParameter(f"{part.strip()} is not a time of day.", field=field)
        closes = time(23, 59) if h2 == 24 else time(h2, m2)
        spans.append((time(h1, m1), closes))
    return check_spans(spans, field)


def check_spans(spans: list[tuple[time, time]], field: str) -> list[tuple[time, time]]:
    """Return the ranges in order; refuse one that ends before it starts, or two that overlap."""
    ordered = sorted(spans)
    for opens, closes in ordered:
        if closes <= opens:
            raise InvalidParameter(f"{opens:%H:%M}–{closes:%H:%M} ends before it starts.", field=field)
    for (_, first_closes), (second_opens, _) in zip(ordered, ordered[1:], strict=False):
        if second_opens < first_closes:
            raise InvalidParameter("Two of these ranges overlap; merge them into one.", field=field)
    return ordered


def set_week(actor: User, location: Location, week: dict[int, list[tuple[time, time]]]) -> None:
    """Replace the location's weekly hours (weekday 0 = Monday) with ``week``, each day checked."""
    for weekday, spans in week.items():
        check_spans(spans, f"day_{weekday}")
    location.hours.clear()
    db.session.flush()  # the old rows go before the new ones meet the (weekday, opens) unique constraint
    location.hours.extend(OpeningHours(weekday=weekday, opens=opens, closes=closes)
                          for weekday, spans in sorted(week.items()) for opens, closes in spans)
    record_audit("hours_edited", actor_id=actor.id, subject_type="practitioner", subject_id=location.practitioner_id,
                 location_id=location.id)


def add_exception(actor: User, location: Location, on_date: date, spans: list[tuple[time, time]],
                  note: str = "") -> None:
    """Replace the hours of one date: closed when ``spans`` is empty, else open only for those ranges.

    Up to EXCEPTION_YEARS_AHEAD years ahead: a later date is almost always a mistyped year (and search keys
    dated hours to the year 2328 only, search/hours.py).
    """
    if on_date > utcnow().date() + timedelta(days=366 * EXCEPTION_YEARS_AHEAD):
        raise InvalidParameter(f"Choose a date within the next {EXCEPTION_YEARS_AHEAD} years.", field="on_date")
    check_spans(spans, "hours")
    for old in [e for e in location.exceptions if e.on_date == on_date]:
        location.exceptions.remove(old)
    db.session.flush()
    rows = [HoursException(on_date=on_date, opens=o, closes=c, note=note.strip()) for o, c in spans]
    location.exceptions.extend(rows or [HoursException(on_date=on_date, note=note.strip())])
    record_audit("hours_exception_added", actor_id=actor.id, subject_type="practitioner",
                 subject_id=location.practitioner_id, location_id=location.id, on_date=on_date.isoformat())


def remove_exception(actor: User, location: Location, on_date: date) -> None:
    """Remove the exception on ``on_date``: the weekly hours apply that day again."""
    found = [e for e in location.exceptions if e.on_date == on_date]
    if not found:
        raise NotFound("There is no exception on that date.")
    for old in found:
        location.exceptions.remove(old)
    record_audit("hours_exception_removed", actor_id=actor.id, subject_type="practitioner",
                 subject_id=location.practitioner_id, location_id=location.id, on_date=on_date.isoformat())


def unplaced_locations() -> list[tuple[int, int, str, str, date]]:
    """Return (practitioner id, location id, slug, address, flagged on) of every location waiting to be placed."""
    rows = db.session.execute(
        select(Location, Practitioner.slug).join(Practitioner, Practitioner.id == Location.practitioner_id)
        .where(Location.latitude.is_(None)).order_by(Location.id))
    return [(loc.practitioner_id, loc.id, slug, ", ".join(p for p in (loc.address_line1, loc.city, loc.region,
                                                                      loc.postal_code, loc.country) if p),
             (loc.unplaced_since or utcnow()).date()) for loc, slug in rows]

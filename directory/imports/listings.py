"""Create or update one unclaimed listing from a registry record: the practitioner, their practice location, their NPI.

Both importers (the API and the bulk file) turn their rows into a ``RegistryRecord`` and call
``upsert_listing``; the listing is keyed by NPI, so a re-run updates instead of duplicating.
A listing someone has claimed is theirs: later imports leave it alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import bindparam, exists, select

from directory.accounts.models import User
from directory.clock import utcnow
from directory.extensions import db, reading_connection
from directory.geo.regions import US
from directory.geo.text import normalize_name
from directory.geo.zips import towns_named, zip_index
from directory.imports.models import RegistryListing
from directory.practitioners.models import Location, Practitioner
from directory.practitioners.slugs import slugify
from directory.vetting.models import Credential

# What the summary calls each result of an upsert.
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
CLAIMED, LISTED_ELSEWHERE = "left alone: claimed by its practitioner", "left alone: listed already (not from the registry)"


@dataclass(frozen=True)
class Address:
    """A practice (LOCATION) address as the registry gives it."""

    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str = US
    phone: str = ""

    def as_text(self) -> str:
        """Return the address on one line."""
        return ", ".join(p for p in (self.line1, self.line2, self.city, f"{self.state} {self.postal_code}".strip()) if p)


@dataclass(frozen=True)
class RegistryRecord:
    """One individual acupuncturist as the registry lists them, whatever format it came in."""

    npi: str
    first_name: str
    last_name: str
    credential_text: str
    gender: str
    address: Address
    licences: tuple[tuple[str, str], ...] = ()  # (state, number) from the acupuncturist taxonomy slots


@dataclass(frozen=True)
class Placement:
    """Where the gazetteer puts an address."""

    lat: float
    lon: float
    timezone: str
    city: str


@dataclass
class Tally:
    """Counts for an import's summary: what was written and, by reason, what was skipped."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, n: int = 1) -> None:
        """Count ``n`` more of ``reason``."""
        self.counts[reason] += n

    def lines(self) -> list[str]:
        """Return the counts as summary lines, largest first."""
        return [f"{n:>9,}  {reason}" for reason, n in self.counts.most_common()]


def place_address(address: Address) -> Placement | None:
    """Place an address offline: its ZIP code's centroid, else its town in its state; None when neither is known."""
    if address.country != US:
        return None
    zip_code = zip_index().by_code.get(address.postal_code[:5])
    if zip_code is not None and zip_code.state == address.state and zip_code.standard:
        return Placement(zip_code.lat, zip_code.lon, zip_code.timezone or "UTC", zip_code.city)
    towns = towns_named(normalize_name(address.city), address.state) if address.city else []
    if towns:
        return Placement(towns[0].lat, towns[0].lon, towns[0].timezone or "UTC", towns[0].city or address.city)
    return None


def upsert_listing(record: RegistryRecord, source: str, tally: Tally) -> Practitioner | None:
    """Create or update the unclaimed listing of ``record``; return it, or None when it is left alone."""
    listing = db.session.scalar(select(RegistryListing).where(RegistryListing.npi == record.npi))
    if listing is None:
        if db.session.scalar(select(Practitioner.id).where(Practitioner.npi == record.npi)) is not None:
            tally.add(LISTED_ELSEWHERE)  # a practitioner listed themselves: their data, not the registry's
            return None
        practitioner = _new_practitioner(record)
        listing = RegistryListing(npi=record.npi, practitioner_id=practitioner.id, source=source)
        db.session.add(listing)
        outcome = CREATED
    else:
        practitioner = db.session.get_one(Practitioner, listing.practitioner_id)
        if is_claimed(practitioner.id):
            tally.add(CLAIMED)
            return None
        _update_identity(practitioner, record)
        outcome = UPDATED
    listing.last_imported_at = utcnow()
    listing.unplaced_address = _place_location(practitioner, record.address, tally)
    added = _ensure_credentials(practitioner, record)
    if outcome == UPDATED and not added and not _modified(practitioner):
        outcome = UNCHANGED
    db.session.flush()
    tally.add(outcome)
    return practitioner


def _modified(practitioner: Practitioner) -> bool:
    """Tell whether the update changed the practitioner or their location (an unchanged re-run writes nothing)."""
    return db.session.is_modified(practitioner) or any(
        loc in db.session.new or db.session.is_modified(loc) for loc in practitioner.locations)


def is_claimed(practitioner_id: int) -> bool:
    """Tell whether an account owns the listing."""
    return db.session.scalar(select(User.id).where(User.practitioner_id == practitioner_id).limit(1)) is not None


def unclaimed_registry_listings(practitioner_ids: list[int]) -> set[int]:
    """Return those of ``practitioner_ids`` listed from the registry that nobody has claimed yet."""
    if not practitioner_ids:
        return set()
    # One Core statement on the session's connection, built once: every results page asks.
    return set(reading_connection().execute(_UNCLAIMED, {"ids": list(practitioner_ids)}).scalars())


_UNCLAIMED = (select(RegistryListing.practitioner_id)
              .where(RegistryListing.practitioner_id.in_(bindparam("ids", expanding=True)),
                     ~exists().where(User.practitioner_id == RegistryListing.practitioner_id)))


def _new_practitioner(record: RegistryRecord) -> Practitioner:
    """Add the practitioner of a new listing (unverified, as every listing starts)."""
    practitioner = Practitioner(slug=f"{slugify(f'{record.first_name} {record.last_name}')}-{record.npi}",
                                npi=record.npi, first_name="-", last_name="-", accepting_new_patients=False)
    _update_identity(practitioner, record)
    db.session.add(practitioner)
    db.session.flush()
    return practitioner


def _update_identity(practitioner: Practitioner, record: RegistryRecord) -> None:
    """Copy the registry's name, credential and gender onto an unclaimed listing."""
    _assign(practitioner, first_name=_name(record.first_name)[:80], last_name=_name(record.last_name)[:80],
            title=_title(record.credential_text), gender=record.gender)


def _assign(obj: object, **values: object) -> None:
    """Set only the attributes that change: setting an equal value still marks the row dirty (and re-indexes it)."""
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)


def us_postal_code(text: str) -> str:
    """Return a registry ZIP as people write it: "100011234" -> "10001-1234" (anything else unchanged)."""
    digits = text.strip()
    return f"{digits[:5]}-{digits[5:]}" if len(digits) == 9 and digits.isdigit() else digits


def us_phone(text: str) -> str:
    """Return a registry phone number as people write it: "6175550100" -> "(617) 555-0100"."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else text.strip()


def _name(text: str) -> str:
    """Return a registry name (stored upper-case) as people write it: "O'BRIEN" -> "O'Brien"."""
    return text.title() if text.isupper() else text


def _title(credential_text: str) -> str:
    """Return the registry's credential text as a title ("L.AC." -> "L.Ac."), at most 40 characters."""
    compact = credential_text.replace(".", "").replace(" ", "").upper()
    return "L.Ac." if compact == "LAC" else credential_text.strip()[:40]


def _place_location(practitioner: Practitioner, address: Address, tally: Tally) -> str:
    """Write the listing's practice location where the gazetteer places it; return the address text when it cannot."""
    placement = place_address(address)
    location = practitioner.locations[0] if practitioner.locations else None
    if placement is None:
        tally.add("saved without a location: the gazetteer cannot place the address")
        if location is not None:
            practitioner.locations.remove(location)  # a stale pin is worse than none
        return address.as_text()[:400]
    new = location is None
    if location is None:
        location = Location(country=address.country)
    _assign(location, address_line1=_name(address.line1)[:200], address_line2=_name(address.line2)[:200],
            city=(address.city or placement.city).title()[:120], region=address.state,
            postal_code=us_postal_code(address.postal_code)[:20], latitude=placement.lat, longitude=placement.lon,
            timezone=placement.timezone, phone=us_phone(address.phone)[:40])
    if new:
        practitioner.locations.append(location)
    return ""


def _ensure_credentials(practitioner: Practitioner, record: RegistryRecord) -> int:
    """Hold the NPI and each self-reported licence as credentials to verify (licences are checked by hand)."""
    held = {(c.kind, c.jurisdiction, c.number) for c in db.session.scalars(select(Credential).where(
        Credential.practitioner_id == practitioner.id, Credential.withdrawn_at.is_(None)))}
    added = 0
    wanted = [("npi", "", record.npi), *(("state_licence", state, number) for state, number in record.licences)]
    for kind, jurisdiction, number in wanted:
        if number and (kind, jurisdiction, number[:60]) not in held:
            db.session.add(Credential(practitioner_id=practitioner.id, kind=kind, jurisdiction=jurisdiction,
                                      number=number[:60], issuer="NPPES" if kind == "npi" else ""))
            held.add((kind, jurisdiction, number[:60]))
            added += 1
    return added

"""Import acupuncturists from the NPPES monthly bulk file (``npidata_pfile_*.csv``), streamed row by row.

The file has ~330 columns and millions of rows; it is read with the csv module one row at a
time (constant memory), columns found by their header names (CMS adds and renames columns
between releases), and every row that is not imported is counted by the first reason it fails.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from directory.extensions import db
from directory.imports.listings import Address, RegistryRecord, Tally, is_claimed, upsert_listing
from directory.imports.models import RegistryListing
from directory.practitioners.models import Practitioner
from directory.vetting.sources.npi import ACUPUNCTURIST_TAXONOMY, npi_is_valid

SOURCE = "nppes_file"
SLOTS = range(1, 16)
COMMIT_EVERY = 200  # imported listings per transaction: a crash loses at most this many, a re-run redoes them
LOCATION = "Provider Business Practice Location Address"
COLUMNS = {
    "npi": "NPI", "entity": "Entity Type Code", "last": "Provider Last Name (Legal Name)",
    "first": "Provider First Name", "credential": "Provider Credential Text",
    "line1": "Provider First Line Business Practice Location Address",
    "line2": "Provider Second Line Business Practice Location Address",
    "city": f"{LOCATION} City Name", "state": f"{LOCATION} State Name", "postal": f"{LOCATION} Postal Code",
    "country": f"{LOCATION} Country Code (If outside U.S.)", "phone": f"{LOCATION} Telephone Number",
    "deactivated": "NPI Deactivation Date", "reactivated": "NPI Reactivation Date",
}
# The column was "Provider Gender Code" until CMS renamed it; either is read.
SEX_COLUMNS = ("Provider Sex Code", "Provider Gender Code")

MALFORMED = "skipped: malformed row (wrong number of columns)"
BAD_NPI = "skipped: bad NPI check digit"
DEACTIVATED = "skipped: deactivated NPI"
HIDDEN = "deactivated NPI: its imported listing was hidden"
ORGANISATION = "skipped: organisation (entity type 2)"
OTHER_PROVIDER = "skipped: not an acupuncturist"
NO_NAME = "skipped: individual without a name"
NO_LOCATION = "skipped: no practice location address"
REJECTED = "skipped: rejected by the database"


class BulkFileError(Exception):
    """The file is not an NPPES data dissemination file (no header, or required columns missing)."""


@dataclass(frozen=True)
class Layout:
    """Where each column the import reads sits in this file's header."""

    width: int
    at: dict[str, int]
    sex: int | None
    taxonomy: tuple[int, ...]
    licence: tuple[int, ...]
    licence_state: tuple[int, ...]


def read_layout(header: Sequence[str]) -> Layout:
    """Find the needed columns by name, or raise BulkFileError naming the missing ones."""
    position = {name.strip(): i for i, name in enumerate(header)}
    slot_names = [f"{kind}_{n}" for n in SLOTS for kind in
                  ("Healthcare Provider Taxonomy Code", "Provider License Number", "Provider License Number State Code")]
    missing = [name for name in [*COLUMNS.values(), *slot_names] if name not in position]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise BulkFileError(f"not an NPPES npidata file: the header lacks {shown}")
    return Layout(
        width=len(header), at={key: position[name] for key, name in COLUMNS.items()},
        sex=next((position[name] for name in SEX_COLUMNS if name in position), None),
        taxonomy=tuple(position[f"Healthcare Provider Taxonomy Code_{n}"] for n in SLOTS),
        licence=tuple(position[f"Provider License Number_{n}"] for n in SLOTS),
        licence_state=tuple(position[f"Provider License Number State Code_{n}"] for n in SLOTS))


def import_file(path: Path, progress: Callable[[int], None] | None = None) -> Tally:
    """Import every active individual acupuncturist of the file; return the counts (progress gets bytes read)."""
    tally = Tally()
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        rows = csv.reader(text)
        header = next(rows, None)
        if not header:
            raise BulkFileError("the file is empty")
        layout = read_layout(header)
        imported = set(db.session.scalars(select(RegistryListing.npi)))
        seen, pending = raw.tell(), 0
        for row in rows:
            pending += _import_row(row, layout, imported, tally)
            if pending >= COMMIT_EVERY:
                db.session.commit()
                pending = 0
            if progress is not None and (position := raw.tell()) != seen:
                progress(position - seen)
                seen = position
        db.session.commit()
    return tally


def _import_row(row: list[str], layout: Layout, imported: set[str], tally: Tally) -> int:
    """Import one row or count why not; return 1 when the database was written."""
    if len(row) != layout.width:
        tally.add(MALFORMED)
        return 0
    at = layout.at
    npi = row[at["npi"]].strip()
    if not npi_is_valid(npi):
        tally.add(BAD_NPI)
        return 0
    if _deactivated(row[at["deactivated"]], row[at["reactivated"]]):
        tally.add(DEACTIVATED)
        return _hide_deactivated(npi, tally) if npi in imported else 0
    reason = _skip_reason(row, layout)
    if reason:
        tally.add(reason)
        return 0
    return _upsert(_record(row, layout, npi), imported, tally)


def _skip_reason(row: list[str], layout: Layout) -> str:
    """Return why an active row is not an individual acupuncturist with a practice address, or ''."""
    if not any(row[i].strip() == ACUPUNCTURIST_TAXONOMY for i in layout.taxonomy):
        return OTHER_PROVIDER
    at = layout.at
    if row[at["entity"]].strip() != "1":
        return ORGANISATION
    if not row[at["last"]].strip() or not row[at["first"]].strip():
        return NO_NAME
    if not row[at["line1"]].strip() or not (row[at["city"]].strip() or row[at["postal"]].strip()):
        return NO_LOCATION
    return ""


def _deactivated(deactivated: str, reactivated: str) -> bool:
    """Tell whether the NPI is deactivated now: deactivated, and not reactivated after that (MM/DD/YYYY dates)."""
    if not deactivated.strip():
        return False
    off, on = _date(deactivated), _date(reactivated)
    return on is None or (off is not None and on <= off)


def _date(text: str) -> date | None:
    """Return an NPPES date (MM/DD/YYYY), or None when blank or unreadable."""
    try:
        return datetime.strptime(text.strip(), "%m/%d/%Y").date()
    except ValueError:
        return None


def _record(row: list[str], layout: Layout, npi: str) -> RegistryRecord:
    """Return the row as a registry record (licences from the acupuncturist taxonomy slots only)."""
    at = layout.at

    def cell(key: str) -> str:
        return row[at[key]].strip()

    slots = [n for n, i in enumerate(layout.taxonomy) if row[i].strip() == ACUPUNCTURIST_TAXONOMY]
    licences = tuple((row[layout.licence_state[n]].strip().upper(), row[layout.licence[n]].strip())
                     for n in slots if row[layout.licence[n]].strip())
    sex = row[layout.sex].strip().upper() if layout.sex is not None else ""
    return RegistryRecord(
        npi=npi, first_name=cell("first"), last_name=cell("last"), credential_text=cell("credential"),
        gender={"F": "female", "M": "male"}.get(sex, "unspecified"),
        address=Address(cell("line1"), cell("line2"), cell("city"), cell("state").upper(), cell("postal"),
                        cell("country").upper() or "US", cell("phone")),
        licences=licences)


def _upsert(record: RegistryRecord, imported: set[str], tally: Tally) -> int:
    """Write one listing in its own savepoint, so a row the database refuses leaves nothing behind."""
    try:
        with db.session.begin_nested():
            upsert_listing(record, SOURCE, tally)
    except IntegrityError:
        tally.add(REJECTED)
        return 0
    imported.add(record.npi)
    return 1


def _hide_deactivated(npi: str, tally: Tally) -> int:
    """Hide the unclaimed imported listing of a deactivated NPI (the registry no longer vouches for it)."""
    practitioner_id = db.session.scalar(select(RegistryListing.practitioner_id).where(RegistryListing.npi == npi))
    practitioner = db.session.get(Practitioner, practitioner_id) if practitioner_id is not None else None
    if practitioner is None or practitioner.hidden or is_claimed(practitioner.id):
        return 0
    practitioner.hidden = True
    tally.add(HIDDEN)
    return 1

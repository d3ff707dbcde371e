"""Import the SAM.gov exclusions public extract (CSV): read by column name, streamed, replaced atomically.

Only records in force are stored: a ``Record Status`` other than active, or a ``Termination
Date`` on or before the file's date, sets the row aside (counted by reason, not kept). A stored
record's termination date is kept as ``reinstated_on``, so it stops counting on that day
without a new import. Name keys are written for individuals only; firms keep their ``Name``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from directory.vetting.sources.list_import import (
    ExclusionListInvalid,
    ImportReport,
    RowProblem,
    open_list,
    replace_list,
)
from search.text import fold

SAM_COLUMNS = ("Classification", "Name", "Prefix", "First", "Middle", "Last", "Suffix", "Address 1", "Address 2",
               "Address 3", "Address 4", "City", "State / Province", "Country", "Zip Code", "Open Data Flag",
               "Blank (Deprecated)", "Unique Entity ID", "Exclusion Program", "Excluding Agency", "CT Code",
               "Exclusion Type", "Additional Comments", "Active Date", "Termination Date", "Record Status",
               "Cross-Reference", "SAM Number", "CAGE", "NPI", "Creation_Date")
INDIVIDUAL = "individual"
# The public extract holds active records only and may leave the status blank: blank counts as active.
ACTIVE_STATUSES = frozenset({"", "active"})
# SAM writes MM/DD/YYYY; ISO (YYYY-MM-DD) is accepted as some re-published copies use it.
NO_END = frozenset({"", "indefinite"})
US_COUNTRIES = frozenset({"", "USA", "US"})
# Kept as published in ``exclusion.details`` (the shared columns have no place for them).
DETAIL_COLUMNS = {"Classification": "classification", "Prefix": "prefix", "Suffix": "suffix",
                  "Exclusion Type": "exclusion_type", "Exclusion Program": "exclusion_program",
                  "Excluding Agency": "excluding_agency", "CT Code": "ct_code", "Unique Entity ID": "unique_entity_id",
                  "SAM Number": "sam_number", "CAGE": "cage", "Country": "country", "State / Province": "state_province",
                  "Zip Code": "zip_code", "Record Status": "record_status", "Cross-Reference": "cross_reference",
                  "Additional Comments": "additional_comments", "Creation_Date": "creation_date"}
_STATE = re.compile(r"[A-Z]{2}")
_NPI = re.compile(r"\d{10}")
# SAM_Exclusions_Public_Extract_V2_26335.CSV: two-digit year and day of the year it was cut.
_FILE_NAME = re.compile(r"SAM_Exclusions_Public_Extract(?:_V\d+)?_(\d{2})(\d{3})\.", re.IGNORECASE)


def header_index(header: list[str] | None) -> dict[str, int]:
    """Return each SAM column's position in the header, or refuse a header that is not exactly SAM's."""
    names = [name.strip() for name in header or []]
    missing = [c for c in SAM_COLUMNS if c not in names]
    unexpected = sorted({n for n in names if n not in SAM_COLUMNS})
    repeated = sorted({n for n in names if names.count(n) > 1})
    faults = [f"{label}: {', '.join(columns)}" for label, columns in
              (("missing columns", missing), ("unexpected columns", unexpected), ("repeated columns", repeated))
              if columns]
    if faults:
        raise ExclusionListInvalid(f"not a SAM.gov exclusions extract ({'; '.join(faults)}); nothing was imported")
    return {name: position for position, name in enumerate(names)}


def parse_date(value: str, column: str) -> date | None:
    """Parse a SAM date (MM/DD/YYYY or ISO); blank or "Indefinite" mean none."""
    if value.lower() in NO_END:
        return None
    # Split by hand: strptime would cost a large share of a 170k-row import.
    parts = value.split("/") if "/" in value else value.split("-")
    if len(parts) == 3 and all(part.isdigit() for part in parts):
        month, day, year = parts if "/" in value else (parts[1], parts[2], parts[0])
        try:
            if len(year) == 4:
                return date(int(year), int(month), int(day))
        except ValueError:
            pass
    raise RowProblem(f"{column} is not a date (MM/DD/YYYY): {value!r}")


def parse_npi(value: str) -> str | None:
    """Return the NPI when the cell holds one (ten digits), else None."""
    return value if _NPI.fullmatch(value) else None


def record_key(v: dict[str, str]) -> str:
    """Return a key for one listed exclusion that stays the same from one extract to the next.

    SAM Number and UEI identify the record; the names tell apart the people one record lists.
    Without either identifier, the agency and active date stand in for them.
    """
    columns = ["SAM Number", "Unique Entity ID", "Last", "First", "Middle", "Name"]
    if not (v["SAM Number"] or v["Unique Entity ID"]):
        columns += ["Excluding Agency", "Active Date"]
    parts = ["sam", *(fold(v[c]).strip() for c in columns)]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def _state(v: dict[str, str]) -> str:
    """Return the two-letter US state, or '' (a foreign province stays in the details)."""
    state = v["State / Province"].upper()
    return state if v["Country"].upper() in US_COUNTRIES and _STATE.fullmatch(state) else ""


def _details(v: dict[str, str], individual: bool) -> str:
    """Return the published fields the shared columns do not hold, as JSON."""
    details = {key: v[column] for column, key in DETAIL_COLUMNS.items() if v[column]}
    if not individual:  # a firm's row has no person's name to match; keep any it carries here
        details.update({key: v[column] for column, key in (("First", "first"), ("Middle", "middle"), ("Last", "last"))
                        if v[column]})
    return json.dumps(details, sort_keys=True, ensure_ascii=False)


def parse_row(v: dict[str, str]) -> dict[str, Any]:
    """Return one extract row (by column name) as an ``exclusion`` row, or raise RowProblem saying what is wrong."""
    if any("\x00" in value for value in v.values()):
        raise RowProblem("contains a NUL byte")  # PostgreSQL text cannot store it
    individual = v["Classification"].lower() == INDIVIDUAL
    if not (v["Name"] or (individual and v["Last"])):
        raise RowProblem("neither Name nor (for an individual) Last is given")
    zip_code = v["Zip Code"]
    return {
        "last_name": v["Last"] if individual else "", "first_name": v["First"] if individual else "",
        "middle_name": v["Middle"] if individual else "", "business_name": v["Name"],
        "npi": parse_npi(v["NPI"]), "date_of_birth": None,
        "address": ", ".join(v[f"Address {n}"] for n in range(1, 5) if v[f"Address {n}"]), "city": v["City"],
        "state": _state(v), "zip": zip_code if len(zip_code) <= 10 else "",
        "excluded_on": parse_date(v["Active Date"], "Active Date"),
        "reinstated_on": parse_date(v["Termination Date"], "Termination Date"),
        "record_key": record_key(v), "details": _details(v, individual),
    }


def set_aside_reason(v: dict[str, str], row: dict[str, Any], as_of: date) -> str | None:
    """Return why a well-formed row does not count on ``as_of`` (inactive, terminated), or None when it does."""
    if v["Record Status"].lower() not in ACTIVE_STATUSES:
        return "inactive"
    if row["reinstated_on"] is not None and row["reinstated_on"] <= as_of:
        return "terminated"
    return None


class _Lines:
    """The file's lines as csv reads them, counting the quotes of the record being read."""

    def __init__(self, handle: Any) -> None:
        """Wrap an open text file."""
        self.handle, self.quotes = handle, 0

    def __iter__(self) -> _Lines:
        """Return itself: csv pulls lines one by one."""
        return self

    def __next__(self) -> str:
        """Return the next line, counting its quotes."""
        line: str = next(self.handle)
        self.quotes += line.count('"')
        return line


def _records(handle: Any, report: ImportReport) -> Iterator[tuple[int, list[str], int]]:
    """Yield (first line, fields, quote count) of every non-blank record after the header."""
    lines = _Lines(handle)
    reader = csv.reader(lines)
    next(reader, None)  # the header, checked before the import began
    while True:
        start, lines.quotes = reader.line_num + 1, 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rows_read += 1
            report.problem(start, f"unreadable CSV: {exc}")
            continue
        if any(cell.strip() for cell in row):
            yield start, row, lines.quotes


def _refuse_truncated(line: int, row: list[str], quotes: int) -> None:
    """Refuse the whole file when its last record was cut off (short, or inside a quoted field)."""
    if quotes % 2:
        raise ExclusionListInvalid(f"line {line}: the last record ends inside a quoted field, so the file looks "
                                   "truncated; nothing was imported and the current SAM list stays in force")
    if len(row) < len(SAM_COLUMNS):
        raise ExclusionListInvalid(f"line {line}: the last record has {len(row)} of {len(SAM_COLUMNS)} fields, "
                                   "so the file looks truncated; nothing was imported and the current SAM list "
                                   "stays in force")


def rows_reader(as_of: date, columns: dict[str, int]) -> Callable[[Any, ImportReport],
                                                                   Iterator[tuple[int, dict[str, Any]]]]:
    """Return a reader yielding (line, parsed row) for every row in force on ``as_of``; it notes the others.

    ``columns`` gives each SAM column's position in the file's header.
    """

    def read(handle: Any, report: ImportReport) -> Iterator[tuple[int, dict[str, Any]]]:
        """Read the extract one record ahead, so a cut-off last record refuses the file."""
        pending: tuple[int, list[str], int] | None = None
        for record in _records(handle, report):
            if pending is not None:
                yield from _parsed(pending, columns, report, as_of)
            pending = record
        if pending is None:  # the extract lists thousands: an empty one is a failed download, not news
            raise ExclusionListInvalid("the extract holds no records, only a header; nothing was imported and "
                                       "the current SAM list stays in force")
        _refuse_truncated(*pending)
        yield from _parsed(pending, columns, report, as_of)

    return read


def _parsed(record: tuple[int, list[str], int], columns: dict[str, int], report: ImportReport,
            as_of: date) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield the record's parsed row when it is good and in force; note it in the report otherwise."""
    line, row, _ = record
    report.rows_read += 1
    if len(row) != len(SAM_COLUMNS):
        report.problem(line, f"expected {len(SAM_COLUMNS)} fields, found {len(row)}")
        return
    v = {column: row[columns[column]].strip() for column in SAM_COLUMNS}
    try:
        parsed = parse_row(v)
    except RowProblem as exc:
        report.problem(line, str(exc))
        return
    if reason := set_aside_reason(v, parsed, as_of):
        report.set_aside[reason] += 1
        return
    if v["NPI"] and parsed["npi"] is None:
        report.note(line, f"NPI is not 10 digits: {v['NPI']!r}; kept without an NPI")
    yield line, parsed


def file_date_from_name(path: Path) -> date | None:
    """Return the day an extract was cut, from SAM's file name (two-digit year, day of year), if it has one."""
    found = _FILE_NAME.search(path.name)
    if found is None:
        return None
    day = int(found.group(2))
    if not 1 <= day <= 366:
        return None
    cut = date(2000 + int(found.group(1)), 1, 1) + timedelta(days=day - 1)
    return cut if cut.year == 2000 + int(found.group(1)) else None


def _check_header(path: Path) -> dict[str, int]:
    """Refuse a file whose header is not the SAM extract's, before anything is changed."""
    with open_list(path) as handle:
        return header_index(next(csv.reader(handle), None))


def import_sam_list(path: Path, file_date: date | None = None, progress: Callable[[int], None] | None = None,
                    digest: str | None = None) -> ImportReport:
    """Replace the SAM list with the extract's records in force, in the current transaction (the caller commits).

    The LEIE stays as it is. A file whose hash equals the current SAM list's changes nothing; a
    wrong header or a truncated last record refuses the file, and the current SAM list stays.
    """
    columns = _check_header(path)
    as_of = file_date or file_date_from_name(path) or datetime.fromtimestamp(path.stat().st_mtime).date()
    return replace_list("sam", path, rows_reader(as_of, columns), as_of, progress, digest)

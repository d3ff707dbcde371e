"""Import the OIG exclusion list (LEIE, the monthly ``UPDATED.csv``): streamed, validated, replaced atomically."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from directory.vetting.sources.list_import import (
    ExclusionListInvalid,
    ImportReport,
    RowProblem,
    file_digest,
    open_list,
    replace_list,
)
from search.text import fold

__all__ = ["ExclusionListInvalid", "ImportReport", "RowProblem", "file_digest", "import_exclusion_list", "parse_row"]

LEIE_COLUMNS = ("LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "GENERAL", "SPECIALTY", "UPIN", "NPI", "DOB",
                "ADDRESS", "CITY", "STATE", "ZIP", "EXCLTYPE", "EXCLDATE", "REINDATE", "WAIVERDATE", "WVRSTATE")
SHORT_FIELDS = {"UPIN": 20, "ZIP": 10, "EXCLTYPE": 20}
_STATE = re.compile(r"[A-Z]{2}")


def _date(value: str, column: str, required: bool = False) -> date | None:
    """Parse an LEIE date (YYYYMMDD; empty or zeros mean none)."""
    if not value.strip("0"):
        if required:
            raise RowProblem(f"{column} is missing")
        return None
    try:
        # Sliced by hand: strptime costs a third of a 100k-row import.
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise RowProblem(f"{column} is not a date (YYYYMMDD): {value!r}") from None


def _npi(value: str) -> str | None:
    """Parse an LEIE NPI (zeros mean none)."""
    if not value.strip("0"):
        return None
    if not re.fullmatch(r"\d{10}", value):
        raise RowProblem(f"NPI is not 10 digits: {value!r}")
    return value


def _state(value: str, column: str) -> str:
    """Parse a two-letter state code (or empty)."""
    value = value.upper()
    if value and not _STATE.fullmatch(value):
        raise RowProblem(f"{column} is not a two-letter state: {value!r}")
    return value


def record_key(values: dict[str, str]) -> str:
    """Return a key for one listed exclusion that stays the same from one monthly file to the next."""
    parts = [fold(values[c]).strip() for c in ("LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "NPI", "DOB",
                                                "EXCLTYPE", "EXCLDATE", "STATE")]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def parse_row(row: list[str]) -> dict[str, Any]:
    """Return one CSV row as an ``exclusion`` row, or raise RowProblem saying what is wrong."""
    if len(row) != len(LEIE_COLUMNS):
        raise RowProblem(f"expected {len(LEIE_COLUMNS)} columns, found {len(row)}")
    v = {column: value.strip() for column, value in zip(LEIE_COLUMNS, row, strict=True)}
    if any("\x00" in value for value in v.values()):
        raise RowProblem("contains a NUL byte")  # PostgreSQL text cannot store it
    if not (v["LASTNAME"] or v["BUSNAME"]):
        raise RowProblem("neither LASTNAME nor BUSNAME is given")
    for column, limit in SHORT_FIELDS.items():
        if len(v[column]) > limit:
            raise RowProblem(f"{column} is longer than {limit} characters")
    return {
        "last_name": v["LASTNAME"], "first_name": v["FIRSTNAME"], "middle_name": v["MIDNAME"],
        "business_name": v["BUSNAME"], "general": v["GENERAL"], "specialty": v["SPECIALTY"], "upin": v["UPIN"],
        "npi": _npi(v["NPI"]), "date_of_birth": _date(v["DOB"], "DOB"), "address": v["ADDRESS"], "city": v["CITY"],
        "state": _state(v["STATE"], "STATE"), "zip": v["ZIP"], "exclusion_type": v["EXCLTYPE"],
        "excluded_on": _date(v["EXCLDATE"], "EXCLDATE", required=True), "reinstated_on": _date(v["REINDATE"], "REINDATE"),
        "waiver_on": _date(v["WAIVERDATE"], "WAIVERDATE"), "waiver_state": _state(v["WVRSTATE"], "WVRSTATE"),
        "record_key": record_key(v),
    }


def _check_header(path: Path) -> None:
    """Refuse a file whose first row is not the LEIE header, before anything is changed."""
    with open_list(path) as handle:
        header = next(csv.reader(handle), None)
    if header is None or tuple(h.strip().upper() for h in header) != LEIE_COLUMNS:
        raise ExclusionListInvalid(f"not an LEIE file: the header must be {','.join(LEIE_COLUMNS)}")


def _read_rows(handle: Any, report: ImportReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, parsed row) for every good row after the header; note every bad one in the report."""
    reader = csv.reader(handle)
    next(reader, None)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rows_read += 1
            report.problem(reader.line_num, f"unreadable CSV: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        report.rows_read += 1
        try:
            yield reader.line_num, parse_row(row)
        except RowProblem as exc:
            report.problem(reader.line_num, str(exc))


def import_exclusion_list(path: Path, file_date: date | None = None, progress: Callable[[int], None] | None = None,
                          digest: str | None = None) -> ImportReport:
    """Replace the LEIE with the file's rows in the current transaction (the caller commits); other lists stay.

    A file whose hash equals the current LEIE's changes nothing, so monthly cron runs are safe.
    """
    _check_header(path)
    return replace_list("leie", path, _read_rows, file_date, progress, digest)

"""Import the OIG exclusion list (LEIE, the monthly ``UPDATED.csv``): streamed, validated, replaced atomically."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.vetting.models import Exclusion, ExclusionImport, ExclusionName
from directory.vetting.names import name_pairs
from search.text import fold

LEIE_COLUMNS = ("LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "GENERAL", "SPECIALTY", "UPIN", "NPI", "DOB",
                "ADDRESS", "CITY", "STATE", "ZIP", "EXCLTYPE", "EXCLDATE", "REINDATE", "WAIVERDATE", "WVRSTATE")
BATCH = 5000
KEPT_PROBLEMS = 200
SHORT_FIELDS = {"UPIN": 20, "ZIP": 10, "EXCLTYPE": 20}
_STATE = re.compile(r"[A-Z]{2}")


class ExclusionListInvalid(DomainError):
    """The file is not an LEIE file at all (wrong header, empty); nothing was changed."""

    code = "exclusion_list_invalid"


class RowProblem(ValueError):
    """One row cannot be imported; the message says why."""


@dataclass
class ImportReport:
    """What an import did: rows read, imported and skipped (with line numbers), or that it changed nothing."""

    file_name: str
    sha256: str
    rows_read: int = 0
    rows_imported: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    unchanged: bool = False
    import_id: int | None = None

    @property
    def rows_skipped(self) -> int:
        """Return how many rows were skipped as malformed."""
        return len(self.problems)


def file_digest(path: Path) -> tuple[str, int]:
    """Return the file's SHA-256 and its number of lines (for the progress bar)."""
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


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


def _open(path: Path) -> Any:
    """Open an LEIE file for csv (UTF-8 with or without BOM; a stray byte must not stop the import)."""
    return path.open("r", encoding="utf-8-sig", errors="replace", newline="")


def _check_header(path: Path) -> None:
    """Refuse a file whose first row is not the LEIE header, before anything is changed."""
    with _open(path) as handle:
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
            report.problems.append((reader.line_num, f"unreadable CSV: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        report.rows_read += 1
        try:
            yield reader.line_num, parse_row(row)
        except RowProblem as exc:
            report.problems.append((reader.line_num, str(exc)))


def import_exclusion_list(path: Path, file_date: date | None = None, progress: Callable[[int], None] | None = None,
                          digest: str | None = None) -> ImportReport:
    """Replace the exclusion list with the file's rows in the current transaction (the caller commits).

    A file whose hash equals the current list's changes nothing, so monthly cron runs are safe.
    """
    _check_header(path)
    sha256 = digest or file_digest(path)[0]
    report = ImportReport(file_name=path.name, sha256=sha256)
    current = db.session.scalar(select(ExclusionImport).order_by(ExclusionImport.id.desc()).limit(1))
    if current is not None and current.sha256 == sha256:
        report.unchanged, report.import_id = True, current.id
        return report
    record = ExclusionImport(file_name=path.name[:255], sha256=sha256, rows_read=0, rows_imported=0, rows_skipped=0,
                             file_date=file_date or datetime.fromtimestamp(path.stat().st_mtime).date(),
                             imported_at=utcnow().replace(microsecond=0))
    db.session.add(record)
    db.session.flush()
    # Readers keep seeing the previous list until the caller commits: the replacement is atomic.
    db.session.execute(delete(ExclusionName))
    db.session.execute(delete(Exclusion))
    with _open(path) as handle:
        _write_rows(_read_rows(handle, report), record.id, report, progress)
    record.rows_read, record.rows_imported, record.rows_skipped = report.rows_read, report.rows_imported, report.rows_skipped
    record.problems = json.dumps(report.problems[:KEPT_PROBLEMS])
    report.import_id = record.id
    db.session.flush()
    return report


def _write_rows(rows: Iterator[tuple[int, dict[str, Any]]], import_id: int, report: ImportReport,
                progress: Callable[[int], None] | None) -> None:
    """Insert parsed rows and their name keys in batches."""
    exclusions: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    last_line = line = 1
    for line, row in rows:
        report.rows_imported += 1
        row_id = report.rows_imported
        exclusions.append({**row, "id": row_id, "import_id": import_id, "line_number": line})
        if row["last_name"]:
            names.extend({"exclusion_id": row_id, "last_key": last, "first_key": first}
                         for last, first in name_pairs(row["first_name"], [row["last_name"]]))
        if len(exclusions) >= BATCH:
            _flush_batch(exclusions, names)
            if progress:
                progress(line - last_line)
            last_line = line
    _flush_batch(exclusions, names)
    if progress:
        progress(line - last_line)


def _flush_batch(exclusions: list[dict[str, Any]], names: list[dict[str, Any]]) -> None:
    """Insert and clear one batch."""
    if exclusions:
        db.session.execute(insert(Exclusion.__table__), exclusions)
    if names:
        db.session.execute(insert(ExclusionName.__table__), names)
    exclusions.clear()
    names.clear()

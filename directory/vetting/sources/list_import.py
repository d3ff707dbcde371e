"""Replace one exclusion list (LEIE or SAM) with a file's rows: streamed, idempotent, atomic per list."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.vetting.models import Exclusion, ExclusionImport, ExclusionName
from directory.vetting.names import name_pairs

BATCH = 5000
KEPT_PROBLEMS = 200

# (line number, parsed ``exclusion`` row) for every row to store, from one open file.
RowReader = Callable[[Any, "ImportReport"], Iterator[tuple[int, dict[str, Any]]]]


class ExclusionListInvalid(DomainError):
    """The file is not the list it claims to be (wrong header, empty, truncated); nothing was changed."""

    code = "exclusion_list_invalid"


class RowProblem(ValueError):
    """One row cannot be imported; the message says why."""


@dataclass
class ImportReport:
    """What an import did: rows read, imported and skipped (with line numbers and reasons), or that it changed nothing."""

    file_name: str
    sha256: str
    list_code: str = "leie"
    rows_read: int = 0
    rows_imported: int = 0
    # The first KEPT_PROBLEMS malformed rows (line, why) and how many there were: memory stays bounded.
    problems: list[tuple[int, str]] = field(default_factory=list)
    malformed: int = 0
    # Well-formed rows not stored because they do not count (SAM: inactive, terminated), by reason.
    set_aside: Counter[str] = field(default_factory=Counter)
    # The first rows stored with a value ignored (a malformed NPI), and how many there were.
    notes: list[tuple[int, str]] = field(default_factory=list)
    noted: int = 0
    unchanged: bool = False
    import_id: int | None = None

    @property
    def rows_skipped(self) -> int:
        """Return how many rows were not stored: malformed ones and ones set aside."""
        return self.malformed + sum(self.set_aside.values())

    def problem(self, line: int, message: str) -> None:
        """Note a malformed row, skipped."""
        self.malformed += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append((line, message))

    def note(self, line: int, message: str) -> None:
        """Note a row stored with a value ignored."""
        self.noted += 1
        if len(self.notes) < KEPT_PROBLEMS:
            self.notes.append((line, message))


def file_digest(path: Path) -> tuple[str, int]:
    """Return the file's SHA-256 and its number of lines (for the progress bar)."""
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


def open_list(path: Path) -> Any:
    """Open a list file for csv (UTF-8 with or without BOM; a stray byte must not stop the import)."""
    return path.open("r", encoding="utf-8-sig", errors="replace", newline="")


def latest_import(list_code: str) -> ExclusionImport | None:
    """Return the newest import of one list (the one in force), if any."""
    return db.session.scalar(select(ExclusionImport).where(ExclusionImport.list_code == list_code)
                             .order_by(ExclusionImport.id.desc()).limit(1))


def replace_list(list_code: str, path: Path, read: RowReader, file_date: date | None = None,
                 progress: Callable[[int], None] | None = None, digest: str | None = None) -> ImportReport:
    """Replace one list's rows with the file's in the current transaction (the caller commits).

    A file whose hash equals the list's current one changes nothing, so cron runs are safe. The
    replacement runs in a savepoint: a file refused half-way (``ExclusionListInvalid``) leaves
    the list in force as it was, and the other lists are never touched.
    """
    sha256 = digest or file_digest(path)[0]
    report = ImportReport(file_name=path.name, sha256=sha256, list_code=list_code)
    current = latest_import(list_code)
    if current is not None and current.sha256 == sha256:
        report.unchanged, report.import_id = True, current.id
        return report
    with db.session.begin_nested():
        record = ExclusionImport(list_code=list_code, file_name=path.name[:255], sha256=sha256, rows_read=0,
                                 rows_imported=0, rows_skipped=0, imported_at=utcnow().replace(microsecond=0),
                                 file_date=file_date or datetime.fromtimestamp(path.stat().st_mtime).date())
        db.session.add(record)
        db.session.flush()
        # Readers keep seeing the previous list until the caller commits: the replacement is atomic.
        _delete_rows(list_code)
        with open_list(path) as handle:
            _write_rows(read(handle, report), record.id, report, progress)
        record.rows_read, record.rows_imported = report.rows_read, report.rows_imported
        record.rows_skipped = report.rows_skipped
        record.problems = json.dumps(report.problems)
        db.session.flush()
    report.import_id = record.id
    return report


def _delete_rows(list_code: str) -> None:
    """Delete the rows (and name keys) of every earlier import of one list."""
    imports = select(ExclusionImport.id).where(ExclusionImport.list_code == list_code)
    db.session.execute(delete(ExclusionName).where(ExclusionName.exclusion_id.in_(
        select(Exclusion.id).where(Exclusion.import_id.in_(imports)))))
    db.session.execute(delete(Exclusion).where(Exclusion.import_id.in_(imports)))


def _write_rows(rows: Iterator[tuple[int, dict[str, Any]]], import_id: int, report: ImportReport,
                progress: Callable[[int], None] | None) -> None:
    """Insert parsed rows and their name keys in batches, after the rows the other lists hold."""
    exclusions: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    # Ids are given here so name keys can refer to them without a round trip per row.
    first_id = (db.session.scalar(select(func.max(Exclusion.id))) or 0) + 1
    last_line = line = 1
    for line, row in rows:
        row_id = first_id + report.rows_imported
        report.rows_imported += 1
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

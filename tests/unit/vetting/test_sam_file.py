"""The SAM.gov exclusions extract (real column layout): reading, storing per list, and asking for its records."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from directory.vetting.models import Exclusion, ExclusionImport, ExclusionName
from directory.vetting.sources.exclusions import (
    current_list,
    find_matches,
    identity_of,
    listed_rows,
    records_in_force,
)
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.list_import import ExclusionListInvalid, RowProblem
from directory.vetting.sources.sam_file import (
    SAM_COLUMNS,
    file_date_from_name,
    import_sam_list,
    parse_date,
    parse_row,
    record_key,
)
from tests.unit.vetting.builders import DATA, us_practitioner

SAMPLE = DATA / "sam_sample.csv"
FILE_DATE = date(2026, 11, 30)
SAM_NPI = "1245319599"  # listed for WEI ZHANG in tests/data/sam_sample.csv


def _sample_rows() -> tuple[list[str], list[list[str]]]:
    """Return the sample's header and rows."""
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]], tail: str = "") -> Path:
    """Write a SAM-style file (every field quoted, CRLF), optionally followed by raw text."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([header, *rows])
    path.write_text(out.getvalue() + tail, encoding="utf-8")
    return path


def _values(**changes: str) -> dict[str, str]:
    """Return the sample's first row (WEI ZHANG) by column name, with changes."""
    header, rows = _sample_rows()
    return {**dict(zip(header, rows[0], strict=True)), **changes}


def _sam_rows() -> list[Exclusion]:
    """Return the SAM list's stored rows, by last or business name."""
    return sorted(select_all(listed_rows("sam")), key=lambda r: r.last_name or r.business_name)


def select_all(query: Any) -> list[Any]:
    """Run a query for rows."""
    from directory.extensions import db

    return list(db.session.scalars(query))


def _count(model: Any) -> int:
    from directory.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# --- reading the extract


def test_the_sample_is_in_the_real_column_layout() -> None:
    assert _sample_rows()[0] == list(SAM_COLUMNS)
    assert len(SAM_COLUMNS) == 31


@pytest.mark.parametrize(("value", "expected"), [
    ("03/15/2021", date(2021, 3, 15)), ("2021-03-15", date(2021, 3, 15)), ("", None), ("Indefinite", None),
    ("INDEFINITE", None), ("3/5/2021", date(2021, 3, 5))])
def test_dates_are_read_as_sam_writes_them(value: str, expected: date | None) -> None:
    assert parse_date(value, "Termination Date") == expected


@pytest.mark.parametrize("value", ["15.03.2021", "13/45/2021", "03/15/21", "2021-15-03", "soon", "+3/15/2021"])
def test_an_unreadable_date_says_which_column(value: str) -> None:
    with pytest.raises(RowProblem, match="Active Date is not a date"):
        parse_row(_values(**{"Active Date": value}))


def test_a_row_without_any_name_is_refused() -> None:
    with pytest.raises(RowProblem, match="neither Name nor"):
        parse_row(_values(Last="", First=""))


def test_a_bad_npi_is_treated_as_absent() -> None:
    assert parse_row(_values(NPI="12345"))["npi"] is None
    assert parse_row(_values(NPI="N/A"))["npi"] is None
    assert parse_row(_values())["npi"] == SAM_NPI


def test_a_foreign_province_is_not_taken_for_a_us_state() -> None:
    row = parse_row(_values(Country="CAN", **{"State / Province": "ON"}))
    assert row["state"] == ""
    assert json.loads(row["details"])["state_province"] == "ON"


def test_the_record_key_survives_a_new_extract_but_tells_records_apart() -> None:
    key = record_key(_values())
    assert record_key(_values(**{"Address 1": "1 NEW ST", "Exclusion Type": "Voluntary Exclusion",
                                 "Creation_Date": "01/01/2026"})) == key
    assert record_key(_values(**{"SAM Number": "S4MRXX999"})) != key
    assert record_key(_values(First="WENDY")) != key


def test_the_file_date_comes_from_sams_file_name() -> None:
    assert file_date_from_name(Path("SAM_Exclusions_Public_Extract_V2_26335.CSV")) == date(2026, 12, 1)
    assert file_date_from_name(Path("SAM_Exclusions_Public_Extract_19106.CSV")) == date(2019, 4, 16)
    assert file_date_from_name(Path("exclusions.csv")) is None
    assert file_date_from_name(Path("SAM_Exclusions_Public_Extract_V2_26399.CSV")) is None


# --- importing


def test_import_keeps_the_records_in_force_and_counts_the_rest(session: Any) -> None:
    report = import_sam_list(SAMPLE, FILE_DATE)
    assert (report.rows_read, report.rows_imported, report.problems) == (8, 6, [])
    assert report.set_aside == {"inactive": 1, "terminated": 1}
    assert report.rows_skipped == 2
    assert report.notes == [(9, "NPI is not 10 digits: '12345'; kept without an NPI")]
    record = session.get(ExclusionImport, report.import_id)
    assert (record.list_code, record.file_date, record.rows_read, record.rows_imported, record.rows_skipped) == (
        "sam", FILE_DATE, 8, 6, 2)
    assert record.reference.startswith("SAM 2026-11-30 sha256:")
    names = [r.last_name or r.business_name for r in _sam_rows()]
    assert names == ["GOLDEN NEEDLE ACUPUNCTURE LLC", "LOPEZ", "MÜLLER-LÜDENSCHEIDT", "OKAFOR", "ROSSI", "ZHANG"]


def test_individuals_carry_their_names_and_npi_and_firms_their_name(session: Any) -> None:
    import_sam_list(SAMPLE, FILE_DATE)
    by_name = {r.last_name or r.business_name: r for r in _sam_rows()}
    zhang, rossi, firm = by_name["ZHANG"], by_name["ROSSI"], by_name["GOLDEN NEEDLE ACUPUNCTURE LLC"]
    assert (zhang.first_name, zhang.npi, zhang.state, zhang.excluded_on, zhang.reinstated_on) == (
        "WEI", SAM_NPI, "MA", date(2021, 3, 15), None)
    assert (rossi.npi, rossi.state, rossi.middle_name) == (None, "TX", "L")
    assert (firm.last_name, firm.first_name, firm.address) == ("", "", "200 TREMONT ST, SUITE 4")
    assert (firm.excluded_on, firm.reinstated_on) == (date(2022, 6, 1), date(2029, 6, 1))
    details = json.loads(firm.details)
    assert details["classification"] == "Firm"
    assert details["exclusion_type"] == "Ineligible (Proceedings Completed)"
    assert (details["unique_entity_id"], details["sam_number"], details["cage"]) == ("JX4KL7MN2P31", "S4MRGN003",
                                                                                      "7ABC1")
    assert details["additional_comments"] == 'Also trades as "Golden Needle", Boston'
    keyed = {e for (e,) in session.execute(select(ExclusionName.exclusion_id))}
    assert zhang.id in keyed and firm.id not in keyed, "name matching uses individuals only"


def test_a_future_termination_date_is_kept_and_stops_counting_on_that_day(session: Any) -> None:
    import_sam_list(SAMPLE, FILE_DATE)
    okafor = next(r for r in _sam_rows() if r.last_name == "OKAFOR")
    assert okafor.reinstated_on == date(2099, 12, 31)
    in_force_now = {r.last_name or r.business_name for r in select_all(records_in_force("sam", FILE_DATE))}
    assert "OKAFOR" in in_force_now and "GOLDEN NEEDLE ACUPUNCTURE LLC" in in_force_now
    later = {r.last_name or r.business_name for r in select_all(records_in_force("sam", date(2100, 1, 1)))}
    assert later == {"LOPEZ", "MÜLLER-LÜDENSCHEIDT", "ROSSI", "ZHANG"}, "indefinite ones stay"


def test_columns_are_read_by_name_in_any_order(session: Any, tmp_path: Path) -> None:
    header, rows = _sample_rows()
    order = list(reversed(range(len(header))))
    path = _write(tmp_path / "reordered.csv", [header[i] for i in order], [[r[i] for i in order] for r in rows])
    report = import_sam_list(path, FILE_DATE)
    assert report.rows_imported == 6
    assert {r.npi for r in _sam_rows()} == {SAM_NPI, None}


@pytest.mark.parametrize(("rename", "message"), [
    ({"Zip Code": "Zip"}, "missing columns: Zip Code; unexpected columns: Zip"),
    ({"NPI": "Last"}, "missing columns: NPI; repeated columns: Last"),
])
def test_wrong_columns_are_named_and_nothing_is_imported(session: Any, tmp_path: Path, rename: dict[str, str],
                                                         message: str) -> None:
    header, rows = _sample_rows()
    path = _write(tmp_path / "wrong.csv", [rename.get(h, h) for h in header], rows)
    with pytest.raises(ExclusionListInvalid, match=message):
        import_sam_list(path, FILE_DATE)
    assert current_list("sam") is None and _count(Exclusion) == 0


def test_an_leie_file_is_not_taken_for_a_sam_extract(session: Any) -> None:
    with pytest.raises(ExclusionListInvalid, match="not a SAM.gov exclusions extract .missing columns: Classification"):
        import_sam_list(DATA / "leie_sample.csv", FILE_DATE)


def test_an_empty_file_is_refused(session: Any, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(ExclusionListInvalid, match="missing columns"):
        import_sam_list(tmp_path / "empty.csv", FILE_DATE)


def _import_then_refuse(tmp_path: Path, rows: list[list[str]], tail: str, message: str) -> None:
    """Import the sample, then a bad file: it is refused and the sample stays the SAM list in force."""
    first = import_sam_list(SAMPLE, FILE_DATE)
    header, _ = _sample_rows()
    with pytest.raises(ExclusionListInvalid, match=message):
        import_sam_list(_write(tmp_path / "cut.csv", header, rows, tail), FILE_DATE)
    listing = current_list("sam")
    assert listing is not None and listing.id == first.import_id
    assert len(_sam_rows()) == 6
    assert _count(ExclusionImport) == 1


def test_a_last_line_with_too_few_fields_refuses_the_whole_file(session: Any, tmp_path: Path) -> None:
    _, rows = _sample_rows()
    cut = ",".join(f'"{v}"' for v in rows[1][:12])
    _import_then_refuse(tmp_path, rows[:1], cut + "\r\n",
                        r"line 3: the last record has 12 of 31 fields.*the current SAM list stays in force")


def test_an_unterminated_quote_at_the_end_refuses_the_whole_file(session: Any, tmp_path: Path) -> None:
    _, rows = _sample_rows()
    cut = ",".join(f'"{v}"' for v in rows[1][:30]) + ',"03/1'
    _import_then_refuse(tmp_path, rows[:2], cut, r"line 4: the last record ends inside a quoted field")


def test_an_extract_with_no_records_is_refused(session: Any, tmp_path: Path) -> None:
    _import_then_refuse(tmp_path, [], "\r\n", "the extract holds no records")


def test_the_progress_callback_covers_the_file(session: Any) -> None:
    steps: list[int] = []
    import_sam_list(SAMPLE, FILE_DATE, steps.append)
    assert sum(steps) == 8, "lines 2 to 9 after the header"


def test_problems_kept_are_bounded_but_all_are_counted(session: Any, tmp_path: Path) -> None:
    header, rows = _sample_rows()
    bad = [[*rows[0][:23], "13/45/2021", *rows[0][24:]]] * 250
    report = import_sam_list(_write(tmp_path / "bad.csv", header, [*bad, rows[0]]), FILE_DATE)
    assert (report.malformed, len(report.problems), report.rows_skipped, report.rows_imported) == (250, 200, 250, 1)
    assert report.problems[0] == (2, "Active Date is not a date (MM/DD/YYYY): '13/45/2021'")


def test_a_short_row_before_the_last_is_skipped_not_fatal(session: Any, tmp_path: Path) -> None:
    header, rows = _sample_rows()
    report = import_sam_list(_write(tmp_path / "short.csv", header, [rows[0], rows[1][:5], rows[2]]), FILE_DATE)
    assert report.problems == [(3, "expected 31 fields, found 5")]
    assert report.rows_imported == 2


def test_importing_the_same_file_again_changes_nothing(session: Any, tmp_path: Path) -> None:
    first = import_sam_list(SAMPLE, FILE_DATE)
    ids = [r.id for r in _sam_rows()]
    copy = tmp_path / "SAM_Exclusions_Public_Extract_V2_26336.CSV"
    copy.write_bytes(SAMPLE.read_bytes())
    again = import_sam_list(copy)
    assert again.unchanged and again.import_id == first.import_id
    assert [r.id for r in _sam_rows()] == ids and _count(ExclusionImport) == 1


def test_a_new_extract_replaces_the_sam_list_and_keeps_record_keys(session: Any, tmp_path: Path) -> None:
    import_sam_list(SAMPLE, FILE_DATE)
    keys = {r.last_name: r.record_key for r in _sam_rows()}
    header, rows = _sample_rows()
    moved = [*rows[0][:7], "99 NEW RD", *rows[0][8:]]
    report = import_sam_list(_write(tmp_path / "next.csv", header, [moved, rows[1]]), date(2026, 12, 31))
    assert report.rows_imported == 2
    assert current_list("sam").id == report.import_id
    stored = {r.last_name: r for r in _sam_rows()}
    assert set(stored) == {"ZHANG", "ROSSI"}
    assert stored["ZHANG"].address == "99 NEW RD" and stored["ZHANG"].record_key == keys["ZHANG"]


def test_a_sam_import_leaves_the_leie_in_force_and_the_other_way_round(session: Any) -> None:
    leie = import_exclusion_list(DATA / "leie_sample.csv", date(2026, 11, 1))
    leie_rows = [(r.id, r.record_key) for r in select_all(listed_rows("leie"))]
    sam = import_sam_list(SAMPLE, FILE_DATE)
    assert [(r.id, r.record_key) for r in select_all(listed_rows("leie"))] == leie_rows
    assert current_list().id == leie.import_id, "the LEIE stays the default list"
    assert current_list("sam").id == sam.import_id
    sam_rows = [(r.id, r.record_key) for r in _sam_rows()]
    again = import_exclusion_list(DATA / "leie_update.csv", date(2026, 12, 1))
    assert [(r.id, r.record_key) for r in _sam_rows()] == sam_rows
    assert current_list("sam").id == sam.import_id and current_list("leie").id == again.import_id


def test_existing_imports_are_leie_by_default(session: Any) -> None:
    session.execute(text("INSERT INTO exclusion_import (imported_at, file_name, file_date, sha256, rows_read, "
                         "rows_imported, rows_skipped, problems) VALUES (:at, 'old.csv', :day, :sha, 0, 0, 0, '[]')"),
                    {"at": "2026-01-01 00:00:00", "day": "2026-01-01", "sha": "a" * 64})
    assert session.scalar(text("SELECT list FROM exclusion_import")) == "leie"
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text("UPDATE exclusion_import SET list = 'ofac'"))


# --- matching asks for one list


def test_matching_looks_at_one_list_the_leie_by_default(session: Any) -> None:
    import_sam_list(SAMPLE, FILE_DATE)
    p = us_practitioner(npi=SAM_NPI, first_name="Wei", last_name="Zhang")
    identity = identity_of(p)
    assert find_matches(identity, FILE_DATE).hits == [], "SAM rows are not LEIE rows"
    hits = find_matches(identity, FILE_DATE, "sam").hits
    assert [(h["match"], h["record"]["last_name"]) for h in hits] == [("npi", "ZHANG")]


@pytest.mark.parametrize(("first", "last"), [("Zoë", "Müller-Lüdenscheidt"), ("Zoe", "Mueller"), ("ZOE", "Muller")])
def test_an_accented_listed_name_is_found(session: Any, first: str, last: str) -> None:
    import_sam_list(SAMPLE, FILE_DATE)
    p = us_practitioner(npi=None, first_name=first, last_name=last, licence=True)
    hits = find_matches(identity_of(p), FILE_DATE, "sam").hits
    assert [(h["match"], h["record"]["last_name"]) for h in hits] == [("name", "MÜLLER-LÜDENSCHEIDT")]

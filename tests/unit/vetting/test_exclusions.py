"""The LEIE import (real column layout) and matching practitioners against it."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from directory.accounts.models import AuditEvent
from directory.errors import InvalidParameter
from directory.vetting.decisions import reinstate, review_exclusion
from directory.vetting.models import (
    Exclusion,
    ExclusionImport,
    ExclusionName,
    FormerName,
    VettingDecision,
    VettingIdentity,
)
from directory.vetting.services import check_exclusions
from directory.vetting.sources.exclusions import open_hits
from directory.vetting.sources.leie import ExclusionListInvalid, RowProblem, import_exclusion_list, parse_row
from tests import factories
from tests.unit.vetting.builders import DATA, NPI, admin, credential, us_practitioner

ROW = ["CHEN", "MEI", "L", "", "INDIVIDUAL", "ACUPUNCTURIST", "", "1234567893", "19700101", "1 MAIN ST", "CAMBRIDGE",
       "MA", "02139", "1128a1", "20200115", "00000000", "00000000", ""]


def _row(**changes: str) -> list[str]:
    columns = ["LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "GENERAL", "SPECIALTY", "UPIN", "NPI", "DOB", "ADDRESS",
               "CITY", "STATE", "ZIP", "EXCLTYPE", "EXCLDATE", "REINDATE", "WAIVERDATE", "WVRSTATE"]
    row = list(ROW)
    for column, value in changes.items():
        row[columns.index(column)] = value
    return row


def test_parse_row_reads_the_real_layout() -> None:
    parsed = parse_row(ROW)
    assert (parsed["npi"], parsed["date_of_birth"], parsed["excluded_on"], parsed["reinstated_on"]) == (
        "1234567893", date(1970, 1, 1), date(2020, 1, 15), None)
    assert len(parsed["record_key"]) == 64


def test_zeros_mean_no_npi_and_no_date() -> None:
    parsed = parse_row(_row(NPI="0000000000", DOB="", WAIVERDATE="00000000"))
    assert (parsed["npi"], parsed["date_of_birth"], parsed["waiver_on"]) == (None, None, None)


@pytest.mark.parametrize(("changes", "message"), [
    ({"NPI": "12345"}, "NPI is not 10 digits"), ({"DOB": "1970-01-01"}, "DOB is not a date"),
    ({"EXCLDATE": "00000000"}, "EXCLDATE is missing"), ({"STATE": "Mass"}, "STATE is not a two-letter state"),
    ({"LASTNAME": "", "BUSNAME": ""}, "neither LASTNAME nor BUSNAME"), ({"ZIP": "0" * 11}, "ZIP is longer"),
    ({"CITY": "BOS\x00TON"}, "NUL byte"),
])
def test_bad_rows_say_what_is_wrong(changes: dict[str, str], message: str) -> None:
    with pytest.raises(RowProblem, match=message):
        parse_row(_row(**changes))


def test_a_row_with_missing_columns_is_refused() -> None:
    with pytest.raises(RowProblem, match="expected 18 columns, found 5"):
        parse_row(ROW[:5])


def test_the_record_key_survives_a_changed_address() -> None:
    assert parse_row(ROW)["record_key"] == parse_row(_row(ADDRESS="2 OTHER ST", ZIP="02140"))["record_key"]


def test_import_loads_the_list_with_name_keys_and_an_import_record(session: Any) -> None:
    report = import_exclusion_list(DATA / "leie_sample.csv", date(2026, 11, 1))
    assert (report.rows_read, report.rows_imported, report.problems, report.unchanged) == (8, 8, [], False)
    record = session.get(ExclusionImport, report.import_id)
    assert (record.file_date, record.rows_imported, record.rows_skipped) == (date(2026, 11, 1), 8, 0)
    assert record.sha256 == report.sha256 and len(record.sha256) == 64
    business = session.scalar(select(Exclusion).where(Exclusion.business_name != ""))
    assert business.business_name == "ACME ACUPUNCTURE, LLC" and business.npi is None
    keys = {tuple(r) for r in session.execute(select(ExclusionName.last_key, ExclusionName.first_key))}
    assert {("chen", "mei"), ("garcia", "ana"), ("kim", "joan")} <= keys


def test_malformed_rows_are_reported_with_line_numbers_and_skipped(session: Any) -> None:
    report = import_exclusion_list(DATA / "leie_malformed.csv")
    assert report.problems == [
        (3, "expected 18 columns, found 5"), (4, "NPI is not 10 digits: '12345'"),
        (5, "DOB is not a date (YYYYMMDD): '1970-01-01'"), (6, "neither LASTNAME nor BUSNAME is given"),
        (7, "STATE is not a two-letter state: 'MASS'"), (8, "EXCLDATE is missing"),
    ]
    assert (report.rows_read, report.rows_imported, report.rows_skipped) == (9, 3, 6)
    lines = session.scalars(select(Exclusion.line_number).order_by(Exclusion.line_number)).all()
    assert lines == [2, 10, 11], "a quoted field across two lines keeps later line numbers right"
    assert json.loads(session.get(ExclusionImport, report.import_id).problems)[0] == [3, "expected 18 columns, found 5"]


def test_importing_the_same_file_again_changes_nothing(session: Any, tmp_path: Path) -> None:
    first = import_exclusion_list(DATA / "leie_sample.csv")
    copy = tmp_path / "UPDATED.csv"
    shutil.copy(DATA / "leie_sample.csv", copy)
    again = import_exclusion_list(copy)
    assert again.unchanged and again.import_id == first.import_id
    assert session.scalar(select(func.count(ExclusionImport.id))) == 1
    assert session.scalar(select(func.count(Exclusion.id))) == 8


def test_a_new_file_replaces_the_list(session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    report = import_exclusion_list(DATA / "leie_update.csv")
    assert report.rows_imported == 2
    names = session.scalars(select(Exclusion.last_name).order_by(Exclusion.last_name)).all()
    assert names == ["GARCIA", "JONES"]
    assert {e.import_id for e in session.scalars(select(Exclusion))} == {report.import_id}
    assert session.scalar(select(func.count(ExclusionName.exclusion_id))) == 2


def test_a_file_that_is_not_the_leie_is_refused_and_nothing_changes(session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    with pytest.raises(ExclusionListInvalid, match="header"):
        import_exclusion_list(DATA / "leie_wrong_header.csv")
    assert session.scalar(select(func.count(Exclusion.id))) == 8


def test_an_empty_file_is_refused(session: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ExclusionListInvalid):
        import_exclusion_list(empty)


# --- matching

@pytest.fixture
def leie(session: Any) -> None:
    """Load tests/data/leie_sample.csv as the current list."""
    import_exclusion_list(DATA / "leie_sample.csv", date(2026, 11, 1))


def _hits(check: Any) -> list[tuple[str, str]]:
    return [(h["match"], h["record"]["last_name"]) for h in json.loads(check.evidence)["hits"]]


def _ruled_out(check: Any) -> list[tuple[str, str]]:
    return [(h["record"]["last_name"], h["reason"]) for h in json.loads(check.evidence)["ruled_out"]]


def test_no_list_imported_is_an_error(session: Any) -> None:
    check = check_exclusions(us_practitioner())
    assert check.outcome == "error" and "no exclusion list" in check.note


def test_a_clean_practitioner_passes_and_the_run_is_recorded(session: Any, leie: None) -> None:
    p = us_practitioner(npi="1000000137", first_name="Nora", last_name="Quinn")
    check = check_exclusions(p)
    assert (check.outcome, _hits(check)) == ("pass", [])
    evidence = json.loads(check.evidence)
    assert evidence["list"]["file_date"] == "2026-11-01" and evidence["searched"]["states"] == ["MA"]
    assert check.reference.startswith("LEIE 2026-11-01 sha256:")


def test_an_npi_hit_fails_and_suspends_pending_review(session: Any, leie: None) -> None:
    p = us_practitioner(npi=NPI, first_name="Mei", last_name="Chen")
    check = check_exclusions(p)
    assert (check.outcome, _hits(check)) == ("fail", [("npi", "CHEN")])
    assert p.vetting_status == "suspended"


def test_an_npi_hit_under_another_name_still_fails(session: Any, leie: None) -> None:
    p = us_practitioner(npi=NPI, first_name="Zoe", last_name="Adams")
    assert check_exclusions(p).outcome == "fail"


def test_a_name_and_state_hit_needs_review(session: Any, leie: None) -> None:
    p = us_practitioner(npi=None, first_name="Ana", last_name="Lopez-Garcia", licence=False,
                        locations=[{"city": "Austin", "region": "TX", "postal_code": "78701", "latitude": 30.27,
                                    "longitude": -97.74}])
    credential(p, jurisdiction="TX")
    check = check_exclusions(p)
    assert (check.outcome, _hits(check)) == ("needs_review", [("name", "GARCIA")])
    assert p.vetting_status == "pending"


def test_a_former_name_is_searched(session: Any, leie: None) -> None:
    p = us_practitioner(npi=None, first_name="Joan", last_name="Park", licence=False)
    credential(p, jurisdiction="NY")
    assert check_exclusions(p).outcome == "pass"
    session.add(FormerName(practitioner_id=p.id, first_name="", last_name="Kim"))
    check = check_exclusions(p)
    assert (check.outcome, _hits(check)) == ("needs_review", [("name", "KIM")])


def test_the_same_name_in_another_state_is_no_hit(session: Any, leie: None) -> None:
    p = us_practitioner(npi=None, first_name="Robert", last_name="Jones")
    assert check_exclusions(p).outcome == "pass"


def test_a_different_date_of_birth_rules_a_name_match_out(session: Any, leie: None) -> None:
    p = us_practitioner(npi=None, first_name="David", last_name="Lee")
    assert check_exclusions(p).outcome == "needs_review"
    session.add(VettingIdentity(practitioner_id=p.id, date_of_birth=date(1980, 5, 5)))
    check = check_exclusions(p)
    assert check.outcome == "pass"
    assert _ruled_out(check) == [("LEE", "the listed person has a different date of birth")]
    session.get(VettingIdentity, p.id).date_of_birth = date(1960, 1, 1)
    check = check_exclusions(p)
    assert check.outcome == "needs_review"
    assert json.loads(check.evidence)["hits"][0]["date_of_birth_matches"] is True


def test_a_different_listed_npi_rules_a_name_match_out(session: Any, leie: None) -> None:
    p = us_practitioner(npi="1000000137", first_name="Sarah", last_name="Brown")
    check = check_exclusions(p)
    assert (check.outcome, _ruled_out(check)) == ("pass", [("BROWN", "the listed person has a different NPI")])


def test_a_reinstated_listing_is_no_hit(session: Any, leie: None) -> None:
    p = us_practitioner(npi="1000000111", first_name="Li", last_name="Wang")
    check = check_exclusions(p)
    assert (check.outcome, _ruled_out(check)) == ("pass", [("WANG", "reinstated on 2024-01-01")])


def test_clearing_a_hit_keeps_it_cleared_on_later_runs(session: Any, leie: None) -> None:
    p, boss = us_practitioner(npi=None, first_name="David", last_name="Lee"), admin()
    check_exclusions(p)
    assert len(open_hits(p.id)) == 1
    review_exclusion(p, boss, "clear", "different person: the board confirms our Dr Lee was born in 1985")
    assert open_hits(p.id) == []
    later = check_exclusions(p)
    assert (later.outcome, _ruled_out(later)) == ("pass", [("LEE", "cleared by an admin's review")])
    assert session.scalar(select(AuditEvent.action).where(
        AuditEvent.subject_id == p.id, AuditEvent.actor_id == boss.id)) == "vetting.exclusion_reviewed"


def test_confirming_a_hit_suspends_and_later_runs_keep_failing(session: Any, leie: None) -> None:
    p, boss = us_practitioner(npi=None, first_name="David", last_name="Lee"), admin()
    check_exclusions(p)
    review_exclusion(p, boss, "confirm", "same person: date of birth and address match")
    assert p.vetting_status == "suspended"
    [decision] = session.scalars(select(VettingDecision).where(VettingDecision.practitioner_id == p.id)).all()
    assert (decision.action, decision.category, decision.decided_by_id) == ("suspend", "exclusion_list", boss.id)
    later = check_exclusions(p)
    assert later.outcome == "fail", "a confirmed listing keeps failing on later runs"
    assert p.vetting_status == "suspended" and open_hits(p.id) == [], "and does not ask for a second review"


def test_reviewing_needs_an_open_hit_a_decision_and_a_reason(session: Any, leie: None) -> None:
    p, boss = us_practitioner(npi="1000000137", first_name="Nora", last_name="Quinn"), admin()
    check_exclusions(p)
    with pytest.raises(InvalidParameter, match="No exclusion-list hit"):
        review_exclusion(p, boss, "clear", "nothing to clear")
    with pytest.raises(InvalidParameter, match="clear or confirm"):
        review_exclusion(p, boss, "maybe", "x")
    with pytest.raises(InvalidParameter, match="reason"):
        review_exclusion(p, boss, "clear", " ")


def test_reinstating_after_an_npi_hit_clears_it(session: Any, leie: None) -> None:
    p, boss = us_practitioner(npi=NPI), admin()
    check_exclusions(p)
    assert p.vetting_status == "suspended"
    reinstate(p, "OIG reinstated the practitioner; letter on file", boss)
    assert p.vetting_status != "suspended"
    assert check_exclusions(p).outcome == "pass"


def test_a_practitioner_outside_the_us_is_matched_by_npi_only(session: Any, leie: None) -> None:
    p = factories.practitioner(first_name="Mei", last_name="Chen", npi=None, vetting_status="unverified",
                               locations=[{"city": "Lyon", "region": "", "postal_code": "69001", "country": "FR",
                                           "latitude": 45.76, "longitude": 4.83}])
    assert check_exclusions(p).outcome == "pass"


@pytest.mark.parametrize(("first", "last", "listed"), [
    ("Søren", "Kierkegaard", "KIERKEGAARD,SOREN"),
    ("Agnieszka", "Łukaszewska", "LUKASZEWSKA,AGNIESZKA"),
    ("Jürgen", "Straße", "STRASSE,JURGEN"),
    ("Þórunn", "Guðmundsdóttir", "GUDMUNDSDOTTIR,THORUNN"),
])
def test_a_listed_person_with_a_non_ascii_name_is_found(session: Any, tmp_path: Path, first: str, last: str,
                                                       listed: str) -> None:
    header = (DATA / "leie_sample.csv").read_text().splitlines()[0]
    row = f"{listed},,,INDIVIDUAL,ACUPUNCTURIST,,0000000000,,1 MAIN ST,BOSTON,MA,02108,1128a1,20200115,00000000,00000000,"
    listing = tmp_path / "UPDATED.csv"
    listing.write_text(f"{header}\n{row}\n")
    import_exclusion_list(listing, date(2026, 11, 1))
    p = us_practitioner(npi=None, first_name=first, last_name=last)
    assert _hits(check_exclusions(p)) == [("name", listed.split(",")[0])]

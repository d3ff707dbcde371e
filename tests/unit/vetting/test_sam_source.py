"""The SAM.gov exclusion list as a vetting source, next to the LEIE: matching, review, due rules, the runner."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from directory.clock import today
from directory.errors import InvalidParameter
from directory.models import VerificationCheck
from directory.vetting.decisions import reinstate, review_exclusion
from directory.vetting.due import due_items
from directory.vetting.facts import load_facts
from directory.vetting.models import Exclusion, VettingDecision
from directory.vetting.runner import RunSummary, plan_run, run_batch
from directory.vetting.services import check_exclusions, record_check, run_context, run_source
from directory.vetting.sources.base import RunContext
from directory.vetting.sources.exclusions import current_list, decided_keys, open_review
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.sam import SAM_EXCLUSIONS
from directory.vetting.sources.sam_file import import_sam_list
from directory.vetting.status import compute_status
from tests.unit.vetting.builders import DATA, admin, credential, us_practitioner

SAMPLE = DATA / "sam_sample.csv"
SAM_NPI = "1245319599"  # listed for WEI ZHANG in tests/data/sam_sample.csv
CODE = SAM_EXCLUSIONS.code


@pytest.fixture
def sam(session: Any) -> None:
    """Load the sample SAM extract (and the sample LEIE, as production has both)."""
    import_exclusion_list(DATA / "leie_sample.csv", date(2026, 11, 1))
    import_sam_list(SAMPLE, date(2026, 11, 30))


def _sam(p: Any) -> VerificationCheck:
    return run_source(p, CODE, run_context())


def _rossi() -> Any:
    """A Texas practitioner named like SAM's MARIA ROSSI (listed without an NPI)."""
    p = us_practitioner(npi=None, first_name="Maria", last_name="Rossi", licence=False,
                        locations=[{"city": "Austin", "region": "TX", "postal_code": "78701", "latitude": 30.27,
                                    "longitude": -97.74}])
    credential(p, jurisdiction="TX")
    return p


def _evidence(check: VerificationCheck) -> dict[str, Any]:
    return dict(json.loads(check.evidence))


def _rewritten_sample(path: Path) -> Path:
    """Write a later SAM extract: the same records, with new addresses, so the file (and its hash) differ."""
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    street = header.index("Address 1")
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
        [header, *[[*r[:street], "99 NEW ST", *r[street + 1:]] for r in rows]])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_an_npi_on_the_sam_list_suspends_automatically_with_the_sam_details(session: Any, sam: None) -> None:
    p = us_practitioner(npi=SAM_NPI, first_name="Wei", last_name="Zhang")
    check = _sam(p)
    assert (check.source, check.outcome) == (CODE, "fail")
    assert check.reference.startswith("SAM 2026-11-30 sha256:")
    [hit] = _evidence(check)["hits"]
    assert hit["match"] == "npi" and hit["record"]["last_name"] == "ZHANG"
    assert {k: hit["record"]["sam"][k] for k in ("excluding_agency", "exclusion_program", "exclusion_type",
                                                  "sam_number")} == {
        "excluding_agency": "HHS", "exclusion_program": "Reciprocal", "exclusion_type": "Prohibition/Restriction",
        "sam_number": "S4MRWZ001"}
    assert p.vetting_status == "suspended"
    [decision] = session.scalars(select(VettingDecision).where(VettingDecision.practitioner_id == p.id)).all()
    assert (decision.action, decision.category, decision.decided_by_id) == ("suspend", "exclusion_list", None)


def test_a_firm_hit_carries_its_uei(session: Any, sam: None) -> None:
    firm = session.scalars(select(Exclusion).where(Exclusion.business_name == "GOLDEN NEEDLE ACUPUNCTURE LLC")).one()
    described = SAM_EXCLUSIONS.described([{"record_key": firm.record_key, "record": {}}])
    assert described[0]["record"]["sam"]["unique_entity_id"] == "JX4KL7MN2P31"


def test_a_sam_name_only_match_asks_an_admin_and_changes_nothing(session: Any, sam: None) -> None:
    p = _rossi()
    assert check_exclusions(p).outcome == "pass", "the LEIE does not list her"
    before = p.vetting_status
    check = _sam(p)
    assert (check.outcome, [h["match"] for h in _evidence(check)["hits"]]) == ("needs_review", ["name"])
    assert p.vetting_status == before == "pending"
    assert session.scalar(select(VettingDecision.id).where(VettingDecision.practitioner_id == p.id)) is None
    review = [i for i in due_items(load_facts([p.id])[p.id], today()) if i.source == CODE and not i.automated]
    assert [i.reason for i in review] == ["a name match awaits an admin's review"]
    opened = open_review(p.id, ("exclusion_list", CODE))
    assert opened is not None and opened.source == CODE


def test_clearing_a_sam_match_is_kept_with_sam_and_survives_a_new_extract(session: Any, sam: None,
                                                                          tmp_path: Path) -> None:
    p, boss = _rossi(), admin()
    _sam(p)
    review_exclusion(p, boss, "clear", "different person: our Dr Rossi's licence dates from 2024", source=CODE)
    latest = session.scalars(select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id)
                             .order_by(VerificationCheck.sequence.desc())).first()
    assert (latest.source, latest.outcome, latest.performed_by_id) == (CODE, "pass", boss.id)
    assert decided_keys(p.id, CODE)[0] and decided_keys(p.id, "exclusion_list") == (set(), set())
    assert import_sam_list(_rewritten_sample(tmp_path / "later.csv"), date(2026, 12, 1)).import_id is not None
    later = _sam(p)
    assert later.outcome == "pass"
    assert [h["reason"] for h in _evidence(later)["ruled_out"]] == ["cleared by an admin's review"]
    assert open_review(p.id, ("exclusion_list", CODE)) is None


def test_a_review_names_an_exclusion_list_or_nothing(session: Any, sam: None) -> None:
    p, boss = _rossi(), admin()
    _sam(p)
    with pytest.raises(InvalidParameter, match="not an exclusion list"):
        review_exclusion(p, boss, "clear", "x", source="state_board")
    with pytest.raises(InvalidParameter, match="No exclusion-list hit"):
        review_exclusion(p, boss, "clear", "x", source="exclusion_list")
    assert review_exclusion(p, boss, "clear", "not them") == 1, "without a source, the oldest open match"


def test_reinstating_clears_the_open_matches_of_every_list(session: Any, sam: None) -> None:
    p, boss = us_practitioner(npi=SAM_NPI, first_name="Wei", last_name="Zhang"), admin()
    _sam(p)
    record_check(p, source="exclusion_list", outcome="needs_review", note="possible name match",
                 evidence={"hits": []})
    reinstate(p, "SAM record is a namesake; OIG confirms no listing", boss)
    assert open_review(p.id, ("exclusion_list", CODE)) is None


def test_inactive_and_terminated_records_do_not_match(session: Any, sam: None) -> None:
    park = us_practitioner(npi=None, first_name="Jin", last_name="Park", licence=False,
                           locations=[{"city": "Seattle", "region": "WA", "postal_code": "98101", "latitude": 47.6,
                                       "longitude": -122.3}])
    novak = us_practitioner(npi=None, first_name="Eva", last_name="Novak", licence=False,
                            locations=[{"city": "Chicago", "region": "IL", "postal_code": "60601", "latitude": 41.88,
                                        "longitude": -87.62}])
    assert (_sam(park).outcome, _sam(novak).outcome) == ("pass", "pass")


def test_a_termination_date_passed_since_the_import_ends_the_exclusion(session: Any, sam: None) -> None:
    okafor = us_practitioner(npi=None, first_name="Chidi", last_name="Okafor", licence=False,
                             locations=[{"city": "Atlanta", "region": "GA", "postal_code": "30301", "latitude": 33.75,
                                         "longitude": -84.39}])
    lists = {"sam": current_list("sam")}
    assert SAM_EXCLUSIONS.run(okafor, RunContext(date(2099, 12, 30), exclusion_lists=lists)).outcome == "needs_review"
    after = SAM_EXCLUSIONS.run(okafor, RunContext(date(2100, 1, 2), exclusion_lists=lists))
    assert after.outcome == "pass"
    assert [h["reason"] for h in after.evidence["ruled_out"]] == ["exclusion ended on 2099-12-31"]


def _checked_on_both_lists() -> Any:
    p = us_practitioner(npi="1000000137", first_name="Nora", last_name="Quinn")
    check_exclusions(p)
    _sam(p)
    return p


def _due_sources(p: Any) -> list[tuple[str, str]]:
    return [(i.source, i.reason) for i in due_items(load_facts([p.id])[p.id], today()) if i.source != "npi_registry"
            and i.source != "state_board"]


def test_a_new_sam_extract_makes_only_the_sam_check_due(session: Any, sam: None, tmp_path: Path) -> None:
    p = _checked_on_both_lists()
    assert _due_sources(p) == []
    import_sam_list(_rewritten_sample(tmp_path / "later.csv"), date(2026, 12, 1))
    assert _due_sources(p) == [(CODE, "a newer SAM.gov exclusions list was imported")]


def test_a_new_leie_makes_only_the_leie_check_due(session: Any, sam: None) -> None:
    p = _checked_on_both_lists()
    import_exclusion_list(DATA / "leie_update.csv", date(2026, 12, 1))
    assert _due_sources(p) == [("exclusion_list", "a newer exclusion list was imported")]


def test_a_fail_on_either_list_suspends_and_each_list_must_be_checked(session: Any, sam: None) -> None:
    p = us_practitioner(npi="1000000137", first_name="Nora", last_name="Quinn")
    check_exclusions(p)
    facts = load_facts([p.id])[p.id]
    assert facts.last_exclusion_check_on is None, "not screened until the SAM list is checked too"
    assert [s.source for s in facts.screens] == ["exclusion_list", CODE]
    record_check(p, source=CODE, outcome="fail", note="NPI listed")
    assert compute_status(load_facts([p.id])[p.id], today()) == "suspended"


def test_without_a_sam_list_sam_is_not_run_nor_required(session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv", date(2026, 11, 1))
    p = us_practitioner(npi="1000000137", first_name="Nora", last_name="Quinn")
    check_exclusions(p)
    facts = load_facts([p.id])[p.id]
    assert [s.source for s in facts.screens] == ["exclusion_list"] and facts.last_exclusion_check_on == today()
    plan = plan_run(today())
    assert all(i.source != CODE for w in plan.work for i in w.automated)
    assert plan.skipped == ("SAM.gov exclusions: skipped, no list imported yet "
                            "(flask exclusions import --source sam FILE)",)
    with pytest.raises(InvalidParameter, match="No SAM.gov exclusions list has been imported"):
        _sam(p)
    assert session.scalar(select(VerificationCheck.id).where(VerificationCheck.source == CODE)) is None


def test_the_runner_runs_both_lists(session: Any, sam: None) -> None:
    p = us_practitioner(npi=None, first_name="Nora", last_name="Quinn")
    plan = plan_run(today())
    [work] = [w for w in plan.work if w.practitioner_id == p.id]
    assert {i.source for i in work.automated} == {"exclusion_list", CODE}
    assert plan.skipped == ()
    summary = RunSummary()
    run_batch([work], None, summary)  # type: ignore[arg-type]  # no NPI: the registry is never called
    assert summary.outcomes == {("exclusion_list", "pass"): 1, (CODE, "pass"): 1}
    assert load_facts([p.id])[p.id].last_exclusion_check_on == today()

"""Monitoring windows: after the decision, each required credential is re-checked at its primary source in time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from directory.vetting.due import DueItem, due_items
from directory.vetting.status import (
    DEFAULT_POLICY,
    CredentialFacts,
    VettingFacts,
    VettingPolicy,
    compute_status,
    monitoring_days,
    monitoring_windows,
    verified_since,
)

TODAY = date(2026, 11, 25)


def _ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _facts(licence_age: int = 10, npi_age: int = 10, decided_age: int = 400, licence_source: str = "state_board",
           npi_source: str = "npi_registry") -> VettingFacts:
    """Return a US practitioner decided ``decided_age`` days ago whose latest passes are the given ages."""
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=700), _ago(licence_age), "pass",
                              passed_on=(_ago(decided_age),), ref=1, last_checked_on=_ago(licence_age),
                              last_pass_source=licence_source)
    npi = CredentialFacts("npi", None, _ago(npi_age), "pass", passed_on=(_ago(decided_age),), ref=2,
                          last_checked_on=_ago(npi_age), last_pass_source=npi_source)
    return VettingFacts("US", (licence, npi), last_exclusion_check_on=_ago(3), last_exclusion_outcome="pass")


def _due(facts: VettingFacts, policy: VettingPolicy = DEFAULT_POLICY) -> list[DueItem]:
    return [i for i in due_items(facts, TODAY, policy) if i.credential_ref is not None]


def test_the_default_windows_are_monthly_for_automated_and_yearly_for_manual_sources() -> None:
    policy = VettingPolicy()
    assert monitoring_days(policy, "npi_registry") == 30
    assert {monitoring_days(policy, s) for s in ("state_board", "certification_body", "document", "manual")} == {365}
    assert monitoring_days(policy, "exclusion_list") == 31, "the exclusion list keeps its own setting"
    assert monitoring_days(VettingPolicy(monitoring=monitoring_windows(7, 90)), "npi_registry") == 7


def test_a_pass_20_days_ago_is_verified_and_nothing_is_due() -> None:
    facts = _facts(npi_age=20)
    assert compute_status(facts, TODAY) == "verified"
    assert _due(facts) == []


def test_an_automated_recheck_is_queued_a_week_ahead_without_touching_the_status() -> None:
    assert [i.source for i in _due(_facts(npi_age=22))] == []
    facts = _facts(npi_age=28)
    [item] = _due(facts)
    assert (item.source, item.credential_ref, item.automated, item.since) == ("npi_registry", 2, True, _ago(5))
    assert item.due_by == TODAY + timedelta(days=2), "the window's last day"
    assert "due by 2026-11-27" in item.reason
    # The daily run re-checks from day 23 on: a run that keeps up never shows the owner "expiring".
    assert compute_status(facts, TODAY) == "verified"


@pytest.mark.parametrize(("age", "status"), [(23, "verified"), (28, "verified"), (29, "expiring"),
                                             (30, "expiring"), (31, "lapsed")])
def test_an_automated_window_shows_expiring_only_when_the_run_fell_behind(age: int, status: str) -> None:
    facts = _facts(npi_age=age)
    assert compute_status(facts, TODAY) == status
    assert [i.source for i in _due(facts)] == ["npi_registry"], "still queued, lapsed or not"


@pytest.mark.parametrize(("age", "due", "status"), [(319, False, "verified"), (320, True, "verified"),
                                                    (334, True, "verified"), (335, True, "expiring"),
                                                    (340, True, "expiring"), (365, True, "expiring"),
                                                    (366, True, "lapsed")])
def test_a_manual_licence_check_is_queued_45_days_ahead_and_expiring_30_days_ahead(age: int, due: bool, status: str) -> None:
    facts = _facts(licence_age=age, decided_age=age + 5)
    assert compute_status(facts, TODAY) == status
    items = _due(facts)
    assert [(i.source, i.automated) for i in items] == ([("state_board", False)] if due else [])


def test_the_window_of_the_source_that_passed_applies() -> None:
    # An NPI an admin confirmed by hand (registry down) is good for the manual window.
    assert compute_status(_facts(npi_age=100, npi_source="manual"), TODAY) == "verified"
    assert compute_status(_facts(licence_age=40, licence_source="npi_registry"), TODAY) == "lapsed"


def test_monitoring_counts_from_the_decision_when_it_is_later_than_the_pass() -> None:
    # The NCQA rule accepted an NPI pass 100 days old at a decision made 5 days ago: not stale the next day.
    npi = CredentialFacts("npi", None, _ago(105), "pass", last_pass_source="npi_registry", ref=2)
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=700), _ago(5), "pass",
                              last_pass_source="state_board", ref=1)
    facts = VettingFacts("US", (licence, npi), last_exclusion_check_on=_ago(3), last_exclusion_outcome="pass")
    assert compute_status(facts, TODAY) == "verified"
    assert compute_status(facts, TODAY + timedelta(days=26)) == "lapsed", "the exclusion list lapsed by then"


def test_the_120_day_rule_for_the_initial_decision_is_unchanged() -> None:
    def initial(gap: int) -> VettingFacts:
        licence = CredentialFacts("state_licence", None, _ago(5 + gap), "pass", last_pass_source="state_board")
        npi = CredentialFacts("npi", None, _ago(5), "pass", last_pass_source="npi_registry")
        return VettingFacts("US", (licence, npi), last_exclusion_check_on=_ago(3), last_exclusion_outcome="pass")

    assert compute_status(initial(120), TODAY) == "verified"
    assert compute_status(initial(121), TODAY) == "pending"


def test_optional_credentials_are_not_monitored() -> None:
    insurance = CredentialFacts("insurance", None, _ago(500), "pass", last_pass_source="document", ref=3)
    base = _facts()
    facts = VettingFacts("US", (*base.credentials, insurance), last_exclusion_check_on=_ago(3),
                         last_exclusion_outcome="pass")
    assert compute_status(facts, TODAY) == "verified"
    assert _due(facts) == []


def test_the_windows_and_leads_are_configurable() -> None:
    policy = VettingPolicy(monitoring=monitoring_windows(automated_days=14, manual_days=180))
    assert compute_status(_facts(npi_age=15), TODAY, policy) == "lapsed"
    assert [i.source for i in _due(_facts(npi_age=7), policy)] == ["npi_registry"]
    assert compute_status(_facts(licence_age=181, decided_age=190), TODAY, policy) == "lapsed"


@pytest.mark.parametrize(("age", "due"), [(23, False), (24, True)])
def test_the_exclusion_list_goes_through_the_same_queue_lead(age: int, due: bool) -> None:
    facts = VettingFacts("US", _facts().credentials, last_exclusion_check_on=_ago(age), last_exclusion_outcome="pass")
    items = [i for i in due_items(facts, TODAY) if i.source == "exclusion_list"]
    assert bool(items) is due


def test_a_recheck_of_one_credential_never_extends_anothers_window() -> None:
    # The board re-check 5 days ago makes a new decision, but the NPI itself was last confirmed 31 days ago.
    assert compute_status(_facts(licence_age=5, npi_age=31, decided_age=400), TODAY) == "lapsed"
    assert compute_status(_facts(licence_age=5, npi_age=31, decided_age=20), TODAY) == "verified", \
        "monitoring starts at the first decision of the run"


def test_a_gap_in_monitoring_restarts_verified_since() -> None:
    monthly = tuple(_ago(d) for d in range(400, 200, -30))  # 400, 370, ..., 220 days ago; then nothing until 10
    npi = CredentialFacts("npi", None, _ago(10), "pass", passed_on=monthly, last_pass_source="npi_registry")
    licence = CredentialFacts("state_licence", None, _ago(100), "pass", passed_on=(_ago(405),),
                              last_pass_source="state_board")
    facts = VettingFacts("US", (licence, npi), last_exclusion_check_on=_ago(3), last_exclusion_outcome="pass",
                         exclusion_passed_on=tuple(_ago(d) for d in range(403, 0, -25)))
    assert compute_status(facts, TODAY) == "verified"
    assert verified_since(facts, TODAY) == _ago(10), "lapsed from 190 days ago until the re-check 10 days ago"
    unbroken = replace(npi, passed_on=tuple(_ago(d) for d in range(400, 0, -30)))
    assert verified_since(replace(facts, credentials=(licence, unbroken)), TODAY) == _ago(400)


def test_a_pass_on_the_day_of_a_failed_check_still_has_a_monitoring_start() -> None:
    # The failed check and the pass that cleared it share a day: the run's start falls back to the decision.
    licence = CredentialFacts("state_licence", None, _ago(5), "pass", last_blocked_on=_ago(5),
                              last_pass_source="state_board", ref=1)
    npi = CredentialFacts("npi", None, _ago(5), "pass", last_blocked_on=_ago(5), last_pass_source="npi_registry", ref=2)
    facts = VettingFacts("US", (licence, npi), last_exclusion_check_on=_ago(3), last_exclusion_outcome="pass")
    assert compute_status(facts, TODAY) == "verified"
    assert due_items(facts, TODAY) == []

"""The status rules: each status reached from the facts that should produce it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from directory.vetting.status import (
    CredentialFacts,
    VettingFacts,
    VettingPolicy,
    add_months,
    compute_status,
    verified_since,
)

TODAY = date(2026, 11, 25)


def _facts(**kw: object) -> VettingFacts:
    """Return a verified US practitioner's facts, with overrides."""
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), TODAY - timedelta(days=30))
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=20))  # inside the registry's monthly window
    base: dict[str, object] = {"country": "US", "credentials": (licence, npi),
                               "last_exclusion_check_on": TODAY - timedelta(days=3), "last_exclusion_outcome": "pass"}
    base.update(kw)
    return VettingFacts(**base)  # type: ignore[arg-type]


def test_verified_when_every_required_credential_passed_recently() -> None:
    assert compute_status(_facts(), TODAY) == "verified"


def test_unverified_without_credentials() -> None:
    assert compute_status(_facts(credentials=()), TODAY) == "unverified"


def test_pending_when_a_required_group_is_missing() -> None:
    licence_only = (CredentialFacts("state_licence", None, TODAY),)
    assert compute_status(_facts(credentials=licence_only), TODAY) == "pending"


def test_pending_when_a_credential_was_never_checked() -> None:
    creds = (CredentialFacts("state_licence", None, None), CredentialFacts("npi", None, TODAY))
    assert compute_status(_facts(credentials=creds), TODAY) == "pending"


def test_a_name_only_exclusion_match_changes_nothing_until_an_admin_decides() -> None:
    # A name alone proves nothing: the latest check found no NPI match, so the practitioner stays verified.
    assert compute_status(_facts(last_exclusion_outcome="needs_review"), TODAY) == "verified"
    stale = _facts(last_exclusion_outcome="needs_review", last_exclusion_check_on=TODAY - timedelta(days=32))
    assert compute_status(stale, TODAY) == "lapsed", "a name match does not stop the monthly re-check counting"


def test_only_an_npi_match_or_a_confirmation_suspends() -> None:
    assert compute_status(_facts(last_exclusion_outcome="fail"), TODAY) == "suspended"


@pytest.mark.parametrize("days_left", [0, 1, 30])
def test_expiring_when_licence_expires_within_30_days(days_left: int) -> None:
    creds = (CredentialFacts("state_licence", TODAY + timedelta(days=days_left), TODAY), CredentialFacts("npi", None, TODAY))
    assert compute_status(_facts(credentials=creds), TODAY) == "expiring"


def test_lapsed_when_licence_expired() -> None:
    creds = (CredentialFacts("state_licence", TODAY - timedelta(days=1), TODAY), CredentialFacts("npi", None, TODAY))
    assert compute_status(_facts(credentials=creds), TODAY) == "lapsed"


def test_lapsed_when_exclusion_check_older_than_a_month() -> None:
    assert compute_status(_facts(last_exclusion_check_on=TODAY - timedelta(days=32)), TODAY) == "lapsed"


def test_suspended_on_exclusion_hit_or_by_admin() -> None:
    assert compute_status(_facts(last_exclusion_outcome="fail"), TODAY) == "suspended"
    assert compute_status(_facts(suspended=True), TODAY) == "suspended"


def test_outside_the_us_no_npi_is_required() -> None:
    creds = (CredentialFacts("foreign_registration", None, TODAY - timedelta(days=10)),)
    assert compute_status(_facts(country="FR", credentials=creds), TODAY) == "verified"


# --- the verification decision: primary-source checks at most 120 days old when it is made (NCQA)

def _us(licence_pass: date | None, npi_pass: date | None, **kw: object) -> VettingFacts:
    """Return US facts with one licence and one NPI passed on the given days."""
    creds = (CredentialFacts("state_licence", TODAY + timedelta(days=400), licence_pass),
             CredentialFacts("npi", None, npi_pass))
    return _facts(credentials=creds, **kw)


@pytest.mark.parametrize(("gap", "status"), [(0, "verified"), (120, "verified"), (121, "pending")])
def test_a_decision_needs_every_pass_within_120_days_of_it(gap: int, status: str) -> None:
    facts = _us(TODAY - timedelta(days=5 + gap), TODAY - timedelta(days=5))
    assert compute_status(facts, TODAY) == status


def _monitored(decided: date, licence_decided: date | None = None) -> VettingFacts:
    """Return US facts decided on ``decided`` and monitored since: licence re-checked yearly, NPI monthly."""
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), TODAY - timedelta(days=200),
                              passed_on=(licence_decided or decided,))
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=5), passed_on=(decided,))
    return _facts(credentials=(licence, npi))


def test_an_older_decision_still_holds_inside_its_36_month_cycle() -> None:
    two_years = TODAY - timedelta(days=730)
    assert compute_status(_monitored(two_years + timedelta(days=10), two_years), TODAY) == "verified"


def test_a_recheck_of_one_credential_does_not_undo_the_decision() -> None:
    old = TODAY - timedelta(days=700)
    # Re-checked at the board 300 days ago (inside its yearly window, too late for a new decision).
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), TODAY - timedelta(days=300),
                              passed_on=(old,))
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=2), passed_on=(old,))
    assert compute_status(_facts(credentials=(licence, npi)), TODAY) == "verified"


def test_lapsed_once_the_36_month_cycle_is_over() -> None:
    decided = add_months(TODAY, -36) - timedelta(days=1)
    assert compute_status(_us(decided, decided), TODAY) == "lapsed"
    assert compute_status(_monitored(decided), TODAY) == "lapsed", "monitoring does not extend the cycle"


def test_expiring_when_the_cycle_ends_within_30_days() -> None:
    decided = add_months(TODAY, -36) + timedelta(days=20)
    assert compute_status(_monitored(decided), TODAY) == "expiring"


def test_verified_on_the_last_day_of_the_cycle_is_expiring_not_lapsed() -> None:
    decided = add_months(TODAY, -36)
    assert compute_status(_monitored(decided), TODAY) == "expiring"


# The exclusion list is an automated source: expiring only in the last days, when the daily run fell behind.
@pytest.mark.parametrize(("age", "status"), [(29, "verified"), (30, "expiring"), (31, "expiring"), (32, "lapsed")])
def test_exclusion_check_window_is_31_days(age: int, status: str) -> None:
    assert compute_status(_facts(last_exclusion_check_on=TODAY - timedelta(days=age)), TODAY) == status


def test_pending_until_the_exclusion_list_was_checked_once() -> None:
    assert compute_status(_facts(last_exclusion_check_on=None, last_exclusion_outcome=None), TODAY) == "pending"


@pytest.mark.parametrize("outcome", ["fail", "needs_review"])
def test_pending_when_the_latest_check_of_a_required_credential_did_not_pass(outcome: str) -> None:
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), TODAY - timedelta(days=20), outcome)
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=20))
    assert compute_status(_facts(credentials=(licence, npi)), TODAY) == "pending"


def test_a_pass_after_a_failed_check_verifies_again() -> None:
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), TODAY - timedelta(days=1), "pass")
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=20), "pass")
    assert compute_status(_facts(credentials=(licence, npi)), TODAY) == "verified"


@pytest.mark.parametrize("days_left", [31, 90])
def test_not_expiring_when_expiry_is_more_than_30_days_away(days_left: int) -> None:
    creds = (CredentialFacts("state_licence", TODAY + timedelta(days=days_left), TODAY), CredentialFacts("npi", None, TODAY))
    assert compute_status(_facts(credentials=creds), TODAY) == "verified"


def test_the_best_of_several_licences_counts() -> None:
    expired = CredentialFacts("state_licence", TODAY - timedelta(days=10), TODAY - timedelta(days=400))
    renewed = CredentialFacts("state_licence", TODAY + timedelta(days=700), TODAY - timedelta(days=5))
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=5))
    assert compute_status(_facts(credentials=(expired, renewed, npi)), TODAY) == "verified"


def test_each_state_practised_in_needs_its_own_licence() -> None:
    ma = CredentialFacts("state_licence", None, TODAY - timedelta(days=5), jurisdiction="MA")
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=5))
    assert compute_status(_facts(credentials=(ma, npi), regions=("MA",)), TODAY) == "verified"
    assert compute_status(_facts(credentials=(ma, npi), regions=("MA", "NY")), TODAY) == "pending"
    ny = CredentialFacts("state_licence", None, TODAY - timedelta(days=5), jurisdiction="ny")
    assert compute_status(_facts(credentials=(ma, ny, npi), regions=("MA", "NY")), TODAY) == "verified"


def test_a_national_licence_counts_in_every_state() -> None:
    national = CredentialFacts("national_licence", None, TODAY - timedelta(days=5), jurisdiction="US")
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=5))
    assert compute_status(_facts(credentials=(national, npi), regions=("MA", "NY")), TODAY) == "verified"


def test_certification_and_insurance_are_not_required() -> None:
    cert = CredentialFacts("certification", None, None)
    creds = (*_facts().credentials, cert, CredentialFacts("insurance", TODAY - timedelta(days=3), None))
    assert compute_status(_facts(credentials=creds), TODAY) == "verified"


def test_suspension_wins_over_everything() -> None:
    assert compute_status(_facts(credentials=(), suspended=True), TODAY) == "suspended"
    assert compute_status(_facts(credentials=(), last_exclusion_outcome="fail"), TODAY) == "suspended"


def test_policy_windows_are_configurable() -> None:
    strict = VettingPolicy(primary_source_days=30, exclusion_days=7)
    assert compute_status(_us(TODAY - timedelta(days=40), TODAY), TODAY, strict) == "pending"
    assert compute_status(_facts(last_exclusion_check_on=TODAY - timedelta(days=8)), TODAY, strict) == "lapsed"


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2026, 11, 25), 36, date(2029, 11, 25)), (date(2026, 11, 25), -36, date(2023, 11, 25)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
])
def test_add_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_a_practitioners_life_goes_through_every_status() -> None:
    """Each step changes one fact, as a real history would, and the status follows."""
    day0 = TODAY
    licence = CredentialFacts("state_licence", day0 + timedelta(days=60), None, submitted_on=day0)
    npi = CredentialFacts("npi", None, None)
    steps: list[tuple[VettingFacts, date, str]] = []
    steps.append((VettingFacts("US"), day0, "unverified"))
    facts = VettingFacts("US", credentials=(licence, npi))
    steps.append((facts, day0, "pending"))
    checked = VettingFacts("US", credentials=(replace(licence, last_pass_on=day0, last_outcome="pass"),
                                              replace(npi, last_pass_on=day0, last_outcome="pass")),
                           last_exclusion_check_on=day0, last_exclusion_outcome="pass")
    steps.append((checked, day0, "verified"))

    def run_on(day: date) -> VettingFacts:
        """The daily run re-checks the NPI and the exclusion list on ``day``."""
        npi_on = replace(checked.credentials[1], last_pass_on=day)
        return replace(checked, credentials=(checked.credentials[0], npi_on), last_exclusion_check_on=day)

    steps.append((run_on(day0 + timedelta(days=30)), day0 + timedelta(days=31), "expiring"))
    steps.append((run_on(day0 + timedelta(days=60)), day0 + timedelta(days=61), "lapsed"))
    renewed = replace(run_on(day0 + timedelta(days=62)),
                      credentials=(replace(licence, valid_until=day0 + timedelta(days=800),
                                           last_pass_on=day0 + timedelta(days=62), last_outcome="pass"),
                                   replace(npi, last_pass_on=day0 + timedelta(days=62), last_outcome="pass")))
    steps.append((renewed, day0 + timedelta(days=62), "verified"))
    steps.append((replace(renewed, last_exclusion_outcome="needs_review"), day0 + timedelta(days=62), "verified"))
    steps.append((replace(renewed, last_exclusion_outcome="fail"), day0 + timedelta(days=62), "suspended"))
    steps.append((replace(renewed, suspended=True), day0 + timedelta(days=62), "suspended"))
    assert [compute_status(f, d) for f, d, _ in steps] == [s for _, _, s in steps]


# --- the validity window: a credential counts only from its valid-from to its valid-until day

def _licence_valid(valid_from: date | None, valid_until: date | None, **kw: object) -> VettingFacts:
    """Return US facts whose licence (passed a month ago) is valid from ``valid_from`` to ``valid_until``."""
    licence = CredentialFacts("state_licence", valid_until, TODAY - timedelta(days=30), valid_from=valid_from)
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=20))  # re-checked monthly
    return _facts(credentials=(licence, npi), **kw)


@pytest.mark.parametrize(("starts_in", "status"), [(1, "pending"), (0, "verified"), (-1, "verified")])
def test_a_licence_counts_from_its_valid_from_day(starts_in: int, status: str) -> None:
    facts = _licence_valid(TODAY + timedelta(days=starts_in), TODAY + timedelta(days=700))
    assert compute_status(facts, TODAY) == status


@pytest.mark.parametrize(("ends_in", "status"), [(1, "expiring"), (0, "expiring"), (-1, "lapsed")])
def test_a_licence_counts_up_to_its_valid_until_day(ends_in: int, status: str) -> None:
    facts = _licence_valid(TODAY - timedelta(days=700), TODAY + timedelta(days=ends_in))
    assert compute_status(facts, TODAY) == status


def test_a_future_licence_never_verifies_even_when_checked() -> None:
    # The example: a licence valid 2027-07-18 - 2029-07-17, passed at the board.
    facts = _licence_valid(date(2027, 7, 18), date(2029, 7, 17))
    assert compute_status(facts, TODAY) == "pending"
    assert compute_status(facts, date(2027, 7, 18)) != "pending"


def test_the_licence_in_force_counts_before_a_renewal_that_starts_later() -> None:
    current = CredentialFacts("state_licence", TODAY + timedelta(days=100), TODAY - timedelta(days=30),
                              valid_from=TODAY - timedelta(days=600))
    renewal = CredentialFacts("state_licence", TODAY + timedelta(days=900), TODAY - timedelta(days=2),
                              valid_from=TODAY + timedelta(days=100))
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=20))
    assert compute_status(_facts(credentials=(renewal, current, npi)), TODAY) == "verified"


# --- verified since: the first day of the current unbroken verified run, from the dated history

def _run(licence_passes: tuple[date, ...], npi_passes: tuple[date, ...], exclusion: tuple[date, ...] = (),
         **kw: object) -> VettingFacts:
    """Return US facts with the given pass days, and exclusion-list passes every 30 days up to today by default.

    After its latest given pass the NPI is re-checked every 30 days, as the daily run keeps it monitored.
    """
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), max(licence_passes),
                              passed_on=licence_passes, **kw)  # type: ignore[arg-type]
    rechecks = tuple(max(npi_passes) + timedelta(days=30 * n) for n in range(1, 60)
                     if max(npi_passes) + timedelta(days=30 * n) <= TODAY)
    npi_passes = npi_passes + rechecks
    npi = CredentialFacts("npi", None, max(npi_passes), passed_on=npi_passes)
    monthly = exclusion or tuple(TODAY - timedelta(days=30 * n) for n in range(40))
    return _facts(credentials=(licence, npi), exclusion_passed_on=monthly, last_exclusion_check_on=max(monthly))


def _ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def test_verified_since_is_the_decision_day_the_last_required_check_completed() -> None:
    assert verified_since(_run((_ago(300),), (_ago(290),)), TODAY) == _ago(290)


def test_verified_since_is_none_unless_verified() -> None:
    assert verified_since(_facts(last_exclusion_outcome="fail"), TODAY) is None
    assert verified_since(_facts(credentials=()), TODAY) is None
    assert verified_since(_facts(suspended=True), TODAY) is None


def test_a_name_only_match_awaiting_review_keeps_the_verified_since_day() -> None:
    assert verified_since(_facts(last_exclusion_outcome="needs_review"), TODAY) == verified_since(_facts(), TODAY)


def test_rechecks_inside_the_cycle_keep_the_run_and_its_first_day() -> None:
    # Each credential re-checked inside its monitoring window: the licence yearly, the NPI monthly.
    facts = _run((_ago(1000), _ago(660), _ago(320), _ago(10)), tuple(_ago(d) for d in range(995, 0, -30)))
    assert compute_status(facts, TODAY) == "verified"
    assert verified_since(facts, TODAY) == _ago(995)


def test_a_decision_after_the_previous_cycle_ran_out_starts_a_new_run() -> None:
    # The 2021 decision's 36 months were over before the next one: the run restarts.
    facts = _run((date(2021, 3, 1), _ago(20)), (date(2021, 3, 2), _ago(15)))
    assert verified_since(facts, TODAY) == _ago(15)


def test_a_failed_check_breaks_the_run() -> None:
    facts = _run((_ago(600), _ago(40)), (_ago(600), _ago(35)), last_blocked_on=_ago(100))
    assert compute_status(facts, TODAY) == "verified"
    assert verified_since(facts, TODAY) == _ago(35)


def test_a_month_without_an_exclusion_check_breaks_the_run() -> None:
    checks = (_ago(400), _ago(370), _ago(90), _ago(60), _ago(30), _ago(1))
    facts = _run((_ago(410), _ago(100)), (_ago(405),), exclusion=checks)  # the licence re-checked yearly
    assert verified_since(facts, TODAY) == _ago(90), "lapsed between day 370 and day 90 before today"


def test_verified_since_is_never_before_the_licence_came_into_force_or_a_reinstatement() -> None:
    facts = _run((_ago(300),), (_ago(290),), valid_from=_ago(200))
    assert verified_since(facts, TODAY) == _ago(200)
    assert verified_since(replace(facts, last_reinstated_on=_ago(50)), TODAY) == _ago(50)

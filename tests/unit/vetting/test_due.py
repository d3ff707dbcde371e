"""What a scheduled run finds due, and which expiry alert is owed on a given day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from directory.vetting.due import alert_threshold, due_items
from directory.vetting.status import CredentialFacts, ScreenFacts, VettingFacts, add_months

TODAY = date(2026, 11, 25)
RECENT = TODAY - timedelta(days=10)


def _licence(**kw: object) -> CredentialFacts:
    values: dict[str, object] = {"kind": "state_licence", "valid_until": TODAY + timedelta(days=400),
                                 "last_pass_on": RECENT, "last_outcome": "pass", "ref": 1,
                                 "submitted_on": TODAY - timedelta(days=40), "last_checked_on": RECENT}
    values.update(kw)
    return CredentialFacts(**values)  # type: ignore[arg-type]


def _npi(**kw: object) -> CredentialFacts:
    return _licence(kind="npi", valid_until=None, ref=2, **kw)


def _facts(*credentials: CredentialFacts, **kw: object) -> VettingFacts:
    values: dict[str, object] = {"country": "US", "credentials": credentials or (_licence(), _npi()),
                                 "last_exclusion_check_on": RECENT, "last_exclusion_outcome": "pass"}
    values.update(kw)
    return VettingFacts(**values)  # type: ignore[arg-type]


def _summary(facts: VettingFacts, today: date = TODAY) -> list[tuple[str, int | None, bool]]:
    return [(i.source, i.credential_ref, i.automated) for i in due_items(facts, today)]


def test_nothing_is_due_for_a_freshly_verified_practitioner() -> None:
    assert due_items(_facts(), TODAY) == []


def test_nothing_is_due_without_credentials() -> None:
    assert due_items(VettingFacts("US"), TODAY) == []


def test_never_checked_credentials_are_due_npi_automated_licence_manual() -> None:
    facts = _facts(_licence(last_pass_on=None, last_outcome=None), _npi(last_pass_on=None, last_outcome=None))
    assert sorted(_summary(facts)) == [("npi_registry", 2, True), ("state_board", 1, False)]
    assert {i.reason for i in due_items(facts, TODAY)} == {"never checked"}


def test_a_failed_or_questioned_check_goes_to_an_admin() -> None:
    items = due_items(_facts(_licence(), _npi(last_outcome="fail")), TODAY)
    assert [(i.source, i.automated, i.reason) for i in items] == [("npi_registry", False, "last check: fail")]


def test_an_expired_credential_needs_a_renewal_from_a_person() -> None:
    expired = _licence(valid_until=TODAY - timedelta(days=2))
    [item] = due_items(_facts(expired, _npi()), TODAY)
    assert (item.source, item.automated, item.since) == ("state_board", False, TODAY - timedelta(days=2))
    assert "renewed" in item.reason


def test_a_credential_expiring_within_30_days_is_due() -> None:
    [item] = due_items(_facts(_licence(valid_until=TODAY + timedelta(days=20)), _npi()), TODAY)
    assert item.reason == f"expires on {TODAY + timedelta(days=20)}"


def test_stale_passes_without_a_current_decision_are_due_again() -> None:
    old, older = TODAY - timedelta(days=200), TODAY - timedelta(days=400)
    facts = _facts(_licence(last_pass_on=older), _npi(last_pass_on=old))
    assert sorted(_summary(facts)) == [("npi_registry", 2, True), ("state_board", 1, False)]


def test_everything_is_due_when_the_36_month_cycle_ends_within_30_days() -> None:
    decided = add_months(TODAY, -36) + timedelta(days=10)
    facts = _facts(_licence(last_pass_on=decided), _npi(last_pass_on=decided))
    reasons = {i.reason for i in due_items(facts, TODAY)}
    assert reasons == {f"re-verification due by {add_months(decided, 36)}"}
    assert len(due_items(facts, TODAY)) == 2


@pytest.mark.parametrize(("age", "due"), [(23, False), (24, True), (40, True)])
def test_the_exclusion_list_is_rechecked_a_week_before_its_monthly_window_closes(age: int, due: bool) -> None:
    facts = _facts(last_exclusion_check_on=TODAY - timedelta(days=age))
    assert bool(due_items(facts, TODAY)) is due


def test_a_newly_imported_exclusion_list_makes_everyone_due() -> None:
    [item] = due_items(_facts(exclusion_list_newer=True), TODAY)
    assert (item.source, item.automated, item.reason) == ("exclusion_list", True, "a newer exclusion list was imported")


def test_an_exclusion_name_match_waits_for_an_admin() -> None:
    [item] = due_items(_facts(last_exclusion_outcome="needs_review"), TODAY)
    assert (item.source, item.automated) == ("exclusion_list", False)


def test_never_checked_exclusion_list_waits_since_the_first_submission() -> None:
    [item] = due_items(_facts(last_exclusion_check_on=None, last_exclusion_outcome=None), TODAY)
    assert (item.reason, item.since, item.automated) == ("never checked", TODAY - timedelta(days=40), True)


def test_items_come_oldest_first() -> None:
    facts = _facts(_licence(last_pass_on=None, last_outcome=None, submitted_on=TODAY - timedelta(days=3)),
                   _npi(last_pass_on=None, last_outcome=None, submitted_on=TODAY - timedelta(days=9)),
                   last_exclusion_check_on=None, last_exclusion_outcome=None)
    items = due_items(facts, TODAY)
    assert [(i.source, i.since) for i in items] == [("exclusion_list", TODAY - timedelta(days=9)),
                                                    ("npi_registry", TODAY - timedelta(days=9)),
                                                    ("state_board", TODAY - timedelta(days=3))]


@pytest.mark.parametrize(("days_left", "alert"), [
    (120, None), (91, None), (90, 90), (75, 90), (60, 60), (31, 60), (30, 30), (15, 30), (14, 14), (8, 14),
    (7, 7), (1, 7), (0, 0), (-1, None),
])
def test_expiry_alerts_at_90_60_30_14_7_and_0_days(days_left: int, alert: int | None) -> None:
    assert alert_threshold(TODAY + timedelta(days=days_left), TODAY) == alert


def test_no_alert_for_credentials_without_expiry() -> None:
    assert alert_threshold(None, TODAY) is None


def test_a_list_imported_for_the_first_time_is_due_from_its_import_not_from_the_oldest_credential() -> None:
    leie = ScreenFacts("exclusion_list", last_check_on=RECENT, last_outcome="pass", last_pass_on=RECENT)
    sam = ScreenFacts("sam_exclusions", list_imported_on=TODAY - timedelta(days=1))
    facts = _facts(_licence(), last_exclusion_check_on=RECENT, last_exclusion_outcome="pass", screens=(leie, sam))
    due = [(i.source, i.reason, i.since) for i in due_items(facts, TODAY) if i.source == "sam_exclusions"]
    assert due == [("sam_exclusions", "never checked", TODAY - timedelta(days=1))], "not since the licence (40 days)"

"""The status rules: each status reached from the facts that should produce it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from directory.vetting.status import CredentialFacts, VettingFacts, compute_status

TODAY = date(2026, 11, 25)


def _facts(**kw: object) -> VettingFacts:
    """Return a verified US practitioner's facts, with overrides."""
    licence = CredentialFacts("state_licence", TODAY + timedelta(days=400), TODAY - timedelta(days=30))
    npi = CredentialFacts("npi", None, TODAY - timedelta(days=30))
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


def test_pending_while_an_exclusion_name_match_awaits_review() -> None:
    assert compute_status(_facts(last_exclusion_outcome="needs_review"), TODAY) == "pending"


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

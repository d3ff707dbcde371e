"""Demo data: `flask bootstrap` seeds one account per role and a referral in every state, through the services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from directory.accounts.models import User
from directory.extensions import db
from directory.models import Practitioner
from directory.referrals.demo import ACCOUNTS, _clinic_morning, seed_demo
from directory.referrals.lifecycle import STATES
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.numbers import practitioner_numbers
from tests import factories
from tests.support.web import post_form


@pytest.fixture
def bootstrapped(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run `flask bootstrap` on the empty test database with a small demo; return what it printed."""
    monkeypatch.setitem(app.config, "DEMO_PRACTITIONERS", 40)
    result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    return result.output


def _counts() -> dict[str, int]:
    """Return how many users, referrals and events there are."""
    return {model.__name__: db.session.scalar(select(func.count(model.id))) or 0
            for model in (User, Referral, ReferralEvent)}


def test_bootstrap_seeds_a_referral_in_every_state_and_a_few_requests(bootstrapped: str) -> None:
    states = db.session.scalars(select(Referral.state).where(Referral.kind == "referral")).all()
    assert set(states) == set(STATES)
    requests = db.session.scalars(select(Referral.state).where(Referral.kind == "request")).all()
    assert len(requests) >= 3


def test_every_demo_referral_has_its_history_and_believable_numbers(bootstrapped: str) -> None:
    for referral in db.session.scalars(select(Referral)):
        assert referral.events[0].to_state == "sent" and referral.events[-1].to_state == referral.state
    owner = db.session.scalar(select(User).where(User.email == ACCOUNTS[4].email))
    assert owner is not None and owner.practitioner_id is not None
    numbers = practitioner_numbers(owner.practitioner_id)
    assert numbers.received >= 9 and numbers.acceptance_rate is not None and 0 < numbers.acceptance_rate < 1
    assert numbers.median_first_answer is not None and numbers.median_first_answer.total_seconds() > 0


def test_patient_data_is_stored_as_ciphertext(bootstrapped: str) -> None:
    rows = db.session.execute(text("SELECT patient_name, patient_contact FROM referral")).all()
    plain = {(r.patient_name, r.patient_contact) for r in db.session.scalars(select(Referral))}
    assert rows and all(name.startswith("gAAAA") and contact.startswith("gAAAA") for name, contact in rows)
    assert not {value for row in rows for value in row} & {value for pair in plain for value in pair}
    assert any(name.endswith("(demo)") for name, _ in plain), "made-up patients say they are demo data"


def test_the_printed_table_lists_every_account(bootstrapped: str) -> None:
    for account in ACCOUNTS:
        line = next(line for line in bootstrapped.splitlines() if account.email in line)
        assert account.role in line and account.password in line


def test_each_demo_account_signs_in_with_its_printed_password(bootstrapped: str, client: Any) -> None:
    for account in ACCOUNTS:
        response = post_form(client, "/sign-in", {"email": account.email, "password": account.password})
        assert response.status_code == 303, (account.email, response.get_data(as_text=True)[:500])
        client.post("/sign-out", data={"csrf_token": _token(client)})


def _token(client: Any) -> str:
    """Return a CSRF token from a page of the signed-in session."""
    from tests.support.web import csrf_from

    return csrf_from(client.get("/account").get_data(as_text=True))


def test_the_roles_are_approved_as_their_real_counterparts_would_be(bootstrapped: str) -> None:
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.like("%@demo.meridian.example")))}
    for account in ACCOUNTS:
        user = users[account.email]
        assert user.role == account.role and user.email_confirmed_at is not None
        if account.role in ("doctor", "practitioner"):
            assert (user.approved_at is None) == (account.handle == "waiting")


def test_a_second_bootstrap_adds_nothing(app: Flask, bootstrapped: str) -> None:
    before = _counts()
    again = app.test_cli_runner().invoke(args=["bootstrap"])
    assert again.exit_code == 0, again.output
    assert _counts() == before
    assert ACCOUNTS[0].password in again.output, "the table is printed again for whoever lost it"
    assert seed_demo() is False


def test_seed_adds_the_demo_accounts_only_when_asked(app: Flask, session: Any) -> None:
    factories.practitioner(), factories.practitioner()
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["seed", "--practitioners", "0", "--no-reindex"])
    assert plain.exit_code == 0 and "Demo accounts" not in plain.output
    asked = runner.invoke(args=["seed", "--practitioners", "0", "--no-reindex", "--demo-accounts"])
    assert asked.exit_code == 0, asked.output
    assert "Demo accounts" in asked.output
    assert db.session.scalar(select(func.count(Referral.id))) == 14


def test_seed_says_why_when_there_is_no_profile_to_own(app: Flask, session: Any) -> None:
    result = app.test_cli_runner().invoke(args=["seed", "--practitioners", "0", "--no-reindex", "--demo-accounts"])
    assert result.exit_code == 0, result.output
    assert "no demo accounts: the demo needs 2 verified practitioners" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_production_never_gets_demo_data_or_demo_accounts(app: Flask, session: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo passwords are printed and in the README: in production they would be open doors.
    monkeypatch.setitem(app.config, "MERIDIAN_ENV", "production")
    monkeypatch.setitem(app.config, "DEMO_PRACTITIONERS", 40)
    result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert "Demo accounts" not in result.output
    refused = app.test_cli_runner().invoke(args=["seed", "--practitioners", "5", "--demo-accounts", "--no-reindex"])
    assert refused.exit_code != 0 and "never created in production" in refused.output
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert db.session.scalar(select(func.count(Practitioner.id))) == 0, "refused before seeding anything"


def test_bootstrap_signs_the_seeded_chain_heads_so_a_fresh_demo_can_be_re_verified(app: Flask, bootstrapped: str,
                                                                                   client: Any) -> None:
    assert "signed chain-head statement #1" in bootstrapped
    heads = client.get("/api/v1/verification/heads").get_json()
    statement = heads["statements"][0]["statement"]
    assert len(statement["heads"]) == db.session.scalar(
        select(func.count(func.distinct(text("practitioner_id")))).select_from(text("verification_check"))
        .where(text("practitioner_id IS NOT NULL")))


def test_demo_visits_are_booked_on_the_clinic_s_clock_before_they_are_recorded(bootstrapped: str) -> None:
    booked = db.session.scalars(select(Referral).where(Referral.scheduled_for.is_not(None))).all()
    assert len(booked) >= 5
    for referral in booked:
        zone = ZoneInfo(referral.scheduled_zone)
        local = referral.scheduled_for.replace(tzinfo=UTC).astimezone(zone)
        assert (local.hour, local.minute) == (10, 0), (referral, local)  # a morning at the clinic, not 03:32
        events = {e.to_state: e.occurred_at for e in referral.events}
        assert events["scheduled"] < referral.scheduled_for
        for after in ("attended", "no_show"):
            if after in events:  # a visit is recorded as taken place (or missed) only once its time has come
                assert referral.scheduled_for <= events[after], (referral, after)


@pytest.mark.parametrize(("by", "expected"), [
    (datetime(2026, 12, 5, 18, 0), datetime(2026, 12, 5, 10, 0)),  # 13:00 in Cambridge, MA: that morning
    (datetime(2026, 12, 5, 8, 0), datetime(2026, 12, 4, 10, 0)),   # 03:00 there: the morning before, not after
    (datetime(2026, 7, 5, 14, 0), datetime(2026, 7, 5, 10, 0)),    # summer time (EDT): 10:00 is 14:00 UTC
])
def test_a_demo_visit_is_the_last_clinic_morning_by_its_time(session: Any, by: datetime, expected: datetime) -> None:
    profile = factories.practitioner()  # in Cambridge, MA
    morning = _clinic_morning(profile, by)
    assert morning.replace(tzinfo=None) == expected and morning.tzinfo == ZoneInfo("America/New_York")

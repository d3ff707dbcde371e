"""CLI commands: seeding (validated, deterministic), bad configuration, search status."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory.clock import today, utcnow
from directory.config import PROJECT_ROOT
from directory.models import CardCache, Credential, Location, Practitioner, Review, VerificationCheck
from directory.vetting.chain import verify_chain
from directory.vetting.facts import load_facts
from directory.vetting.status import compute_status, verified_since
from tests import factories


@pytest.mark.parametrize("value", ["-1", "many", "1.5"])
def test_seed_rejects_bad_counts_with_exit_code_2(app: Flask, session: Any, value: str) -> None:
    result = app.test_cli_runner().invoke(args=["seed", "--practitioners", value])
    assert result.exit_code == 2
    assert "--practitioners" in result.output


def test_seed_is_deterministic_and_complete(app: Flask, session: Any) -> None:
    result = app.test_cli_runner().invoke(args=["seed", "--practitioners", "60", "--seed", "7", "--no-reindex"])
    assert result.exit_code == 0, result.output
    assert "seeded 60 practitioners" in result.output
    rows = session.execute(select(Practitioner.first_name, Practitioner.last_name, Practitioner.vetting_status)
                           .order_by(Practitioner.id)).all()
    assert len(rows) == 60
    assert session.scalar(select(func.count(Location.id))) >= 60
    assert session.scalar(select(func.count(Credential.id))) > 0
    assert session.scalar(select(func.count(Review.id))) > 0
    statuses = {r.vetting_status for r in rows}
    assert {"verified", "unverified"} <= statuses or len(statuses) >= 3
    assert "wrote 60 result cards" in result.output
    assert session.scalar(select(func.count(CardCache.practitioner_id))) == 60, "one card row per practitioner"

    again = app.test_cli_runner().invoke(args=["seed", "--practitioners", "60", "--seed", "7", "--no-reindex"])
    assert again.exit_code == 0
    rows_again = session.execute(select(Practitioner.first_name, Practitioner.last_name, Practitioner.vetting_status)
                                 .order_by(Practitioner.id)).all()
    assert rows_again[60:] == rows, "the same seed gives the same practitioners"


def test_rows_added_after_a_seed_get_fresh_ids(app: Flask, session: Any) -> None:
    # The seed assigns ids itself; on PostgreSQL the sequences must move past them or the next insert collides.
    app.test_cli_runner().invoke(args=["seed", "--practitioners", "10", "--seed", "5", "--no-reindex"])
    practitioner = factories.practitioner()
    credential = Credential(practitioner_id=practitioner.id, kind="state_licence", number="AC1", jurisdiction="MA")
    session.add(credential)
    session.flush()
    assert credential.id > session.scalar(select(func.min(Credential.id)))


def test_seeded_verification_history_forms_valid_chains(app: Flask, session: Any) -> None:
    app.test_cli_runner().invoke(args=["seed", "--practitioners", "30", "--seed", "3", "--no-reindex"])
    checks = session.scalars(select(VerificationCheck).order_by(VerificationCheck.practitioner_id,
                                                                VerificationCheck.sequence)).all()
    assert checks
    by_practitioner: dict[int, list[dict[str, Any]]] = {}
    for c in checks:
        by_practitioner.setdefault(c.practitioner_id, []).append(
            {col: getattr(c, col) for col in VerificationCheck.__table__.columns.keys()})
    for rows in by_practitioner.values():
        assert verify_chain(rows) == []


def test_seeded_places_are_real(app: Flask, session: Any) -> None:
    app.test_cli_runner().invoke(args=["seed", "--practitioners", "40", "--seed", "11", "--no-reindex"])
    us = session.scalars(select(Location).where(Location.country == "US")).all()
    assert us, "most demo practitioners practise in the US"
    assert all(len(loc.postal_code) == 5 and loc.postal_code.isdigit() for loc in us)
    assert all(-90 <= loc.latitude <= 90 and -180 <= loc.longitude <= 180 for loc in us)


def test_seeded_locations_keep_their_local_time_zone(app: Flask, session: Any) -> None:
    # "Open now" on a card is computed in the location's zone: a Boston clinic in UTC would open at 4 a.m.
    app.test_cli_runner().invoke(args=["seed", "--practitioners", "40", "--seed", "11", "--no-reindex"])
    locations = session.scalars(select(Location)).all()
    by_region = {(loc.country, loc.region): loc.timezone for loc in locations}
    assert all(zone.startswith("America/") for (country, _), zone in by_region.items() if country == "US")
    assert all(zone.startswith(("Europe/", "America/", "Australia/")) for zone in by_region.values())
    assert "UTC" not in by_region.values()


def _flask(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real `flask` CLI in a subprocess with extra environment."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=120, check=False)


def test_broken_database_url_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    done = _flask("bootstrap", DATABASE_URL="not a url", MERIDIAN_INSTANCE_DIR=str(tmp_path))
    assert done.returncode != 0
    assert "DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    done = _flask("bootstrap", DATABASE_URL=f"sqlite:///{tmp_path}/no/such/dir/x.db", MERIDIAN_INSTANCE_DIR=str(tmp_path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "cannot use DATABASE_URL" in done.stderr


def test_production_refuses_to_start_without_a_public_address(tmp_path: Path) -> None:
    done = _flask("search", "status", MERIDIAN_ENV="production", SECRET_KEY="s" * 32, PUBLIC_BASE_URL="",
                  MERIDIAN_INSTANCE_DIR=str(tmp_path))
    assert done.returncode != 0
    assert "PUBLIC_BASE_URL must be set" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    done = _flask("search", "status", MERIDIAN_ENV="production", SECRET_KEY="", MERIDIAN_INSTANCE_DIR=str(tmp_path))
    assert done.returncode != 0
    assert "SECRET_KEY must be set in production" in done.stderr
    assert "Traceback" not in done.stderr


def test_search_status_reports_backend_and_outbox(app: Flask, session: Any) -> None:
    result = app.test_cli_runner().invoke(args=["search", "status"])
    assert result.exit_code == 0, result.output
    assert "backend: embedded (ok)" in result.output
    assert "outbox: 0 pending" in result.output


def _seeded_verified(app: Flask, session: Any) -> list[Practitioner]:
    """Seed 150 practitioners; return the verified ones."""
    result = app.test_cli_runner().invoke(args=["seed", "--practitioners", "150", "--seed", "5", "--no-reindex"])
    assert result.exit_code == 0, result.output
    verified = session.scalars(select(Practitioner).where(Practitioner.vetting_status.in_(("verified", "expiring")))).all()
    assert len(verified) > 50
    return list(verified)


def test_seeded_verified_practitioners_hold_only_credentials_in_force(app: Flask, session: Any) -> None:
    day = today()
    for p in _seeded_verified(app, session):
        for c in p.credentials:
            assert c.valid_from is None or c.valid_from <= day, f"{p.slug}: {c.kind} valid from {c.valid_from}"
            assert c.valid_until is None or c.valid_until >= day, f"{p.slug}: {c.kind} valid until {c.valid_until}"


def test_seeded_verified_since_is_a_past_day_of_the_history_the_rules_agree_with(app: Flask, session: Any) -> None:
    day = today()
    for p in _seeded_verified(app, session):
        check_days = {check.performed_at.date() for check in p.checks}
        assert p.verified_since is not None and p.verified_since < day, p.slug
        assert p.verified_since in check_days, f"{p.slug}: verified since a day with no check in the history"
    # The seed's cached status and date are what the rules read from the stored history.
    facts = load_facts([p.id for p in session.scalars(select(Practitioner))])
    for p in session.scalars(select(Practitioner)):
        if p.vetting_status != "suspended":
            assert (p.vetting_status, p.verified_since) == (compute_status(facts[p.id], day),
                                                            verified_since(facts[p.id], day)), p.slug


def test_the_seed_dates_a_few_licences_ahead_on_purpose_and_they_stay_pending(app: Flask, session: Any) -> None:
    app.test_cli_runner().invoke(args=["seed", "--practitioners", "400", "--seed", "5", "--no-reindex"])
    future = session.scalars(select(Credential).where(Credential.valid_from > today())).all()
    assert 0 < len(future) < 20, "a few, deliberately"
    assert {c.practitioner.vetting_status for c in future} <= {"pending", "suspended"}


def test_seeded_status_dates_come_from_the_history_not_the_load(app: Flask, session: Any) -> None:
    loaded = utcnow() - timedelta(minutes=5)
    verified = _seeded_verified(app, session)
    for p in verified:
        assert p.vetting_status_since.date() == p.verified_since, p.slug
    lapsed = session.scalars(select(Practitioner).where(Practitioner.vetting_status == "lapsed")).all()
    assert lapsed, "the demo has lapsed listings"
    for p in lapsed:
        assert p.vetting_status_since < loaded, f"{p.slug}: lapsed 'since' the moment the demo was loaded"
        expired = [c.valid_until for c in p.credentials if c.valid_until is not None and c.valid_until < today()]
        if expired:
            assert p.vetting_status_since.date() == min(expired) + timedelta(days=1), p.slug

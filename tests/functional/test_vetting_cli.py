"""The vetting commands end to end: `exclusions import`, `vetting run`, `vetting verify-chain`."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from directory.accounts.models import OutgoingEmail
from directory.clock import today
from directory.models import VerificationCheck
from directory.vetting.cli import exclusions_group, vetting_group
from directory.vetting.services import recompute_status, record_check
from tests import factories
from tests.support import profiles
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record
from tests.unit.vetting.builders import DATA, admin, credential, us_practitioner


def _invoke(app: Flask, group: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(group, list(args))


def _checks() -> int:
    from directory.extensions import db

    return int(db.session.scalar(select(func.count(VerificationCheck.id))) or 0)


# --- flask exclusions import

def test_import_prints_totals_and_a_second_import_changes_nothing(app: Flask, session: Any, tmp_path: Path) -> None:
    result = _invoke(app, exclusions_group, "import", str(DATA / "leie_sample.csv"), "--file-date", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert "imported 8 of 8 rows (0 skipped) from leie_sample.csv" in result.output
    copy = tmp_path / "UPDATED.csv"
    shutil.copy(DATA / "leie_sample.csv", copy)
    again = _invoke(app, exclusions_group, "import", str(copy))
    assert again.exit_code == 0
    assert "unchanged: UPDATED.csv" in again.output


def test_import_reports_malformed_rows_by_line(app: Flask, session: Any) -> None:
    result = _invoke(app, exclusions_group, "import", str(DATA / "leie_malformed.csv"))
    assert result.exit_code == 0
    assert "line 3: expected 18 columns, found 5" in result.output
    assert "line 8: EXCLDATE is missing" in result.output
    assert "imported 3 of 9 rows (6 skipped)" in result.output


def test_import_refuses_a_file_that_is_not_the_leie(app: Flask, session: Any) -> None:
    result = _invoke(app, exclusions_group, "import", str(DATA / "leie_wrong_header.csv"))
    assert result.exit_code == 1
    assert "not an LEIE file" in result.output


def test_import_needs_an_existing_file(app: Flask, session: Any) -> None:
    assert _invoke(app, exclusions_group, "import", "/nonexistent/UPDATED.csv").exit_code == 2


# --- flask vetting run

def _three_practitioners(registry: FakeNpiRegistry) -> tuple[Any, Any, Any]:
    """A matches the registry, B's lookup times out, C (France) has only manual checks."""
    a = us_practitioner(npi="1000000145", first_name="Mei", last_name="Chen")
    b = us_practitioner(npi="1000000152", first_name="Ana", last_name="Lopez")
    c = factories.practitioner(first_name="Luc", last_name="Martin", npi=None, vetting_status="unverified",
                               locations=[{"city": "Lyon", "region": "", "postal_code": "69001", "country": "FR",
                                           "latitude": 45.76, "longitude": 4.83}])
    credential(c, "foreign_registration", jurisdiction="FR", issuer="FR register", number="FR-1")
    registry.answer("1000000145", Scripted(body=found(npi_record("1000000145"))))
    registry.answer("1000000152", Scripted(body=found(npi_record("1000000152", first="ANA", last="LOPEZ")),
                                           delay=1.0))
    return a, b, c


def test_run_checks_what_is_due_continues_past_errors_and_is_idempotent(
        app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    _invoke(app, exclusions_group, "import", str(DATA / "leie_update.csv"))
    a, b, c = _three_practitioners(registry)
    result = _invoke(app, vetting_group, "run")
    assert result.exit_code == 0, result.output
    assert "due: 3 practitioners, 5 automated checks, 3 manual checks" in result.output
    assert "npi_registry: pass 1" in result.output
    assert "npi_registry: error 1" in result.output
    assert "exclusion_list: pass 3" in result.output
    assert "manual checks waiting in the admin queue: 3" in result.output
    assert "checked 3 practitioners" in result.output
    outcomes = {(ch.practitioner_id, ch.source): ch.outcome for ch in session.scalars(select(VerificationCheck))}
    assert outcomes[(b.id, "npi_registry")] == "error"
    assert outcomes[(c.id, "exclusion_list")] == "pass", "the run went on after B's timeout"
    assert a.vetting_status == "pending", "the licence still needs its primary-source check"

    recorded = _checks()
    again = _invoke(app, vetting_group, "run")
    assert again.exit_code == 0
    assert "0 automated checks" in again.output, "what passed is fresh; today's error waits for tomorrow"
    assert _checks() == recorded


def test_run_then_manual_checks_verify_and_nothing_is_due(app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    _invoke(app, exclusions_group, "import", str(DATA / "leie_update.csv"))
    p = us_practitioner(npi="1000000145")
    registry.answer("1000000145", Scripted(body=found(npi_record("1000000145"))))
    _invoke(app, vetting_group, "run")
    record_check(p, source="state_board", outcome="pass", credential=p.credentials[0], performed_by=admin())
    assert p.vetting_status == "verified"
    assert "due: 0 practitioners" in _invoke(app, vetting_group, "run", "--dry-run").output


def test_a_newly_imported_list_makes_everyone_due_again(app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    _invoke(app, exclusions_group, "import", str(DATA / "leie_update.csv"))
    p = us_practitioner(npi="1000000145")
    registry.answer("1000000145", Scripted(body=found(npi_record("1000000145"))))
    _invoke(app, vetting_group, "run")
    _invoke(app, exclusions_group, "import", str(DATA / "leie_sample.csv"))
    result = _invoke(app, vetting_group, "run")
    assert "exclusion_list: pass 1" in result.output
    latest = session.scalars(select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id)
                             .order_by(VerificationCheck.sequence.desc())).first()
    assert json.loads(latest.evidence)["list"]["file_name"] == "leie_sample.csv"


def test_dry_run_records_nothing(app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    us_practitioner(npi="1000000145")
    result = _invoke(app, vetting_group, "run", "--dry-run")
    assert "due: 1 practitioners, 2 automated checks, 1 manual checks" in result.output
    assert _checks() == 0 and registry.requests == []


def test_expiry_alerts_go_to_the_practitioner_and_admins_once(app: Flask, session: Any,
                                                              registry: FakeNpiRegistry) -> None:
    p = us_practitioner(npi=None, licence=False)
    credential(p, valid_until=today() + timedelta(days=30))
    owner = factories.user("practitioner", practitioner_id=p.id)
    boss = admin()
    result = _invoke(app, vetting_group, "run")
    assert "expiry alerts queued: 1" in result.output
    mail = session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()
    assert [(m.recipient, m.kind) for m in mail] == [(owner.email, "credential_expiry"),
                                                     (boss.email, "credential_expiry_digest")]
    assert "expires in 30 days" in mail[0].body
    again = _invoke(app, vetting_group, "run")
    assert "expiry alerts queued: 0" in again.output
    assert session.scalar(select(func.count(OutgoingEmail.id))) == 2


# --- flask vetting verify-chain

def _tamper(session: Any, statement: str, **params: Any) -> None:
    """Change a check behind the application's back: disable the append-only trigger, inside the test's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE verification_check DISABLE TRIGGER verification_check_append_only"))
    else:
        session.execute(text("DROP TRIGGER verification_check_no_update"))
    session.execute(text(statement), params)


def test_verify_chain_passes_on_an_intact_history(app: Flask, session: Any) -> None:
    p = us_practitioner()
    record_check(p, source="exclusion_list", outcome="pass")
    record_check(p, source="state_board", outcome="pass", credential=p.credentials[0])
    result = _invoke(app, vetting_group, "verify-chain")
    assert result.exit_code == 0, result.output
    assert "verified 1 chains, 2 checks: 0 breaks" in result.output


def test_verify_chain_detects_a_row_changed_directly_in_sql(app: Flask, session: Any) -> None:
    p = us_practitioner()
    record_check(p, source="exclusion_list", outcome="fail", note="NPI listed")
    record_check(p, source="state_board", outcome="pass", credential=p.credentials[0])
    first = session.scalar(select(VerificationCheck.id).where(VerificationCheck.sequence == 1,
                                                               VerificationCheck.practitioner_id == p.id))
    _tamper(session, "UPDATE verification_check SET outcome = 'pass', note = '' WHERE id = :id", id=first)
    result = _invoke(app, vetting_group, "verify-chain")
    assert result.exit_code == 1
    assert f"BREAK practitioner {p.id}, sequence 1: content does not match its hash" in result.output
    assert "1 breaks" in result.output


def test_verify_chain_emails_the_admins_once_per_broken_chain(app: Flask, session: Any) -> None:
    boss = admin()
    p = us_practitioner()
    check = record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
    _tamper(session, "UPDATE verification_check SET evidence = :e WHERE id = :id", e='{"hits":["x"]}', id=check.id)
    assert "admins emailed about 1 newly broken chains" in _invoke(app, vetting_group, "verify-chain").output
    assert "admins emailed" not in _invoke(app, vetting_group, "verify-chain").output
    mail = session.scalars(select(OutgoingEmail).where(OutgoingEmail.kind == "chain_broken")).all()
    assert [m.recipient for m in mail] == [boss.email]


def test_verify_chain_detects_rewritten_evidence(app: Flask, session: Any) -> None:
    p = us_practitioner()
    check = record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
    _tamper(session, "UPDATE verification_check SET evidence = :e WHERE id = :id", e='{"hits":["x"]}', id=check.id)
    result = _invoke(app, vetting_group, "verify-chain")
    assert result.exit_code == 1
    assert "evidence does not match its hash" in result.output


def test_run_brings_statuses_up_to_date_when_time_alone_changes_them(app: Flask, session: Any) -> None:
    p = us_practitioner()
    licence, npi = p.credentials
    record_check(p, source="state_board", outcome="pass", credential=licence)
    record_check(p, source="npi_registry", outcome="pass", credential=npi)
    record_check(p, source="exclusion_list", outcome="pass")
    assert p.vetting_status == "verified"
    licence.valid_until = today() - timedelta(days=1)  # the licence ran out overnight; no check was made
    session.flush()
    result = _invoke(app, vetting_group, "run")
    assert "1 statuses to update" in result.output and "statuses brought up to date: 1" in result.output
    assert p.vetting_status == "lapsed"
    assert "0 statuses to update" in _invoke(app, vetting_group, "run", "--dry-run").output


def test_run_fills_in_a_missing_verified_since_day_and_drops_it_when_they_lapse(app: Flask, session: Any) -> None:
    p = us_practitioner()
    licence, npi = p.credentials
    record_check(p, source="state_board", outcome="pass", credential=licence)
    record_check(p, source="npi_registry", outcome="pass", credential=npi)
    record_check(p, source="exclusion_list", outcome="pass")
    p.verified_since = None  # as migration 0006 leaves every practitioner
    session.flush()
    assert "1 statuses to update" in _invoke(app, vetting_group, "run").output
    assert (p.vetting_status, p.verified_since) == ("verified", today())

    licence.valid_from = today() + timedelta(days=1)  # the board moved the start of this licence to tomorrow
    session.flush()
    _invoke(app, vetting_group, "run")
    assert (p.vetting_status, p.verified_since) == ("pending", None)


# --- monitoring: the daily run keeps each automated window from passing

def _monitored(npi_age: int) -> Any:
    """A verified practitioner: licence at the board 60 days ago, NPI ``npi_age`` days ago, exclusion list 3."""
    p = us_practitioner(npi="1000000145")
    licence, npi = p.credentials
    profiles.add_checks(p, [(licence, "state_board", 60, "MA", "pass"), (npi, "npi_registry", npi_age, "NPPES", "pass"),
                            (None, "exclusion_list", 3, "LEIE", "pass")])
    recompute_status(p)
    return p


def test_the_run_rechecks_a_due_npi_a_week_before_its_window_passes(app: Flask, session: Any,
                                                                     registry: FakeNpiRegistry) -> None:
    p = _monitored(npi_age=23)
    assert p.vetting_status == "verified"
    registry.answer("1000000145", Scripted(body=found(npi_record("1000000145"))))
    result = _invoke(app, vetting_group, "run")
    assert "due: 1 practitioners, 1 automated checks, 0 manual checks" in result.output, result.output
    assert "npi_registry: pass 1" in result.output
    latest = session.scalars(select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id)
                             .order_by(VerificationCheck.sequence.desc())).first()
    assert (latest.source, latest.outcome, latest.performed_at.date()) == ("npi_registry", "pass", today())
    assert p.vetting_status == "verified", "a re-check on time never shows expiring"
    assert "due: 0 practitioners" in _invoke(app, vetting_group, "run", "--dry-run").output


def test_nothing_is_rechecked_before_the_week_ahead(app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    _monitored(npi_age=22)
    assert "due: 0 practitioners" in _invoke(app, vetting_group, "run").output
    assert registry.requests == []


def test_a_run_that_fell_behind_shows_expiring(app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    p = _monitored(npi_age=29)
    assert p.vetting_status == "expiring"
    registry.answer("1000000145", Scripted(status=503))
    result = _invoke(app, vetting_group, "run")
    assert "npi_registry: error 1" in result.output
    assert p.vetting_status == "expiring", "an error is not a check: the window still closes tomorrow"


def test_a_passed_window_is_lapsed_until_the_recheck_passes(app: Flask, session: Any, registry: FakeNpiRegistry) -> None:
    p = _monitored(npi_age=31)
    assert p.vetting_status == "lapsed"
    registry.answer("1000000145", Scripted(body=found(npi_record("1000000145"))))
    _invoke(app, vetting_group, "run")
    assert p.vetting_status == "verified"

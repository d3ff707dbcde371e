"""Sources find and never write; the chain writer turns their findings into rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from directory.accounts.models import AuditEvent
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.models import VerificationCheck
from directory.vetting.checks import record_finding
from directory.vetting.sources.base import Finding, RunContext
from directory.vetting.sources.exclusions import EXCLUSION_LIST, current_list
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.npi import NpiRegistryClient
from directory.vetting.sources.npi_registry import NPI_REGISTRY
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record
from tests.unit.vetting.builders import DATA, NPI, admin, us_practitioner


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(VerificationCheck)) or 0


def _run_without_writes(source: Any, subject: Any, context: RunContext) -> Finding:
    """Run a source and assert it left nothing to write: no new, changed or deleted object, no row."""
    db.session.flush()
    before = _rows()
    finding = source.run(subject, context)
    assert not (db.session.new or db.session.dirty or db.session.deleted), "a source must not write"
    assert _rows() == before
    return finding


def test_the_exclusion_source_returns_a_finding_and_writes_nothing(session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv", date(2026, 11, 1))
    p = us_practitioner(npi=NPI, first_name="Mei", last_name="Chen")
    finding = _run_without_writes(EXCLUSION_LIST, p, RunContext(date(2026, 12, 1), exclusion_list=current_list()))
    assert (finding.source, finding.outcome, finding.credential_id) == ("exclusion_list", "fail", None)
    assert [h["match"] for h in finding.evidence["hits"]] == ["npi"]
    assert finding.reference.startswith("LEIE 2026-11-01 sha256:")


def test_without_a_list_in_force_the_exclusion_source_finds_an_error(session: Any) -> None:
    finding = _run_without_writes(EXCLUSION_LIST, us_practitioner(), RunContext(date(2026, 12, 1)))
    assert finding.outcome == "error" and "no exclusion list has been imported" in finding.note


def test_the_npi_source_returns_a_finding_and_writes_nothing(session: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(body=found(npi_record(NPI))))
    p = us_practitioner()
    client = NpiRegistryClient.from_config()
    try:
        finding = _run_without_writes(NPI_REGISTRY, p, RunContext(date(2026, 12, 1), npi_client=client))
    finally:
        client.close()
    npi = next(c for c in p.credentials if c.kind == "npi")
    assert (finding.source, finding.outcome, finding.credential_id) == ("npi_registry", "pass", npi.id)
    assert finding.evidence["number"] == NPI


def test_the_npi_source_without_a_client_is_refused(session: Any) -> None:
    with pytest.raises(InvalidParameter, match="No NPI registry client"):
        NPI_REGISTRY.run(us_practitioner(), RunContext(date(2026, 12, 1)))


def test_record_finding_chains_the_row_and_audits_a_person_s_run(session: Any) -> None:
    p, boss = us_practitioner(), admin()
    finding = Finding("exclusion_list", "pass", "no match on the exclusion list", "LEIE test", {"hits": []})
    check = record_finding(p, finding, boss)
    assert (check.source, check.outcome, check.note, check.performed_by_id) == (
        "exclusion_list", "pass", "no match on the exclusion list", boss.id)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == p.id)).all()
    assert "vetting.check_run" in actions
    record_finding(p, finding, None)
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == p.id)).all() == actions, \
        "a scheduled run (no person) is not audited per check"


def test_the_same_error_moments_later_is_not_written_again(session: Any) -> None:
    p = us_practitioner()
    error = Finding("exclusion_list", "error", "no exclusion list has been imported", evidence={"error": "none"})
    first = record_finding(p, error, None)
    again = record_finding(p, error, None)
    assert again.id == first.id and _rows() == 1
    other = record_finding(p, Finding("exclusion_list", "error", "another failure"), None)
    assert other.id != first.id and _rows() == 2


def test_a_finding_about_someone_else_s_credential_is_refused(session: Any) -> None:
    p, other = us_practitioner(), us_practitioner(npi=None, first_name="Ana", last_name="Lopez")
    with pytest.raises(InvalidParameter, match="belongs to someone else"):
        record_finding(p, Finding("state_board", "pass", "", credential_id=other.credentials[0].id), None)
    assert _rows() == 0

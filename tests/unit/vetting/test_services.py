"""Recording checks in the chain, recomputing status from them, suspending and reinstating."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from directory.accounts.models import AuditEvent
from directory.errors import InvalidParameter
from directory.indexing.models import SearchOutbox
from directory.models import VerificationCheck
from directory.vetting import checks, decisions, services
from directory.vetting.chain import sha256_text, verify_chain
from directory.vetting.decisions import recompute_status
from directory.vetting.models import AppendOnlyViolation, Credential, VettingDecision
from directory.vetting.policy import current_policy
from directory.vetting.services import record_check
from directory.vetting.status import monitoring_days
from tests import factories
from tests.unit.vetting.builders import admin, credential, us_practitioner


def _rows(pid: int) -> list[dict[str, Any]]:
    """Return the practitioner's chain as stored."""
    checks = select(VerificationCheck).where(VerificationCheck.practitioner_id == pid).order_by(VerificationCheck.sequence)
    from directory.extensions import db

    columns = VerificationCheck.__table__.columns.keys()
    return [{c: getattr(row, c) for c in columns} for row in db.session.scalars(checks)]


def _verify_everything(p: Any) -> None:
    """Record passing checks of every required credential and of the exclusion list."""
    for cred in p.credentials:
        source = "npi_registry" if cred.kind == "npi" else "state_board"
        record_check(p, source=source, outcome="pass", credential=cred)
    record_check(p, source="exclusion_list", outcome="pass")


def test_checks_form_a_chain_with_sequence_previous_hash_and_evidence_digest(session: Any) -> None:
    p = us_practitioner()
    first = record_check(p, source="state_board", outcome="pass", credential=p.credentials[0],
                         evidence={"looked_up": "MA board", "when": datetime(2026, 1, 2, 3, 4, 5)})
    second = record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.previous_hash is None and second.previous_hash == first.row_hash
    assert first.performed_at.microsecond == 0
    assert json.loads(first.evidence) == {"looked_up": "MA board", "when": "2026-01-02 03:04:05"}
    assert first.evidence_sha256 == sha256_text(first.evidence)
    assert verify_chain(_rows(p.id)) == []


def test_each_practitioner_has_their_own_chain(session: Any) -> None:
    a, b = us_practitioner(), us_practitioner(npi=None, first_name="Ana", last_name="Lopez")
    record_check(a, source="exclusion_list", outcome="pass")
    check_b = record_check(b, source="exclusion_list", outcome="pass")
    assert (check_b.sequence, check_b.previous_hash) == (1, None)


@pytest.mark.parametrize(("kw", "field"), [({"source": "gossip"}, "source"), ({"outcome": "maybe"}, "outcome")])
def test_unknown_sources_and_outcomes_are_refused(session: Any, kw: dict[str, str], field: str) -> None:
    p = us_practitioner()
    values = {"source": "manual", "outcome": "pass", **kw}
    with pytest.raises(InvalidParameter) as raised:
        record_check(p, **values)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_check_cannot_name_someone_elses_credential(session: Any) -> None:
    p, other = us_practitioner(), us_practitioner(npi=None, first_name="Ana", last_name="Lopez")
    with pytest.raises(InvalidParameter):
        record_check(p, source="state_board", outcome="pass", credential=other.credentials[0])


def test_status_goes_from_unverified_to_pending_to_verified_and_search_hears_of_it(session: Any) -> None:
    p = us_practitioner(licence=False, npi=None)
    assert recompute_status(p) == "unverified"
    credential(p)
    p.npi = "1234567893"
    credential(p, "npi")
    assert recompute_status(p) == "pending"
    session.execute(SearchOutbox.__table__.delete())
    session.commit()  # a new transaction: the outbox enqueues once per transaction
    _verify_everything(p)
    assert p.vetting_status == "verified"
    assert p.vetting_status_since is not None
    outbox = session.scalars(select(SearchOutbox.practitioner_id)).all()
    assert p.id in outbox, "the status change reached the search outbox in the same transaction"


def test_errors_never_verify_and_an_npi_record_never_verifies_a_licence(session: Any) -> None:
    p = us_practitioner()
    licence, npi = p.credentials
    record_check(p, source="npi_registry", outcome="pass", credential=licence)
    record_check(p, source="npi_registry", outcome="pass", credential=npi)
    record_check(p, source="exclusion_list", outcome="pass")
    assert p.vetting_status == "pending", "NPPES is self-reported: it is not a primary source for a licence"
    record_check(p, source="state_board", outcome="error", credential=licence, note="board site down")
    assert p.vetting_status == "pending"
    record_check(p, source="state_board", outcome="pass", credential=licence)
    assert p.vetting_status == "verified"


def test_an_error_after_a_pass_does_not_unverify(session: Any) -> None:
    p = us_practitioner()
    _verify_everything(p)
    record_check(p, source="npi_registry", outcome="error", credential=p.credentials[1], note="timeout")
    record_check(p, source="exclusion_list", outcome="error", note="no list")
    assert p.vetting_status == "verified"


def test_a_failed_recheck_takes_verification_away(session: Any) -> None:
    p = us_practitioner()
    _verify_everything(p)
    record_check(p, source="npi_registry", outcome="fail", credential=p.credentials[1], note="deactivated")
    assert p.vetting_status == "pending"


def test_withdrawn_credentials_do_not_count(session: Any) -> None:
    p = us_practitioner()
    _verify_everything(p)
    p.credentials[0].withdrawn_at = datetime(2026, 1, 1)
    session.flush()
    assert recompute_status(p) == "pending"


def test_old_checks_leave_the_practitioner_lapsed(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    p = us_practitioner()
    long_ago = datetime.now() - timedelta(days=60)
    monkeypatch.setattr(checks, "utcnow", lambda: long_ago)
    monkeypatch.setattr(decisions, "utcnow", lambda: long_ago)
    _verify_everything(p)
    monkeypatch.undo()
    assert recompute_status(p) == "lapsed", "the exclusion check is older than 31 days"


def test_a_licence_expiring_soon_makes_the_practitioner_expiring(session: Any) -> None:
    p = us_practitioner(licence=False)
    credential(p, valid_until=datetime.now().date() + timedelta(days=10))
    _verify_everything(p)
    assert p.vetting_status == "expiring"


def test_a_checked_licence_not_yet_in_force_leaves_the_practitioner_pending(session: Any) -> None:
    p = us_practitioner(licence=False)
    starts = datetime.now().date() + timedelta(days=30)
    credential(p, valid_from=starts, valid_until=starts + timedelta(days=730))
    _verify_everything(p)
    assert p.vetting_status == "pending", "the licence is only valid from next month"


def test_suspend_and_reinstate_need_a_reason_and_are_audited(session: Any) -> None:
    p, boss = us_practitioner(), admin()
    _verify_everything(p)
    with pytest.raises(InvalidParameter):
        decisions.suspend(p, "   ", boss)
    decisions.suspend(p, "complaint under investigation", boss)
    assert p.vetting_status == "suspended"
    with pytest.raises(InvalidParameter, match="already suspended"):
        decisions.suspend(p, "again", boss)
    decisions.reinstate(p, "complaint dismissed", boss)
    assert p.vetting_status == "verified"
    with pytest.raises(InvalidParameter, match="not suspended"):
        decisions.reinstate(p, "again", boss)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == p.id,
                                                              AuditEvent.actor_id == boss.id)
                              .order_by(AuditEvent.id)).all()
    assert actions == ["vetting.suspended", "vetting.reinstated"]


def test_decisions_are_append_only(session: Any) -> None:
    p, boss = us_practitioner(), admin()
    decision = decisions.suspend(p, "investigation", boss)
    decision.reason = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()


def test_bulk_update_of_decisions_is_refused(session: Any) -> None:
    with pytest.raises(AppendOnlyViolation):
        session.execute(update(VettingDecision).values(reason="x"))


def test_identity_details_replace_the_previous_ones_and_are_audited_without_the_date(session: Any) -> None:
    p, boss = us_practitioner(), admin()
    services.update_identity(p, boss, datetime(1980, 5, 5).date(), services.parse_former_names("Mei Kim\nPark\n\n"))
    services.update_identity(p, boss, None, [("Mei", "Kim")])
    from directory.vetting.models import FormerName, VettingIdentity

    assert session.get(VettingIdentity, p.id).date_of_birth is None
    assert [(n.first_name, n.last_name) for n in session.scalars(select(FormerName))] == [("Mei", "Kim")]
    details = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "vetting.identity_updated")).all()
    assert len(details) == 2 and "1980" not in "".join(details)


def test_parse_former_names() -> None:
    assert services.parse_former_names("Mei Ling Kim\n  Park \n") == [("Mei Ling", "Kim"), ("", "Park")]


def test_credential_of_refuses_someone_elses(session: Any) -> None:
    p, other = us_practitioner(), factories.practitioner()
    foreign = credential(other)
    assert services.credential_of(p, None) is None
    assert isinstance(services.credential_of(p, p.credentials[0].id), Credential)
    with pytest.raises(InvalidParameter):
        services.credential_of(p, foreign.id)


def test_the_policy_reads_vetting_settings(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "VETTING_PRIMARY_SOURCE_DAYS", "90")
    monkeypatch.setitem(app.config, "VETTING_ALERT_DAYS", "60, 7,0")
    with app.app_context():
        policy = current_policy()
    assert (policy.primary_source_days, policy.exclusion_days, policy.alert_days) == (90, 31, (60, 7, 0))


def test_the_policy_reads_the_monitoring_windows(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        default = current_policy()
    monkeypatch.setitem(app.config, "VETTING_AUTOMATED_MONITORING_DAYS", "14")
    monkeypatch.setitem(app.config, "VETTING_MANUAL_MONITORING_DAYS", 180)
    with app.app_context():
        policy = current_policy()
    assert [monitoring_days(default, s) for s in ("npi_registry", "state_board")] == [30, 365]
    assert [monitoring_days(policy, s) for s in ("npi_registry", "state_board", "document")] == [14, 180, 180]


def test_a_recompute_that_changes_nothing_queues_no_reindex(session: Any) -> None:
    # Assigning verified_since its own value marked every practitioner dirty: one outbox row each, per run.
    p = us_practitioner()
    recompute_status(p)
    session.flush()
    session.query(SearchOutbox).delete()
    session.flush()
    session.info.pop("search_outbox_enqueued", None)
    recompute_status(p)
    session.flush()
    assert session.scalars(select(SearchOutbox)).all() == []

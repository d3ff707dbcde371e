"""Folded checks kept per practitioner (check_summary): pages read them, and they always equal the chain's own fold."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.cards import load_cards, rebuild_cards
from directory.vetting import folds
from directory.vetting.chain import row_hash, sha256_text
from directory.vetting.checks import append_check
from directory.vetting.facts import load_facts
from directory.vetting.folds import Fold, fold_live, read_folds
from directory.vetting.models import CheckSummary, VerificationCheck
from tests import factories
from tests.support import profiles

OUTCOMES = ("pass", "pass", "pass", "fail", "error", "needs_review", "needs_review")


def _summary(pid: int) -> Any:
    return db.session.execute(select(CheckSummary.head, CheckSummary.fold, CheckSummary.data)
                              .where(CheckSummary.practitioner_id == pid)).first()


def _head(pid: int) -> str:
    return db.session.scalar(select(VerificationCheck.row_hash).where(VerificationCheck.practitioner_id == pid)
                             .order_by(VerificationCheck.sequence.desc()).limit(1)) or ""


def _live(ids: list[int]) -> dict[int, str]:
    """Each practitioner's chain folded from its checks, in the stored form (empty for one without checks)."""
    found = fold_live(ids)
    return {pid: (found[pid][0] if pid in found else Fold()).dumps() for pid in ids}


def _append_around(p: Any, credential: Any, source: str, outcome: str) -> None:
    """Append a check the way a writer that bypasses append_check does (the seeder, a bulk load): the chain only."""
    last = db.session.execute(select(VerificationCheck.sequence, VerificationCheck.row_hash)
                              .where(VerificationCheck.practitioner_id == p.id)
                              .order_by(VerificationCheck.sequence.desc()).limit(1)).first()
    evidence = json.dumps({"source": source})
    row: dict[str, Any] = {
        "practitioner_id": p.id, "user_id": None, "sequence": last.sequence + 1,
        "credential_id": credential.id if credential else None, "source": source, "performed_by_id": None,
        "performed_at": utcnow().replace(microsecond=0), "outcome": outcome, "reference": "", "note": "",
        "evidence_sha256": sha256_text(evidence), "previous_hash": last.row_hash,
    }
    db.session.add(VerificationCheck(evidence=evidence, row_hash=row_hash(row), **row))
    db.session.flush()


def _chains(count: int, steps: int, seed: int) -> list[Any]:
    """Practitioners whose chains mix every source and outcome, written check by check through append_check."""
    rng = random.Random(seed)
    people = []
    for _ in range(count):
        p = factories.practitioner()
        creds = [profiles.credential(p), profiles.credential(p, kind="npi", number="1234567893", jurisdiction=""),
                 profiles.credential(p, kind="certification", issuer="NCCAOM", number="C-1", jurisdiction="")]
        for _ in range(rng.randrange(steps)):
            source = rng.choice(("exclusion_list", "sam_exclusions", "state_board", "npi_registry", "document",
                                 "certification_body", "manual", "review_signal"))
            # A credential the source is not primary for (and none at all) are folded as the chain fold does.
            credential = rng.choice(creds) if source not in ("exclusion_list", "sam_exclusions", "review_signal") \
                else None
            append_check(p, source=source, outcome=rng.choice(OUTCOMES), credential=credential,
                         reference=f"ref-{rng.randrange(3)}")
        people.append(p)
    db.session.flush()
    return people


def test_append_check_keeps_each_row_at_the_chain_head_with_the_chains_own_fold(session: Any) -> None:
    people = _chains(12, 25, seed=3)
    ids = [p.id for p in people]
    live = _live(ids)
    for pid in ids:
        row = _summary(pid)
        assert row is not None and row.head == _head(pid) and row.fold == folds.fold_rules()
        assert row.data == live[pid], f"practitioner {pid}: the row folded differently from the chain"
    assert {pid: fold.dumps() for pid, fold in read_folds(ids).items()} == live


def test_pages_and_statuses_read_the_same_facts_from_rows_as_from_the_chain(session: Any) -> None:
    people = _chains(8, 20, seed=11)
    ids = [p.id for p in people]
    db.session.commit()
    rebuild_cards()
    with_rows = load_facts(ids), load_cards(ids, verified_only=False)
    with db.session.begin_nested() as savepoint:
        db.session.execute(CheckSummary.__table__.delete())
        from_chain = load_facts(ids), load_cards(ids, verified_only=False)
        savepoint.rollback()
    assert with_rows[0] == from_chain[0]
    assert {pid: card.evidence for pid, card in with_rows[1].items()} == \
           {pid: card.evidence for pid, card in from_chain[1].items()}


def test_a_chain_written_around_append_check_is_folded_live_until_the_next_check_mends_its_row(session: Any) -> None:
    p = factories.practitioner()
    licence = profiles.credential(p)
    append_check(p, source="state_board", outcome="pass", credential=licence)
    stale = _summary(p.id)
    # A writer that bypasses append_check (the seeder, a bulk load) leaves the row behind the chain.
    _append_around(p, licence, "state_board", "fail")
    assert _summary(p.id).head == stale.head != _head(p.id)
    assert read_folds([p.id])[p.id].dumps() == _live([p.id])[p.id]
    assert read_folds([p.id])[p.id].credentials[licence.id].last_outcome == "fail"
    # The next check refolds the whole chain, whose head it then names.
    append_check(p, source="exclusion_list", outcome="pass")
    row = _summary(p.id)
    assert row.head == _head(p.id) and row.data == _live([p.id])[p.id]


def test_a_row_is_read_only_at_the_chain_head_and_under_the_current_rules(session: Any) -> None:
    p = factories.practitioner()
    append_check(p, source="exclusion_list", outcome="pass")
    planted = Fold()
    planted.add(None, None, "exclusion_list", "fail", datetime(2020, 1, 1), "")
    db.session.execute(update(CheckSummary).where(CheckSummary.practitioner_id == p.id).values(data=planted.dumps()))
    # At the head and under the current rules, the row is what a page reads (the chain is not read again).
    assert read_folds([p.id])[p.id].exclusion["exclusion_list"].last_outcome == "fail"
    db.session.execute(update(CheckSummary).where(CheckSummary.practitioner_id == p.id).values(fold="older-rules"))
    assert read_folds([p.id])[p.id].exclusion["exclusion_list"].last_outcome == "pass"


def test_rebuild_writes_a_row_for_everyone_and_one_without_checks_reads_as_no_checks(session: Any) -> None:
    checked, unchecked = _chains(1, 6, seed=5)[0], factories.practitioner()
    db.session.execute(CheckSummary.__table__.delete())
    db.session.commit()
    rebuild_cards(batch_size=1)
    assert _summary(unchecked.id).head == "" and _summary(checked.id).head == _head(checked.id)
    assert read_folds([unchecked.id])[unchecked.id].dumps() == Fold().dumps()
    assert read_folds([checked.id])[checked.id].dumps() == _live([checked.id])[checked.id]
    # Rows at their chain's head are left alone: only a chain that moved on is folded again.
    assert folds.refresh_folds([checked.id, unchecked.id]) == 0
    _append_around(checked, None, "exclusion_list", "pass")
    assert folds.refresh_folds([checked.id, unchecked.id]) == 1
    assert _summary(checked.id).head == _head(checked.id)

"""The public verification API: chains anyone can recompute, signed heads, the signing key, and sign-heads."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from sqlalchemy import func, select, text

from directory.clock import utcnow
from directory.errors import DomainError
from directory.models import ChainHeadStatement
from directory.vetting.chain import canonical_json, row_hash
from directory.vetting.cli import vetting_group
from directory.vetting.decisions import suspend
from directory.vetting.heads import issue_statement
from directory.vetting.models import AppendOnlyViolation
from directory.vetting.services import record_check
from tests import factories
from tests.support.web import sign_in_as
from tests.unit.vetting.builders import admin, us_practitioner

CHAIN = "/api/v1/practitioners/{}/verification"


def _checked(p: Any, n: int = 3) -> Any:
    """Give ``p`` ``n`` checks, one with a note in other scripts."""
    record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
    for i in range(n - 1):
        record_check(p, source="state_board", outcome="pass", credential=p.credentials[0],
                     performed_by=admin(), reference="https://board.example/AC12345", note=f"Łódź ø ß check {i}")
    return p


def test_the_chain_carries_every_chained_field_so_each_hash_can_be_recomputed(client: Any, session: Any) -> None:
    p = _checked(us_practitioner())
    body = client.get(CHAIN.format(p.slug)).get_json()
    assert body["listing_status"] == "listed" and body["algorithm"] == "sha256"
    assert body["canonical_form"]["name"] == "meridian-check-v1"
    assert body["length"] == 3 and body["head"]["sequence"] == 3 and body["next"] is None
    previous = None
    for row in body["checks"]:
        assert row_hash(row) == row["row_hash"]
        assert row["previous_hash"] == previous
        assert "evidence" not in row and len(row["evidence_sha256"]) == 64
        previous = row["row_hash"]
    assert body["checks"][1]["note"] == "Łódź ø ß check 0"
    assert body["checks"][1]["credential"] == {"kind": "state_licence", "number": "AC12345", "jurisdiction": "MA"}


def test_a_long_chain_is_paginated_by_sequence(client: Any, session: Any) -> None:
    p = _checked(us_practitioner(), 5)
    first = client.get(CHAIN.format(p.slug), query_string={"limit": 2}).get_json()
    assert [r["sequence"] for r in first["checks"]] == [1, 2]
    second = client.get(first["next"]).get_json()
    assert [r["sequence"] for r in second["checks"]] == [3, 4]
    last = client.get(second["next"]).get_json()
    assert [r["sequence"] for r in last["checks"]] == [5] and last["next"] is None


def test_unknown_and_hidden_practitioners_are_the_api_404(client: Any, session: Any) -> None:
    hidden = _checked(factories.practitioner(hidden=True), 1)
    for slug in ("no-such-practitioner", hidden.slug):
        response = client.get(CHAIN.format(slug))
        assert response.status_code == 404
        assert response.get_json() == {"error": "not_found", "message": "There is no listed practitioner with that slug."}


def test_a_suspended_practitioner_keeps_a_public_chain(client: Any, session: Any) -> None:
    p = _checked(us_practitioner(), 1)
    suspend(p, "board action", admin())
    response = client.get(CHAIN.format(p.slug))
    assert response.status_code == 200
    assert response.get_json()["listing_status"] == "suspended"
    assert response.get_json()["length"] == 1


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"limit": "0"}, "limit", "limit must be a whole number from 1 to 1000"),
    ({"after": "-1"}, "after", "after must be a whole number from 0 to 2147483647"),
    ({"after": "9" * 80}, "after", "after must be a whole number from 0 to 2147483647"),
])
def test_bad_chain_parameters_are_named(client: Any, session: Any, query: dict[str, str], field: str,
                                        message: str) -> None:
    p = _checked(us_practitioner(), 1)
    response = client.get(CHAIN.format(p.slug), query_string=query)
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_parameter", "field": field, "message": message}


def test_the_key_is_published_raw_and_as_pem_with_its_id(client: Any, session: Any) -> None:
    key = client.get("/api/v1/verification/key").get_json()
    raw = base64.b64decode(key["public_key"])
    assert key["algorithm"] == "Ed25519" and len(raw) == 32
    assert key["key_id"] == hashlib.sha256(raw).hexdigest()
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_a_statement_signs_every_listed_head_and_links_to_the_one_before(client: Any, session: Any) -> None:
    a, b = _checked(us_practitioner(), 2), _checked(us_practitioner(npi=None), 1)
    first = issue_statement(utcnow() - timedelta(days=1)).statement
    record_check(a, source="exclusion_list", outcome="pass")
    second = issue_statement().statement
    listing = client.get("/api/v1/verification/heads").get_json()
    assert listing["total"] >= 2 and listing["statements"][0]["sha256"] == second.sha256
    served = listing["statements"][0]
    statement = served["statement"]
    assert statement["previous_statement_sha256"] == first.sha256 == listing["statements"][1]["sha256"]
    assert {(h["slug"], h["sequence"]) for h in statement["heads"]} >= {(a.slug, 3), (b.slug, 1)}
    signed = canonical_json(statement).encode()
    assert hashlib.sha256(signed).hexdigest() == served["sha256"]
    key = base64.b64decode(client.get("/api/v1/verification/key").get_json()["public_key"])
    Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(served["signature"]), signed)


def test_hidden_practitioners_are_left_out_of_the_heads(session: Any) -> None:
    hidden = _checked(factories.practitioner(hidden=True), 1)
    heads = json.loads(issue_statement().statement.body)["heads"]
    assert hidden.id not in [h["practitioner_id"] for h in heads]


def test_heads_are_paginated_and_since_skips_the_statements_already_read(client: Any, session: Any) -> None:
    p = _checked(us_practitioner(), 1)
    numbers = []
    for _ in range(3):
        record_check(p, source="exclusion_list", outcome="pass")
        numbers.append(issue_statement().statement.number)
    page = client.get("/api/v1/verification/heads", query_string={"per_page": 2}).get_json()
    assert [s["statement"]["number"] for s in page["statements"]] == numbers[::-1][:2]
    assert page["next"] is not None
    since = client.get("/api/v1/verification/heads", query_string={"since": numbers[0]}).get_json()
    assert [s["statement"]["number"] for s in since["statements"]] == numbers[:0:-1]
    bad = client.get("/api/v1/verification/heads", query_string={"per_page": "51"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "per_page"


def test_sign_heads_once_a_day_again_only_when_a_head_changes(app: Flask, session: Any) -> None:
    p = _checked(us_practitioner(), 1)
    runner = app.test_cli_runner()
    first = runner.invoke(vetting_group, ["sign-heads"])
    assert first.exit_code == 0 and "signed chain-head statement #" in first.output
    again = runner.invoke(vetting_group, ["sign-heads"])
    assert "unchanged: already signed" in again.output
    record_check(p, source="exclusion_list", outcome="pass")
    assert "signed chain-head statement #" in runner.invoke(vetting_group, ["sign-heads"]).output


def test_vetting_run_ends_by_signing_the_heads(app: Flask, session: Any, registry: Any) -> None:
    _checked(us_practitioner(), 1)
    before = session.scalar(select(func.count(ChainHeadStatement.id)))
    result = app.test_cli_runner().invoke(vetting_group, ["run"])
    assert "chain-head statement #" in result.output
    assert session.scalar(select(func.count(ChainHeadStatement.id))) == before + 1


def test_statements_are_append_only_in_the_orm_and_the_database(session: Any) -> None:
    statement = issue_statement().statement
    statement.signature = "x"
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    assert isinstance(AppendOnlyViolation("x"), DomainError)
    number = issue_statement().statement.number
    with pytest.raises(Exception, match="append-only"):  # noqa: B017 (the database's own error type differs per dialect)
        with session.begin_nested():
            session.execute(text("UPDATE chain_head_statement SET signature = 'x' WHERE number = :n"), {"n": number})


def test_the_check_form_tells_admins_the_note_is_public(client: Any, session: Any) -> None:
    p = us_practitioner()
    boss = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())
    sign_in_as(client, boss)
    page = client.get(f"/admin/vetting/practitioners/{p.id}").get_data(as_text=True)
    assert "Note (public: published with the verification history)" in page

"""The NPI registry client against a local server speaking the NPPES v2.1 JSON, and the recorded checks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from directory.errors import InvalidParameter
from directory.vetting.services import check_npi, record_check
from directory.vetting.sources.npi import (
    Expected,
    NpiRegistryClient,
    NpiRegistryError,
    compare_record,
    npi_is_valid,
)
from tests.support.npi_server import INVALID_NUMBER, NOT_FOUND, FakeNpiRegistry, Scripted, found, npi_record
from tests.unit.vetting.builders import NPI, credential, us_practitioner


def _client() -> NpiRegistryClient:
    return NpiRegistryClient.from_config()


def _verified_except_npi(p: Any) -> None:
    """Record everything but the NPI check, so the NPI outcome decides the status."""
    record_check(p, source="state_board", outcome="pass", credential=p.credentials[0])
    record_check(p, source="exclusion_list", outcome="pass")


def test_a_matching_record_passes_and_the_raw_response_is_the_evidence(session: Any, registry: FakeNpiRegistry) -> None:
    body = found(npi_record(NPI))
    registry.answer(NPI, Scripted(body=body))
    p = us_practitioner()
    _verified_except_npi(p)
    check = check_npi(p, _client())
    assert (check.outcome, check.source, check.credential_id) == ("pass", "npi_registry", p.credentials[1].id)
    evidence = json.loads(check.evidence)
    assert evidence["response"] == body
    assert {f["field"]: f["result"] for f in evidence["findings"]} == {
        "enumeration_type": "ok", "status": "ok", "name": "ok", "gender": "ok", "taxonomy": "ok", "licence": "ok",
        "address": "ok"}
    assert registry.requests[-1] == {"version": ["2.1"], "number": [NPI]}
    assert check.reference.endswith(f"?version=2.1&number={NPI}")
    assert p.vetting_status == "verified"


@pytest.mark.parametrize("sex_key", ["gender", "sex"])
def test_both_gender_and_sex_fields_are_read(session: Any, registry: FakeNpiRegistry, sex_key: str) -> None:
    registry.answer(NPI, Scripted(body=found(npi_record(NPI, sex_key=sex_key, sex="M"))))
    check = check_npi(us_practitioner(), _client())
    gender = next(f for f in json.loads(check.evidence)["findings"] if f["field"] == "gender")
    assert (gender["found"], gender["result"], check.outcome) == ("male", "review", "needs_review")


@pytest.mark.parametrize(("record", "outcome", "field"), [
    ({"first": "JOHN", "last": "SMITH"}, "fail", "name"),
    ({"first": "MAY", "last": "CHEN"}, "needs_review", "name"),
    ({"status": "D"}, "fail", "status"),
    ({"enumeration_type": "NPI-2"}, "fail", "enumeration_type"),
    ({"licence": "AC99999"}, "needs_review", "licence"),
    ({"state": "NY"}, "needs_review", "licence"),
    ({"taxonomy": "207Q00000X"}, "needs_review", "taxonomy"),
    ({"city": "SPRINGFIELD", "postal_code": "011030000"}, "needs_review", "address"),
])
def test_mismatches_fail_or_ask_for_review(session: Any, registry: FakeNpiRegistry, record: dict[str, str],
                                           outcome: str, field: str) -> None:
    registry.answer(NPI, Scripted(body=found(npi_record(NPI, **record))))
    p = us_practitioner()
    _verified_except_npi(p)
    check = check_npi(p, _client())
    results = {f["field"]: f["result"] for f in json.loads(check.evidence)["findings"]}
    assert check.outcome == outcome
    assert results[field] in ("mismatch", "review")
    assert p.vetting_status == "pending"


def test_unknown_npi_fails(session: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(body=NOT_FOUND))
    check = check_npi(us_practitioner(), _client())
    assert (check.outcome, check.note) == ("fail", "the registry has no record of this NPI")
    assert json.loads(check.evidence)["response"] == {"result_count": 0, "results": []}


def test_an_errors_body_is_an_error_not_a_verdict(session: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(body=INVALID_NUMBER))
    check = check_npi(us_practitioner(), _client())
    assert check.outcome == "error"
    assert "Field number must be 10 digits" in check.note


def test_a_timeout_is_retried_then_recorded_as_an_error(session: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(body=found(npi_record(NPI)), delay=1.0))
    p = us_practitioner()
    _verified_except_npi(p)
    started = time.perf_counter()
    check = check_npi(p, _client())
    assert check.outcome == "error" and "did not answer within 0.5 s" in check.note
    assert len(registry.requests) == 3, "one try and two retries"
    assert time.perf_counter() - started < 5
    assert p.vetting_status == "pending"


def test_a_5xx_is_retried_and_recorded_as_an_error(session: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(body={"message": "upstream unavailable"}, status=503))
    check = check_npi(us_practitioner(), _client())
    assert (check.outcome, check.note) == ("error", "the registry answered HTTP 503")
    assert json.loads(check.evidence)["status_code"] == 503
    assert len(registry.requests) == 3


def test_a_transient_5xx_recovers_on_retry(session: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(status=502, body={}, times=1), Scripted(body=found(npi_record(NPI))))
    check = check_npi(us_practitioner(), _client())
    assert check.outcome == "pass"
    assert len(registry.requests) == 2


@pytest.mark.parametrize("raw", [b"<html>maintenance</html>", b'{"result_count": 1, "results": [', b"[]",
                                 b'{"results": []}'])
def test_malformed_json_is_an_error(session: Any, registry: FakeNpiRegistry, raw: bytes) -> None:
    registry.answer(NPI, Scripted(raw=raw))
    check = check_npi(us_practitioner(), _client())
    assert check.outcome == "error"
    assert json.loads(check.evidence)["body"] == raw.decode()


def test_an_unreachable_registry_is_an_error(session: Any, app: Any) -> None:
    client = NpiRegistryClient("http://127.0.0.1:9/api/", timeout=0.2, retries=0)
    check = check_npi(us_practitioner(), client)
    assert check.outcome == "error" and "could not be reached" in check.note


def test_an_invalid_check_digit_fails_without_asking(session: Any, registry: FakeNpiRegistry) -> None:
    p = us_practitioner(npi="1234567890")
    check = check_npi(p, _client())
    assert (check.outcome, registry.requests) == ("fail", [])


def test_no_npi_on_file_is_refused(session: Any, registry: FakeNpiRegistry) -> None:
    with pytest.raises(InvalidParameter, match="no NPI"):
        check_npi(us_practitioner(npi=None), _client())


def test_a_former_name_matches(session: Any, registry: FakeNpiRegistry) -> None:
    from directory.vetting.models import FormerName

    p = us_practitioner()
    session.add(FormerName(practitioner_id=p.id, first_name="Mei", last_name="Kim"))
    registry.answer(NPI, Scripted(body=found(npi_record(NPI, last="KIM"))))
    assert check_npi(p, _client()).outcome == "pass"


def test_the_licence_number_is_compared_without_punctuation(session: Any, registry: FakeNpiRegistry) -> None:
    p = us_practitioner(licence=False)
    credential(p, number="ac-012345")
    registry.answer(NPI, Scripted(body=found(npi_record(NPI, licence="AC12345"))))
    assert check_npi(p, _client()).outcome == "pass"


def test_lookup_raises_with_the_reason(app: Any, registry: FakeNpiRegistry) -> None:
    registry.answer(NPI, Scripted(status=500, body={}))
    with app.app_context(), pytest.raises(NpiRegistryError) as raised:
        _client().lookup(NPI)
    assert raised.value.status_code == 500


@pytest.mark.parametrize(("number", "valid"), [("1234567893", True), ("1234567890", False), ("123456789", False),
                                               ("12345678a3", False), ("1000000111", True)])
def test_npi_check_digit(number: str, valid: bool) -> None:
    assert npi_is_valid(number) is valid


def test_compare_without_locations_or_licences_compares_the_rest() -> None:
    comparison = compare_record(npi_record(NPI), Expected("Mei", "Chen"))
    assert [f.field for f in comparison.findings] == ["enumeration_type", "status", "name", "gender", "taxonomy"]
    assert comparison.outcome == "pass"


def test_compare_accepts_a_hyphenated_double_name() -> None:
    assert compare_record(npi_record(NPI, last="CHEN-SMITH"), Expected("Mei", "Chen")).outcome == "pass"


@pytest.mark.parametrize(("first", "last", "listed_first", "listed_last"), [
    ("Søren", "Kierkegaard", "SOREN", "KIERKEGAARD"), ("Agnieszka", "Łukaszewska", "AGNIESZKA", "LUKASZEWSKA"),
    ("Jürgen", "Straße", "JUERGEN", "STRASSE"),
])
def test_a_non_ascii_name_matches_its_ascii_registry_record(session: Any, registry: FakeNpiRegistry, first: str,
                                                            last: str, listed_first: str, listed_last: str) -> None:
    registry.answer(NPI, Scripted(body=found(npi_record(NPI, first=listed_first, last=listed_last))))
    p = us_practitioner(first_name=first, last_name=last)
    _verified_except_npi(p)
    check = check_npi(p, _client())
    name = next(f for f in json.loads(check.evidence)["findings"] if f["field"] == "name")
    assert (name["result"], check.outcome, p.vetting_status) == ("ok", "pass", "verified")

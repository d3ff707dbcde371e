"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that says what the routes and their validation do.

The document is built from the url_map and the forms; these tests check it against the running
API instead: every route is in it and nothing else, and every bound, choice and blank it states for
a parameter is what the endpoint accepts and refuses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import OpenAPIV31SpecValidator

from directory.api import views
from directory.api.openapi import openapi_path
from directory.api.schemas import CHECK
from directory.vetting.chain import CHAINED_FIELDS
from tests.support.contract import violations

ORIGIN = {"lat": "42.36", "lon": "-71.06"}
# A request each parameter is varied in: coordinates so lat or lon alone is valid, one result per page so any
# page up to the window is allowed (an empty database has no last page to pass).
BASES = {"/api/v1/practitioners/search": {**ORIGIN, "per_page": "1"}}
PATHS = {"/api/v1/practitioners/{slug}/verification": "/api/v1/practitioners/no-such-slug/verification"}


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    """Return the document as the API serves it."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return dict(response.get_json())


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    OpenAPIV31SpecValidator(document).validate()
    assert document["openapi"] == "3.1.0"


def test_every_api_route_is_documented_and_nothing_else(app: Flask, document: dict[str, Any]) -> None:
    routes = {openapi_path(rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert set(document["paths"]) == routes
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            assert rule.methods == {"GET", "HEAD", "OPTIONS"}, rule  # the document describes GET only
            assert set(document["paths"][openapi_path(rule.rule)]) == {"get"}


def _cases(document: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Return (path, parameter, value, accepted?) for every bound, choice and blank the document states."""
    cases = []
    for path, item in document["paths"].items():
        for parameter in item["get"]["parameters"]:
            if parameter["in"] != "query":
                continue
            name, schema = parameter["name"], parameter["schema"]
            options = schema.get("anyOf", [schema])
            blank_ok = any(option.get("pattern") == "^\\s*$" for option in options)
            value = next(option for option in options if option.get("pattern") != "^\\s*$")
            cases += [(path, name, case, ok) for case, ok in _values(value, blank_ok)]
    return cases


def _values(schema: dict[str, Any], blank_ok: bool) -> list[tuple[str, bool]]:
    """Return values on and just past each edge ``schema`` states, with whether they must be accepted."""
    kind, values = schema["type"], []
    if kind in ("integer", "number"):
        step = 1 if kind == "integer" else 0.1
        low, high = schema["minimum"], schema["maximum"]
        values += [(str(low), True), (str(high), True), (f"{low - step:g}", False), (f"{high + step:g}", False)]
        if kind == "integer":
            values.append(("1.5", False))
        values.append(("", blank_ok))
    elif kind == "array":
        values += [(choice, True) for choice in schema["items"]["enum"]] + [("not-a-choice", False)]
    elif "enum" in schema:
        values += [(choice, True) for choice in schema["enum"]] + [("not-a-choice", False)]
        if "" not in schema["enum"]:
            values.append(("", False))
    else:
        values += [("x" * schema["maxLength"], True), ("x" * (schema["maxLength"] + 1), False)]
    return values


def test_every_stated_bound_choice_and_blank_is_what_the_endpoint_does(client: Any, document: dict[str, Any]) -> None:
    cases = _cases(document)
    assert len(cases) > 100
    wrong = []
    for path, name, value, accepted in cases:
        query = {**BASES.get(path, {}), name: value}
        if value == "" and name in ORIGIN:  # a blank coordinate is not given: so is its partner, or lat/lon refuse
            query.update(dict.fromkeys(ORIGIN, ""))
        response = client.get(PATHS.get(path, path), query_string=query)
        body = response.get_json()
        refused = response.status_code == 400 and body["error"] == "invalid_parameter" and body["field"] == name
        if refused == accepted:
            wrong.append(f"{path} {name}={value!r}: the document says {'accepted' if accepted else 'refused'}, "
                         f"the API answered {response.status_code} {json.dumps(body)[:160]}")
    assert not wrong, "\n".join(wrong)


def test_a_refused_number_is_told_the_bounds_the_document_states(client: Any, document: dict[str, Any]) -> None:
    # radius_km once refused 0.05 saying it "must be more than 0": the message now states the documented bounds.
    for path, item in document["paths"].items():
        for parameter in item["get"]["parameters"]:
            number = parameter["schema"].get("anyOf", [parameter["schema"]])[0]
            if parameter["in"] != "query" or number.get("type") not in ("integer", "number"):
                continue
            low, high = number["minimum"], number["maximum"]
            below = str(low / 2) if number["type"] == "number" and low > 0 else str(low - 1)
            query = {**BASES.get(path, {}), parameter["name"]: below}
            message = client.get(PATHS.get(path, path), query_string=query).get_json()["message"]
            assert str(low) in message and str(high) in message, (parameter["name"], message)


def test_every_form_field_is_a_documented_parameter(app: Flask, document: dict[str, Any]) -> None:
    from werkzeug.datastructures import MultiDict

    from directory.api.forms import ChainPageForm, StatementsPageForm
    from directory.practitioners.forms import SearchForm
    from directory.practitioners.search_service import vocabulary_choices

    with app.test_request_context():
        forms = {"/api/v1/practitioners/search": SearchForm(MultiDict(), vocabulary=vocabulary_choices()),
                 "/api/v1/practitioners/{slug}/verification": ChainPageForm(MultiDict()),
                 "/api/v1/verification/heads": StatementsPageForm(MultiDict())}
    for path, form in forms.items():
        documented = [p["name"] for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"]
        assert documented == [field.name for field in form]


def test_the_published_check_lists_every_chained_field() -> None:
    assert set(CHECK["properties"]) == {*CHAINED_FIELDS, "row_hash", "credential"}


def test_the_contract_refuses_a_wrong_body_and_an_undocumented_status() -> None:
    assert violations("api.practitioners_search", 200, {"total": "many"})
    assert violations("verification_api.signing_key", 429, {"error": "too_many_requests", "message": "slow down"})
    assert not violations("api.practitioners_search", 400, {"error": "invalid_parameter", "message": "m", "field": "q"})
    assert not violations(None, 404, {"error": "not_found", "message": "nothing here"})


def test_every_api_answer_in_the_suite_is_checked(client: Any, api_contract: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "results_json", lambda results: {"total": "many"})
    client.get("/api/v1/practitioners/search", query_string=ORIGIN)
    assert len(api_contract) == 1 and "'many' is not of type 'integer'" in api_contract[0]
    api_contract.clear()  # seen: the contract fixture would otherwise fail this test


def test_a_405_names_the_allowed_methods(client: Any) -> None:
    for path in ("/api/v1/verification/key", "/search"):
        response = client.post(path)
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert client.post("/api/v1/verification/key").get_json()["error"] == "method_not_allowed"


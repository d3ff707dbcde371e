"""The OpenAPI 3.1 document of /api/v1, built from the routes and the WTForms that validate them.

Paths come from the app's url_map and query parameters from the very form classes the views
bind (their field types, NumberRange/Length/AnyOf bounds and choices), so the document cannot
drift from the validation; response bodies are the JSON Schemas in ``directory/api/schemas.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField, SelectMultipleField, StringField
from wtforms.validators import AnyOf, Length, NumberRange, Optional

from directory.api.forms import ChainPageForm, StatementsPageForm
from directory.api.schemas import COMPONENTS
from directory.practitioners.forms import NumberParameterField, SearchForm, WholeNumberField
from directory.practitioners.search_service import vocabulary_choices

PREFIX = "/api/v1"
# No text parameter accepts NUL: refuse_nul_bytes answers 400 before any view runs (PostgreSQL text cannot hold it).
NO_NUL = "^[^\\u0000]*$"
BLANK = {"type": "string", "pattern": "^\\s*$", "description": "blank: the same as not giving the parameter"}
ERROR_CODES = {
    400: "invalid_parameter (field names the parameter), place_not_found, place_ambiguous (with candidates), "
         "bad_request (e.g. a NUL character), untrusted_host",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests (the search API is rate-limited per client address)",
    503: "search_unavailable (the engine is down; nothing is wrong with the request) or database_unavailable "
         "(the database was busy, e.g. locked by a long write, or unreachable); both send Retry-After",
}


# Flask-Limiter's headers (RATELIMIT_HEADERS_ENABLED) on a rate-limited route's answers; absent when limits are off.
RATE_LIMIT_HEADERS = {name: {"required": False, "description": text, "schema": {"type": "integer", "minimum": 0}}
                      for name, text in (("X-RateLimit-Limit", "requests allowed in the window"),
                                         ("X-RateLimit-Remaining", "requests left in the window"),
                                         ("X-RateLimit-Reset", "when the window resets (Unix time)"))}


@dataclass(frozen=True)
class Operation:
    """What the document says about one GET endpoint beyond its path: its form, its answers."""

    summary: str
    body: str
    form: Callable[[], Form] | None = None
    # 503 everywhere: a busy or unreachable database answers database_unavailable on any route.
    errors: tuple[int, ...] = (400, 404, 405, 503)
    description: str = ""
    path_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)


def _search_form() -> Form:
    """Bind the search API's form to no input, with today's vocabulary as its choices."""
    return SearchForm(MultiDict(), vocabulary=vocabulary_choices())


SLUG = {"type": "string", "minLength": 1, "pattern": "^[^/\\u0000]+$",
        "description": "the practitioner's slug, as in /practitioners/<slug>"}

OPERATIONS: dict[str, Operation] = {
    "api.practitioners_search": Operation(
        "Search listed practitioners", "SearchPage", _search_form, (400, 404, 405, 429, 503),
        "Coordinates (lat and lon, both or neither) win over place. Rules across parameters answer 400 naming "
        "the field: lat without lon, page times per_page past 10000, a page past the last one, a place that "
        "matches nothing (place_not_found) or several places (place_ambiguous).",
        examples={"lat": 42.3736, "lon": -71.1097, "radius_km": 25, "method": ["moxibustion"]}),
    "verification_api.practitioner_chain": Operation(
        "A practitioner's public chain of verification checks", "ChainPage", lambda: ChainPageForm(MultiDict()),
        description="Every chained field of every check, so anyone can recompute each row_hash; paginate by "
                    "after (the last sequence read) and limit.",
        path_parameters={"slug": SLUG}),
    "verification_api.signing_key": Operation("The public key that signs the chain-head statements", "SigningKey"),
    "verification_api.signed_heads": Operation(
        "The signed chain-head statements, newest first", "HeadsPage", lambda: StatementsPageForm(MultiDict())),
    "api.openapi_json": Operation("This document", "OpenApiDocument", errors=(404, 405, 503)),
}


def _drops_blank(bound: Any) -> bool:
    """Tell whether a multi-value field's filters drop a blank value (so "" means no filter)."""
    data: Any = [""]
    for keep in bound.filters:
        data = keep(data)
    return data == []


def parameter_schema(bound: Any) -> dict[str, Any]:
    """Return the JSON Schema of one bound form field, its bounds and choices read from its validators."""
    schema: dict[str, Any]
    if isinstance(bound, WholeNumberField):
        schema = {"type": "integer"}
    elif isinstance(bound, NumberParameterField):
        schema = {"type": "number"}
    elif isinstance(bound, SelectMultipleField):
        values = [value for value, *_ in bound.iter_choices()]
        # A filter that drops blank values makes "" (a form's "Any" option) mean no filter.
        blank = [""] if _drops_blank(bound) else []
        return {"type": "array", "items": {"type": "string", "enum": blank + values}}
    elif isinstance(bound, SelectField):
        allowed = [v for validator in bound.validators if isinstance(validator, AnyOf) for v in validator.values]
        schema = {"type": "string", "enum": allowed or [value for value, *_ in bound.iter_choices()]}
    elif isinstance(bound, StringField):
        schema = {"type": "string", "pattern": NO_NUL}
    else:
        raise TypeError(f"no OpenAPI schema for {type(bound).__name__} {bound.name}")
    for validator in bound.validators:
        if isinstance(validator, NumberRange):
            schema.update({k: v for k, v in (("minimum", validator.min), ("maximum", validator.max)) if v is not None})
        elif isinstance(validator, Length) and validator.max >= 0:
            schema["maxLength"] = validator.max
    if bound.default is not None:
        schema["default"] = bound.default
    if schema["type"] != "string" and any(isinstance(v, Optional) for v in bound.validators):
        # Optional() takes a blank value (what an HTML form sends for an empty box) as "not given".
        return {"anyOf": [schema, BLANK], **({"default": schema["default"]} if "default" in schema else {})}
    return schema


def query_parameters(form: Form, examples: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Return the OpenAPI query parameters of every field of ``form``, in the form's order."""
    parameters = []
    for bound in form:
        parameter: dict[str, Any] = {"name": bound.name, "in": "query", "required": False,
                                     "description": str(bound.label.text), "schema": parameter_schema(bound)}
        if examples and bound.name in examples:
            parameter["example"] = examples[bound.name]
        if isinstance(bound, SelectMultipleField):
            parameter.update(style="form", explode=True, description=f"{bound.label.text} (repeat for several)")
        parameters.append(parameter)
    return parameters


def _responses(operation: Operation) -> dict[str, Any]:
    """Return the documented answers of an operation: its body on 200, the error body otherwise."""
    ok = {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{operation.body}"}}}}
    errors = {str(status): {"description": ERROR_CODES[status],
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
              for status in operation.errors}
    if 429 in operation.errors:
        ok["headers"] = RATE_LIMIT_HEADERS
        errors["429"]["headers"] = {"Retry-After": {"required": True, "description": "seconds until a retry may pass",
                                                    "schema": {"type": "integer", "minimum": 0}}}
    if 503 in operation.errors:
        errors["503"]["headers"] = {"Retry-After": {
            "required": False, "schema": {"type": "integer", "minimum": 0},
            "description": "seconds to wait before trying again"}}
    return {"200": ok, **errors}


def openapi_path(rule: str) -> str:
    """Turn a Werkzeug rule (``/a/<slug>/b``, ``/a/<int:id>``) into an OpenAPI path (``/a/{slug}/b``)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def api_rules(app: Flask) -> dict[str, Any]:
    """Return endpoint -> url_map rule of every route under /api/v1."""
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")}


def _operation_json(endpoint: str, rule: Any) -> dict[str, Any]:
    """Return the OpenAPI operation object of one route."""
    operation = OPERATIONS[endpoint]
    parameters = [{"name": name, "in": "path", "required": True, "schema": operation.path_parameters[name]}
                  for name in sorted(rule.arguments)]
    if operation.form is not None:
        parameters += query_parameters(operation.form(), operation.examples)
    return {"operationId": endpoint.replace(".", "_"), "summary": operation.summary,
            **({"description": operation.description} if operation.description else {}),
            "parameters": parameters, "responses": _responses(operation)}


def openapi_document(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every /api/v1 route (call inside a request or app context)."""
    paths = {openapi_path(rule.rule): {"get": _operation_json(endpoint, rule)}
             for endpoint, rule in sorted(api_rules(app).items(), key=lambda item: item[1].rule)}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meridian API", "version": "1",
                 "description": "Find vetted acupuncture practitioners and re-verify their public verification "
                                "history. Every error answers with the Error body; 400s name the parameter at fault."},
        "paths": paths,
        "components": {"schemas": COMPONENTS},
    }

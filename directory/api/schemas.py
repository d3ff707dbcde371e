"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of every body the /api/v1 routes answer with.

Written by hand from the views' JSON builders; tests/functional validate every API response the
suite produces against them, and schemathesis validates the fuzzed ones, so a shape change fails.
"""

from __future__ import annotations

from typing import Any

from directory.practitioners.models import VETTING_STATUSES
from directory.vetting.chain import CHAINED_FIELDS
from directory.vetting.models import CHECK_OUTCOMES, CHECK_SOURCES, CREDENTIAL_KINDS
from directory.vetting.signing import SIGNATURE_ALGORITHM

HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
# What chained_payload makes of a datetime: ISO 8601 in UTC, seconds, no offset (not RFC 3339 date-time).
NAIVE_UTC = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"}
COUNT = {"type": "integer", "minimum": 0}
ID = {"type": "integer", "minimum": 1}
NEXT_LINK = {"type": ["string", "null"], "description": "the URL of the next page, or null on the last one"}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return a closed object schema: every property required except ``optional``, nothing else allowed."""
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "required": [name for name in properties if name not in optional]}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Return ``schema`` that also accepts null."""
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict[str, str]:
    """Return a reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


COUNTS = {"type": "object", "additionalProperties": COUNT, "description": "slug or code -> number of practitioners"}

HIT = _object({
    "id": ID,
    "slug": {"type": "string", "minLength": 1},
    "name": {"type": "string"},
    "distance_km": {"type": ["number", "null"], "minimum": 0},
    "location": _object({"city": {"type": "string"}, "region": {"type": "string"},
                         "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                         "lat": {"type": "number", "minimum": -90, "maximum": 90},
                         "lon": {"type": "number", "minimum": -180, "maximum": 180}}),
    "methods": {"type": "array", "items": {"type": "string"}},
    "conditions": {"type": "array", "items": {"type": "string"}},
    "languages": {"type": "array", "items": {"type": "string"}},
    "vetting_status": {"enum": list(VETTING_STATUSES)},
    "rating": _object({"average": {"type": ["number", "null"], "minimum": 1, "maximum": 5}, "count": COUNT,
                       "bayesian": {"type": ["number", "null"]}}),
})

SEARCH_PAGE = _object({
    "total": COUNT,
    "page": ID,
    "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
    "took_ms": {"type": "number", "minimum": 0},
    "origin": _nullable(_object({"lat": {"type": "number"}, "lon": {"type": "number"}, "label": {"type": "string"}})),
    "hits": {"type": "array", "items": _ref("SearchHit")},
    "facets": {**_nullable(_object({"method": COUNTS, "condition": COUNTS, "language": COUNTS,
                                    "vetting_status": COUNTS})),
               "description": "counts over all matches; null unless asked (facets=true; by default on page 1 only)"},
})

_CHAINED = {
    "practitioner_id": {"type": ["integer", "null"]}, "user_id": {"type": ["integer", "null"]},
    "sequence": ID, "credential_id": {"type": ["integer", "null"]}, "source": {"enum": list(CHECK_SOURCES)},
    "performed_by_id": {"type": ["integer", "null"]}, "performed_at": NAIVE_UTC,
    "outcome": {"enum": list(CHECK_OUTCOMES)}, "reference": {"type": ["string", "null"]},
    "note": {"type": ["string", "null"]}, "evidence_sha256": HEX64, "previous_hash": _nullable(HEX64),
}

CHECK = _object({
    **_CHAINED,
    "row_hash": HEX64,
    "credential": _nullable(_object({"kind": {"enum": list(CREDENTIAL_KINDS)}, "number": {"type": "string"},
                                     "jurisdiction": {"type": "string"}})),
})

CHAIN_PAGE = _object({
    "practitioner": _object({"id": ID, "slug": {"type": "string"}, "name": {"type": "string"}}),
    "listing_status": {"enum": ["listed", "suspended"]},
    "vetting_status": {"enum": list(VETTING_STATUSES)},
    "algorithm": {"const": "sha256"},
    "canonical_form": _object({"name": {"const": "meridian-check-v1"}, "description": {"type": "string"},
                               "fields": {"const": list(CHAINED_FIELDS)}}),
    "length": COUNT,
    "head": _nullable(_object({"sequence": ID, "row_hash": HEX64})),
    "checks": {"type": "array", "items": _ref("VerificationCheck")},
    "next": NEXT_LINK,
})

SIGNING_KEY = _object({
    "algorithm": {"const": SIGNATURE_ALGORITHM},
    "key_id": HEX64,
    "public_key": {"type": "string", "contentEncoding": "base64", "pattern": "^[A-Za-z0-9+/]{43}=$"},
    "public_key_pem": {"type": "string", "pattern": "^-----BEGIN PUBLIC KEY-----"},
    "key_id_rule": {"type": "string"},
})

STATEMENT = _object({
    "version": {"const": 1},
    "number": ID,
    "issued_at": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"},
    "algorithm": {"const": SIGNATURE_ALGORITHM},
    "hash_algorithm": {"const": "sha256"},
    "key_id": HEX64,
    "previous_statement_sha256": _nullable(HEX64),
    "heads": {"type": "array", "items": _object({"practitioner_id": ID, "slug": {"type": "string"}, "sequence": ID,
                                                 "row_hash": HEX64})},
})

HEADS_PAGE = _object({
    "total": COUNT,
    "page": ID,
    "per_page": ID,
    "statements": {"type": "array", "items": _object({"statement": _ref("HeadStatement"), "sha256": HEX64,
                                                      "signature": {"type": "string", "contentEncoding": "base64"}})},
    "next": NEXT_LINK,
})

ERROR = _object({
    "error": {"type": "string", "description": "a stable code, e.g. invalid_parameter, place_ambiguous, not_found"},
    "message": {"type": "string", "description": "what went wrong, in words a user can act on"},
    "field": {"type": "string", "description": "the parameter at fault, when there is one"},
    "candidates": {"type": "array", "description": "place_ambiguous: the places the text could mean",
                   "items": _object({"label": {"type": "string"}, "lat": {"type": "number"},
                                     "lon": {"type": "number"}})},
    "reason": {"type": "string", "description": "search_unavailable: what the engine answered"},
}, optional=("field", "candidates", "reason"))

OPENAPI_DOCUMENT = {"type": "object", "required": ["openapi", "info", "paths"],
                    "properties": {"openapi": {"const": "3.1.0"}}}

COMPONENTS: dict[str, dict[str, Any]] = {
    "SearchPage": SEARCH_PAGE, "SearchHit": HIT, "ChainPage": CHAIN_PAGE, "VerificationCheck": CHECK,
    "SigningKey": SIGNING_KEY, "HeadsPage": HEADS_PAGE, "HeadStatement": STATEMENT, "Error": ERROR,
    "OpenApiDocument": OPENAPI_DOCUMENT,
}

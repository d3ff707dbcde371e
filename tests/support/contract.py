"""Hold API responses to the published contract: each /api/v1 answer must be a documented status and body."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from directory.api.openapi import OPERATIONS
from directory.api.schemas import COMPONENTS

# The document's components, so "#/components/schemas/X" resolves exactly as it does inside the document.
DOCUMENT_URI = "urn:meridian:openapi"
_REGISTRY: Registry[Any] = Registry().with_resource(
    DOCUMENT_URI, DRAFT202012.create_resource({"components": {"schemas": COMPONENTS}}))
# What any /api/v1 path answers before a view runs: no such route, a wrong method, a NUL byte, a bad Host.
ROUTING_ERRORS = (400, 404, 405)


def schema_for(endpoint: str | None, status: int) -> dict[str, Any] | None:
    """Return the documented body schema of ``status`` on ``endpoint`` (None: that status is not documented)."""
    operation = OPERATIONS.get(endpoint or "")
    if operation is None:
        return COMPONENTS["Error"] if status in ROUTING_ERRORS else None
    if status == 200:
        return {"$ref": f"{DOCUMENT_URI}#/components/schemas/{operation.body}"}
    return COMPONENTS["Error"] if status in operation.errors else None


def violations(endpoint: str | None, status: int, body: Any) -> list[str]:
    """Return why ``body`` with ``status`` breaks the contract of ``endpoint`` (empty when it keeps it)."""
    schema = schema_for(endpoint, status)
    if schema is None:
        return [f"status {status} is not documented for {endpoint}"]
    validator = Draft202012Validator({**schema, "$id": "urn:meridian:response"}, registry=_REGISTRY)
    return [f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(body)]

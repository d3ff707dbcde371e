"""Every functional test's /api/v1 responses are held to the published OpenAPI contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request, request_finished

from tests.support.contract import violations


@pytest.fixture(autouse=True)
def api_contract() -> Iterator[list[str]]:
    """Check each API answer any app gives during the test against its documented status and schema."""
    broken: list[str] = []

    def check(sender: Flask, response: Any, **extra: Any) -> None:
        # HEAD and OPTIONS are Flask's own answers (no body; Allow), not operations of the document.
        if not request.path.startswith("/api/v1/") or request.method in ("HEAD", "OPTIONS") or response.is_streamed:
            return
        endpoint = request.url_rule.endpoint if request.url_rule else None
        body = response.get_json(silent=True)
        found = violations(endpoint, response.status_code, body)
        if found:
            broken.append(f"{request.method} {request.full_path} -> {response.status_code}: {'; '.join(found)}")

    request_finished.connect(check)
    try:
        yield broken
    finally:
        request_finished.disconnect(check)
    if broken:
        pytest.fail("API responses broke the OpenAPI contract:\n" + "\n".join(broken[:20]), pytrace=False)

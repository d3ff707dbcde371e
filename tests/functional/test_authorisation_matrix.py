"""Every registered route x every role: the expected status, read from app.url_map.

A route missing from EXPECTED (or without a declared access rule) fails this test,
so nothing new becomes reachable by accident.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from directory.accounts.policy import rule_for
from directory.clock import utcnow
from tests import factories
from tests.conftest import extra_app, rolled_back_session
from tests.support.web import sign_in_as

ANYONE = {"anonymous", "patient", "doctor", "practitioner", "admin"}
SIGNED_IN = ANYONE - {"anonymous"}
ADMIN = {"admin"}
# Who may use each endpoint. Blueprints of admin screens are admin-only as a whole.
EXPECTED: dict[str, set[str]] = {
    "site.home": ANYONE, "site.healthz": ANYONE, "site.favicon": ANYONE, "content.about": ANYONE,
    "practitioners.search_page": ANYONE, "practitioners.suggest_json": ANYONE, "practitioners.profile": ANYONE,
    "api.practitioners_search": ANYONE,
    "verification_api.practitioner_chain": ANYONE, "verification_api.signing_key": ANYONE,
    "verification_api.signed_heads": ANYONE, "api.openapi_json": ANYONE,
    "screening.questionnaire": ANYONE, "screening.result": ANYONE, "screening.forget": ANYONE,
    "accounts.sign_up": ANYONE, "accounts.sign_in": ANYONE, "accounts.confirm_email": ANYONE,
    "accounts.request_reset": ANYONE, "accounts.reset_password": ANYONE, "accounts.resend_confirmation": ANYONE,
    "accounts.sign_out": SIGNED_IN, "accounts.dashboard": SIGNED_IN, "accounts.export_data": SIGNED_IN,
    "accounts.delete_account": {"patient"}, "accounts.claim_profile": {"practitioner"},
    # Allowed roles reach the object check: another's profile is then a 403 of its own (tested separately).
    "practitioner_manage.edit_profile": {"practitioner", "admin"},
    # The same for a listing's locations, hours and exceptions (another's listing is a 404, tested in test_locations).
    "practitioner_locations.locations": {"practitioner", "admin"}, "practitioner_locations.location": {"practitioner", "admin"},
    "practitioner_locations.remove": {"practitioner", "admin"}, "practitioner_locations.hours": {"practitioner", "admin"},
    "practitioner_locations.exceptions": {"practitioner", "admin"},
    "practitioner_locations.remove_exception_view": {"practitioner", "admin"},
    # One-click claims, one's own new listing and the claim's waiting page are a practitioner account's.
    "practitioner_manage.claim_profile": {"practitioner"}, "practitioner_manage.new_listing": {"practitioner"},
    "practitioner_manage.claim_waiting": {"practitioner"}, "practitioner_manage.photo": ANYONE,
    # A practitioner's own credentials; another's credential id is a 404 (tested in test_credentials_self_service).
    "credentials.overview": {"practitioner"}, "credentials.add": {"practitioner"},
    "credentials.renew": {"practitioner"},
    # Doctors refer, patients request; the referral's own page and actions check whose it is (404 otherwise).
    "referrals.new": {"doctor", "patient"}, "referrals.detail": SIGNED_IN, "referrals.act": SIGNED_IN,
    "referrals.inbox_page": SIGNED_IN, "referrals.notifications_page": SIGNED_IN, "referrals.read": SIGNED_IN,
    # Any signed-in user reaches the review form, which tells a non-patient plainly why they cannot review.
    "reviews.write": SIGNED_IN, "reviews.edit": {"patient"}, "reviews.history": ANYONE,
    "reviews.report": {"patient", "practitioner"}, "reviews.respond": {"practitioner"},
}
ADMIN_BLUEPRINTS = ("accounts_admin.", "vetting.", "referrals_admin.", "reviews_admin.", "listings_admin.")
ROLES = ["anonymous", "patient", "doctor", "practitioner", "admin"]


def expected_roles(endpoint: str) -> set[str]:
    """Return who may use ``endpoint``; fail for an endpoint nobody has decided about."""
    if endpoint.startswith(ADMIN_BLUEPRINTS):
        return ADMIN
    assert endpoint in EXPECTED, f"new route {endpoint}: add it to EXPECTED with who may use it"
    return EXPECTED[endpoint]


def _url(rule: Rule) -> str:
    """Build a URL for ``rule`` with placeholder arguments (ids that do not exist, nonsense tokens)."""
    values = {arg: (999_999 if isinstance(rule._converters[arg], IntegerConverter) else "nothing-here")
              for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


@pytest.fixture
def matrix_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, dict[str, Any]]]:
    """An app without CSRF (this test is about access, CSRF has its own) and one user per role."""
    with extra_app(database_url, tmp_path, WTF_CSRF_ENABLED=False) as matrix, rolled_back_session(matrix):
        matrix.extensions["search"].backend().ensure_index()
        profile = factories.practitioner()
        users = {role: factories.user(role, email_confirmed_at=utcnow(), approved_at=utcnow(),
                                      practitioner_id=profile.id if role == "practitioner" else None)
                 for role in ROLES if role != "anonymous"}
        yield matrix, users


def _status(app: Flask, users: dict[str, Any], role: str, rule: Rule) -> tuple[int, str]:
    """Request ``rule`` as ``role``; return (status, Location)."""
    client = app.test_client()
    if role != "anonymous":
        sign_in_as(client, users[role])
    method = "GET" if "GET" in (rule.methods or set()) else "POST"
    response = client.open(_url(rule), method=method)
    return response.status_code, response.headers.get("Location", "")


def test_every_route_answers_each_role_as_expected(matrix_app: tuple[Flask, dict[str, Any]]) -> None:
    app, users = matrix_app
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)
    table, problems = [], []
    with app.test_request_context():
        declared = {r.endpoint: rule_for(r.endpoint) for r in rules}
    for rule in rules:
        assert declared[rule.endpoint] is not None, f"{rule.endpoint} declares no access rule"
        allowed = expected_roles(rule.endpoint)
        row = []
        for role in ROLES:
            status, location = _status(app, users, role, rule)
            row.append(status)
            if status >= 500:
                problems.append(f"{rule.endpoint} as {role}: {status}")
            elif role in allowed:
                if status in (401, 403) or "/sign-in" in location:
                    problems.append(f"{rule.endpoint} as {role}: refused with {status}")
            elif role == "anonymous":
                if not (status == 401 or (status == 302 and "/sign-in" in location)):
                    problems.append(f"{rule.endpoint} as anonymous: {status}, expected sign-in")
            elif status != 403:
                problems.append(f"{rule.endpoint} as {role}: {status}, expected 403")
        methods = "/".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        table.append(f"| {methods} {rule.rule} | " + " | ".join(str(s) for s in row) + " |")
    report = "\n".join(["| route | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES), *table])
    if os.environ.get("MERIDIAN_MATRIX_OUT"):
        Path(os.environ["MERIDIAN_MATRIX_OUT"]).write_text(report + "\n")
    assert not problems, "\n".join(problems) + "\n\n" + report

"""Hostile numbers in every parameter of every form and API route: never a 500, always a plain answer.

Huge (80 and 5,000 digits), negative, fractional, exponent, NaN, infinite and repeated values go
into each query-string parameter, form field and path id in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from directory.accounts import tokens
from directory.accounts.models import PractitionerClaim
from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db
from directory.reviews import moderation
from directory.reviews.writing import ReviewInput, write_review
from directory.screening.rules import RULES
from directory.vetting.services import check_exclusions
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.workbench_models import VettingBatch
from tests import factories
from tests.support.web import csrf_from, sign_in_as
from tests.unit.vetting.builders import DATA, credential, us_practitioner

HOSTILE = {
    "huge": "9" * 80,
    "past Python's digit limit": "9" * 5000,
    "negative": "-1",
    "float": "2.5",
    "exponent": "1e308",
    "NaN": "NaN",
    "inf": "inf",
}
REPEATED = "repeated"
SEARCH_PARAMS = ["place", "lat", "lon", "radius_km", "method", "condition", "language", "gender",
                 "accepting_new_patients", "telehealth", "wheelchair_accessible", "open_now", "q", "verified_only",
                 "sort", "page", "per_page"]
ORIGIN = {"lat": "42.36", "lon": "-71.06"}
REVIEW = {"rating": "4", "body": "Calm and careful."}
REVIEW_PARAMS = ["rating", "communication_rating", "risks_rating", "pain_effect_rating", "title", "body", "condition",
                 "methods", "visit_month", "pain_before", "pain_after"]
PASSWORD = "correct horse battery staple"
LOCATION = {"address_line1": "1 Main St", "city": "Cambridge", "region": "MA", "postal_code": "02139", "country": "US"}
LOCATION_PARAMS = ("name", "address_line1", "address_line2", "city", "region", "postal_code", "country", "phone",
                   "booking_url", "latitude", "longitude")
CREDENTIAL_PARAMS = ("kind", "issuer", "number", "jurisdiction", "valid_from", "valid_until")


@dataclass(frozen=True)
class Route:
    """A route, who uses it, the valid parameters it is sent, and the ones fuzzed."""

    method: str
    path: str
    role: str
    base: dict[str, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()


ROUTES = [
    Route("GET", "/search", "anonymous", ORIGIN, tuple(SEARCH_PARAMS)),
    Route("GET", "/api/v1/practitioners/search", "anonymous", ORIGIN, tuple(SEARCH_PARAMS)),
    Route("GET", "/search/suggest", "anonymous", {}, ("q",)),
    Route("GET", "/api/v1/practitioners/fuzz-profile/verification", "anonymous", {}, ("after", "limit")),
    Route("GET", "/api/v1/verification/heads", "anonymous", {}, ("page", "per_page", "since")),
    Route("GET", "/api/v1/verification/key", "anonymous", {}, ()),
    Route("GET", "/api/v1/openapi.json", "anonymous", {}, ()),
    Route("GET", "/screening", "anonymous", {}, ("method", "practitioner", "return_to")),
    Route("POST", "/screening", "anonymous", {}, ("method", "practitioner", "return_to", "remember", "save",
                                                 *(rule.key for rule in RULES))),
    Route("GET", "/sign-in", "anonymous", {}, ("next",)),
    Route("POST", "/sign-in", "anonymous", {"email": "fuzz@example.org", "password": PASSWORD},
          ("email", "password", "next")),
    Route("POST", "/sign-up", "anonymous", {"full_name": "Fuzz", "email": "fuzz-new@example.org",
                                            "password": PASSWORD, "role": "doctor", "npi": "1234567893"},
          ("full_name", "email", "password", "role", "npi", "licence_number", "jurisdiction")),
    Route("POST", "/reset-password", "anonymous", {"email": "fuzz@example.org"}, ("email",)),
    Route("POST", "/confirm/resend", "anonymous", {"email": "fuzz@example.org"}, ("email",)),
    Route("GET", "/practitioners/fuzz-profile", "anonymous", {}, ("back",)),
    Route("POST", "/reset-password/{reset_token}", "anonymous", {"password": PASSWORD + "!", "confirm": PASSWORD + "!"},
          ("password", "confirm")),
    Route("POST", "/account/claim", "patient", {"slug": "fuzz-profile", "evidence": "licence AC123"},
          ("slug", "evidence")),
    Route("POST", "/account/delete", "patient", {"confirm": "no"}, ("confirm",)),
    Route("POST", "/practitioners/fuzz-profile/edit", "practitioner",
          {"first_name": "Fuzz", "last_name": "Profile", "bio": "Hello", "gender": "unspecified"},
          ("first_name", "last_name", "title", "bio", "gender", "accepting_new_patients", "telehealth", "phone",
           "booking_url", "fees", "insurance", "remove_photo", "methods", "conditions", "languages")),
    Route("POST", "/practitioners/fuzz-review-profile/claim", "claimant", {}, ("evidence",)),
    Route("POST", "/practitioners/fuzz-profile/locations", "practitioner", LOCATION, LOCATION_PARAMS),
    Route("POST", "/practitioners/fuzz-profile/locations/{location_id}", "practitioner", LOCATION, LOCATION_PARAMS),
    Route("POST", "/practitioners/fuzz-profile/locations/{location_id}/hours", "practitioner", {"day_0": "09:00-17:00"},
          tuple(f"day_{day}" for day in range(7))),
    Route("POST", "/practitioners/fuzz-profile/locations/{location_id}/exceptions", "practitioner",
          {"on_date": "2026-12-24", "closed": "y"}, ("on_date", "closed", "hours", "note")),
    Route("POST", "/practitioners/fuzz-profile/locations/{location_id}/exceptions/remove", "practitioner",
          {"on_date": "2026-12-24"}, ("on_date",)),
    Route("POST", "/account/listing/new", "claimant",
          {"first_name": "Fuzz", "last_name": "New", "evidence": "licence AC9"},
          ("first_name", "last_name", "title", "evidence")),
    Route("POST", "/account/credentials/", "practitioner",
          {"kind": "state_licence", "number": "AC1", "jurisdiction": "MA", "valid_from": "2026-01-01",
           "valid_until": "2028-01-01"}, CREDENTIAL_PARAMS),
    Route("POST", "/account/credentials/{credential_id}/renew", "practitioner",
          {"kind": "state_licence", "number": "AC2", "jurisdiction": "MA", "valid_from": "2026-01-01",
           "valid_until": "2028-01-01"}, CREDENTIAL_PARAMS),
    Route("POST", "/referrals/new/fuzz-profile", "referring doctor",
          {"patient_name": "Ada", "patient_contact": "ada@example.org", "reason": "Back pain", "urgency": "routine",
           "idempotency_key": "fuzz-key"},
          ("patient_name", "patient_contact", "condition", "reason", "urgency", "method", "screening_answers",
           "flags_acknowledged", "idempotency_key")),
    Route("POST", "/referrals/new/fuzz-profile", "patient", {"reason": "Back pain", "idempotency_key": "fuzz-key"},
          ("reason", "preferred_times", "condition", "method", "screening_answers", "flags_acknowledged",
           "idempotency_key")),
    Route("GET", "/referrals", "practitioner", {}, ("status",)),
    Route("POST", "/referrals/{referral_id}/schedule", "practitioner", {}, ("when", "note")),
    Route("POST", "/referrals/{referral_id}/decline", "practitioner", {"note": "Full"}, ("note",)),
    Route("POST", "/notifications/read", "practitioner", {}, ("notification_id",)),
    Route("GET", "/admin/audit", "admin", {}, ("action", "actor", "subject_type")),
    Route("POST", "/admin/users/{doctor_id}/approve", "admin",
          {"licence_number": "D1", "jurisdiction": "US-MA", "where_checked": "MA board"},
          ("licence_number", "jurisdiction", "where_checked")),
    Route("POST", "/admin/users/{doctor_id}/role", "admin", {"role": "doctor"}, ("role",)),
    Route("POST", "/admin/users/{doctor_id}/refuse", "admin", {"reason": "not a doctor"}, ("reason",)),
    Route("POST", "/admin/claims/{claim_id}", "admin", {"decision": "reject", "note": "no"}, ("decision", "note")),
    Route("GET", "/admin/vetting/", "admin", {}, ("page", "status", "kind", "source", "jurisdiction", "due",
                                                  "within_days", "before", "assigned", "sort")),
    Route("GET", "/admin/vetting/", "admin", {"due": "within", "within_days": "7"}, ("within_days",)),
    Route("POST", "/admin/vetting/practitioners/{practitioner_id}/assign", "admin", {"assignee": ""},
          ("assignee", "back")),
    Route("POST", "/admin/vetting/batches", "admin", {"back": "jurisdiction=MA"}, ("back",)),
    Route("POST", "/admin/vetting/batches/{batch_id}/step", "admin", {"at": "1"}, ("at",)),
    Route("GET", "/admin/referrals", "admin", {}, ("sort",)),
    Route("POST", "/admin/vetting/practitioners/{practitioner_id}/checks", "admin",
          {"credential_id": "0", "source": "manual", "what": "licence", "outcome": "pass"},
          ("credential_id", "source", "what", "reference", "outcome", "note")),
    Route("POST", "/admin/vetting/practitioners/{practitioner_id}/credentials", "admin",
          {"replaces": "0", "kind": "state_licence", "number": "AC1", "jurisdiction": "MA",
           "valid_from": "2026-01-01", "valid_until": "2028-01-01"},
          ("replaces", "kind", "issuer", "number", "jurisdiction", "valid_from", "valid_until")),
    Route("POST", "/admin/vetting/practitioners/{practitioner_id}/suspend", "admin", {}, ("reason", "category")),
    Route("POST", "/admin/vetting/practitioners/{practitioner_id}/reinstate", "admin", {}, ("reason",)),
    Route("POST", "/admin/vetting/practitioners/{hit_practitioner_id}/exclusion-review", "admin",
          {"decision": "clear", "reason": "not them"}, ("decision", "reason", "source")),
    Route("POST", "/admin/vetting/practitioners/{practitioner_id}/identity", "admin", {},
          ("date_of_birth", "former_names")),
    Route("POST", "/practitioners/fuzz-review-profile/review", "patient", REVIEW, tuple(REVIEW_PARAMS)),
    Route("POST", "/reviews/{review_id}/edit", "patient", REVIEW, tuple(REVIEW_PARAMS)),
    Route("GET", "/reviews/{review_id}", "anonymous", {}, ()),
    Route("POST", "/reviews/{review_id}/report", "practitioner", {"reason": "abusive"}, ("reason", "note")),
    Route("POST", "/reviews/{review_id}/response", "practitioner", {"body": "Thanks"}, ("body",)),
    Route("GET", "/admin/reviews", "admin", {}, ()),
    Route("GET", "/admin/listings/", "admin", {}, ()),
    Route("POST", "/admin/listings/merge", "admin", {"survivor_id": "1", "merged_id": "2"},
          ("survivor_id", "merged_id", "move_locations")),
    Route("POST", "/admin/listings/{practitioner_id}/hide", "admin", {"reason": "closed"}, ("reason",)),
    Route("POST", "/admin/listings/{practitioner_id}/unhide", "admin", {}, ()),
    Route("POST", "/admin/reviews/{review_id}/reject", "admin", {"reason": "abusive"}, ("reason", "note")),
    Route("POST", "/admin/reviews/{review_id}/confirm-visit", "admin", {"note": "book"}, ("note",)),
]
ID_ROUTES = [
    ("POST", "/admin/users/{}/approve"), ("POST", "/admin/users/{}/role"), ("POST", "/admin/users/{}/refuse"),
    ("POST", "/admin/users/{}/check-npi"),
    ("POST", "/admin/vetting/practitioners/{}/credentials"), ("POST", "/admin/claims/{}"),
    ("GET", "/account/credentials/{}/renew"), ("POST", "/account/credentials/{}/renew"),
    ("GET", "/admin/vetting/practitioners/{}"), ("POST", "/admin/vetting/practitioners/{}/run/npi_registry"),
    ("POST", "/admin/vetting/practitioners/{}/run/sam_exclusions"),
    ("POST", "/admin/vetting/practitioners/{}/checks"), ("POST", "/admin/vetting/practitioners/{}/suspend"),
    ("POST", "/admin/vetting/practitioners/{}/reinstate"), ("POST", "/admin/vetting/practitioners/{}/identity"),
    ("POST", "/admin/vetting/practitioners/{}/exclusion-review"), ("GET", "/admin/vetting/checks/{}/document"),
    ("GET", "/admin/vetting/credentials/{}/document"), ("GET", "/referrals/{}"), ("POST", "/referrals/{}/accept"),
    ("POST", "/admin/vetting/practitioners/{}/assign"), ("GET", "/admin/vetting/batches/{}"),
    ("POST", "/admin/vetting/batches/{}/step"),
    ("GET", "/reviews/{}"), ("POST", "/reviews/{}/report"), ("POST", "/reviews/{}/response"),
    ("POST", "/admin/reviews/{}/approve"), ("POST", "/admin/reviews/{}/reject"),
    ("POST", "/admin/reviews/{}/confirm-visit"),
    ("POST", "/admin/listings/{}/hide"), ("POST", "/admin/listings/{}/unhide"),
    ("GET", "/practitioners/fuzz-profile/locations/{}"), ("POST", "/practitioners/fuzz-profile/locations/{}"),
    ("POST", "/practitioners/fuzz-profile/locations/{}/remove"),
    ("POST", "/practitioners/fuzz-profile/locations/{}/hours"),
    ("POST", "/practitioners/fuzz-profile/locations/{}/exceptions"),
    ("POST", "/practitioners/fuzz-profile/locations/{}/exceptions/remove"),
]
TOKEN_ROUTES = ["/confirm/{}", "/reset-password/{}", "/practitioners/{}", "/practitioners/{}/edit",
                "/practitioners/{}/photo", "/practitioners/{}/locations",
                "/api/v1/practitioners/{}/verification"]
CASES = [pytest.param(route, param, name, id=f"{route.method} {route.path} {param}={name}")
         for route in ROUTES for param in route.params for name in [*HOSTILE, REPEATED]]
# What a page shows when it refuses input: a field error, an alert, an error flash or the error page.
REFUSAL_MARKERS = ('class="field-error"', 'role="alert"', "flash-error", 'class="error-page"')


@cache
def _password_hash() -> str:
    """Return the hash of PASSWORD, computed once (argon2 is slow on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    """The users, profile, claim and tokens the routes need; return the values for their paths."""
    profile = factories.practitioner(slug="fuzz-profile")
    users = {
        "patient": factories.user("patient", email="fuzz@example.org", password_hash=_password_hash(),
                                  email_confirmed_at=utcnow()),
        "practitioner": factories.user("practitioner", email_confirmed_at=utcnow(), approved_at=utcnow(),
                                       practitioner_id=profile.id),
        "admin": factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow()),
        "referring doctor": factories.doctor(),
        "claimant": factories.user("practitioner", email_confirmed_at=utcnow()),  # no listing yet
    }
    doctor = factories.user("doctor", email_confirmed_at=utcnow())
    claim = PractitionerClaim(user_id=users["patient"].id, practitioner_id=factories.practitioner().id, evidence="e")
    db.session.add(claim)
    db.session.flush()
    referral = factories.referral(users["referring doctor"], profile)
    patient = users["patient"]
    batch = VettingBatch(started_by_id=users["admin"].id, practitioner_ids=f"[{profile.id}]", total=1)
    db.session.add(batch)
    db.session.flush()
    licence = credential(profile)
    factories.practitioner(slug="fuzz-review-profile")
    review = write_review(patient, profile, ReviewInput(rating=4, body="A fine visit."))
    moderation.approve(users["admin"], review.id)
    db.session.commit()  # a savepoint: a refused action's rollback keeps the world for the page it re-renders
    return {"users": users, "doctor_id": doctor.id, "claim_id": claim.id, "practitioner_id": profile.id,
            "referral_id": referral.id, "batch_id": batch.id, "credential_id": licence.id, "review_id": review.id,
            "location_id": profile.locations[0].id,
            "reset_token": tokens.make_token("reset", {"uid": patient.id, "h": patient.password_hash[-16:]})}


@pytest.fixture
def hit_practitioner(world: dict[str, Any]) -> int:
    """Add a practitioner with an exclusion-list match awaiting review (so the review form is shown)."""
    import_exclusion_list(DATA / "leie_sample.csv")
    practitioner = us_practitioner(npi=None, first_name="David", last_name="Lee")
    check_exclusions(practitioner)
    return practitioner.id


def _values(param: str, name: str) -> list[str]:
    """Return the values sent for ``param``: the hostile one, or two for a repeat."""
    return ["1", "2"] if name == REPEATED else [HOSTILE[name]]


def _send(client: Any, world: dict[str, Any], route: Route, data: MultiDict[str, str]) -> Any:
    """Send ``data`` to ``route`` as its user would (signed in, with a CSRF token for a POST)."""
    if route.role != "anonymous":
        sign_in_as(client, world["users"][route.role])
    path = route.path.format(**world)
    if route.method == "GET":
        return client.get(path, query_string=data)
    data.add("csrf_token", csrf_from(client.get("/reset-password").get_data(as_text=True)))
    return client.post(path, data=data)


def assert_plain_answer(response: Any) -> None:
    """Assert the answer is not a server error and that a refusal says why in words."""
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    if response.status_code < 400:
        return
    if response.is_json:
        message = response.get_json()["message"]
        assert message and "Traceback" not in message and "object at 0x" not in message
    else:
        page = response.get_data(as_text=True)
        assert any(marker in page for marker in REFUSAL_MARKERS), page[:2000]


@pytest.mark.parametrize(("route", "param", "name"), CASES)
def test_hostile_values_get_a_plain_answer(request: pytest.FixtureRequest, client: Any, world: dict[str, Any],
                                           route: Route, param: str, name: str) -> None:
    if "{hit_practitioner_id}" in route.path:
        world["hit_practitioner_id"] = request.getfixturevalue("hit_practitioner")
    data = MultiDict(route.base)
    data.setlist(param, _values(param, name))
    assert_plain_answer(_send(client, world, route, data))


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_ids_in_paths_are_not_found(client: Any, world: dict[str, Any], method: str, path: str,
                                            name: str) -> None:
    sign_in_as(client, world["users"]["admin"])
    url = path.format(HOSTILE[name])
    response = client.get(url) if method == "GET" else client.post(
        url, data={"csrf_token": csrf_from(client.get("/reset-password").get_data(as_text=True))})
    assert response.status_code == 404, (url[:80], response.status_code)
    assert_plain_answer(response)


@pytest.mark.parametrize("path", TOKEN_ROUTES)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_tokens_and_slugs_in_paths_get_a_plain_answer(client: Any, world: dict[str, Any], path: str,
                                                              name: str) -> None:
    sign_in_as(client, world["users"]["admin"])
    assert_plain_answer(client.get(path.format(HOSTILE[name])))


@pytest.mark.parametrize("path", ["/search", "/api/v1/practitioners/search"])
@pytest.mark.parametrize("param", ["page", "per_page"])
@pytest.mark.parametrize("name", ["huge", "past Python's digit limit", "negative", "float", "exponent", "NaN", "inf"])
def test_integer_parameters_name_their_bounds(client: Any, path: str, param: str, name: str) -> None:
    response = client.get(path, query_string={**ORIGIN, param: HOSTILE[name]})
    assert response.status_code == 400
    high = {"page": 10000, "per_page": 100}[param]
    expected = f"{param} must be a whole number from 1 to {high}"
    if path.startswith("/api/"):
        assert response.get_json() == {"error": "invalid_parameter", "field": param, "message": expected}
    else:
        assert expected in response.get_data(as_text=True)


@pytest.mark.parametrize("param", ["page", "per_page", "lat", "sort", "q", "verified_only"])
def test_a_repeated_parameter_is_refused_by_name(client: Any, param: str) -> None:
    query = MultiDict(ORIGIN)
    query.setlist(param, [query.get(param, "1"), query.get(param, "2")])
    response = client.get("/api/v1/practitioners/search", query_string=query)
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_parameter", "field": param,
                                   "message": f"{param} was given 2 times; give it once"}


def test_repeated_multi_value_filters_are_still_allowed(client: Any) -> None:
    query = MultiDict(ORIGIN)
    query.setlist("method", ["moxibustion", "cupping"])
    assert client.get("/api/v1/practitioners/search", query_string=query).status_code == 200

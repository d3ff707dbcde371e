"""The admin screens ask the source registry: what can be run, what can be recorded, and bad codes refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from directory.clock import utcnow
from directory.extensions import db
from directory.models import VerificationCheck
from directory.vetting.sources import registry
from tests import factories
from tests.support.web import csrf_token
from tests.support.web import sign_in_as as sign_in
from tests.unit.vetting.builders import us_practitioner


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    """A client signed in as an admin."""
    sign_in(client, factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow()))
    return client


def _post(client: FlaskClient, p: Any, action: str, data: dict[str, Any] | None = None) -> Any:
    """Post a form of the practitioner's screen with the screen's CSRF token."""
    db.session.commit()  # the test's setup, committed as it would be before a real request (a savepoint here)
    page = f"/admin/vetting/practitioners/{p.id}"
    return client.post(f"{page}/{action}", data={"csrf_token": csrf_token(client, page), **(data or {})})


def _checks() -> list[VerificationCheck]:
    return list(db.session.scalars(select(VerificationCheck)))


@pytest.mark.parametrize(("code", "message"), [("astrology", "There is no check source with that name."),
                                               ("state_board", "that check is recorded by an admin")])
def test_running_an_unknown_or_manual_source_is_a_clear_404(admin_client: FlaskClient, session: Any, code: str,
                                                            message: str) -> None:
    p = us_practitioner()
    response = _post(admin_client, p, f"run/{code}")
    assert response.status_code == 404
    assert message in response.get_data(as_text=True)
    assert _checks() == []


@pytest.mark.parametrize("code", ["astrology", "npi_registry", "exclusion_list", ""])
def test_recording_a_manual_check_at_a_source_not_offered_is_a_400(admin_client: FlaskClient, session: Any,
                                                                   code: str) -> None:
    p = us_practitioner()
    response = _post(admin_client, p, "checks", {"credential_id": str(p.credentials[0].id), "source": code,
                                                  "what": "licence", "outcome": "pass"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _checks() == []


def test_the_screen_offers_what_the_registry_lists(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner()
    db.session.commit()
    html = admin_client.get(f"/admin/vetting/practitioners/{p.id}").get_data(as_text=True)
    for source in registry.automated():
        assert f"/run/{source.code}" in html and f"Run {source.label} check" in html
    for source in registry.manual():
        assert f'<option value="{source.code}">{source.label}</option>' in html
    assert re.search(r"<li>State board / licensing authority look-up \(state licence\):\s+never checked", html), \
        "due items are named by their source's label"

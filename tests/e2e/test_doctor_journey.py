"""In a real browser: a doctor signs up with an NPI; an admin checks it against the registry, reads it, approves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.passwords import hash_password
from directory.accounts.policy import can_refer
from directory.clock import utcnow
from directory.extensions import db
from directory.models import User
from tests.e2e.conftest import LiveServer, screenshot
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record, running_registry

pytestmark = pytest.mark.e2e
PASSWORD = "a doctor's long passphrase"
NPI = "1245319599"


@pytest.fixture
def registry(live_server: LiveServer) -> Iterator[FakeNpiRegistry]:
    """Point the live app's NPI client at a local registry that knows Dr Rosa Ferreira, a family physician."""
    assert live_server.app is not None
    with running_registry(live_server.app) as fake:
        record = npi_record(NPI, first="ROSA", last="FERREIRA", taxonomy="207Q00000X", licence="MD55501")
        record["taxonomies"][0]["desc"] = "Family Medicine"
        fake.answer(NPI, Scripted(body=found(record)))
        yield fake


def _add_admin(server: LiveServer) -> None:
    assert server.app is not None
    with server.app.app_context():
        db.session.add(User(email="doctor-admin@example.org", password_hash=hash_password(PASSWORD), role="admin",
                            full_name="Doctor Admin", email_confirmed_at=utcnow(), approved_at=utcnow()))
        db.session.commit()
        db.session.remove()


def _doctor(server: LiveServer) -> tuple[int, bool, bool]:
    """Return the doctor's id, whether she is approved and whether she may refer."""
    assert server.app is not None
    with server.app.app_context():
        user = db.session.scalars(select(User).where(User.email == "rosa.ferreira@example.org")).one()
        result = user.id, user.approved_at is not None, can_refer(user)
        db.session.remove()
    return result


def test_a_doctor_signs_up_with_an_npi_and_an_admin_checks_and_approves(
        page: Any, live_server: LiveServer, registry: FakeNpiRegistry) -> None:
    page.goto(live_server.at("/sign-up"))
    page.get_by_label("Full name").fill("Rosa Ferreira")
    page.get_by_label("Email").fill("rosa.ferreira@example.org")
    page.get_by_label("Password (12 characters or more)").fill(PASSWORD)
    page.get_by_label("I am a").select_option(label="Doctor (referring physician)")
    page.get_by_label("NPI (10 digits)").fill(NPI)
    screenshot(page, "doctor-sign-up-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "doctor-sign-up-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert registry.requests == []  # signing up asks the registry nothing
    doctor_id, approved, _ = _doctor(live_server)
    assert not approved

    _add_admin(live_server)
    page.context.clear_cookies()
    page.goto(live_server.at("/sign-in?next=/admin/users"))
    page.get_by_label("Email").fill("doctor-admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    waiting = page.locator(f"#user-{doctor_id}")
    expect(waiting.get_by_text("not checked yet")).to_be_visible()
    waiting.get_by_role("button", name="Check NPI").click()

    expect(page.get_by_text("NPI check passed: an active individual referring clinician.")).to_be_visible()
    waiting = page.locator(f"#user-{doctor_id}")
    for shown in ("ROSA FERREIRA", "A (active)", "NPI-1 (individual)", "207Q00000X Family Medicine"):
        expect(waiting.locator(".npi-record dd", has_text=shown)).to_be_visible()
    expect(waiting.locator(".outcome")).to_have_text("pass")
    assert registry.requests[-1]["number"] == [NPI]
    screenshot(page, "doctor-approval-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    waiting.scroll_into_view_if_needed()
    screenshot(page, "doctor-approval-375")
    page.set_viewport_size({"width": 1280, "height": 900})

    waiting.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Account approved; the applicant is told by email.")).to_be_visible()
    expect(page.locator(f"#user-{doctor_id}")).to_have_count(0)
    assert _doctor(live_server)[1:] == (True, True)

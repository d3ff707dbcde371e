"""In a real browser: a patient, a doctor and a practitioner sign up, confirm, sign in and reach their dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from directory.extensions import db
from tests.e2e.conftest import LiveServer, screenshot
from tests.support.web import last_email, link_in

pytestmark = pytest.mark.e2e
PASSWORD = "a long and memorable passphrase"


def _confirmation_path(server: LiveServer, email: str) -> str:
    """Return the link from the confirmation email the app queued for ``email``."""
    assert server.app is not None
    with server.app.app_context():
        path = link_in(last_email(email, "confirm"))
        db.session.remove()
    return path


@pytest.mark.parametrize(("role", "label"), [("patient", "Patient"), ("doctor", "Doctor (referring physician)"),
                                             ("practitioner", "Acupuncture practitioner")])
def test_sign_up_confirm_sign_in_reach_dashboard(page: Any, live_server: LiveServer, role: str, label: str) -> None:
    email = f"journey-{role}@example.org"
    page.goto(live_server.at("/"))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Full name").fill(f"Journey {role.title()}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (12 characters or more)").fill(PASSWORD)
    expect(page.get_by_label("NPI (10 digits)")).to_be_hidden()  # sign_up.js: the doctor's fields wait for "Doctor"
    page.get_by_label("I am a").select_option(label=label)
    if role == "doctor":
        page.get_by_label("NPI (10 digits)").fill("1234567893")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(live_server.at(_confirmation_path(live_server, email)))
    expect(page.get_by_text("Your email is confirmed")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    assert page.url.endswith("/account")
    expect(page.get_by_role("heading", name=f"Hello, Journey {role.title()}")).to_be_visible()
    expect(page.get_by_text(f"Signed in as a {role}")).to_be_visible()
    if role != "patient":
        expect(page.get_by_text("waiting for an admin")).to_be_visible()
    screenshot(page, f"account-dashboard-{role}")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()

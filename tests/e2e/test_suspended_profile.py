"""In a real browser: a suspended practitioner's profile says so plainly, with the history and no contact details."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.extensions import db
from directory.models import Practitioner, User
from directory.vetting.decisions import suspend
from tests.e2e.conftest import LiveServer, new_page, screenshot

pytestmark = pytest.mark.e2e
PRIVATE_NOTE = "Private: complaint by a patient about her treatment on 3 March"


def _suspend_one(server: LiveServer) -> tuple[str, str]:
    """Suspend a verified demo practitioner no other browser test relies on; return (slug, date shown)."""
    assert server.app is not None
    with server.app.app_context():
        admin = User(email="suspending-admin@example.org", password_hash="x", role="admin", full_name="Suspending Admin")
        db.session.add(admin)
        db.session.flush()
        known = set(server.slugs.values())
        target = next(p for p in db.session.scalars(select(Practitioner).where(Practitioner.vetting_status == "verified")
                                                    .order_by(Practitioner.id)) if p.slug not in known)
        suspend(target, PRIVATE_NOTE, admin, "exclusion_list")
        db.session.commit()
        result = target.slug, target.vetting_status_since.strftime("%d %b %Y")
        db.session.remove()
    return result


def test_a_suspended_profile_says_so_and_shows_the_decision(browser: Any, page: Any, live_server: LiveServer) -> None:
    slug, since = _suspend_one(live_server)
    response = page.goto(live_server.at(f"/practitioners/{slug}"))
    assert response is not None and response.status == 200
    notice = page.get_by_role("status").filter(has_text="This listing is suspended")
    expect(notice).to_be_visible()
    assert f"This listing is suspended since {since}." in notice.inner_text()
    assert "Reason: Exclusion list match." in notice.inner_text()
    history = page.get_by_role("region", name="Verification history, newest first")
    first_row = history.locator("tbody tr").first
    assert "Listing suspended" in first_row.inner_text() and "Exclusion list match" in first_row.inner_text()
    body = page.locator("body").inner_text()
    assert PRIVATE_NOTE not in body
    for contact in ("Book online", "Call ", "Doctors: refer a patient", "Contact or refer"):
        assert contact not in body, contact
    screenshot(page, "profile-suspended-desktop")

    phone, watch = new_page(browser, live_server, viewport={"width": 375, "height": 812}, is_mobile=True)
    try:
        phone.goto(live_server.at(f"/practitioners/{slug}"))
        expect(phone.get_by_role("status").filter(has_text="This listing is suspended")).to_be_visible()
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
        screenshot(phone, "profile-suspended-phone")
    finally:
        phone.context.close()
    assert watch.errors == []

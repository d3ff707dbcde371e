"""In a real browser: a patient with a completed referral reviews, an admin approves, the practitioner answers,
the patient edits, and the public history shows both versions; every page fits a 375 px phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db
from directory.models import Practitioner
from tests import factories
from tests.e2e.conftest import LiveServer, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "a review journey passphrase"
PATIENT, OWNER, ADMIN = "review.patient@example.org", "review.owner@example.org", "review.admin@example.org"
SLUG = "lena-vogel"


def _accounts(server: LiveServer) -> None:
    """Add the patient (with a completed request to Lena Vogel), Lena's owner account and an admin."""
    assert server.app is not None
    with server.app.app_context():
        profile = db.session.scalar(select(Practitioner).where(Practitioner.slug == SLUG))
        assert profile is not None
        password = hash_password(PASSWORD)
        patient = factories.patient(email=PATIENT, full_name="Rae Reviewer", password_hash=password)
        factories.practitioner_account(profile, email=OWNER, full_name="Lena Vogel", password_hash=password)
        factories.user("admin", email=ADMIN, full_name="Review Admin", password_hash=password,
                       email_confirmed_at=utcnow(), approved_at=utcnow())
        factories.visited_referral(patient, profile)
        db.session.commit()
        db.session.remove()


def _sign_in(page: Any, server: LiveServer, email: str) -> None:
    """Sign in from a clean browser through the form."""
    page.context.clear_cookies()
    page.goto(server.at("/sign-in"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.at("/account"))


def _fits_a_phone(page: Any, name: str) -> None:
    """Screenshot at 1280 and 375 px; the page must not scroll sideways on the phone."""
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, f"{name}-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_verified_review_from_writing_to_its_public_history(page: Any, live_server: LiveServer) -> None:
    _accounts(live_server)
    _sign_in(page, live_server, PATIENT)
    page.goto(live_server.at(f"/practitioners/{SLUG}"))
    page.get_by_role("link", name="Write a review").click()
    expect(page.get_by_text("will be shown as a verified visit")).to_be_visible()
    page.get_by_label("4 stars").first.check()
    page.get_by_label("Your review").fill("Gentle <script>alert(1)</script> and clear about the risks.")
    page.get_by_role("group", name="Condition treated").get_by_label("Low back pain").check()
    page.get_by_role("group", name="Pain before the treatment").get_by_label("7", exact=True).check()
    page.get_by_role("group", name="Pain after the course").get_by_label("3", exact=True).check()
    _fits_a_phone(page, "review-form")
    page.get_by_role("button", name="Submit the review").click()
    expect(page.get_by_text("Your review is waiting for a moderator")).to_be_visible()

    _sign_in(page, live_server, ADMIN)
    page.goto(live_server.at("/admin/reviews"))
    item = page.locator(".review-queue > li").filter(has_text="Gentle")
    expect(item.get_by_text("Verified visit")).to_be_visible()
    _fits_a_phone(page, "review-queue")
    item.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("is published.")).to_be_visible()

    page.context.clear_cookies()
    page.goto(live_server.at(f"/practitioners/{SLUG}"))
    review = page.locator("ul.reviews > li").filter(has_text="Gentle")
    expect(review.get_by_text("Verified visit")).to_be_visible()
    expect(review).to_contain_text("<script>alert(1)</script>")  # shown as text, never run

    _sign_in(page, live_server, OWNER)
    page.goto(live_server.at(f"/practitioners/{SLUG}"))
    page.locator("ul.reviews > li").filter(has_text="Gentle").get_by_role("link", name="Review page").click()
    page.get_by_label("Your public response").fill("Thank you, Rae. Keep up the exercises.")
    page.get_by_role("button", name="Publish the response").click()
    expect(page.get_by_text("Your response is published")).to_be_visible()
    history_url = page.url

    _sign_in(page, live_server, PATIENT)
    page.goto(history_url)
    page.get_by_role("link", name="Edit your review").click()
    page.get_by_label("Your review").fill("Second visit: even better, pain mostly gone.")
    page.get_by_label("5 stars").first.check()
    page.get_by_role("button", name="Save the new version").click()
    expect(page.get_by_text("Your review is updated")).to_be_visible()

    page.context.clear_cookies()
    page.goto(live_server.at(f"/practitioners/{SLUG}"))
    shown = page.locator("ul.reviews > li").filter(has_text="Second visit")
    expect(shown.get_by_text("Verified visit")).to_be_visible()
    expect(shown).to_contain_text("Thank you, Rae.")
    shown.get_by_role("link", name="earlier versions").click()
    versions = page.locator(".review-versions")
    expect(versions).to_contain_text("Second visit: even better")
    expect(versions).to_contain_text("Gentle <script>alert(1)</script> and clear about the risks.")
    _fits_a_phone(page, "review-history")

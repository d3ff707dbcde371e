"""In a real browser: a doctor's referral from send to outcome, and a patient's appointment request to scheduled."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from directory.clock import utcnow
from tests.e2e.conftest import LiveServer, new_page, screenshot
from tests.e2e.data import ACCOUNT_PASSWORD, DOCTOR_EMAIL, OWNER_EMAIL, PATIENT_EMAIL

pytestmark = pytest.mark.e2e


def _sign_in(page: Any, server: LiveServer, email: str, next_path: str = "") -> None:
    """Sign in from a clean browser, through the form (to ``next_path`` when given)."""
    page.context.clear_cookies()
    page.goto(server.at("/sign-in" + (f"?next={next_path}" if next_path else "")))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _both_widths(page: Any, name: str) -> None:
    """Screenshot the page at 1280 px and at 375 px, and check it does not scroll sideways on the phone."""
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, f"{name}-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
    page.set_viewport_size({"width": 1280, "height": 900})


# The practitioner types the clinic's wall-clock time; the form names the zone (Omar Haddad's clinic is in MA).
WHEN_LABEL = "Date and time (clinic time, America/New_York)"


def _in_two_days() -> str:
    """Return a datetime-local value two days from now, at 10:30 on the clinic's clock (Somerville, MA)."""
    return (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT10:30")


def test_a_doctors_referral_from_send_to_outcome(page: Any, live_server: LiveServer) -> None:
    _sign_in(page, live_server, DOCTOR_EMAIL)
    page.goto(live_server.at("/practitioners/omar-haddad"))
    page.get_by_role("link", name="Refer a patient").click()
    expect(page.get_by_role("heading", name="Refer a patient")).to_be_visible()
    page.get_by_label("Patient's name").fill("Jane <b>Doe</b>")
    page.get_by_label("Patient's email or phone").fill("jane.doe@example.org")
    page.get_by_label("Condition").select_option(label="Low back pain")
    page.get_by_label("Reason for the referral").fill("Low back pain for six weeks; NSAIDs not tolerated.")
    page.get_by_label("Soon (within two weeks)").check()
    page.get_by_label("Preferred method").select_option(label="Electroacupuncture")
    page.get_by_label("Are you pregnant, or could you be?").check()
    _both_widths(page, "referral-form")
    page.get_by_role("button", name="Send the referral").click()

    # Pregnancy rules electroacupuncture out: the page shows the flag and asks for the acknowledgement.
    expect(page.get_by_role("heading", name="These answers raise flags")).to_be_visible()
    expect(page.get_by_text("Not this method: Electroacupuncture")).to_be_visible()
    screenshot(page, "referral-form-flagged-1280")
    page.get_by_label("I have read these flags and taken them into account").check()
    page.get_by_role("button", name="Send the referral").click()
    expect(page.get_by_text("Sent: referral #")).to_be_visible()
    detail = page.url
    expect(page.locator(".details")).to_contain_text("Jane <b>Doe</b>")

    _sign_in(page, live_server, OWNER_EMAIL)
    expect(page.get_by_text("to answer")).to_be_visible()  # the dashboard says what waits
    expect(page.get_by_role("link", name="Notifications (")).to_be_visible()
    page.get_by_role("link", name="Referrals and requests for you").click()
    _both_widths(page, "referral-inbox")
    page.goto(detail)
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted.")).to_be_visible()
    page.get_by_label(WHEN_LABEL).fill((utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT09:00"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("The appointment must be in the future.")).to_be_visible()
    page.get_by_label(WHEN_LABEL).fill(_in_two_days())
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("Scheduled.")).to_be_visible()
    _both_widths(page, "referral-detail-scheduled")
    page.get_by_role("button", name="Mark attended").click()
    page.get_by_label("Outcome for the sender").fill("Six sessions; pain down from 7/10 to 3/10. Review in a month.")
    page.get_by_role("button", name="Complete with the outcome").click()
    expect(page.get_by_text("Completed: the sender can read the outcome.")).to_be_visible()

    _sign_in(page, live_server, DOCTOR_EMAIL, "/notifications")
    expect(page.locator(".notice-list .unread").first).to_be_visible()
    _both_widths(page, "notifications")
    page.get_by_role("button", name="closed your referral").first.click()
    assert page.url == detail
    outcome = page.locator(".referral-outcome")
    expect(outcome).to_contain_text("pain down from 7/10 to 3/10")
    expect(page.locator(".status-line")).to_contain_text("Completed")
    expect(page.locator(".events li")).to_have_count(5)  # sent, accepted, scheduled, attended, completed
    _both_widths(page, "referral-detail-completed")


def test_a_patients_request_to_scheduled(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/practitioners/omar-haddad"))
    page.get_by_role("link", name="Request an appointment").click()
    page.get_by_label("Email").fill(PATIENT_EMAIL)
    page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Request an appointment")).to_be_visible()
    page.get_by_label("Your message").fill("Tension headaches twice a week.")
    page.get_by_label("When suits you").fill("Weekday mornings")
    _both_widths(page, "request-form")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_text("Sent: appointment request #")).to_be_visible()
    detail = page.url

    _sign_in(page, live_server, OWNER_EMAIL)
    page.goto(detail)
    expect(page.locator(".details")).to_contain_text("Weekday mornings")
    page.get_by_role("button", name="Accept").click()
    page.get_by_label(WHEN_LABEL).fill(_in_two_days())
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("Scheduled.")).to_be_visible()

    _sign_in(page, live_server, PATIENT_EMAIL, "/referrals")
    page.get_by_role("link", name="Request #").first.click()
    expect(page.locator(".status-line")).to_contain_text("Scheduled")
    # The patient reads the time the practitioner typed, on the clinic's clock, with the zone named.
    expect(page.locator(".status-line")).to_contain_text(re.compile(r"10:30 E[SD]T"))
    _both_widths(page, "request-detail-scheduled")


@pytest.mark.parametrize("scripts", [True, False])
def test_when_things_happened_is_read_in_the_reader_s_own_zone(browser: Any, live_server: LiveServer,
                                                               scripts: bool) -> None:
    """A doctor in California reads the sent time and the timeline in Pacific time, named; UTC without scripts."""
    page, watch = new_page(browser, live_server, timezone_id="America/Los_Angeles", java_script_enabled=scripts)
    try:
        _sign_in(page, live_server, DOCTOR_EMAIL, "/referrals")
        page.get_by_role("link", name="Referral #").first.click()
        times = [page.locator(".status-line time").first, page.locator(".timeline time").first]
        for shown in times:
            if scripts:  # the deferred script may not have run yet when the click returns
                expect(shown).to_have_attribute("title", re.compile(r" UTC$"))
            utc_text = shown.get_attribute("title") if scripts else shown.inner_text()
            assert utc_text is not None and utc_text.endswith(" UTC")
            at = datetime.strptime(utc_text, "%d %b %Y %H:%M UTC").replace(tzinfo=UTC)
            local = at.astimezone(ZoneInfo("America/Los_Angeles"))
            expected = f"{local:%d %b %Y %H:%M} {local:%Z}" if scripts else utc_text
            assert shown.inner_text() == expected
            # A global instant (the spec's "Z"), to the second; the text shows the minute.
            assert re.fullmatch(f"{at:%Y-%m-%dT%H:%M}:\\d\\dZ", shown.get_attribute("datetime") or "")
        page.goto(live_server.at("/notifications"))
        notice = page.locator("time").first
        expect(notice).to_have_text(re.compile(r" P[SD]T$" if scripts else r" UTC$"))
    finally:
        page.context.close()
    assert watch.errors == [], f"browser console errors: {watch.errors}"

"""In a real browser: an owner adds a second location by postal code, sets its hours and a closed day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from directory.clock import today
from tests.e2e.conftest import LiveServer, new_page, screenshot
from tests.e2e.data import CREDENTIALS_PASSWORD, add_credentials_owner, sign_in

pytestmark = pytest.mark.e2e
PHONE = {"viewport": {"width": 375, "height": 667}}


def test_an_owner_adds_a_second_location_with_hours_and_a_closed_day(page: Any, live_server: LiveServer,
                                                                     browser: Any) -> None:
    add_credentials_owner(live_server, "loc-journey@example.org", "loc-journey", expired=False)
    sign_in(page, live_server, "loc-journey@example.org", CREDENTIALS_PASSWORD)
    page.goto(live_server.at("/practitioners/loc-journey/edit"))
    page.get_by_role("link", name="Locations and opening hours").click()
    expect(page.get_by_role("heading", name="Practice locations")).to_be_visible()
    page.get_by_label("Practice name (optional)").fill("Pearl District Clinic")
    page.get_by_label("Street address").fill("1200 NW Glisan St")
    page.get_by_label("City").fill("Portland")
    page.get_by_label("State or region").fill("OR")
    page.get_by_label("Postal code").fill("97209")
    page.get_by_role("button", name="Add this location").click()
    expect(page.get_by_text("The location is saved, pinned at")).to_be_visible()
    expect(page.get_by_text("hours in America/Los_Angeles time")).to_be_visible()
    page.get_by_role("link", name="Pearl District Clinic").click()
    page.get_by_label("Tuesday").fill("09:00-12:00, 14:00-18:00")
    page.get_by_role("button", name="Save the hours").click()
    expect(page.get_by_text("The hours are saved")).to_be_visible()
    # The pin map is drawn over the typed fields; dragging is extra, the fields are what is posted.
    expect(page.locator("[data-pin-map] .leaflet-marker-icon")).to_be_visible()
    closed_on = today() + timedelta(days=9)
    page.get_by_label("Date").fill(closed_on.isoformat())
    page.get_by_label("Closed all day").check()
    page.get_by_label("Note (optional)").fill("Staff training")
    page.get_by_role("button", name="Save this date").click()
    expect(page.get_by_text("Closed (Staff training)")).to_be_visible()
    screenshot(page, "location-hours-and-exception")

    page.goto(live_server.at("/practitioners/loc-journey"))
    expect(page.get_by_role("heading", name="Pearl District Clinic")).to_be_visible()
    expect(page.locator(".location")).to_have_count(2)
    expect(page.get_by_text("Closed (Staff training)")).to_be_visible()
    expect(page.get_by_role("row", name="Tuesday 09:00–12:00, 14:00–18:00")).to_be_visible()
    screenshot(page, "location-profile-two-locations")

    phone, _ = new_page(browser, live_server, **PHONE)
    sign_in(phone, live_server, "loc-journey@example.org", CREDENTIALS_PASSWORD)
    for path in ("/practitioners/loc-journey/locations", "/practitioners/loc-journey"):
        phone.goto(live_server.at(path))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, path
    screenshot(phone, "location-list-phone")
    phone.context.close()

"""A patient's journeys in real Chromium: search, profile, empty state, screening, phone width, keyboard only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, new_page, screenshot

pytestmark = pytest.mark.e2e


def card_names(page: Any) -> list[str]:
    return [name.strip() for name in page.locator(".result-card h3").all_inner_texts()]


def test_search_by_zip_with_a_method_then_open_a_profile(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/"))
    page.get_by_label("Place", exact=True).fill("02139")
    page.get_by_label("Method").select_option(label="Moxibustion")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?.*method=moxibustion"))
    assert "within 25 km of Cambridge, MA 02139" in page.locator("h2.summary").inner_text()
    names = card_names(page)
    assert "Ada Moxley, L.Ac." in names
    assert not any("Needleman" in n or "Pending" in n for n in names)
    for methods in page.locator(".result-card .methods").all_inner_texts():
        assert "Moxibustion" in methods
    screenshot(page, "search-zip-moxibustion")

    page.get_by_role("link", name="Ada Moxley, L.Ac.").click()
    page.wait_for_url(re.compile(r"/practitioners/ada-moxley\?back=/search"))  # the way back to this search
    history = page.locator("table.history tbody tr")
    assert history.count() == 3
    dates = [history.nth(i).locator("time").get_attribute("datetime") for i in range(3)]
    assert dates == sorted(dates, reverse=True)
    assert "Federal exclusion list" in history.nth(0).inner_text()
    assert "Confirmed" in history.nth(0).inner_text()
    evidence = page.locator("ul.evidence li")
    expect(evidence.filter(has_text=re.compile(r"^NPI checked at the NPI registry on \d{1,2} \w{3} \d{4}$"))).to_be_visible()
    assert re.fullmatch(r"[0-9a-f]{64}", page.locator("code.hash").inner_text())
    expect(page.get_by_text("acupuncture complements conventional medical treatment")).to_be_visible()
    screenshot(page, "profile-verification-history")


def test_map_shows_markers_and_the_list_survives_failing_tiles(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=Cambridge%2C+MA&radius_km=50&verified_only=false"))
    page.locator(".leaflet-marker-icon").first.wait_for()
    cards = page.locator(".result-card").count()
    assert cards > 1
    assert page.locator(".leaflet-marker-icon").count() == cards
    page.locator(".map-error").wait_for()  # the tile server refuses: said plainly, list untouched
    assert page.locator(".result-card").count() == cards
    screenshot(page, "search-map-without-tiles")


def test_search_works_without_javascript(browser: Any, live_server: LiveServer) -> None:
    page, _ = new_page(browser, live_server, java_script_enabled=False)
    page.goto(live_server.at("/search"))
    page.get_by_label("Place", exact=True).fill("Cambridge, MA")
    page.get_by_label("Moxibustion").check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"method=moxibustion"))
    assert "Ada Moxley, L.Ac." in card_names(page)
    assert page.locator("#results-map-box").is_hidden()
    screenshot(page, "search-without-javascript")
    page.context.close()


def test_empty_state_suggests_widening(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=02139&radius_km=5&method=gua-sha&method=laser-acupuncture&q=homeopathy"))
    empty = page.locator(".empty-state")
    assert "No practitioners match all of these filters." in empty.inner_text()
    expect(empty.get_by_role("link", name="Search within 10 km")).to_be_visible()
    screenshot(page, "search-empty-state")
    empty.get_by_role("link", name="Search within 10 km").click()
    page.wait_for_url(re.compile(r"radius_km=10"))


def test_tampered_query_shows_an_escaped_message(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=%3Cscript%3Ealert(1)%3C/script%3E&page=-3"))
    alert = page.get_by_role("alert")
    assert "page must be a whole number from 1" in alert.inner_text() or "<script>" in alert.inner_text()
    page.goto(live_server.at("/search?place=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"))
    assert "<img src=x onerror=alert(1)>" in page.get_by_role("alert").inner_text()
    screenshot(page, "search-tampered-query")
    page.goto(live_server.at("/practitioners/no-such-person"))
    assert page.get_by_role("heading", level=1).inner_text() == "We could not find that page"
    screenshot(page, "profile-not-found")


def test_screening_without_flags(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/screening"))
    page.get_by_role("button", name="See my results").click()
    expect(page.get_by_text("Nothing you ticked stands in the way of any method.")).to_be_visible()
    assert page.locator(".verdicts-table .verdict-ok").count() == 10
    screenshot(page, "screening-no-flags")


def test_screening_with_flags_from_a_search_shows_verdicts_beside_results(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=02139&method=moxibustion&method=electroacupuncture&radius_km=50"))
    page.get_by_role("link", name=re.compile("check whether Moxibustion suits you")).click()
    page.get_by_label("blood thinners").check()
    page.get_by_label("pacemaker").check()
    page.get_by_label("Show my results beside search results").check()
    screenshot(page, "screening-questionnaire")
    page.get_by_role("button", name="See my results").click()
    table = page.locator(".verdicts-table")
    assert "Ask your doctor first" in table.locator("tr", has_text="Filiform needling").inner_text()
    assert "Caution — tell the practitioner" in table.locator("tr", has_text="Moxibustion").inner_text()
    assert "Not this method" in table.locator("tr", has_text="Electroacupuncture").inner_text()
    expect(page.get_by_role("heading", name="Ask your doctor first")).to_be_visible()
    assert "not a diagnosis" in page.locator(".lead").inner_text()
    screenshot(page, "screening-with-flags")

    page.get_by_role("link", name="Back to your search").click()
    card = page.locator(".result-card", has_text="Ada Moxley")
    assert "Moxibustion: Caution — tell the practitioner" in card.locator(".verdicts").inner_text()
    assert card_names(page)  # the screening never blocks search
    screenshot(page, "search-with-screening-verdicts")
    page.get_by_role("link", name="Review your answers").click()
    page.get_by_role("button", name="See my results").click()
    page.get_by_role("button", name="Forget my answers").click()
    assert page.locator(".verdicts").count() == 0


def test_phone_width_375(browser: Any, live_server: LiveServer) -> None:
    page, watch = new_page(browser, live_server, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    for path, name in [("/search?place=02139&method=moxibustion&radius_km=25", "mobile-search"),
                       ("/practitioners/ada-moxley", "mobile-profile"), ("/screening", "mobile-screening"),
                       ("/", "mobile-home"), ("/about-acupuncture", "mobile-about")]:
        page.goto(live_server.at(path))
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways ({width}px)"
        screenshot(page, name)
    page.goto(live_server.at("/practitioners/ada-moxley"))
    page.locator("#verification").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot(page, "mobile-profile").with_name("mobile-profile-history.png")))
    expect(page.locator("table.history td").first).to_be_visible()
    assert watch.errors == []
    page.context.close()


def test_keyboard_only_through_the_filters(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=02139"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    focused = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.getAttribute('name') + ':' + document.activeElement.value"))
        if focused[-1] == "method:moxibustion":
            break
    assert focused[-1] == "method:moxibustion", focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    page.keyboard.press("Space")
    screenshot(page, "keyboard-filter-focus")
    while page.evaluate("document.activeElement.textContent.trim()") != "Apply filters":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"method=moxibustion"))
    assert all("Moxibustion" in m for m in page.locator(".result-card .methods").all_inner_texts())


def test_autocomplete_with_the_keyboard(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search"))
    place = page.get_by_role("combobox", name="Place")
    place.press_sequentially("0213", delay=30)
    page.get_by_role("option").first.wait_for()
    screenshot(page, "autocomplete-places")
    place.press("ArrowDown")
    place.press("Enter")
    assert re.fullmatch(r".+, MA 0213\d", place.input_value())
    place.fill("")
    place.press_sequentially("moxa", delay=30)
    page.get_by_role("option", name=re.compile("Moxibustion")).wait_for()
    while page.evaluate("document.querySelector('[aria-selected=true]')?.textContent || ''").find("Moxibustion") < 0:
        place.press("ArrowDown")
    place.press("Enter")
    assert page.get_by_label("Moxibustion").is_checked()
    assert place.input_value() == ""


def test_pages_run_under_the_production_content_security_policy(page: Any, live_server: LiveServer) -> None:
    response = page.goto(live_server.at("/search?place=02139&method=moxibustion"))
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    page.locator(".leaflet-marker-icon").first.wait_for()  # the map draws without inline code
    page.goto(live_server.at("/practitioners/ada-moxley"))
    page.locator(".leaflet-marker-icon").first.wait_for()

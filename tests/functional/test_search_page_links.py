"""The search page keeps its promises: no empty "Remove" links, a way back from a profile, a contact on each card."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from flask import Flask

from directory.extensions import db, search
from directory.indexing.services import reindex_all
from tests import factories

CAMBRIDGE = {"lat": "42.3736", "lon": "-71.1097"}


@pytest.fixture
def indexed(app: Flask, session: Any) -> dict[str, Any]:
    """Three practitioners around Cambridge MA with a phone, a booking link, and neither; indexed."""
    phone = factories.practitioner(first_name="Ada", last_name="Phone", methods=("moxibustion",),
                                   locations=[{"phone": "(617) 555-0142"}])
    booking = factories.practitioner(first_name="Bea", last_name="Booking", methods=("moxibustion",),
                                     locations=[{"booking_url": "https://example.org/book/bea"}])
    bare = factories.practitioner(first_name="Cal", last_name="Bare", methods=("moxibustion",),
                                  locations=[{"booking_url": "javascript:alert(1)"}])
    db.session.commit()
    reindex_all(search.backend())
    return {"phone": phone, "booking": booking, "bare": bare}


def _card(page: str, name: str) -> str:
    start = page.index(f">{name}</a></h3>")
    return page[page.rindex('<li class="result-card"', 0, start):page.index("</li>", start)]


def test_the_home_page_form_with_any_method_and_condition_offers_no_empty_removals(client: Any,
                                                                                   indexed: dict[str, Any]) -> None:
    # The home page form sends method= and condition= for "Any method" / "Any condition".
    page = client.get("/search", query_string={"place": "Cambridge, MA", "radius_km": "5", "method": "",
                                               "condition": "", "q": "no such words anywhere"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "No practitioners match" in text
    assert "Remove the method" not in text and "Remove the condition" not in text and "“”" not in text
    assert "Remove the keywords “no such words anywhere”" in text


def test_result_links_carry_the_search_and_the_profile_breadcrumb_leads_back(client: Any,
                                                                           indexed: dict[str, Any]) -> None:
    search_page = client.get("/search", query_string={**CAMBRIDGE, "method": ["moxibustion", ""], "sort": "distance"})
    card = _card(search_page.get_data(as_text=True), "Ada Phone, L.Ac.")
    link = html_lib.unescape(re.search(r'<h3><a href="([^"]+)"', card).group(1))
    assert link.startswith(f"/practitioners/{indexed['phone'].slug}?back=")
    profile = client.get(link).get_data(as_text=True)
    crumb = html_lib.unescape(re.search(r'<nav class="breadcrumbs"[^>]*><a href="([^"]+)"', profile).group(1))
    assert crumb.startswith("/search?")
    assert "method=moxibustion" in crumb and "lat=42.3736" in crumb and "sort=distance" in crumb
    assert "method=&" not in crumb and client.get(crumb).status_code == 200


@pytest.mark.parametrize("back", ["https://evil.example/search?x=1", "//evil.example/search", "/admin/users",
                                  "/search/../admin", "javascript:alert(1)", "/search\\@evil.example", ""])
def test_the_way_back_is_only_ever_our_search_page(client: Any, indexed: dict[str, Any], back: str) -> None:
    profile = client.get(f"/practitioners/{indexed['phone'].slug}", query_string={"back": back})
    assert profile.status_code == 200
    assert '<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/search">' in profile.get_data(as_text=True)


def test_each_card_has_a_call_booking_or_contact_button(client: Any, indexed: dict[str, Any]) -> None:
    page = client.get("/search", query_string={**CAMBRIDGE, "method": "moxibustion"}).get_data(as_text=True)
    assert 'href="tel:6175550142">Call' in _card(page, "Ada Phone, L.Ac.")
    assert 'href="https://example.org/book/bea" rel="noopener nofollow">Book online' in _card(page, "Bea Booking, L.Ac.")
    bare = _card(page, "Cal Bare, L.Ac.")
    assert "javascript:" not in bare and "#contact-title" in bare and ">Contact<" in bare


def test_phones_get_a_filters_toggle_and_the_count_of_active_filters(client: Any, indexed: dict[str, Any]) -> None:
    page = client.get("/search", query_string={**CAMBRIDGE, "method": "moxibustion", "telehealth": "true"})
    text = page.get_data(as_text=True)
    assert '<details class="filters-panel" id="filters-panel" open data-filters>' in text
    assert '<summary class="filters-toggle">Filters <span class="filters-active">(2 active)</span></summary>' in text

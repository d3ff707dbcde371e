"""The search page as patients use it, autocomplete, the information page, and no 500 on tampered input."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask import Flask

from directory.extensions import db, search
from directory.indexing.services import reindex_all
from tests import factories

CAMBRIDGE = {"lat": "42.3736", "lon": "-71.1097"}


@pytest.fixture
def indexed(app: Flask, session: Any) -> dict[str, Any]:
    """Three practitioners around Cambridge MA, indexed."""
    moxa = factories.practitioner(first_name="Ada", last_name="Moxa", methods=("moxibustion", "cupping"),
                                  languages=("en", "zh"), verified_since=date(2025, 3, 14))
    needles = factories.practitioner(first_name="Bea", last_name="Needles", methods=("filiform-needling",))
    pending = factories.practitioner(first_name="Cal", last_name="Pending", vetting_status="pending",
                                     methods=("moxibustion",))
    db.session.commit()
    reindex_all(search.backend())
    return {"moxa": moxa, "needles": needles, "pending": pending}


def get(client: Any, url: str, **params: Any) -> tuple[int, str]:
    response = client.get(url, query_string=params)
    return response.status_code, response.get_data(as_text=True)


def test_cards_show_distance_badge_next_opening_and_map_data(client: Any, indexed: dict[str, Any]) -> None:
    html = get(client, "/search", **CAMBRIDGE)[1]
    card = html[html.index('<li class="result-card"'):]
    assert 'data-lat="42.3647"' in card and 'data-url="/practitioners/' in card
    assert 'Verified <span class="badge-date">since <time datetime="2025-03-14">Mar 2025</time>' in card
    assert re.search(r"(Open now until|Opens (today|tomorrow|\w+day) at) \d\d:\d\d", card)
    assert 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert 'class="map-box" id="results-map-box" hidden' in html  # shown by the script, never an empty box without it


def test_tile_url_comes_from_config(app: Flask, client: Any, indexed: dict[str, Any]) -> None:
    app.config["MAP_TILE_URL"] = "https://tiles.example.org/{z}/{x}/{y}.png"
    try:
        html = get(client, "/search", **CAMBRIDGE)[1]
    finally:
        del app.config["MAP_TILE_URL"]
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in html


def test_facets_are_checkboxes_with_counts(client: Any, indexed: dict[str, Any]) -> None:
    html = get(client, "/search", **CAMBRIDGE)[1]
    assert re.search(r'name="method" value="moxibustion" >\s*<span>Moxibustion <span class="count">\(1<', html)
    assert re.search(r'name="method" value="filiform-needling" >\s*<span>Filiform needling <span class="count">\(1<', html)
    assert re.search(r'name="language" value="zh" >\s*<span>Chinese <span class="count">\(1<', html)


def test_pages_after_the_first_show_facets_without_counts(client: Any, indexed: dict[str, Any]) -> None:
    # Counting reads every match: only page 1 pays for it. Page 2 still offers every choice, uncounted.
    html = get(client, "/search", **CAMBRIDGE, per_page="1", page="2")[1]
    assert re.search(r'name="method" value="moxibustion" >\s*<span>Moxibustion</span>', html)
    assert re.search(r'name="language" value="zh" >\s*<span>Chinese</span>', html)
    assert 'class="count"' not in html


def test_empty_state_offers_ways_to_widen(client: Any, indexed: dict[str, Any]) -> None:
    html = get(client, "/search", **CAMBRIDGE, radius_km="5", method="gua-sha", telehealth="true")[1]
    assert "No practitioners match all of these filters." in html
    links = dict((label, href) for href, label in re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', html))
    assert "radius_km=10" in links["Search within 10 km"]
    assert "method=" not in links["Remove the method “Gua sha”"]
    assert "telehealth" not in links["Remove the filter on telehealth"]
    assert "verified_only=false" in links["Include practitioners whose checks are still in progress"]


def test_search_with_a_method_offers_the_screening(client: Any, indexed: dict[str, Any]) -> None:
    html = get(client, "/search", **CAMBRIDGE, method="moxibustion")[1]
    assert "check whether Moxibustion suits you" in html
    assert "/screening?method=moxibustion&amp;return_to=/search?" in html


def test_remembered_screening_shows_verdicts_beside_filtered_methods(client: Any, indexed: dict[str, Any]) -> None:
    with client.session_transaction() as cookie:
        cookie["screening_flags"] = ["bleeding"]
    html = get(client, "/search", **CAMBRIDGE, method=["moxibustion", "cupping"])[1]
    assert "Moxibustion: Caution — tell the practitioner" in html
    assert "Cupping: Ask your doctor first" in html
    assert "Ada Moxa" in html  # the verdict never hides a result


def test_no_verdicts_without_a_method_filter(client: Any, indexed: dict[str, Any]) -> None:
    with client.session_transaction() as cookie:
        cookie["screening_flags"] = ["bleeding"]
    html = get(client, "/search", **CAMBRIDGE)[1]
    assert 'class="verdicts"' not in html


def test_filters_keep_their_state_in_the_url(client: Any, indexed: dict[str, Any]) -> None:
    html = get(client, "/search", **CAMBRIDGE, accepting_new_patients="true", verified_only="false", sort="rating",
               language="zh")[1]
    assert 'name="accepting_new_patients" value="true" checked' in html
    assert '<option value="false" selected>Include checks in progress' in html
    assert '<option selected value="rating">' in html
    assert 'name="language" value="zh" checked' in html


def test_pagination_links_keep_the_filters(client: Any, indexed: dict[str, Any]) -> None:
    html = get(client, "/search", **CAMBRIDGE, per_page="1", page="2", method=["moxibustion", "filiform-needling"])[1]
    assert 'aria-current="page">2<' in html
    prev = re.search(r'rel="prev" href="([^"]+)"', html).group(1)
    assert "page=1" in prev and "method=moxibustion" in prev and "method=filiform-needling" in prev


def test_home_page_any_method_is_no_filter(client: Any, indexed: dict[str, Any]) -> None:
    status, html = get(client, "/search", place="02139", method="", condition="", radius_km="25")
    assert status == 200 and "Ada Moxa" in html


def test_suggest_returns_places_methods_and_conditions(client: Any, session: Any) -> None:
    places = client.get("/search/suggest?q=0213").get_json()["suggestions"]
    assert places and all(s["kind"] == "place" for s in places)
    assert any(s["value"] == "Cambridge, MA 02139" for s in client.get("/search/suggest?q=02139").get_json()["suggestions"])
    terms = client.get("/search/suggest?q=moxa").get_json()["suggestions"]
    assert {"kind": "method", "label": "Moxibustion", "value": "moxibustion"} in terms
    lumbago = client.get("/search/suggest?q=back").get_json()["suggestions"]
    assert {"kind": "condition", "label": "Low back pain", "value": "low-back-pain"} in lumbago


@pytest.mark.parametrize("q", ["", "a", "x" * 10_000, "<script>", "%", "🙂🙂", "'; DROP TABLE method; --"])
def test_suggest_never_fails(client: Any, session: Any, q: str) -> None:
    response = client.get("/search/suggest", query_string={"q": q})
    assert response.status_code == 200
    assert isinstance(response.get_json()["suggestions"], list)


def test_information_page(client: Any) -> None:
    status, html = get(client, "/about-acupuncture")
    assert status == 200
    for text in ("back pain", "Moxibustion", "Electroacupuncture", "Tui Na", "What “verified” means"):
        assert text in html


def test_home_page_links_to_screening_and_information(client: Any) -> None:
    html = get(client, "/")[1]
    assert 'href="/screening"' in html and 'href="/about-acupuncture"' in html
    assert 'data-autocomplete="/search/suggest"' in html


TAMPERED = [
    {"page": "-3"}, {"page": "0"}, {"page": "99999999999999999999"}, {"page": "1e3"}, {"per_page": "100000"},
    {"radius_km": "100000"}, {"radius_km": "-5"}, {"radius_km": "nan"}, {"radius_km": "inf"}, {"radius_km": "1e309"},
    {"lat": "nan", "lon": "nan"}, {"lat": "91", "lon": "0"}, {"lat": "10"}, {"lat": "x", "lon": "y"},
    {"method": "telepathy"}, {"method": "<script>alert(1)</script>"}, {"condition": "x" * 5000},
    {"language": "klingon"}, {"gender": "robot"}, {"sort": "random"}, {"verified_only": "maybe"},
    {"telehealth": "<b>yes</b>"}, {"accepting_new_patients": "1"}, {"place": "<script>alert(1)</script>"},
    {"place": "y" * 10_000}, {"place": "91, 200"}, {"place": "Springfield"},
    {"place": "Qwertyville"}, {"q": "x" * 10_000}, {"q": '" OR 1=1 --'}, {"q": "NEAR(a b)"},
    {"place": "02139", "page": "600"}, {"place": "02139", "method": ["moxibustion"] * 200},
]


@pytest.mark.parametrize("params", TAMPERED, ids=[str(i) for i in range(len(TAMPERED))])
def test_tampered_search_urls_render_a_clear_escaped_message(client: Any, indexed: dict[str, Any],
                                                              params: dict[str, Any]) -> None:
    response = client.get("/search", query_string=params)
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 400), html[:500]
    assert "<script>alert(1)" not in html and "<b>yes</b>" not in html
    if response.status_code == 400:
        assert 'role="alert"' in html and "We could not run this search." in html


@pytest.mark.parametrize("url", ["/", "/search", "/search/suggest", "/screening", "/about-acupuncture",
                                 "/practitioners/", "/practitioners/%FF", "/screening?method=%FF",
                                 "/search?place=%FF%FE", "/search?%FF=1"])
def test_no_500_anywhere(client: Any, session: Any, url: str) -> None:
    assert client.get(url).status_code < 500

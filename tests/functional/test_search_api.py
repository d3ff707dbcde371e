"""GET /api/v1/practitioners/search and /search: contract, validation, the database's truth."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import pytest
from flask import Flask

from directory.extensions import db, search
from directory.indexing.services import reindex_all, sync_outbox
from directory.practitioners import search_service
from directory.practitioners.models import OpeningHours
from tests import factories

CAMBRIDGE = {"lat": "42.3736", "lon": "-71.1097"}


@pytest.fixture
def indexed(app: Flask, session: Any) -> dict[str, Any]:
    """Three practitioners around Cambridge MA, indexed."""
    near = factories.practitioner(first_name="Ada", last_name="Moxa", methods=("moxibustion", "filiform-needling"),
                                  languages=("en", "zh"))
    far = factories.practitioner(first_name="Bea", last_name="Far", conditions=("sciatica",),
                                 locations=[{"latitude": 42.50, "longitude": -71.10, "city": "Woburn"}])
    pending = factories.practitioner(first_name="Cal", last_name="Pending", vetting_status="pending")
    db.session.commit()
    reindex_all(search.backend())
    return {"near": near, "far": far, "pending": pending}


def test_search_by_coordinates_returns_the_documented_shape(client: Any, indexed: dict[str, Any]) -> None:
    body = client.get("/api/v1/practitioners/search", query_string=CAMBRIDGE).get_json()
    assert body["total"] == 2
    assert [h["id"] for h in body["hits"]] == [indexed["near"].id, indexed["far"].id]
    hit = body["hits"][0]
    assert set(hit) == {"id", "slug", "name", "distance_km", "location", "methods", "conditions", "languages",
                        "vetting_status", "rating"}
    assert hit["methods"] == ["filiform-needling", "moxibustion"]
    assert hit["languages"] == ["en", "zh"]
    assert hit["location"]["city"] == "Cambridge"
    assert body["facets"]["method"]["moxibustion"] == 1
    assert body["origin"]["lat"] == pytest.approx(42.3736)
    assert set(body) == {"total", "page", "per_page", "took_ms", "origin", "hits", "facets"}


@pytest.mark.parametrize(("params", "counted"), [
    ({}, True), ({"facets": "false"}, False), ({"page": "2", "per_page": "1"}, False),
    ({"page": "2", "per_page": "1", "facets": "true"}, True), ({"facets": ""}, True),
])
def test_facets_are_counted_on_page_1_or_when_asked(client: Any, indexed: dict[str, Any], params: dict[str, str],
                                                    counted: bool) -> None:
    body = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, **params}).get_json()
    assert body["total"] == 2
    if counted:
        assert body["facets"]["method"] == {"moxibustion": 1, "filiform-needling": 2}
        assert body["facets"]["vetting_status"] == {"verified": 2}
    else:
        assert body["facets"] is None


def test_facets_other_than_true_or_false_are_refused(client: Any, indexed: dict[str, Any]) -> None:
    response = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "facets": "yes"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "facets"


def test_search_by_zip_code(client: Any, indexed: dict[str, Any]) -> None:
    body = client.get("/api/v1/practitioners/search?place=02139&radius_km=5").get_json()
    assert [h["id"] for h in body["hits"]] == [indexed["near"].id]
    assert "02139" in body["origin"]["label"]


def test_verified_only_can_be_turned_off(client: Any, indexed: dict[str, Any]) -> None:
    body = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "verified_only": "false"}).get_json()
    assert indexed["pending"].id in [h["id"] for h in body["hits"]]


def test_suspended_practitioner_disappears_before_the_index_syncs(client: Any, indexed: dict[str, Any]) -> None:
    indexed["near"].vetting_status = "suspended"
    db.session.commit()  # the outbox holds the change; nobody syncs
    body = client.get("/api/v1/practitioners/search", query_string=CAMBRIDGE).get_json()
    assert indexed["near"].id not in [h["id"] for h in body["hits"]]


def test_a_profile_change_reaches_search_through_the_outbox(client: Any, indexed: dict[str, Any]) -> None:
    indexed["far"].last_name = "Renamed"
    db.session.commit()
    before = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "q": "renamed"}).get_json()
    assert before["total"] == 0
    report = sync_outbox(search.backend())
    assert report.applied == 1 and report.failed == 0
    after = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "q": "renamed"}).get_json()
    assert [h["id"] for h in after["hits"]] == [indexed["far"].id]


@pytest.mark.parametrize(("params", "field"), [
    ({"radius_km": "0"}, "radius_km"),
    ({"radius_km": "501"}, "radius_km"),
    ({"radius_km": "lots"}, "radius_km"),
    ({"lat": "91", "lon": "0"}, "lat"),
    ({"lat": "10"}, "lon"),
    ({"method": "telepathy"}, "method"),
    ({"condition": "<script>"}, "condition"),
    ({"language": "xx"}, "language"),
    ({"sort": "random"}, "sort"),
    ({"page": "0"}, "page"),
    ({"page": "-3"}, "page"),
    ({"per_page": "101"}, "per_page"),
    ({"q": "x" * 10_000}, "q"),
    ({"place": "y" * 10_000}, "place"),
    ({"verified_only": "maybe"}, "verified_only"),
    ({"telehealth": "yes please"}, "telehealth"),
    ({"open_now": "soon"}, "open_now"),
    ({"page": "600", "per_page": "20", **CAMBRIDGE}, "page"),
])
def test_bad_parameters_answer_400_naming_the_field(client: Any, indexed: dict[str, Any], params: dict[str, str],
                                                    field: str) -> None:
    response = client.get("/api/v1/practitioners/search", query_string=params)
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_parameter"
    assert body["field"] == field
    assert body["message"]


def test_page_past_the_end_is_a_clear_error(client: Any, indexed: dict[str, Any]) -> None:
    response = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "page": "5"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_parameter", "field": "page",
                                   "message": "page 5 is past the last page (1)"}


def test_ambiguous_place_lists_candidates(client: Any, indexed: dict[str, Any]) -> None:
    body = client.get("/api/v1/practitioners/search?place=Springfield").get_json()
    assert body["error"] == "place_ambiguous"
    assert body["field"] == "place"
    assert len(body["candidates"]) >= 3
    assert {"label", "lat", "lon"} <= set(body["candidates"][0])


def test_unknown_place_is_not_an_empty_result(client: Any, indexed: dict[str, Any]) -> None:
    response = client.get("/api/v1/practitioners/search?place=Qwertyville")
    assert response.status_code == 400
    assert response.get_json()["error"] == "place_not_found"


@pytest.mark.parametrize("text", ['" ( ) * : \\ OR AND', "'; DROP TABLE practitioner; --", '{"match_all": {}}',
                                  "moxa) OR (1=1", "NEAR(a b)", "col:value*"])
def test_query_syntax_and_injection_are_plain_words(client: Any, indexed: dict[str, Any], text: str) -> None:
    response = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "q": text})
    assert response.status_code == 200
    assert response.get_json()["total"] == 0


def test_search_page_renders_results_and_facets(client: Any, indexed: dict[str, Any]) -> None:
    html = client.get("/search", query_string={**CAMBRIDGE, "method": "moxibustion"}).get_data(as_text=True)
    assert "Ada Moxa" in html and "Bea Far" not in html
    assert 'name="method" value="moxibustion" checked' in html
    assert "1 practitioner within 25 km of 42.3736, -71.1097." in html


def test_search_page_shows_errors_escaped(client: Any, indexed: dict[str, Any]) -> None:
    response = client.get("/search", query_string={"place": "<script>alert(1)</script>"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_search_page_empty_state_suggests_widening(client: Any, indexed: dict[str, Any]) -> None:
    html = client.get("/search", query_string={**CAMBRIDGE, "q": "homeopathy"}).get_data(as_text=True)
    assert "No practitioners match" in html and "wider radius" in html


def test_search_page_offers_ambiguous_candidates(client: Any, indexed: dict[str, Any]) -> None:
    html = client.get("/search?place=Springfield").get_data(as_text=True)
    assert "Did you mean" in html and "Springfield, MA" in html


# Wednesday 25 November 2026 at 15:00 UTC is 10:00 in Cambridge MA (EST) and 16:00 in Lyon (CET).
WEDNESDAY_10_IN_BOSTON = datetime(2026, 11, 25, 15, 0)


@pytest.fixture
def hours(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Practitioners with different hours and zones, indexed; "now" is Wednesday 10:00 in Cambridge."""
    monkeypatch.setattr(search_service, "utcnow", lambda: WEDNESDAY_10_IN_BOSTON)
    day = factories.practitioner(first_name="Day", last_name="Clinic")  # weekdays 9-17, America/New_York
    evening = factories.practitioner(first_name="Eve", last_name="Ning", locations=[{"latitude": 42.37}])
    evening.locations[0].hours = [OpeningHours(weekday=2, opens=time(18), closes=time(21))]
    # In Cambridge, with its hours kept in Paris time: Wednesdays 14:00-15:30 there.
    paris = factories.practitioner(first_name="Par", last_name="Isian", locations=[{"timezone": "Europe/Paris"}])
    paris.locations[0].hours = [OpeningHours(weekday=2, opens=time(14), closes=time(15, 30))]
    db.session.commit()
    reindex_all(search.backend())
    return {"day": day, "evening": evening, "paris": paris}


def _open_ids(client: Any, **extra: str) -> list[int]:
    body = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "open_now": "true", **extra}).get_json()
    return [h["id"] for h in body["hits"]]


@pytest.mark.parametrize("field", ["open_now", "telehealth", "accepting_new_patients", "wheelchair_accessible",
                                   "verified_only"])
def test_yes_no_parameters_say_which_values_they_take(client: Any, field: str) -> None:
    body = client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, field: "soon"}).get_json()
    assert body == {"error": "invalid_parameter", "field": field, "message": f"{field} must be true or false"}


def test_open_now_keeps_practitioners_open_at_this_minute_in_their_zone(client: Any, hours: dict[str, Any]) -> None:
    assert _open_ids(client) == [hours["day"].id]


def test_zones_in_use_are_the_distinct_zones_of_every_location(hours: dict[str, Any]) -> None:
    assert search_service.zones_in_use() == ["America/New_York", "Europe/Paris"]


def test_open_now_follows_the_clock(client: Any, hours: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_service, "utcnow", lambda: WEDNESDAY_10_IN_BOSTON.replace(hour=23, minute=30))
    assert _open_ids(client) == [hours["evening"].id]  # 18:30 in Cambridge
    monkeypatch.setattr(search_service, "utcnow", lambda: WEDNESDAY_10_IN_BOSTON.replace(hour=13, minute=45))
    assert _open_ids(client) == [hours["paris"].id]  # 14:45 in Paris, 08:45 in Cambridge


@pytest.mark.parametrize("value", ["false", ""])
def test_open_now_false_or_blank_filters_nothing(client: Any, hours: dict[str, Any], value: str) -> None:
    assert len(_open_ids(client, open_now=value)) == 3


def test_an_hours_change_reaches_open_now_through_the_outbox(client: Any, hours: dict[str, Any]) -> None:
    hours["day"].locations[0].hours = [OpeningHours(weekday=5, opens=time(9), closes=time(12))]
    db.session.commit()
    sync_outbox(search.backend())
    assert _open_ids(client) == []


def test_search_page_offers_open_now_and_keeps_it_checked(client: Any, hours: dict[str, Any]) -> None:
    page = client.get("/search", query_string={**CAMBRIDGE, "open_now": "true"}).get_data(as_text=True)
    assert 'name="open_now" value="true" checked' in page
    assert "1 practitioner " in page and "Day Clinic" in page and "Eve Ning" not in page

"""A listing's locations: placed offline from the gazetteer, flagged when unplaceable, hours with dated exceptions."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

from sqlalchemy import select

from directory.accounts.models import AuditEvent, User
from directory.clock import today, utcnow
from directory.extensions import db, search
from directory.indexing.models import SearchOutbox
from directory.indexing.services import reindex_all, sync_outbox
from directory.practitioners.models import HoursException, Location, OpeningHours, Practitioner
from directory.vetting.workbench import open_items
from tests import factories
from tests.support.web import csrf_from, post_form, sign_in_as

PORTLAND = {"address_line1": "1200 SW Park Ave", "city": "Portland", "region": "OR", "postal_code": "97205",
            "country": "US", "phone": "503 555 0100", "booking_url": "https://book.example.org/pdx"}
NOWHERE = {"address_line1": "1 Nowhere Rd", "city": "Atlantis", "region": "ZZ", "postal_code": "00000", "country": "US"}


def _owner(client: Any, slug: str = "loc-owner") -> tuple[Practitioner, User]:
    """Add a listing in Cambridge MA and its approved owner, signed in; the outbox emptied."""
    listing = factories.practitioner(slug=slug)
    owner = factories.practitioner_account(listing)
    sign_in_as(client, owner)
    db.session.commit()
    db.session.query(SearchOutbox).delete()
    db.session.commit()
    return listing, owner


def _add(client: Any, slug: str, data: dict[str, str]) -> Any:
    """Post the add-location form like a browser."""
    return post_form(client, f"/practitioners/{slug}/locations", data)


def _location(listing: Practitioner, city: str) -> Location:
    """Return the listing's location in ``city`` (fresh from the database)."""
    db.session.expire_all()
    return db.session.scalars(select(Location).where(Location.practitioner_id == listing.id,
                                                     Location.city == city)).one()


def _outboxed(listing: Practitioner) -> bool:
    """Tell whether the listing has a search outbox row waiting."""
    return db.session.scalar(select(SearchOutbox.id).where(SearchOutbox.practitioner_id == listing.id)) is not None


def _near(client: Any, lat: str, lon: str) -> list[int]:
    """Return the ids the search API finds within 25 km of a point."""
    found = client.get("/api/v1/practitioners/search", query_string={"lat": lat, "lon": lon, "radius_km": "25"})
    return [h["id"] for h in found.get_json()["hits"]]


def test_the_editor_links_to_the_locations_page(client: Any) -> None:
    _owner(client)
    page = client.get("/practitioners/loc-owner/edit").get_data(as_text=True)
    assert 'href="/practitioners/loc-owner/locations"' in page
    locations = client.get("/practitioners/loc-owner/locations").get_data(as_text=True)
    assert "1 Main St" in locations and "America/New_York" in locations


def test_a_location_is_placed_by_postal_code_with_its_zone_audited_and_reaches_search(client: Any) -> None:
    listing, owner = _owner(client)
    reindex_all(search.backend())
    assert listing.id not in _near(client, "45.52", "-122.68")
    response = _add(client, "loc-owner", PORTLAND)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    loc = _location(listing, "Portland")
    assert loc.placed and abs(loc.latitude - 45.52) < 0.1 and abs(loc.longitude + 122.68) < 0.1  # type: ignore[operator]
    assert loc.timezone == "America/Los_Angeles" and loc.unplaced_since is None and loc.phone == "503 555 0100"
    assert "pinned at" in client.get(response.headers["Location"]).get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "location_saved")).one()
    assert event.actor_id == owner.id and event.subject_id == listing.id
    assert _outboxed(listing)
    sync_outbox(search.backend())
    assert listing.id in _near(client, "45.52", "-122.68") and listing.id in _near(client, "42.36", "-71.10")


def test_a_location_without_postal_code_is_placed_by_city_and_state(client: Any) -> None:
    listing, _ = _owner(client)
    response = _add(client, "loc-owner", {"address_line1": "1 Pearl St", "city": "Boulder", "region": "co",
                                          "country": "US"})
    assert response.status_code == 303
    loc = _location(listing, "Boulder")
    assert loc.placed and abs(loc.latitude - 40.0) < 0.2 and loc.timezone == "America/Denver"  # type: ignore[operator]
    assert loc.region == "CO"


def test_an_unplaceable_address_is_saved_with_a_warning_flagged_and_kept_off_map_and_search(client: Any) -> None:
    listing, _ = _owner(client)
    response = _add(client, "loc-owner", NOWHERE)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "could not find this address on our map" in page and "Not on the map yet" in page
    loc = _location(listing, "Atlantis")
    assert loc.latitude is None and loc.longitude is None and loc.unplaced_since is not None
    assert db.session.scalar(select(Location.id).where(Location.latitude == 0, Location.longitude == 0)) is None
    items = [i for i in open_items(today()).get(listing.id, []) if i.kind == "location"]
    assert len(items) == 1 and "1 Nowhere Rd" in items[0].reason and items[0].location == ("loc-owner", loc.id)
    profile = client.get("/practitioners/loc-owner").get_data(as_text=True)
    assert "1 Nowhere Rd" in profile and profile.count("data-lat=") == 1  # only Cambridge is on the map
    reindex_all(search.backend())
    assert listing.id in _near(client, "42.36", "-71.10")  # the placed location still finds it
    admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())
    db.session.commit()
    sign_in_as(client, admin)
    workbench = client.get("/admin/vetting/").get_data(as_text=True)
    assert f"/practitioners/loc-owner/locations/{loc.id}" in workbench and "Unplaced address" in workbench


def test_typed_coordinates_place_an_unplaceable_address_and_clear_the_flag(client: Any) -> None:
    listing, _ = _owner(client)
    _add(client, "loc-owner", NOWHERE)
    loc = _location(listing, "Atlantis")
    response = post_form(client, f"/practitioners/loc-owner/locations/{loc.id}",
                         {**NOWHERE, "latitude": "39.7392", "longitude": "-104.9903"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    loc = _location(listing, "Atlantis")
    assert (loc.latitude, loc.longitude) == (39.7392, -104.9903) and loc.timezone == "America/Denver"
    assert loc.unplaced_since is None
    assert not [i for i in open_items(today()).get(listing.id, []) if i.kind == "location"]


def test_coordinates_out_of_range_are_refused_with_nothing_saved(client: Any) -> None:
    listing, _ = _owner(client)
    response = _add(client, "loc-owner", {**PORTLAND, "latitude": "91", "longitude": "10"})
    assert response.status_code == 400
    assert "Latitude must be between -90 and 90." in response.get_data(as_text=True)
    response = _add(client, "loc-owner", {**PORTLAND, "latitude": "45.5"})
    assert response.status_code == 400 and "Type both latitude and longitude" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [loc.city for loc in db.session.get_one(Practitioner, listing.id).locations] == ["Cambridge"]


def test_weekly_hours_allow_several_ranges_a_day_and_reach_search(client: Any) -> None:
    listing, _ = _owner(client)
    loc = listing.locations[0]
    url = f"/practitioners/loc-owner/locations/{loc.id}"
    response = post_form(client, f"{url}/hours", {"day_0": "09:00-12:00, 13:00-17:00", "day_5": "10:00-14:00"},
                         form_page=url)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    db.session.expire_all()
    hours = db.session.scalars(select(OpeningHours).where(OpeningHours.location_id == loc.id)
                               .order_by(OpeningHours.weekday, OpeningHours.opens)).all()
    assert [(h.weekday, f"{h.opens:%H:%M}", f"{h.closes:%H:%M}") for h in hours] == [
        (0, "09:00", "12:00"), (0, "13:00", "17:00"), (5, "10:00", "14:00")]
    assert 'value="09:00-12:00, 13:00-17:00"' in client.get(url).get_data(as_text=True)
    assert _outboxed(listing)


def test_overlapping_or_reversed_hours_are_refused_with_nothing_changed(client: Any) -> None:
    listing, _ = _owner(client)
    loc = listing.locations[0]
    url = f"/practitioners/loc-owner/locations/{loc.id}"
    for text, words in (("09:00-12:00, 11:00-15:00", "overlap"), ("17:00-09:00", "ends before it starts")):
        response = post_form(client, f"{url}/hours", {"day_0": "08:00-10:00", "day_2": text}, form_page=url)
        assert response.status_code == 400 and words in response.get_data(as_text=True)
    db.session.expire_all()
    hours = db.session.scalars(select(OpeningHours).where(OpeningHours.location_id == loc.id)).all()
    assert sorted(h.weekday for h in hours) == [0, 1, 2, 3, 4] and {f"{h.opens:%H}" for h in hours} == {"09"}
    assert not _outboxed(listing)


def test_a_closed_date_and_special_hours_show_on_the_profile_and_can_be_removed(client: Any) -> None:
    listing, _ = _owner(client)
    loc = listing.locations[0]
    url = f"/practitioners/loc-owner/locations/{loc.id}"
    closed_on, special_on = today() + timedelta(days=10), today() + timedelta(days=12)
    response = post_form(client, f"{url}/exceptions", {"on_date": closed_on.isoformat(), "closed": "y",
                                                       "note": "Training day"}, form_page=url)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    post_form(client, f"{url}/exceptions", {"on_date": special_on.isoformat(), "hours": "10:00-12:00"},
              form_page=url)
    profile = client.get("/practitioners/loc-owner").get_data(as_text=True)
    assert f'<time datetime="{closed_on.isoformat()}">' in profile and "Closed (Training day)" in profile
    assert f'<time datetime="{special_on.isoformat()}">' in profile and "Open 10:00–12:00" in profile
    response = post_form(client, f"{url}/exceptions/remove", {"on_date": closed_on.isoformat()}, form_page=url)
    assert response.status_code == 303
    db.session.expire_all()
    left = db.session.scalars(select(HoursException).where(HoursException.location_id == loc.id)).all()
    assert [e.on_date for e in left] == [special_on]


def test_an_exception_needs_closed_or_hours_and_good_hours(client: Any) -> None:
    listing, _ = _owner(client)
    url = f"/practitioners/loc-owner/locations/{listing.locations[0].id}"
    on = (today() + timedelta(days=3)).isoformat()
    for data, words in (({"on_date": on}, "one of the two"), ({"on_date": on, "closed": "y", "hours": "9:00-10:00"},
                                                              "one of the two"),
                        ({"on_date": on, "hours": "12:00-10:00"}, "ends before it starts"),
                        ({"on_date": "24/12/2026", "closed": "y"}, "Not a valid date value"),
                        ({"on_date": "9999-12-24", "closed": "y"}, "within the next 2 years")):
        response = post_form(client, f"{url}/exceptions", data, form_page=url)
        assert response.status_code == 400 and words in response.get_data(as_text=True), data
    assert db.session.scalar(select(HoursException.id)) is None


def test_the_profile_s_open_now_honours_today_s_closure(client: Any) -> None:
    listing, _ = _owner(client)
    loc = listing.locations[0]
    for day in range(7):  # open around the clock, every day, so "now" is open whenever the test runs
        loc.hours = [*[h for h in loc.hours if h.weekday != day],
                     OpeningHours(weekday=day, opens=time(0), closes=time(23, 59))]
    loc.timezone = "UTC"
    db.session.commit()
    assert "Open now until 23:59" in client.get("/practitioners/loc-owner").get_data(as_text=True)
    url = f"/practitioners/loc-owner/locations/{loc.id}"
    post_form(client, f"{url}/exceptions", {"on_date": today().isoformat(), "closed": "y"}, form_page=url)
    page = client.get("/practitioners/loc-owner").get_data(as_text=True)
    assert "Open now" not in page and "Opens tomorrow at 00:00" in page


def test_an_owner_s_closure_today_takes_the_listing_out_of_open_now_and_back(client: Any) -> None:
    listing, _ = _owner(client)
    loc = listing.locations[0]
    loc.hours = [OpeningHours(weekday=day, opens=time(0), closes=time(23, 59)) for day in range(7)]
    loc.timezone = "UTC"
    db.session.commit()
    reindex_all(search.backend())

    def open_now() -> list[int]:
        body = client.get("/api/v1/practitioners/search", query_string={
            "lat": loc.latitude, "lon": loc.longitude, "open_now": "true", "verified_only": "false"}).get_json()
        return [hit["id"] for hit in body["hits"]]

    assert open_now() == [listing.id]
    url = f"/practitioners/loc-owner/locations/{loc.id}"
    post_form(client, f"{url}/exceptions", {"on_date": today().isoformat(), "closed": "y"}, form_page=url)
    assert _outboxed(listing)  # the closure reaches search as any change does: through the outbox
    sync_outbox(search.backend())
    assert open_now() == []
    post_form(client, f"{url}/exceptions/remove", {"on_date": today().isoformat()}, form_page=url)
    assert _outboxed(listing)
    sync_outbox(search.backend())
    assert open_now() == [listing.id]
    # Open only in an hour that is already over today: still not open now (the day's hours replace the week's).
    hour = utcnow().hour
    if hour > 0:
        post_form(client, f"{url}/exceptions", {"on_date": today().isoformat(), "hours": f"00:00-{hour:02d}:00"},
                  form_page=url)
        sync_outbox(search.backend())
        assert open_now() == []


def test_a_results_card_honours_today_s_closure_as_the_profile_does(client: Any) -> None:
    p = factories.practitioner(slug="card-hours")
    loc = p.locations[0]
    loc.hours = [OpeningHours(weekday=day, opens=time(0), closes=time(23, 59)) for day in range(7)]
    loc.timezone = "UTC"
    db.session.commit()
    reindex_all(search.backend())

    def card() -> str:
        html = client.get("/search", query_string={"lat": loc.latitude, "lon": loc.longitude}).get_data(as_text=True)
        return html[html.index('<li class="result-card"'):]

    assert "Open now until 23:59" in card()
    # Closed today, and open only in the afternoon tomorrow: the card says what the profile says.
    loc.exceptions.extend([HoursException(on_date=today()), HoursException(on_date=today() + timedelta(days=1),
                                                                            opens=time(14), closes=time(16))])
    db.session.commit()
    assert "Open now" not in card() and "Opens tomorrow at 14:00" in card()
    assert "Opens tomorrow at 14:00" in client.get("/practitioners/card-hours").get_data(as_text=True)


def test_someone_else_s_listing_and_another_listing_s_location_are_not_found(client: Any) -> None:
    other = factories.practitioner(slug="not-mine")
    _owner(client)
    theirs = other.locations[0].id
    db.session.commit()
    assert client.get("/practitioners/not-mine/locations").status_code == 404
    assert client.get(f"/practitioners/not-mine/locations/{theirs}").status_code == 404
    assert _add(client, "not-mine", PORTLAND).status_code == 404
    token = csrf_from(client.get("/practitioners/loc-owner/locations").get_data(as_text=True))
    for path in (f"/practitioners/loc-owner/locations/{theirs}", f"/practitioners/loc-owner/locations/{theirs}/remove",
                 f"/practitioners/loc-owner/locations/{theirs}/hours"):
        assert client.post(path, data={"csrf_token": token, **PORTLAND}).status_code == 404, path
    db.session.expire_all()
    assert db.session.get(Location, theirs) is not None and len(other.locations) == 1


def test_removing_the_last_location_is_allowed_and_the_listing_leaves_radius_search(client: Any) -> None:
    listing, _ = _owner(client)
    reindex_all(search.backend())
    assert listing.id in _near(client, "42.36", "-71.10")
    page = client.get("/practitioners/loc-owner/locations").get_data(as_text=True)
    assert "no longer appears in searches near a place" in page
    loc_id = listing.locations[0].id
    response = post_form(client, f"/practitioners/loc-owner/locations/{loc_id}/remove", {},
                         form_page="/practitioners/loc-owner/locations")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Location, loc_id) is None
    assert db.session.scalar(select(OpeningHours.id).where(OpeningHours.location_id == loc_id)) is None
    assert "does not appear in searches near a place" in client.get(response.headers["Location"]).get_data(as_text=True)
    sync_outbox(search.backend())
    assert listing.id not in _near(client, "42.36", "-71.10")


def test_an_admin_edits_any_listing_s_locations(client: Any) -> None:
    listing = factories.practitioner(slug="someones")
    admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())
    db.session.commit()
    sign_in_as(client, admin)
    assert _add(client, "someones", PORTLAND).status_code == 303
    assert _location(listing, "Portland").placed
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "location_saved")).one()
    assert event.actor_id == admin.id


def test_the_location_page_offers_a_draggable_pin_over_the_typed_fields(client: Any) -> None:
    listing, _ = _owner(client)
    page = client.get(f"/practitioners/loc-owner/locations/{listing.locations[0].id}").get_data(as_text=True)
    assert re.search(r'data-pin-map\s', page) and 'data-lat-field="latitude"' in page and "js/pin.js" in page
    assert 'name="latitude"' in page and 'name="longitude"' in page


def test_a_gazetteer_pin_is_not_kept_as_typed_so_a_new_postal_code_moves_it(client: Any) -> None:
    listing, _ = _owner(client)
    _add(client, "loc-owner", PORTLAND)
    loc = _location(listing, "Portland")
    page = client.get(f"/practitioners/loc-owner/locations/{loc.id}").get_data(as_text=True)
    assert re.search(r'name="latitude"[^>]*value=""', page) or 'name="latitude" type="text" value=""' in page
    moved = post_form(client, f"/practitioners/loc-owner/locations/{loc.id}",
                      {**PORTLAND, "city": "Seattle", "region": "WA", "postal_code": "98101"})
    assert moved.status_code == 303
    assert abs(_location(listing, "Seattle").latitude - 47.61) < 0.1  # type: ignore[operator]
    post_form(client, f"/practitioners/loc-owner/locations/{loc.id}",
              {**PORTLAND, "city": "Seattle", "region": "WA", "postal_code": "98101", "latitude": "47.6",
               "longitude": "-122.3"})
    page = client.get(f"/practitioners/loc-owner/locations/{loc.id}").get_data(as_text=True)
    assert 'value="47.6"' in page  # a typed pin is shown back, and kept on the next save

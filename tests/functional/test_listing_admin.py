"""Admin listing tools: duplicates, merging (reviews and referrals kept, refusals write nothing), hiding, flags."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from directory.accounts.models import AuditEvent, User
from directory.extensions import db, search
from directory.imports.models import RegistryListing
from directory.indexing.services import reindex_all, sync_outbox
from directory.practitioners.models import Practitioner
from directory.referrals.models import Referral
from directory.reviews.models import Review
from directory.vetting.checks import append_check
from directory.vetting.models import VerificationCheck
from tests import factories
from tests.support.web import post_form, sign_in_as
from tests.unit.vetting.builders import credential

PAGE = "/admin/listings/"
NEAR = {"latitude": 42.3650, "longitude": -71.1050}  # ~90 m from the factory's Cambridge location
FAR = {"latitude": 42.4500, "longitude": -71.1042}  # ~9.5 km north


def _admin(client: Any) -> User:
    """Add an admin, signed in."""
    admin = factories.user("admin")
    db.session.commit()
    sign_in_as(client, admin)
    return admin


def _review(practitioner: Practitioner, author: User) -> Review:
    """Add a published review of ``practitioner`` by ``author``."""
    review = Review(practitioner_id=practitioner.id, author_id=author.id, rating=5, body="Careful and calm.",
                    moderation_state="published")
    db.session.add(review)
    db.session.flush()
    return review


def _events(action: str) -> list[AuditEvent]:
    """Return the audit events of ``action``."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_page_lists_pairs_with_the_same_npi_and_the_same_name_nearby(client: Any) -> None:
    _admin(client)
    a = factories.practitioner(first_name="Mei", last_name="Chén", slug="mei-chen-a")
    b = factories.practitioner(first_name="mei", last_name="Chen", slug="mei-chen-b", locations=[NEAR])
    factories.practitioner(first_name="Mei", last_name="Chen", slug="mei-chen-far", locations=[FAR])
    c = factories.practitioner(first_name="Ann", last_name="Lee", slug="ann-lee", npi="1234567893")
    d = factories.practitioner(first_name="Anne", last_name="Li", slug="anne-li", locations=[FAR])
    credential(d, "npi", number="1234567893")
    db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    assert "same NPI 1234567893" in html and "same name, " in html
    assert f'value="{a.id}"' in html and f'value="{b.id}"' in html and f'value="{c.id}"' in html
    assert "mei-chen-far" not in html.split('id="hidden"')[0]  # 9 km away is someone else
    assert '/practitioners/mei-chen-a"' in html and "/practitioners/mei-chen-b/edit" in html


def test_a_merge_keeps_reviews_referrals_credentials_and_the_owner_and_redirects(client: Any) -> None:
    admin = _admin(client)
    survivor = factories.practitioner(slug="kept-listing")
    merged = factories.practitioner(slug="old-listing", npi="1234567893")
    owner = factories.practitioner_account(merged)
    review = _review(merged, factories.patient())
    referral = factories.referral(factories.doctor(), merged)
    licence = credential(merged)
    check = append_check(merged, source="manual", outcome="pass", performed_by=admin, note="board register")
    db.session.add(RegistryListing(npi="1234567893", practitioner_id=merged.id, source="nppes_api"))
    db.session.commit()
    ids = (survivor.id, merged.id, review.id, referral.id, licence.id, owner.id, check.id, check.row_hash)
    response = post_form(client, "/admin/listings/merge", {"survivor_id": ids[0], "merged_id": ids[1]}, form_page=PAGE)
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    db.session.expire_all()
    assert db.session.get(Review, ids[2]).practitioner_id == ids[0]
    assert db.session.get(Referral, ids[3]).practitioner_id == ids[0]
    assert db.session.get(User, ids[5]).practitioner_id == ids[0]
    kept, gone = db.session.get(Practitioner, ids[0]), db.session.get(Practitioner, ids[1])
    assert [c.id for c in kept.credentials] == [ids[4]] and kept.npi == "1234567893" and gone.npi is None
    assert gone.hidden and gone.merged_into_id == ids[0] and gone.hidden_reason == "merged into kept-listing"
    assert db.session.get(VerificationCheck, ids[6]).practitioner_id == ids[1]  # the chain stays where it was written
    assert len(kept.locations) == 1  # locations move only when asked
    event = _events("listing_merged")[0]
    details = json.loads(event.details)
    assert (event.actor_id, event.subject_id) == (admin.id, ids[0])
    assert details["merged_id"] == ids[1] and details["merged_chain_head"] == ids[7] and details["reviews"] == 1
    redirect = client.get("/practitioners/old-listing")
    assert redirect.status_code == 308 and redirect.headers["Location"].endswith("/practitioners/kept-listing")
    assert client.get("/practitioners/kept-listing").status_code == 200


def test_a_merge_can_move_the_locations_too(client: Any) -> None:
    _admin(client)
    survivor, merged = factories.practitioner(), factories.practitioner(locations=[NEAR, FAR])
    db.session.commit()
    pids = (survivor.id, merged.id)
    post_form(client, "/admin/listings/merge", {"survivor_id": pids[0], "merged_id": pids[1], "move_locations": "y"},
              form_page=PAGE)
    db.session.expire_all()
    assert len(db.session.get(Practitioner, pids[0]).locations) == 3


def _refused_merge_writes_nothing(client: Any, survivor: Practitioner, merged: Practitioner, message: str) -> None:
    """Post a merge that must be refused: a 409 saying why, and nothing moved, hidden or audited."""
    pids = (survivor.id, merged.id)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = post_form(client, "/admin/listings/merge", {"survivor_id": pids[0], "merged_id": pids[1]},
                         form_page=PAGE)
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    db.session.expire_all()
    gone = db.session.get(Practitioner, pids[1])
    assert not gone.hidden and gone.merged_into_id is None
    assert db.session.scalar(select(func.count()).select_from(Review).where(Review.practitioner_id == pids[1])) >= 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_merge_is_refused_when_one_patient_reviewed_both(client: Any) -> None:
    _admin(client)
    survivor, merged, patient = factories.practitioner(), factories.practitioner(), factories.patient()
    _review(survivor, patient)
    _review(merged, patient)
    _review(merged, factories.patient())
    db.session.commit()
    _refused_merge_writes_nothing(client, survivor, merged, "A patient reviewed both listings")


def test_a_merge_is_refused_when_different_accounts_own_the_listings(client: Any) -> None:
    _admin(client)
    survivor, merged = factories.practitioner(), factories.practitioner()
    factories.practitioner_account(survivor)
    factories.practitioner_account(merged)
    _review(merged, factories.patient())
    db.session.commit()
    _refused_merge_writes_nothing(client, survivor, merged, "owned, by different accounts")


def test_a_listing_cannot_be_merged_into_itself_or_a_missing_one(client: Any) -> None:
    _admin(client)
    p = factories.practitioner()
    db.session.commit()
    pid = p.id
    same = post_form(client, "/admin/listings/merge", {"survivor_id": pid, "merged_id": pid}, form_page=PAGE)
    assert same.status_code == 409 and "cannot be merged into itself" in same.get_data(as_text=True)
    missing = post_form(client, "/admin/listings/merge", {"survivor_id": pid, "merged_id": pid + 999}, form_page=PAGE)
    assert missing.status_code == 404


def _search_ids(client: Any) -> list[int]:
    """Return the ids search finds around Cambridge, after draining the outbox."""
    sync_outbox(search.backend())
    found = client.get("/api/v1/practitioners/search", query_string={"lat": "42.3647", "lon": "-71.1042"}).get_json()
    return [hit["id"] for hit in found["hits"]]


def test_hide_and_unhide_reach_search_after_sync_and_are_audited(client: Any) -> None:
    admin = _admin(client)
    p = factories.practitioner(slug="to-hide")
    db.session.commit()
    pid = p.id
    reindex_all(search.backend())
    assert pid in _search_ids(client)
    refused = post_form(client, f"/admin/listings/{pid}/hide", {"reason": "  "}, form_page=PAGE)
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    hidden = post_form(client, f"/admin/listings/{pid}/hide", {"reason": "Clinic closed"}, form_page=PAGE)
    assert hidden.status_code == 303
    assert client.get("/practitioners/to-hide").status_code == 404 and pid not in _search_ids(client)
    assert "Clinic closed" in client.get(PAGE).get_data(as_text=True)
    shown = post_form(client, f"/admin/listings/{pid}/unhide", {}, form_page=PAGE)
    assert shown.status_code == 303
    assert client.get("/practitioners/to-hide").status_code == 200 and pid in _search_ids(client)
    hide_event, = _events("listing_hidden")
    assert hide_event.actor_id == admin.id and json.loads(hide_event.details)["reason"] == "Clinic closed"
    assert [e.subject_id for e in _events("listing_unhidden")] == [pid]


def test_an_admin_edit_is_audited_with_the_admin_and_the_fields(client: Any) -> None:
    admin = _admin(client)
    p = factories.practitioner(slug="edited-by-admin", first_name="Mei", last_name="Chen", title="L.Ac.",
                               bio="Needling.", gender="female")
    db.session.commit()
    form = {"first_name": "Mei", "last_name": "Chen", "title": "L.Ac.", "bio": "Needling and cupping.",
            "gender": "female", "accepting_new_patients": "y", "phone": "", "booking_url": "", "fees": "",
            "insurance": "", "methods": ["filiform-needling"], "conditions": ["low-back-pain"], "languages": ["en"]}
    response = post_form(client, "/practitioners/edited-by-admin/edit", form)
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    event, = _events("profile_edited")
    assert (event.actor_id, event.subject_id) == (admin.id, p.id) and json.loads(event.details)["fields"] == "bio"
    assert "action=profile_edited" in client.get(PAGE).get_data(as_text=True)


def test_flagged_locations_list_unplaced_registry_addresses(client: Any) -> None:
    _admin(client)
    p = factories.practitioner(slug="unplaced", locations=[])
    db.session.add(RegistryListing(npi="1234567893", practitioner_id=p.id, source="nppes_file",
                                   unplaced_address="9 Nowhere Rd, Atlantis, ZZ 00000"))
    db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    flagged = html.split('id="flagged"')[1]
    assert "9 Nowhere Rd, Atlantis" in flagged and "/practitioners/unplaced/edit" in flagged


def test_the_admin_nav_links_the_listing_tools(client: Any) -> None:
    _admin(client)
    assert f'href="{PAGE}"' in client.get(PAGE).get_data(as_text=True)


def test_the_vetting_page_hides_a_listing_and_links_its_edits(client: Any) -> None:
    _admin(client)
    p = factories.practitioner(slug="from-vetting")
    db.session.commit()
    page = f"/admin/vetting/practitioners/{p.id}"
    html = client.get(page).get_data(as_text=True)
    assert f'action="/admin/listings/{p.id}/hide"' in html and "/practitioners/from-vetting/edit" in html
    response = post_form(client, f"/admin/listings/{p.id}/hide", {"reason": "Duplicate of a claimed one"},
                         form_page=page)
    assert response.status_code == 303
    assert "Hidden: Duplicate of a claimed one" in client.get(page).get_data(as_text=True)

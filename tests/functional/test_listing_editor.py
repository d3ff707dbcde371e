"""A practitioner's own listing: one-click claim, create my listing, the waiting page, the editor and its photo."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from directory.accounts.models import AuditEvent, PractitionerClaim, User
from directory.clock import utcnow
from directory.extensions import db, search
from directory.indexing.models import SearchOutbox
from directory.indexing.services import reindex_all, sync_outbox
from directory.practitioners.models import Practitioner
from directory.practitioners.photos import photo_file
from tests import factories
from tests.support.web import csrf_from, post_form, sign_in_as

EDIT = {"first_name": "Mei", "last_name": "Chen", "title": "L.Ac.", "bio": "Needling.", "gender": "female",
        "accepting_new_patients": "y", "phone": "617 555 0100", "booking_url": "https://book.example.org/mei",
        "fees": "$95 first visit", "insurance": "Blue Cross", "methods": ["cupping"], "conditions": ["sciatica"],
        "languages": ["en"]}


def _claimant(**fields: Any) -> User:
    """Add a practitioner account with no listing (confirmed, not yet approved), committed."""
    user = factories.user("practitioner", email_confirmed_at=utcnow(), **fields)
    db.session.commit()
    return user


def _owner(client: Any, slug: str = "own-listing", **fields: Any) -> tuple[Practitioner, User]:
    """Add a listing and its approved owner, signed in; the outbox emptied."""
    listing = factories.practitioner(slug=slug, **fields)
    owner = factories.practitioner_account(listing)
    sign_in_as(client, owner)
    db.session.commit()
    db.session.query(SearchOutbox).delete()
    db.session.commit()
    return listing, owner


def _jpeg(size: tuple[int, int] = (2000, 1000)) -> bytes:
    """Return a JPEG carrying EXIF (camera make, a GPS pointer, rotation), as phones write them."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "SecretSoft"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show upright
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 60)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _post_edit(client: Any, slug: str, data: dict[str, Any], photo: tuple[bytes, str] | None = None) -> Any:
    """Post the editor like a browser (multipart, with its CSRF token)."""
    token = csrf_from(client.get(f"/practitioners/{slug}/edit").get_data(as_text=True))
    payload: dict[str, Any] = {"csrf_token": token, **data}
    if photo is not None:
        payload["photo"] = (io.BytesIO(photo[0]), photo[1])
    return client.post(f"/practitioners/{slug}/edit", data=payload, content_type="multipart/form-data")


def test_an_unclaimed_profile_offers_a_practitioner_one_click_claim(client: Any) -> None:
    listing = factories.practitioner(slug="unclaimed-one")
    claimant = _claimant()
    sign_in_as(client, claimant)
    page = client.get("/practitioners/unclaimed-one").get_data(as_text=True)
    assert "Claim this profile" in page and 'action="/practitioners/unclaimed-one/claim"' in page
    response = client.post("/practitioners/unclaimed-one/claim", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/account/claim/waiting"
    claim = db.session.scalars(select(PractitionerClaim).where(PractitionerClaim.user_id == claimant.id)).one()
    assert claim.practitioner_id == listing.id and claim.decision == "pending" and not claim.creates_listing
    waiting = client.get("/account/claim/waiting").get_data(as_text=True)
    assert "Your claim is awaiting approval" in waiting and "within 5 days" in waiting
    admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())
    sign_in_as(client, admin)
    assert f'id="claim-{claim.id}"' in client.get("/admin/users").get_data(as_text=True)


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_profile(client: Any) -> None:
    factories.practitioner(slug="for-visitors")
    page = client.get("/practitioners/for-visitors").get_data(as_text=True)
    assert "/sign-in?next=/practitioners/for-visitors" in page and "role=practitioner" in page
    assert "Claim this profile</button>" not in page
    sign_up = client.get("/sign-up?role=practitioner").get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="practitioner"|<option[^>]*value="practitioner"[^>]*selected',
                     sign_up)


def test_an_owned_profile_offers_no_claim_and_its_owner_an_edit_link(client: Any) -> None:
    listing, _owner_account = _owner(client, slug="owned-listing")
    assert "Edit your listing" in client.get("/practitioners/owned-listing").get_data(as_text=True)
    sign_in_as(client, _claimant())
    page = client.get("/practitioners/owned-listing").get_data(as_text=True)
    assert "Claim this profile" not in page and "Is this you?" not in page
    refused = client.post("/practitioners/owned-listing/claim", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 400 and "already has an owner" in refused.get_data(as_text=True)
    assert db.session.scalar(select(PractitionerClaim).where(PractitionerClaim.practitioner_id == listing.id)) is None


def test_a_pending_claimant_gets_the_waiting_page_not_a_stock_403(client: Any, app: Flask) -> None:
    listing = factories.practitioner(slug="claimed-pending")
    claimant = _claimant()
    db.session.add(PractitionerClaim(user_id=claimant.id, practitioner_id=listing.id, evidence="licence AC1"))
    sign_in_as(client, claimant)
    response = client.get("/practitioners/claimed-pending/edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Your claim is awaiting approval" in page and "What happens next" in page
    assert f"within {app.config.get('CLAIM_REVIEW_DAYS', 5)} days" in page and "licence AC1" in page
    assert "permission to access" not in page
    assert "awaiting approval" in client.get("/practitioners/claimed-pending").get_data(as_text=True)


def test_create_my_listing_stays_hidden_until_an_admin_approves_it(client: Any) -> None:
    claimant = _claimant()
    sign_in_as(client, claimant)
    response = post_form(client, "/account/listing/new",
                         {"first_name": "Zoë", "last_name": "O'Brien", "title": "L.Ac.", "evidence": "MA AC-77"})
    assert response.status_code == 303
    claim = db.session.scalars(select(PractitionerClaim).where(PractitionerClaim.user_id == claimant.id)).one()
    listing = claim.practitioner
    assert claim.creates_listing and listing.hidden and listing.slug == "zoe-o-brien"
    assert listing.vetting_status == "unverified"
    assert client.get("/practitioners/zoe-o-brien").status_code == 404
    again = post_form(client, "/account/listing/new", {"first_name": "Zoë", "last_name": "Two", "evidence": "x"})
    assert again.status_code == 400 and "awaiting approval" in again.get_data(as_text=True)
    admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())
    sign_in_as(client, admin)
    assert "hidden until approved" in client.get("/admin/users").get_data(as_text=True)
    decided = post_form(client, f"/admin/claims/{claim.id}", {"decision": "approve", "note": ""},
                        form_page="/admin/users")
    assert decided.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Practitioner, listing.id).hidden
    assert db.session.get(User, claimant.id).practitioner_id == listing.id
    assert client.get("/practitioners/zoe-o-brien").status_code == 200


def test_create_my_listing_needs_a_name(client: Any) -> None:
    sign_in_as(client, _claimant())
    response = post_form(client, "/account/listing/new", {"first_name": " ", "last_name": "", "evidence": "x"})
    assert response.status_code == 400 and "Enter your first name." in response.get_data(as_text=True)
    assert db.session.scalar(select(PractitionerClaim)) is None


def test_the_editor_shows_checkbox_groups_with_synonyms(client: Any) -> None:
    _owner(client)
    page = client.get("/practitioners/own-listing/edit").get_data(as_text=True)
    assert 'type="checkbox"' in page and 'name="methods"' in page and "<select multiple" not in page
    assert "also called" in page and "moxa" in page
    assert '<textarea' in page and 'name="bio"' in page and 'enctype="multipart/form-data"' in page


def test_an_edit_is_saved_audited_and_reaches_search_after_sync(client: Any) -> None:
    listing, owner = _owner(client)
    response = _post_edit(client, "own-listing", {**EDIT, "last_name": "Chen-Renamed"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    db.session.expire_all()
    edited = db.session.get(Practitioner, listing.id)
    assert (edited.last_name, edited.gender, edited.fees, edited.insurance) == ("Chen-Renamed", "female",
                                                                                "$95 first visit", "Blue Cross")
    assert [m.slug for m in edited.methods] == ["cupping"] and not edited.telehealth
    assert (edited.locations[0].phone, edited.locations[0].booking_url) == ("617 555 0100",
                                                                            "https://book.example.org/mei")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "profile_edited")).one()
    assert event.actor_id == owner.id and event.subject_id == listing.id
    assert db.session.scalars(select(SearchOutbox.practitioner_id)).all() == [listing.id]
    profile = client.get("/practitioners/own-listing").get_data(as_text=True)
    assert "Chen-Renamed" in profile and "$95 first visit" in profile and "Blue Cross" in profile
    reindex_all(search.backend())
    sync_outbox(search.backend())
    found = client.get("/api/v1/practitioners/search",
                       query_string={"lat": "42.3736", "lon": "-71.1097", "q": "renamed"}).get_json()
    assert [h["id"] for h in found["hits"]] == [listing.id] and found["hits"][0]["methods"] == ["cupping"]


def test_a_photo_is_resized_stripped_of_exif_served_and_shown(client: Any) -> None:
    listing, _ = _owner(client)
    response = _post_edit(client, "own-listing", EDIT, photo=(_jpeg(), "holiday.JPG"))
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    db.session.expire_all()
    name = db.session.get(Practitioner, listing.id).photo_path
    stored = photo_file(name or "")
    assert stored is not None
    with Image.open(stored) as image:
        assert image.format == "WEBP" and max(image.size) == 800
        assert image.size == (400, 800)  # the rotation tag applied, then dropped
        assert not image.getexif() and "exif" not in image.info and "xmp" not in image.info
    assert b"PhoneMaker" not in stored.read_bytes() and b"SecretSoft" not in stored.read_bytes()
    served = client.get(f"/practitioners/own-listing/photo?v={name[:12]}")
    assert served.status_code == 200 and served.mimetype == "image/webp" and served.data == stored.read_bytes()
    served.close()
    profile = client.get("/practitioners/own-listing").get_data(as_text=True)
    assert 'class="avatar avatar-photo"' in profile and "/practitioners/own-listing/photo" in profile
    reindex_all(search.backend())
    results = client.get("/search", query_string={"lat": "42.3736", "lon": "-71.1097"}).get_data(as_text=True)
    assert "/practitioners/own-listing/photo" in results


def test_a_photo_can_be_removed(client: Any) -> None:
    listing, _ = _owner(client)
    assert _post_edit(client, "own-listing", EDIT, photo=(_jpeg((300, 300)), "me.jpg")).status_code == 303
    assert _post_edit(client, "own-listing", {**EDIT, "remove_photo": "y"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Practitioner, listing.id).photo_path is None
    assert client.get("/practitioners/own-listing/photo").status_code == 404


def test_a_30_mb_photo_is_refused_in_words_and_nothing_changes(client: Any) -> None:
    listing, _ = _owner(client, bio="Original")
    huge = _jpeg((200, 200)) + b"\0" * (30 * 1024 * 1024)
    token = csrf_from(client.get("/practitioners/own-listing/edit").get_data(as_text=True))
    fields = {"csrf_token": token, **EDIT, "bio": "Changed", "photo": FileStorage(io.BytesIO(huge), "big.jpg", "photo")}
    # Encoded in memory as a browser sends it (the test client would spool it to a file it never closes).
    boundary, body = encode_multipart(fields)
    response = client.post("/practitioners/own-listing/edit", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413 and "larger than this site accepts" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Practitioner, listing.id).bio == "Original"


def test_a_photo_over_the_configured_cap_is_refused_on_the_field(client: Any, app: Flask,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Under Werkzeug's 500 KB spooling threshold: its test client leaks the temporary file of a larger body.
    monkeypatch.setitem(app.config, "PRACTITIONER_PHOTO_MAX_BYTES", 100 * 1024)
    listing, _ = _owner(client, bio="Original")
    big = _jpeg((200, 200)) + b"\0" * (150 * 1024)
    response = _post_edit(client, "own-listing", {**EDIT, "bio": "Changed"}, photo=(big, "big.jpg"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "The photo is larger than 100 KB" in page and 'class="field-error"' in page
    db.session.expire_all()
    assert db.session.get(Practitioner, listing.id).bio == "Original"


def test_a_pdf_renamed_jpg_is_refused_and_nothing_is_half_written(client: Any) -> None:
    listing, _ = _owner(client, bio="Original")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    response = _post_edit(client, "own-listing", {**EDIT, "bio": "Changed"}, photo=(pdf, "portrait.jpg"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "this file is not one, whatever its name says" in page
    db.session.expire_all()
    unchanged = db.session.get(Practitioner, listing.id)
    assert unchanged.bio == "Original" and unchanged.photo_path is None


def test_a_javascript_booking_url_is_refused(client: Any) -> None:
    listing, _ = _owner(client)
    response = _post_edit(client, "own-listing", {**EDIT, "booking_url": "javascript:alert(document.cookie)"})
    assert response.status_code == 400 and "starting with https://" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Practitioner, listing.id).locations[0].booking_url == ""


def test_an_empty_name_is_refused(client: Any) -> None:
    listing, _ = _owner(client)
    response = _post_edit(client, "own-listing", {**EDIT, "first_name": "", "last_name": "  "})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Enter your first name." in page and "Enter your last name." in page
    db.session.expire_all()
    assert db.session.get(Practitioner, listing.id).first_name == "Mei"


def test_editing_someone_elses_listing_is_not_found_and_audited(client: Any) -> None:
    _listing, owner = _owner(client)
    other = factories.practitioner(slug="someone-elses", bio="Original")
    db.session.commit()
    assert client.get("/practitioners/someone-elses/edit").status_code == 404
    token = csrf_from(client.get("/practitioners/own-listing/edit").get_data(as_text=True))
    response = client.post("/practitioners/someone-elses/edit", data={"csrf_token": token, **EDIT, "bio": "Hijack"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Practitioner, other.id).bio == "Original"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "forbidden",
                                                         AuditEvent.subject_id == other.id)).all()
    assert len(events) == 2 and all(e.actor_id == owner.id for e in events)

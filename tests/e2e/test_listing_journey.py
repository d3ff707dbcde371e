"""In a real browser: a practitioner claims a profile with one click, an admin approves, the owner edits it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.models import PractitionerClaim
from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db, search
from directory.indexing.services import sync_outbox
from directory.models import User
from tests import factories
from tests.e2e.conftest import LiveServer, new_page, screenshot
from tests.e2e.data import CAMBRIDGE, sign_in

pytestmark = pytest.mark.e2e
PASSWORD = "a listing journey passphrase"
CLAIMER, ADMIN, NEWCOMER = "kim.claimer@example.org", "listing-admin@example.org", "newcomer@example.org"
PHONE = {"viewport": {"width": 375, "height": 667}}


@pytest.fixture(scope="module")
def accounts(live_server: LiveServer) -> None:
    """Add an unclaimed listing, two practitioner accounts without one, and an admin."""
    server = live_server
    assert server.app is not None
    with server.app.app_context():
        factories.practitioner(slug="kim-unclaimed", first_name="Kim", last_name="Unclaimed",
                               methods=("filiform-needling",),
                               locations=[{**CAMBRIDGE, "address_line1": "9 Elm St", "latitude": 42.3700,
                                           "longitude": -71.1100}])
        password = hash_password(PASSWORD)
        for email, role in ((CLAIMER, "practitioner"), (NEWCOMER, "practitioner"), (ADMIN, "admin")):
            db.session.add(User(email=email, password_hash=password, role=role, full_name=email.split("@")[0],
                                email_confirmed_at=utcnow(), approved_at=utcnow() if role == "admin" else None))
        db.session.commit()
        db.session.remove()


def _photo(tmp_path: Path) -> Path:
    """Write a 1600x1200 JPEG, as a phone would send it."""
    path = tmp_path / "portrait.jpg"
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (60, 120, 180)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


def test_claim_approve_edit_methods_and_photo(page: Any, live_server: LiveServer, tmp_path: Path,
                                             browser: Any, accounts: None) -> None:
    sign_in(page, live_server, CLAIMER, PASSWORD)
    page.goto(live_server.at("/practitioners/kim-unclaimed"))
    page.get_by_role("button", name="Claim this profile").click()
    expect(page.get_by_role("heading", name="Your claim is awaiting approval")).to_be_visible()
    expect(page.get_by_text("We decide within 5 days")).to_be_visible()
    screenshot(page, "listing-claim-waiting")
    page.goto(live_server.at("/practitioners/kim-unclaimed/edit"))
    expect(page.get_by_role("heading", name="Your claim is awaiting approval")).to_be_visible()

    sign_in(page, live_server, ADMIN, PASSWORD)
    page.goto(live_server.at("/admin/users"))
    assert live_server.app is not None
    with live_server.app.app_context():
        claim_id = db.session.scalar(select(PractitionerClaim.id).join(User, User.id == PractitionerClaim.user_id)
                                     .where(User.email == CLAIMER))
        db.session.remove()
    claim = page.locator(f"#claim-{claim_id}")
    claim.get_by_label("Decision").select_option("approve")
    claim.get_by_role("button", name="Decide").click()
    expect(page.get_by_text("Claim decided")).to_be_visible()

    sign_in(page, live_server, CLAIMER, PASSWORD)
    page.goto(live_server.at("/practitioners/kim-unclaimed"))
    page.get_by_role("link", name="Edit your listing").click()
    expect(page.get_by_role("heading", name="Edit Kim Unclaimed")).to_be_visible()
    page.get_by_label("Cupping", exact=True).check()
    page.get_by_label("Moxibustion", exact=True).check()
    page.get_by_label("Fees").fill("$95 for the first visit")
    page.get_by_label("Photo (JPEG, PNG or WebP)").set_input_files(str(_photo(tmp_path)))
    screenshot(page, "listing-editor-1280")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile is saved")).to_be_visible()
    expect(page.get_by_label("Cupping", exact=True)).to_be_checked()

    page.goto(live_server.at("/practitioners/kim-unclaimed"))
    methods = page.locator("section[aria-labelledby=methods-title]")
    expect(methods).to_contain_text("Cupping")
    expect(methods).to_contain_text("Moxibustion")
    expect(page.get_by_text("$95 for the first visit")).to_be_visible()
    photo = page.locator(".profile-header img.avatar-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 800
    screenshot(page, "listing-profile-with-photo-1280")

    with live_server.app.app_context():
        sync_outbox(search.backend())
        db.session.remove()
    page.goto(live_server.at("/search?place=Cambridge%2C+MA&radius_km=25&method=cupping&q=Unclaimed"))
    card = page.locator(".result-card", has_text="Kim Unclaimed")
    expect(card).to_be_visible()
    expect(card.locator("img.avatar-photo")).to_be_visible()
    screenshot(page, "listing-search-card-with-photo")

    phone, _ = new_page(browser, live_server, **PHONE)
    sign_in(phone, live_server, CLAIMER, PASSWORD)
    wide = {}
    for path in ("/practitioners/kim-unclaimed/edit", "/practitioners/kim-unclaimed"):
        phone.goto(live_server.at(path))
        wide[path] = phone.evaluate("document.documentElement.scrollWidth") - 375
    screenshot(phone, "listing-profile-375")
    phone.goto(live_server.at("/practitioners/kim-unclaimed/edit"))
    screenshot(phone, "listing-editor-375")
    phone.context.close()
    assert {path: px for path, px in wide.items() if px > 0} == {}


def test_create_my_listing_waits_hidden_for_approval(page: Any, live_server: LiveServer, accounts: None,
                                                     browser: Any) -> None:
    phone, _ = new_page(browser, live_server, **PHONE)
    sign_in(phone, live_server, NEWCOMER, PASSWORD)
    phone.goto(live_server.at("/account/listing/new"))
    wide = {"form": phone.evaluate("document.documentElement.scrollWidth") - 375}
    screenshot(phone, "listing-create-375")
    sign_in(page, live_server, NEWCOMER, PASSWORD)
    page.get_by_role("link", name="Create my listing").click()
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Newcomer")
    page.get_by_label("How we can check it is you (licence number, clinic website...)").fill("MA AC-4242")
    screenshot(page, "listing-create-1280")
    page.get_by_role("button", name="Create my listing").click()
    expect(page.get_by_role("heading", name="Your claim is awaiting approval")).to_be_visible()
    expect(page.get_by_text("stays hidden from search until then")).to_be_visible()
    response = page.goto(live_server.at("/practitioners/nora-newcomer"))
    assert response is not None and response.status == 404
    phone.goto(live_server.at("/account/claim/waiting"))
    wide["waiting"] = phone.evaluate("document.documentElement.scrollWidth") - 375
    screenshot(phone, "listing-claim-waiting-375")
    phone.context.close()
    assert {name: px for name, px in wide.items() if px > 0} == {}

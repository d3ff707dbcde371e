"""In a real browser, issue #13's whole loop: a listing imported from the NPI registry is claimed with one click,
approved by an admin, and its owner edits methods, adds a second location with hours and renews the licence;
after the outbox syncs, search shows the change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.models import PractitionerClaim
from directory.accounts.passwords import hash_password
from directory.clock import today, utcnow
from directory.extensions import db, search
from directory.imports.nppes_file import import_file
from directory.indexing.services import sync_outbox
from directory.models import Practitioner, User
from directory.vetting.sources.npi import npi_is_valid
from directory.vetting.workbench import open_items
from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.data import sign_in
from tests.support.nppes_csv import row, write_file

pytestmark = pytest.mark.e2e
PASSWORD = "an imported listing journey passphrase"
OWNER, ADMIN = "lan.imported@example.org", "import-journey-admin@example.org"


def _npi(stem: str) -> str:
    """Return a valid NPI (Luhn check digit) on a nine-digit stem."""
    return next(stem + d for d in "0123456789" if npi_is_valid(stem + d))


def _sync(server: LiveServer) -> None:
    assert server.app is not None
    with server.app.app_context():
        sync_outbox(search.backend())
        db.session.remove()


@pytest.fixture
def imported(live_server: LiveServer, tmp_path: Path) -> tuple[str, int]:
    """Import one acupuncturist from a bulk file in the real layout; add a practitioner account and an admin."""
    assert live_server.app is not None
    number = _npi("177700001")
    path = write_file(tmp_path / "npidata_pfile_journey.csv",
                      [row(number, first="LAN", last="IMPORTED", city="CAMBRIDGE", postal="021391234",
                           taxonomies=((1, "171100000X", "AC77001", "MA"),))])
    with live_server.app.app_context():
        import_file(path)
        db.session.commit()
        slug = db.session.scalar(select(Practitioner.slug).where(Practitioner.npi == number))
        password = hash_password(PASSWORD)
        for email, role in ((OWNER, "practitioner"), (ADMIN, "admin")):
            db.session.add(User(email=email, password_hash=password, role=role, full_name=email.split("@")[0],
                                email_confirmed_at=utcnow(), approved_at=utcnow() if role == "admin" else None))
        db.session.commit()
        pid = db.session.scalar(select(Practitioner.id).where(Practitioner.slug == slug))
        db.session.remove()
    assert slug and pid
    _sync(live_server)
    return slug, pid


def test_an_imported_listing_is_claimed_edited_relocated_renewed_and_found(page: Any, live_server: LiveServer,
                                                                          imported: tuple[str, int]) -> None:
    slug, pid = imported
    sign_in(page, live_server, OWNER, PASSWORD)
    page.goto(live_server.at(f"/practitioners/{slug}"))
    expect(page.get_by_text("Listed from the public registry — not yet claimed").first).to_be_visible()
    page.get_by_role("button", name="Claim this profile").click()
    expect(page.get_by_role("heading", name="Your claim is awaiting approval")).to_be_visible()

    sign_in(page, live_server, ADMIN, PASSWORD)
    page.goto(live_server.at("/admin/users"))
    assert live_server.app is not None
    with live_server.app.app_context():
        claim_id = db.session.scalar(select(PractitionerClaim.id).where(PractitionerClaim.practitioner_id == pid))
        db.session.remove()
    claim = page.locator(f"#claim-{claim_id}")
    claim.get_by_label("Decision").select_option("approve")
    claim.get_by_role("button", name="Decide").click()
    expect(page.get_by_text("Claim decided")).to_be_visible()

    sign_in(page, live_server, OWNER, PASSWORD)
    page.get_by_role("link", name="Edit your listing").click()
    page.get_by_label("Cupping", exact=True).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile is saved")).to_be_visible()

    page.get_by_role("link", name="Locations and opening hours").click()
    page.get_by_label("Practice name (optional)").fill("Portland Annex")
    page.get_by_label("Street address").fill("1200 NW Glisan St")
    page.get_by_label("City").fill("Portland")
    page.get_by_label("State or region").fill("OR")
    page.get_by_label("Postal code").fill("97209")
    page.get_by_role("button", name="Add this location").click()
    expect(page.get_by_text("hours in America/Los_Angeles time")).to_be_visible()
    page.get_by_role("link", name="Portland Annex").click()
    page.get_by_label("Wednesday").fill("10:00-16:00")
    page.get_by_role("button", name="Save the hours").click()
    expect(page.get_by_text("The hours are saved")).to_be_visible()

    page.goto(live_server.at("/account/credentials/"))
    licence = page.locator("article, section, li, div").filter(has_text="AC77001").filter(
        has=page.get_by_role("link", name="Renew or correct this credential")).last
    licence.get_by_role("link", name="Renew or correct this credential").click()
    page.get_by_label("Valid from").fill((today() - timedelta(days=1)).isoformat())
    page.get_by_label("Valid until").fill((today() + timedelta(days=730)).isoformat())
    page.get_by_role("button", name="Submit the renewed credential").click()
    expect(page.get_by_text("Credential submitted.")).to_be_visible()
    with live_server.app.app_context():
        reasons = [f"{i.source}: {i.reason}" for i in open_items(today()).get(pid, [])]
        db.session.remove()
    assert "state_board: never checked" in reasons, "the renewed licence waits for its check in the admin queue"

    _sync(live_server)
    page.goto(live_server.at("/search?place=Portland%2C+OR&radius_km=10&method=cupping&verified_only=false"))
    card = page.locator(".result-card", has_text="Lan Imported")
    expect(card).to_be_visible()
    expect(card.get_by_text("not yet claimed")).to_have_count(0)
    screenshot(page, "imported-listing-found-after-edits")
    page.goto(live_server.at(f"/practitioners/{slug}"))
    expect(page.locator(".location")).to_have_count(2)
    expect(page.get_by_text("Listed from the public registry — not yet claimed")).to_have_count(0)
    # A listing with no conditions or languages yet shows no empty "Treats:" / "Speaks:" labels.
    page.goto(live_server.at("/search?place=Portland%2C+OR&radius_km=10&method=cupping&verified_only=false"))
    card = page.locator(".result-card", has_text="Lan Imported")
    expect(card.locator(".conditions")).to_have_count(0)
    expect(card.locator(".languages")).to_have_count(0)

"""In Chromium at 375 px: no page scrolls sideways, for the public or for an admin.

The walk that found the verification queue at 428 px and the vetting page at 709 px
(long hashes and a wide credentials table) had every other test passing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from directory.accounts.passwords import hash_password
from directory.clock import today, utcnow
from directory.extensions import db
from directory.models import Practitioner, User
from directory.practitioners.models import HoursException, Location
from directory.referrals.models import Referral
from directory.vetting.workbench_models import VettingBatch
from tests.e2e.conftest import LiveServer, new_page, screenshot
from tests.e2e.data import ACCOUNT_PASSWORD, CREDENTIALS_PASSWORD, DOCTOR_EMAIL, add_credentials_owner, sign_in

pytestmark = pytest.mark.e2e
# A plain 375 px window: with mobile emulation Chromium widens the layout viewport to the content, which hides overflow.
PHONE = {"viewport": {"width": 375, "height": 667}}
PASSWORD = "a phone-sized admin passphrase"
PUBLIC = ["/", "/search?place=Cambridge%2C+MA&radius_km=25", "/practitioners/ada-moxley", "/screening",
          "/about-acupuncture", "/sign-in", "/sign-up", "/reset-password"]
ADMIN = ["/account", "/admin/vetting/", "/admin/vetting/?due=within&source=bogus", "/admin/vetting/practitioners/{ada}",
         "/admin/vetting/batches/{batch}", "/admin/users", "/admin/audit", "/admin/referrals", "/admin/reviews",
         "/admin/listings/",
         "/referrals", "/referrals/{referral}"]
# The referral pages as the doctor who sent the seeded referral (long names and addresses in it) sees them.
DOCTOR = ["/account", "/referrals/new/omar-haddad", "/referrals", "/referrals/{referral}", "/notifications"]
# A practitioner's own credentials: the page (with an expired licence, a renewal and its history) and the form.
OWNER = ["/account", "/account/credentials/", "/account/credentials/{licence}/renew", "/practitioners/phone-owner/edit",
         "/practitioners/phone-owner/locations", "/practitioners/phone-owner/locations/{location}"]


def _phone_admin(server: LiveServer) -> tuple[int, int, int]:
    """Add an admin and a finished batch of checks; return Ada Moxley's id (a long history), a referral's, the batch's."""
    assert server.app is not None
    with server.app.app_context():
        if db.session.scalar(select(User).where(User.email == "phone-admin@example.org")) is None:
            db.session.add(User(email="phone-admin@example.org", password_hash=hash_password(PASSWORD), role="admin",
                                full_name="Phone Admin", email_confirmed_at=utcnow(), approved_at=utcnow()))
            db.session.commit()
        ada = db.session.scalar(select(Practitioner.id).where(Practitioner.slug == "ada-moxley"))
        referral = db.session.scalar(select(Referral.id).where(Referral.idempotency_key == "e2e-seeded-referral"))
        # A finished batch (its page runs no script) with a long filter and a long error to wrap.
        batch = VettingBatch(practitioner_ids=f"[{ada}]", total=1, done=1, failed=1, finished_at=utcnow(),
                             filter_query="jurisdiction=US-MA&source=npi_registry&due=before&before=2026-12-31",
                             outcomes='{"npi_registry": {"error": 1}}',
                             errors='["Ada Moxley, L.Ac. (#1), NPI registry: the registry did not answer within '
                                    '0.5 seconds (https://npiregistry.cms.hhs.gov/api/?version=2.1&number=1234567893)"]')
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
        db.session.remove()
    assert ada is not None and referral is not None
    return ada, referral, batch_id


def _long_exception(server: LiveServer, practitioner_id: int) -> int:
    """Give the owner's location a dated exception with a long note; return the location's id."""
    assert server.app is not None
    with server.app.app_context():
        location = db.session.scalars(select(Location).where(Location.practitioner_id == practitioner_id)).first()
        assert location is not None
        location.exceptions.append(HoursException(on_date=today() + timedelta(days=3),
                                                  note="Closed for the regional acupuncture society's annual meeting"))
        db.session.commit()
        location_id = location.id
        db.session.remove()
    return location_id


def _overflow(page: Any) -> int:
    """Return how many pixels the page is wider than the window."""
    return int(page.evaluate("document.documentElement.scrollWidth")) - PHONE["viewport"]["width"]


def test_no_page_scrolls_sideways_on_a_phone(browser: Any, live_server: LiveServer) -> None:
    ada, referral, batch = _phone_admin(live_server)
    page, _ = new_page(browser, live_server, **PHONE)
    wide = {}
    for path in PUBLIC:
        page.goto(live_server.at(path))
        wide[path] = _overflow(page)
    page.goto(live_server.at("/sign-in"))
    page.get_by_label("Email").fill("phone-admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.at("/account"))
    for path in ADMIN:
        page.goto(live_server.at(path.format(ada=ada, referral=referral, batch=batch)))
        wide[path] = _overflow(page)
    screenshot(page, "mobile-admin-audit-width")
    page.goto(live_server.at("/admin/listings/"))
    screenshot(page, "mobile-admin-listings-width")
    page.context.clear_cookies()
    page.goto(live_server.at("/sign-in"))
    page.get_by_label("Email").fill(DOCTOR_EMAIL)
    page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.at("/account"))
    for path in DOCTOR:
        page.goto(live_server.at(path.format(referral=referral)))
        wide["doctor " + path] = _overflow(page)
    screenshot(page, "mobile-doctor-notifications-width")
    owner_id, licence = add_credentials_owner(live_server, "phone-owner@example.org", "phone-owner")
    location = _long_exception(live_server, owner_id)
    sign_in(page, live_server, "phone-owner@example.org", CREDENTIALS_PASSWORD)
    for path in OWNER:
        page.goto(live_server.at(path.format(licence=licence, location=location)))
        wide["owner " + path] = _overflow(page)
    screenshot(page, "mobile-owner-credential-renew-width")
    page.context.close()
    assert {path: px for path, px in wide.items() if px > 0} == {}

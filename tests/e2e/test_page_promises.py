"""In Chromium: the search page's ways out and back, the phone layout, and the admin's pages at desktop width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db
from directory.models import Practitioner, PractitionerClaim, User
from tests.e2e.conftest import ARTIFACTS, LiveServer, new_page, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "the audit admin's passphrase"
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


def test_home_search_with_any_method_offers_no_empty_removals(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/"))
    page.get_by_label("Place", exact=True).fill("Cambridge, MA")
    page.get_by_label("Within").select_option("5")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?.*method=&condition="))
    page.goto(page.url + "&q=homeopathy+crystals")
    empty = page.locator(".empty-state")
    assert "No practitioners match" in empty.inner_text()
    links = empty.get_by_role("link").all_inner_texts()
    assert links and not any("“”" in text or "Remove the method" in text or "Remove the condition" in text
                             for text in links), links
    screenshot(page, "search-empty-from-home")


def test_the_breadcrumb_leads_back_to_the_same_search(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=02139&method=moxibustion&radius_km=10&sort=distance"))
    search_url = page.url
    names = page.locator(".result-card h3").all_inner_texts()
    page.get_by_role("link", name="Ada Moxley, L.Ac.").click()
    page.wait_for_url(re.compile(r"/practitioners/ada-moxley\?back="))
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?"))
    assert "method=moxibustion" in page.url and "radius_km=10" in page.url and "place=02139" in page.url
    assert page.locator(".result-card h3").all_inner_texts() == names, (search_url, page.url)


def test_on_a_phone_the_first_result_is_on_the_first_screen_and_filters_open_on_demand(
        browser: Any, live_server: LiveServer) -> None:
    page, watch = new_page(browser, live_server, **PHONE)
    page.goto(live_server.at("/search?place=02139&method=moxibustion&radius_km=25"))
    page.wait_for_load_state("networkidle")
    first = page.locator(".result-card").first.bounding_box()
    assert first is not None and first["y"] + 60 < 667, f"first result starts at {first['y']}px"
    toggle = page.locator("summary.filters-toggle")
    expect(toggle).to_be_visible()
    assert "1 active" in toggle.inner_text()
    assert page.get_by_label("Cupping").is_hidden()
    screenshot(page, "mobile-search-results-first")
    page.screenshot(path=str(ARTIFACTS / "mobile-search-first-screen.png"))  # just what the first screen shows
    toggle.click()
    expect(page.get_by_label("Accepting new patients")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    call = page.locator(".result-card .card-contact a").first
    expect(call).to_be_visible()
    screenshot(page, "mobile-search-filters-open")
    assert watch.errors == []
    page.context.close()


def test_on_a_desktop_the_filters_stay_open_beside_the_results(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.at("/search?place=02139&method=moxibustion"))
    assert page.locator("summary.filters-toggle").is_hidden()
    expect(page.get_by_label("Accepting new patients")).to_be_visible()
    card = page.locator(".result-card", has_text="Ada Moxley")
    assert card.get_by_role("link", name=re.compile(r"^Call")).get_attribute("href") == "tel:6175550142"
    screenshot(page, "desktop-search-with-contact")


def test_a_phone_without_javascript_still_shows_results_before_the_filters(browser: Any, live_server: LiveServer) -> None:
    page, _ = new_page(browser, live_server, java_script_enabled=False, **PHONE)
    page.goto(live_server.at("/search?place=02139&method=moxibustion"))
    results = page.locator(".result-card").first.bounding_box()
    filters = page.locator("#filters-panel").bounding_box()
    assert results is not None and filters is not None and results["y"] < filters["y"]
    page.context.close()


def _admin(server: LiveServer) -> None:
    assert server.app is not None
    with server.app.app_context():
        db.session.add(User(email="audit-admin-with-a-rather-long-address@hospital-group.example.org",
                            password_hash=hash_password(PASSWORD), role="admin", full_name="Audit Admin",
                            email_confirmed_at=utcnow(), approved_at=utcnow()))
        db.session.add(User(email="waiting.doctor@example.org", password_hash=hash_password(PASSWORD), role="doctor",
                            full_name="Wanda Waiting", email_confirmed_at=utcnow()))
        # What made the trail 1,417 px wide: long unbroken details (a path, a hash) and a long subject.
        record_audit("forbidden", actor_id=None, subject_type="verification_check", subject_id=999_999,
                     path="/practitioners/" + "a-very-long-slug-" * 8 + "/edit", evidence_sha256="f" * 64 * 2)
        db.session.commit()
        db.session.remove()


def test_the_admin_finds_the_queue_and_reads_an_audit_trail_that_fits(page: Any, browser: Any,
                                                                     live_server: LiveServer) -> None:
    _admin(live_server)
    page.goto(live_server.at("/sign-in"))
    page.get_by_label("Email").fill("audit-admin-with-a-rather-long-address@hospital-group.example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.at("/account"))
    assert "Signed in as an admin." in page.locator("p.role").inner_text()
    screenshot(page, "admin-dashboard")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Verification queue").click()
    page.wait_for_url(live_server.at("/admin/vetting/"))
    expect(page.get_by_role("heading", name="Verification queue")).to_be_visible()
    page.goto(live_server.at("/practitioners/ada-moxley/edit"))  # an admin's edit leaves audit events behind
    page.get_by_label("About your practice").fill("Moxibustion and gentle needling for back pain and sciatica.")
    page.get_by_role("button", name=re.compile("Save")).click()
    page.goto(live_server.at("/admin/audit"))
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the audit trail is {width}px wide in a 1280px window"
    subject = page.locator("table.audit-table td[data-label=Subject] a", has_text="Ada Moxley").first
    expect(subject).to_be_visible()
    assert re.search(r"/admin/vetting/practitioners/\d+$", subject.get_attribute("href"))
    screenshot(page, "admin-audit-1280")
    page.get_by_role("link", name="Accounts", exact=True).click()
    waiting = page.locator(".decision", has_text="Wanda Waiting")
    expect(waiting.get_by_role("button", name="Approve")).to_be_visible()
    expect(page.get_by_label(re.compile("Reason for refusing Wanda Waiting"))).to_be_visible()
    screenshot(page, "admin-accounts-1280")
    phone, _ = new_page(browser, live_server, storage_state=page.context.storage_state(), **PHONE)
    for path, name in (("/admin/audit", "mobile-admin-audit"), ("/admin/users", "mobile-admin-accounts")):
        phone.goto(live_server.at(path))
        screenshot(phone, name)
        wide = phone.evaluate("""[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 376)
            .map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)""")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, (path, wide)
    phone.context.close()


def test_a_practitioner_with_a_pending_claim_is_told_why_they_cannot_edit(page: Any, live_server: LiveServer) -> None:
    assert live_server.app is not None
    with live_server.app.app_context():
        claimant = User(email="claimant@example.org", password_hash=hash_password(PASSWORD), role="practitioner",
                        full_name="Bruno Needleman", email_confirmed_at=utcnow(), approved_at=utcnow())
        db.session.add(claimant)
        db.session.flush()
        profile = db.session.scalars(select(Practitioner).where(Practitioner.slug == live_server.slugs["needles"])).one()
        db.session.add(PractitionerClaim(user_id=claimant.id, practitioner_id=profile.id, evidence="Licence AC9"))
        db.session.commit()
        db.session.remove()
    page.goto(live_server.at("/sign-in"))
    page.get_by_label("Email").fill("claimant@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.at("/account"))
    assert "is awaiting review" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Ask to claim this profile").count() == 0
    response = page.goto(live_server.at(f"/practitioners/{live_server.slugs['needles']}/edit"))
    assert response is not None and response.status == 403
    text = page.locator("main").inner_text()
    assert "Your claim is awaiting approval" in text and "What happens next" in text and "permission" not in text
    screenshot(page, "edit-while-claim-pending")


def test_an_unconfirmed_account_can_ask_for_a_new_link_from_the_sign_in_page(page: Any, live_server: LiveServer) -> None:
    assert live_server.app is not None
    with live_server.app.app_context():
        db.session.add(User(email="unconfirmed@example.org", password_hash=hash_password(PASSWORD), role="patient"))
        db.session.commit()
        db.session.remove()
    page.goto(live_server.at("/sign-in"))
    page.get_by_label("Email").fill("unconfirmed@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert "Please confirm your email first" in page.locator(".form-error").inner_text()
    screenshot(page, "sign-in-unconfirmed")
    page.get_by_role("button", name="Resend the confirmation email").click()
    assert "we sent it a new link" in page.locator("main").inner_text()

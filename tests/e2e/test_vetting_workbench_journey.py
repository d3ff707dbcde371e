"""In a real browser: an admin filters the verification queue, takes an item, and runs a batch of checks to the end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db
from directory.models import Credential, Location, Practitioner, User, VerificationCheck
from directory.vetting.sources.npi import npi_is_valid
from directory.vetting.workbench_models import VettingAssignment, VettingBatch
from tests.e2e.conftest import LiveServer, new_page, screenshot
from tests.e2e.test_accessibility import axe_violations, describe
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record, running_registry

pytestmark = pytest.mark.e2e
PASSWORD = "a workbench admin's passphrase"
PEOPLE = 12  # more than one step of ten, so the page's script has to carry on by itself


def _npi(n: int) -> str:
    base = f"1{n:08d}"
    return next(base + str(d) for d in range(10) if npi_is_valid(base + str(d)))


@pytest.fixture
def antarctica(live_server: LiveServer) -> Iterator[tuple[FakeNpiRegistry, list[int]]]:
    """Add an admin and twelve practitioners in Antarctica never checked, all known to a local NPI registry."""
    assert live_server.app is not None
    with running_registry(live_server.app) as registry, live_server.app.app_context():
        db.session.add(User(email="workbench-admin@example.org", password_hash=hash_password(PASSWORD), role="admin",
                            full_name="Wren Workbench", email_confirmed_at=utcnow(), approved_at=utcnow()))
        ids = []
        for i in range(PEOPLE):
            npi = _npi(8100 + i)
            p = Practitioner(slug=f"antarctica-{i:02d}", first_name="Wy", last_name=f"Ranger{i:02d}", npi=npi,
                             vetting_status="unverified")
            # Antarctica: no demo practitioner is there, so the filter matches exactly these.
            p.locations.append(Location(address_line1="McMurdo Station", city="Ross Island", region="",
                                        postal_code="", country="AQ", latitude=-77.85, longitude=166.67,
                                        timezone="Antarctica/McMurdo"))
            db.session.add(p)
            db.session.flush()
            db.session.add(Credential(practitioner_id=p.id, kind="npi", issuer="CMS NPPES", number=npi,
                                      jurisdiction="US"))
            registry.answer(npi, Scripted(body=found(npi_record(npi, first="WY", last=f"RANGER{i:02d}", state="WY"))))
            ids.append(p.id)
        db.session.commit()
        db.session.remove()
        yield registry, ids


def test_an_admin_filters_takes_an_item_and_runs_a_batch_to_completion(
        page: Any, browser: Any, live_server: LiveServer, antarctica: tuple[FakeNpiRegistry, list[int]]) -> None:
    registry, ids = antarctica
    page.goto(live_server.at("/sign-in?next=/admin/vetting/"))
    page.get_by_label("Email").fill("workbench-admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Verification queue")).to_be_visible()

    page.get_by_label("State or country").fill("AQ")
    page.get_by_label("Source").select_option("npi_registry")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text(f"{PEOPLE} practitioners match this filter.")).to_be_visible()
    assert "jurisdiction=AQ" in page.url and "source=npi_registry" in page.url
    screenshot(page, "admin-workbench-filtered")

    first = page.locator("table.vetting-queue tbody tr").first
    name = first.locator("td[data-label=Practitioner] a").inner_text()
    first.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Assigned.")).to_be_visible()
    assert "jurisdiction=AQ" in page.url, "assigning keeps the filter"
    expect(page.locator("table.vetting-queue tbody tr").first.locator(".assignee")).to_have_text("Wren Workbench")
    page.get_by_role("link", name=re.compile(r"^1 Assigned to me$")).click()
    expect(page.locator("table.vetting-queue tbody tr")).to_have_count(1)
    expect(page.locator("table.vetting-queue tbody tr td[data-label=Practitioner]")).to_have_text(name)

    page.goto(live_server.at("/admin/vetting/?jurisdiction=AQ&source=npi_registry"))
    page.get_by_role("button", name=f"Run automated checks for all {PEOPLE} in this filter").click()
    expect(page.get_by_role("heading", name="Finished")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("status")).to_contain_text(f"{PEOPLE} of {PEOPLE} practitioners checked")
    assert page.locator("#batch-bar").get_attribute("value") == str(PEOPLE)
    expect(page.get_by_role("button", name=re.compile("Continue"))).to_have_count(0)
    outcomes = page.locator("table.batch-outcomes")
    expect(outcomes.locator("tr", has_text="NPI registry")).to_be_visible()
    # The demo database has no exclusion list imported: each attempt is a recorded error, named on the page.
    expect(page.locator(".batch-errors li")).to_have_count(PEOPLE)
    expect(page.locator(".batch-errors li").first).to_contain_text("no exclusion list has been imported")
    screenshot(page, "admin-workbench-batch-finished")
    _assert_accessible(browser, live_server, page, ["/admin/vetting/?jurisdiction=AQ", "/admin/vetting/?due=within",
                                                    page.url.removeprefix(live_server.url)])

    assert live_server.app is not None
    with live_server.app.app_context():
        batch = db.session.scalars(select(VettingBatch).order_by(VettingBatch.id.desc())).first()
        assert batch is not None and (batch.total, batch.done) == (PEOPLE, PEOPLE) and batch.finished_at
        assert db.session.scalar(select(func.count()).select_from(VerificationCheck).where(
            VerificationCheck.practitioner_id.in_(ids), VerificationCheck.source == "npi_registry")) == PEOPLE
        assert db.session.scalar(select(func.count()).select_from(VettingAssignment).where(
            VettingAssignment.practitioner_id.in_(ids))) == 1
        db.session.remove()
    assert len(registry.requests) == PEOPLE


def _assert_accessible(browser: Any, server: LiveServer, signed_in: Any, paths: list[str]) -> None:
    """Run axe-core on the workbench pages as the signed-in admin: no serious or critical violations."""
    axe, _ = new_page(browser, server, bypass_csp=True, storage_state=signed_in.context.storage_state())
    found = {}
    for path in paths:
        axe.goto(server.at(path))
        found[path] = describe(axe_violations(axe))
    axe.context.close()
    assert {path: text for path, text in found.items() if text} == {}

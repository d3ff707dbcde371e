"""In a real browser: an owner renews an expired licence with its document; an admin checks it; the dead end clears."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.passwords import hash_password
from directory.clock import today, utcnow
from directory.extensions import db
from directory.models import Credential, User
from directory.vetting.evidence import format_day
from directory.vetting.workbench import open_items
from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.data import CREDENTIALS_PASSWORD as PASSWORD
from tests.e2e.data import add_credentials_owner, sign_in

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _reasons(server: LiveServer, practitioner_id: int) -> list[str]:
    assert server.app is not None
    with server.app.app_context():
        found = [f"{i.source}: {i.reason}" for i in open_items(today()).get(practitioner_id, [])]
        db.session.remove()
    return found


def test_owner_renews_an_expired_licence_and_the_admins_check_clears_it(page: Any, live_server: LiveServer,
                                                                       tmp_path: Path) -> None:
    pid, _ = add_credentials_owner(live_server, "renewing-owner@example.org", "renewing-owner")
    assert any("a renewed credential is needed" in r for r in _reasons(live_server, pid))
    sign_in(page, live_server, "renewing-owner@example.org", PASSWORD)
    page.get_by_role("link", name="Your credentials").click()
    expect(page.get_by_role("heading", name="Your credentials")).to_be_visible()
    expect(page.locator(".credential-state", has_text="Expired on")).to_be_visible()
    page.get_by_role("link", name="Renew or correct this credential").click()
    page.get_by_label("Valid from").fill((today() - timedelta(days=1)).isoformat())
    page.get_by_label("Valid until").fill((today() + timedelta(days=730)).isoformat())
    document = tmp_path / "renewed-licence.pdf"
    document.write_bytes(PDF)
    page.get_by_label("Document (PDF, PNG or JPEG)").set_input_files(str(document))
    page.get_by_role("button", name="Submit the renewed credential").click()
    expect(page.get_by_text("Credential submitted.")).to_be_visible()
    expect(page.get_by_text("Pending: waiting for its check at the primary source")).to_be_visible()
    screenshot(page, "owner-credentials-renewed")
    reasons = _reasons(live_server, pid)
    assert "state_board: never checked" in reasons and not any("renewed credential" in r for r in reasons)

    admin_email = "credentials-admin@example.org"
    assert live_server.app is not None
    with live_server.app.app_context():
        db.session.add(User(email=admin_email, password_hash=hash_password(PASSWORD), role="admin",
                            full_name="Credentials Admin", email_confirmed_at=utcnow(), approved_at=utcnow()))
        db.session.commit()
        renewed = db.session.scalar(select(Credential.id).where(Credential.practitioner_id == pid,
                                                                Credential.withdrawn_at.is_(None)))
        db.session.remove()
    sign_in(page, live_server, admin_email, PASSWORD)
    page.goto(live_server.at(f"/admin/vetting/practitioners/{pid}"))
    manual = page.locator("section", has=page.get_by_role("heading", name="Record a manual check"))
    manual.get_by_label("Credential checked").select_option(str(renewed))
    manual.get_by_label("Where it was checked").select_option("state_board")
    manual.get_by_label("What was checked").fill("Renewed licence on the MA board's look-up")
    manual.get_by_label("Outcome").select_option("pass")
    manual.get_by_role("button", name="Record the check").click()
    expect(page.get_by_text("Manual check recorded.")).to_be_visible()
    assert not any(r.startswith("state_board") for r in _reasons(live_server, pid))

    page.goto(live_server.at("/practitioners/renewing-owner"))
    expect(page.get_by_text(f"checked at the state board on {format_day(today())}").first).to_be_attached()
    screenshot(page, "owner-credentials-profile-after-check")
    with live_server.app.app_context():
        current = db.session.scalars(select(Credential).where(Credential.practitioner_id == pid,
                                                              Credential.withdrawn_at.is_(None))).all()
        db.session.remove()
    assert [c.document_mime for c in current] == ["application/pdf"]

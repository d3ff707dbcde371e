"""In a real browser: an admin works the verification queue, records a manual check, suspends and reinstates."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from directory.accounts.passwords import hash_password
from directory.clock import utcnow
from directory.extensions import db
from directory.models import AuditEvent, Practitioner, User
from tests.e2e.conftest import LiveServer, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "an admin's long passphrase"


def _prepare(server: LiveServer) -> tuple[int, str]:
    """Create an admin and pick a demo practitioner no other browser test relies on; return (id, name)."""
    assert server.app is not None
    with server.app.app_context():
        db.session.add(User(email="queue-admin@example.org", password_hash=hash_password(PASSWORD), role="admin",
                            full_name="Queue Admin", email_confirmed_at=utcnow(), approved_at=utcnow()))
        known = set(server.slugs.values())
        target = next(p for p in db.session.scalars(select(Practitioner).where(Practitioner.vetting_status == "verified")
                                                    .order_by(Practitioner.id.desc())) if p.slug not in known)
        db.session.commit()
        result = target.id, f"{target.first_name} {target.last_name}"
        db.session.remove()
    return result


def _audit_actions(server: LiveServer, practitioner_id: int) -> list[str]:
    assert server.app is not None
    with server.app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == practitioner_id)
                                          .order_by(AuditEvent.id)))
        db.session.remove()
    return actions


def test_admin_records_a_check_suspends_and_reinstates(page: Any, live_server: LiveServer) -> None:
    practitioner_id, name = _prepare(live_server)
    page.goto(live_server.at("/sign-in?next=/admin/vetting/"))
    page.get_by_label("Email").fill("queue-admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Verification queue")).to_be_visible()
    screenshot(page, "admin-vetting-queue")

    page.goto(live_server.at(f"/admin/vetting/practitioners/{practitioner_id}"))
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    manual = page.locator("section", has=page.get_by_role("heading", name="Record a manual check"))
    manual.get_by_label("Where it was checked").select_option("state_board")
    manual.get_by_label("What was checked").fill("Licence look-up on the state board's public site")
    manual.get_by_label("URL or reference").fill("https://board.example/licence/AC12345")
    manual.get_by_label("Outcome").select_option("pass")
    manual.get_by_role("button", name="Record the check").click()
    screenshot(page, "admin-vetting-check-recorded")
    expect(page.get_by_text("Checked: Licence look-up on the state board's public site")).to_be_visible()

    decision = page.locator("section", has=page.get_by_role("heading", name="Suspend"))
    decision.get_by_label("Reason").fill("Board reports an open investigation")
    decision.get_by_role("button", name="Suspend").click()
    expect(page.get_by_role("heading", name="Reinstate")).to_be_visible()
    screenshot(page, "admin-vetting-suspended")

    public = page.context.new_page()
    assert public.goto(live_server.at(f"/api/v1/practitioners/search?q={name.split()[-1]}&verified_only=false")).ok
    assert practitioner_id not in [h["id"] for h in public.evaluate("() => JSON.parse(document.body.innerText)")["hits"]]
    public.close()

    reinstate = page.locator("section", has=page.get_by_role("heading", name="Reinstate"))
    reinstate.get_by_label("Reason").fill("Investigation closed without findings")
    reinstate.get_by_role("button", name="Reinstate").click()
    expect(page.get_by_role("heading", name="Suspend")).to_be_visible()
    actions = _audit_actions(live_server, practitioner_id)
    assert any("check" in a for a in actions) and any("suspend" in a for a in actions)
    assert any("reinstate" in a for a in actions)

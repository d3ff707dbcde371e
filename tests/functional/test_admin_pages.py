"""Admin and account pages: the way to the queue, plain words, a readable audit trail, no stock error text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from directory.accounts.audit import record_audit
from directory.accounts.models import PractitionerClaim, User
from directory.clock import utcnow
from directory.extensions import db
from tests import factories
from tests.support.web import post_form, sign_in_as

STOCK_403 = "You don't have the permission"


def _admin(**kw: Any) -> User:
    return factories.user("admin", approved_at=utcnow(), email_confirmed_at=utcnow(), **kw)


def test_the_admin_dashboard_and_every_page_link_to_the_verification_queue(client: Any) -> None:
    sign_in_as(client, _admin())
    dashboard = client.get("/account").get_data(as_text=True)
    assert 'href="/admin/vetting/"' in dashboard and "Verification queue" in dashboard
    assert 'href="/admin/vetting/"' in client.get("/search").get_data(as_text=True)


def test_others_see_no_admin_links(client: Any) -> None:
    sign_in_as(client, factories.user("patient"))
    assert "/admin/vetting/" not in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(("role", "phrase"), [("admin", "Signed in as an <strong>admin</strong>"),
                                              ("patient", "Signed in as a <strong>patient</strong>")])
def test_the_role_takes_the_right_article(client: Any, role: str, phrase: str) -> None:
    sign_in_as(client, factories.user(role, approved_at=utcnow()))
    assert phrase in client.get("/account").get_data(as_text=True)


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Count the SQL statements run on the test connection."""
    statements: list[str] = []
    connection = db.session.connection()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


def _audit_page_statements(client: Any, practitioners: int) -> int:
    for _ in range(practitioners):
        p = factories.practitioner(first_name="Jane", last_name="Roe")
        record_audit("profile_edited", actor_id=None, subject_type="practitioner", subject_id=p.id)
    db.session.flush()
    with counted_statements() as statements:
        assert client.get("/admin/audit").status_code == 200
    return len(statements)


def test_audit_subjects_are_named_and_linked(client: Any) -> None:
    admin = _admin(email="boss@example.org")
    p = factories.practitioner(first_name="Jane", last_name="Roe", title="L.Ac.")
    someone = factories.user("doctor", email="dr.who@example.org")
    record_audit("profile_edited", actor_id=admin.id, subject_type="practitioner", subject_id=p.id)
    record_audit("user_approved", actor_id=admin.id, subject_type="user", subject_id=someone.id)
    record_audit("profile_edited", actor_id=admin.id, subject_type="practitioner", subject_id=987_654)
    sign_in_as(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f'<a href="/admin/vetting/practitioners/{p.id}">Jane Roe, L.Ac.</a>' in html
    assert "dr.who@example.org" in html
    assert "practitioner #987654 (deleted)" in html
    assert f"practitioner {p.id}" not in html


def test_audit_subjects_load_in_one_query_per_type_not_one_per_row(client: Any) -> None:
    sign_in_as(client, _admin())
    few = _audit_page_statements(client, 2)
    many = _audit_page_statements(client, 12)
    assert many == few


def test_an_unapproved_owner_sees_why_in_our_words(client: Any) -> None:
    own = factories.practitioner(slug="awaiting-owner")
    sign_in_as(client, factories.user("practitioner", practitioner_id=own.id))
    response = client.get("/practitioners/awaiting-owner/edit")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "ownership claim are awaiting approval" in html and STOCK_403 not in html
    assert '<a class="brand"' in html  # our layout


def test_a_pending_claim_is_named_on_the_profile_it_claims(client: Any) -> None:
    profile = factories.practitioner(slug="claimed-not-yet")
    claimant = factories.user("practitioner", approved_at=utcnow())
    db.session.add(PractitionerClaim(user_id=claimant.id, practitioner_id=profile.id, evidence="Licence AC1"))
    db.session.flush()
    sign_in_as(client, claimant)
    html = client.get("/practitioners/claimed-not-yet/edit").get_data(as_text=True)
    assert "Your claim is awaiting approval" in html and "What happens next" in html and STOCK_403 not in html


def test_every_403_uses_our_words(client: Any, app: Flask) -> None:
    sign_in_as(client, factories.user("patient"))
    for url in ("/admin/users", "/admin/vetting/", "/admin/audit"):
        html = client.get(url).get_data(as_text=True)
        assert STOCK_403 not in html and "This page is for admins only, and you are signed in as a patient." in html


def test_stock_404_text_is_replaced_too(client: Any) -> None:
    html = client.get("/no-such-page").get_data(as_text=True)
    assert "The requested URL was not found on the server" not in html
    assert "There is nothing at this address" in html


def test_after_a_claim_the_account_page_says_it_is_awaiting_review(client: Any) -> None:
    factories.practitioner(slug="wants-owner", first_name="Jane", last_name="Roe", title="")
    sign_in_as(client, factories.user("practitioner"))
    post_form(client, "/account/claim", {"slug": "wants-owner", "evidence": "Licence AC1"}, form_page="/account")
    html = client.get("/account").get_data(as_text=True)
    assert "Your claim of" in html and "Jane Roe</a>" in html and "is awaiting review" in html
    assert "Ask to claim this profile" not in html
    again = post_form(client, "/account/claim", {"slug": "wants-owner", "evidence": "Again"},
                      form_page="/practitioners/wants-owner")
    assert again.status_code == 400
    assert db.session.query(PractitionerClaim).count() == 1


def test_a_refused_admin_action_shows_its_reason_instead_of_a_redirect(client: Any) -> None:
    admin = _admin()
    patient = factories.user("patient", email_confirmed_at=utcnow())
    sign_in_as(client, admin)
    response = post_form(client, f"/admin/users/{patient.id}/approve", {}, form_page="/admin/users")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "only doctors and practitioners need approval" in html and "Redirecting" not in html

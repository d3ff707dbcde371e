"""Every view runs its action through run_action: 303 on success, the page again with a 4xx on refusal."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, get_flashed_messages
from sqlalchemy import func, select

from directory.accounts.audit import record_audit
from directory.accounts.models import AuditEvent, PractitionerClaim, User
from directory.clock import utcnow
from directory.errors import InvalidParameter, NotFound
from directory.extensions import db
from directory.vetting.models import VettingDecision
from directory.web import run_action
from tests import factories
from tests.support.web import post_form, sign_in_as


def _admin() -> User:
    return factories.user("admin", approved_at=utcnow(), email_confirmed_at=utcnow())


def _events(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action)) or 0


def _refused_in_place(response: Any, status: int, message: str) -> None:
    """Assert a refusal re-rendered its page: the status, the message, no redirect of any kind."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:500]
    assert "Location" not in response.headers and "Redirecting" not in html
    assert message in html


def _see_other(client: Any, response: Any, path: str, flash: str) -> None:
    """Assert a success answered 303 to ``path`` and the page there shows the flash."""
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert response.headers["Location"] == path
    assert flash in client.get(path).get_data(as_text=True)


# --- accounts admin (/admin/users)

def test_approving_ones_own_account_is_refused_in_place_and_only_the_attempt_is_kept(client: Any) -> None:
    admin = _admin()
    db.session.commit()
    sign_in_as(client, admin)
    response = post_form(client, f"/admin/users/{admin.id}/approve", {}, form_page="/admin/users")
    _refused_in_place(response, 403, "You cannot approve your own account.")
    # The service wrote its own event before refusing; the rollback took it, the forbidden attempt stays.
    assert _events("self_approval_refused") == 0
    assert _events("forbidden") == 1
    assert db.session.get(User, admin.id).approved_at is not None


def test_approving_a_doctor_answers_303_to_the_users_page_with_the_flash(client: Any) -> None:
    doctor = factories.user("doctor", email_confirmed_at=utcnow())
    admin = _admin()
    db.session.commit()
    sign_in_as(client, admin)
    response = post_form(client, f"/admin/users/{doctor.id}/approve",
                         {"licence_number": "MD-1", "jurisdiction": "US-MA",
                          "where_checked": "https://www.mass.gov/orgs/board-of-registration-in-medicine"}, form_page="/admin/users")
    _see_other(client, response, "/admin/users", "Account approved; the applicant is told by email.")
    assert db.session.get(User, doctor.id).approved_at is not None


# --- vetting (/admin/vetting)

def test_reinstating_a_practitioner_who_is_not_suspended_is_refused_in_place(client: Any) -> None:
    p = factories.practitioner()
    admin = _admin()
    db.session.commit()
    sign_in_as(client, admin)
    page = f"/admin/vetting/practitioners/{p.id}"
    response = post_form(client, f"{page}/reinstate", {"reason": "all fine", "category": "administrative_review"},
                         form_page=page)
    _refused_in_place(response, 400, "This practitioner is not suspended.")
    assert db.session.scalars(select(VettingDecision)).all() == []


def test_suspending_answers_303_to_the_practitioners_screen_with_the_flash(client: Any) -> None:
    p = factories.practitioner()
    admin = _admin()
    db.session.commit()
    sign_in_as(client, admin)
    page = f"/admin/vetting/practitioners/{p.id}"
    response = post_form(client, f"{page}/suspend", {"reason": "complaint", "category": "administrative_review"},
                         form_page=page)
    _see_other(client, response, page, "Practitioner suspended.")
    assert _events("vetting.suspended") == 1


# --- account pages

def test_a_refused_claim_shows_the_dashboard_again_with_its_reason(client: Any) -> None:
    practitioner = factories.user("practitioner", email_confirmed_at=utcnow())
    db.session.commit()
    sign_in_as(client, practitioner)
    response = post_form(client, "/account/claim", {"slug": "no-such-profile", "evidence": "Licence AC1"},
                         form_page="/account")
    _refused_in_place(response, 400, "No profile has that address; copy it from the profile page.")
    assert db.session.scalar(select(func.count(PractitionerClaim.id))) == 0


def test_a_claim_answers_303_to_the_dashboard_with_the_flash(client: Any) -> None:
    factories.practitioner(slug="claim-me")
    practitioner = factories.user("practitioner", email_confirmed_at=utcnow())
    db.session.commit()
    sign_in_as(client, practitioner)
    response = post_form(client, "/account/claim", {"slug": "claim-me", "evidence": "Licence AC1"},
                         form_page="/account")
    _see_other(client, response, "/account", "Thank you. An admin will check your claim and tell you by email.")


def test_a_refused_reset_shows_its_reason_on_the_form(client: Any) -> None:
    response = post_form(client, "/reset-password/not-a-token", {"password": "a long new passphrase 42",
                                                                 "confirm": "a long new passphrase 42"})
    _refused_in_place(response, 400, "This reset link is invalid, used or expired. Ask for a new one.")


# --- practitioner profile editing (its service never refuses: success only)

def test_saving_a_profile_answers_303_to_the_edit_page_with_the_flash(client: Any) -> None:
    own = factories.practitioner(slug="own-303")
    user = factories.user("practitioner", approved_at=utcnow(), email_confirmed_at=utcnow(), practitioner_id=own.id)
    db.session.commit()
    sign_in_as(client, user)
    response = post_form(client, "/practitioners/own-303/edit",
                         {"bio": "Cupping too.", "methods": ["cupping"], "conditions": ["sciatica"], "languages": ["en"]})
    _see_other(client, response, "/practitioners/own-303/edit",
               "Your profile is saved; search shows the change within seconds.")
    assert _events("profile_edited") == 1


# --- the helper itself

def _add_event_then(error: Exception) -> None:
    record_audit("half_written", actor_id=None)
    db.session.flush()
    raise error


def test_a_refusal_rolls_back_what_the_action_had_written(app: Flask, session: Any) -> None:
    with app.test_request_context("/somewhere", method="POST"):
        body, status = run_action(lambda: _add_event_then(InvalidParameter("Not like that.")),
                                  rerender=lambda: "the form again", redirect_to="/done")
        assert (body, status) == ("the form again", 400)
        assert get_flashed_messages(with_categories=True) == [("error", "Not like that.")]
    assert _events("half_written") == 0


def test_success_commits_flashes_and_answers_303(app: Flask, session: Any) -> None:
    with app.test_request_context("/somewhere", method="POST"):
        response = run_action(lambda: record_audit("written", actor_id=None), success="Done.", redirect_to="/done",
                              rerender=lambda: "unused")
        assert response.status_code == 303 and response.headers["Location"] == "/done"
        assert get_flashed_messages(with_categories=True) == [("success", "Done.")]
    db.session.rollback()  # a commit is what keeps the row: a rollback now must not remove it
    assert _events("written") == 1


def test_a_refusal_with_a_form_shows_on_its_field_not_as_a_flash(app: Flask, session: Any) -> None:
    from directory.accounts.forms import NewPasswordForm

    with app.test_request_context("/reset-password/x", method="POST"):
        form = NewPasswordForm(meta={"csrf": False})
        error = InvalidParameter("Too short.", field="password")
        run_action(lambda: _add_event_then(error), form=form, rerender=lambda: "", redirect_to="/done")
        assert form.password.errors == ["Too short."] and get_flashed_messages() == []


@pytest.mark.parametrize("rerender", [None, lambda: "never shown"])
def test_not_found_and_refusals_without_a_page_go_to_the_error_handler(app: Flask, session: Any, rerender: Any) -> None:
    with app.test_request_context("/somewhere", method="POST"):
        with pytest.raises(NotFound):
            run_action(lambda: _add_event_then(NotFound("No such thing.")), rerender=rerender, redirect_to="/done")
        if rerender is None:
            with pytest.raises(InvalidParameter):
                run_action(lambda: _add_event_then(InvalidParameter("No.")), redirect_to="/done")
            assert _events("half_written") == 0


def test_show_answers_with_a_page_instead_of_a_redirect(app: Flask, session: Any) -> None:
    with app.test_request_context("/somewhere", method="POST"):
        assert run_action(lambda: 42, show=lambda result: f"result {result}") == "result 42"
        with pytest.raises(TypeError):
            run_action(lambda: 42)

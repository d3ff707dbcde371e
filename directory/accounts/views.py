"""Account pages: sign-up, confirmation, sign-in/out, password reset, dashboard, privacy."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from directory.accounts import services
from directory.accounts.forms import (
    ClaimForm,
    ConfirmDeleteForm,
    NewPasswordForm,
    ResendConfirmationForm,
    ResetRequestForm,
    SignInForm,
    SignUpForm,
)
from directory.accounts.models import PractitionerClaim
from directory.accounts.policy import public, roles_required, signed_in
from directory.extensions import db, limiter
from directory.indexing.services import outbox_status
from directory.web import run_action

bp = Blueprint("accounts", __name__)
AUTH_LIMIT = "10 per minute;50 per hour"


def safe_next(target: str | None) -> str | None:
    """Return ``target`` only if it is a path on this site (no scheme, host or protocol-relative //)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _form_page(template: str, form: Any, **context: Any) -> Any:
    """Render a form page: 400 when the submitted form has errors, else 200."""
    return render_template(template, form=form, **context), 400 if form.errors else 200


@bp.route("/sign-up", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def sign_up() -> Any:
    """Create an account and send the confirmation link."""
    form = SignUpForm()
    if request.method == "GET" and request.args.get("role") in ("practitioner", "doctor"):
        form.role.data = request.args["role"]  # "create a practitioner account" links from a profile's claim box
    if not form.validate_on_submit():
        return _form_page("accounts/sign_up.html", form)
    return run_action(lambda: services.sign_up(form.email.data, form.password.data, form.full_name.data,
                                               form.role.data, form.doctor_credentials()),
                      form=form, rerender=lambda: render_template("accounts/sign_up.html", form=form),
                      show=lambda _: render_template("accounts/check_email.html", email=form.email.data))


@bp.get("/confirm/<token>")
@public
def confirm_email(token: str) -> Any:
    """Confirm an email address from the emailed link."""
    # An invalid link has no form to re-render: the error handler's page answers it, as before.
    return run_action(lambda: services.confirm_email(token), redirect_to=url_for("accounts.sign_in"),
                      success="Your email is confirmed. You can sign in now.")


@bp.route("/confirm/resend", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def resend_confirmation() -> Any:
    """Send a new confirmation link; the answer is the same whether the account exists or not."""
    form = ResendConfirmationForm()
    if not form.validate_on_submit():
        return _form_page("accounts/resend_confirmation.html", form)
    return run_action(lambda: services.resend_confirmation(form.email.data),
                      show=lambda _: render_template("accounts/check_email.html", email=form.email.data, resent=True))


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def sign_in() -> Any:
    """Sign in; the session is renewed so a planted session id is useless afterwards."""
    form = SignInForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return _form_page("accounts/sign_in.html", form)
    # Not run_action: a refused sign-in must commit (not roll back) its failure count and audit event.
    try:
        user = services.authenticate(form.email.data, form.password.data)
    except services.SignInFailed as exc:
        db.session.commit()  # keep the failure count and its audit event
        form.form_errors.append(exc.message)
        resend = ResendConfirmationForm(email=form.email.data) if isinstance(exc, services.EmailNotConfirmed) else None
        return render_template("accounts/sign_in.html", form=form, resend_form=resend), 401
    db.session.commit()
    session.clear()
    login_user(user)
    return redirect(safe_next(form.next.data) or url_for("accounts.dashboard"), code=303)


@bp.post("/sign-out")
@signed_in
def sign_out() -> Any:
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("site.home"), code=303)


@bp.route("/reset-password", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def request_reset() -> Any:
    """Ask for a reset link; the answer is the same whether the account exists or not."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return _form_page("accounts/reset_request.html", form)
    return run_action(lambda: services.request_password_reset(form.email.data),
                      show=lambda _: render_template("accounts/check_email.html", email=form.email.data, reset=True))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def reset_password(token: str) -> Any:
    """Choose a new password from the emailed link."""
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _form_page("accounts/reset_password.html", form)
    return run_action(lambda: services.reset_password(token, form.password.data), form=form,
                      rerender=lambda: render_template("accounts/reset_password.html", form=form),
                      success="Your password is changed. Sign in with the new one.",
                      redirect_to=url_for("accounts.sign_in"))


@bp.get("/account")
@signed_in
def dashboard() -> Any:
    """Show the signed-in user's dashboard for their role."""
    claims = db.session.query(PractitionerClaim).filter_by(user_id=current_user.id).all()
    return render_template("accounts/dashboard.html", claims=claims, claim_form=ClaimForm(),
                           pending_claim=services.pending_claim(current_user), delete_form=ConfirmDeleteForm(),
                           search_status=outbox_status() if current_user.role == "admin" else None)


@bp.post("/account/claim")
@roles_required("practitioner")
def claim_profile() -> Any:
    """Ask to own an existing profile."""
    form = ClaimForm()
    if not form.validate_on_submit():
        flash(" ".join(m for msgs in form.errors.values() for m in msgs), "error")
        return dashboard(), 400
    return run_action(lambda: services.request_claim(current_user, form.slug.data, form.evidence.data),
                      success="Thank you. An admin will check your claim and tell you by email.",
                      redirect_to=url_for("accounts.dashboard"), rerender=dashboard)


@bp.get("/account/export")
@signed_in
def export_data() -> Any:
    """Download everything held about the signed-in user, as JSON."""
    data = services.export_user_data(current_user)
    db.session.commit()
    return Response(json.dumps(data, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=meridian-my-data.json"})


@bp.post("/account/delete")
@roles_required("patient")
def delete_account() -> Any:
    """Delete the signed-in patient's account (reviews stay, anonymised)."""
    form = ConfirmDeleteForm()
    if not form.validate_on_submit() or form.confirm.data != "DELETE":
        flash("Type DELETE to confirm that you want to delete your account.", "error")
        return dashboard(), 400
    return run_action(_sign_out_and_delete, success="Your account is deleted.", redirect_to=url_for("site.home"))


def _sign_out_and_delete() -> None:
    """Sign the patient out, forget the session, and delete the account (run_action commits)."""
    user = current_user._get_current_object()
    logout_user()
    session.clear()
    services.delete_account(user)

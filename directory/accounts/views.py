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
from directory.errors import DomainError
from directory.extensions import db, limiter

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


def _form_error(form: Any, exc: DomainError) -> None:
    """Attach a service error to the form field it concerns (or the form)."""
    field = getattr(form, exc.field or "", None)
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.route("/sign-up", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def sign_up() -> Any:
    """Create an account and send the confirmation link."""
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            services.sign_up(form.email.data, form.password.data, form.full_name.data, form.role.data)
        except DomainError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/sign_up.html", form=form), 400 if form.errors else 200


@bp.get("/confirm/<token>")
@public
def confirm_email(token: str) -> Any:
    """Confirm an email address from the emailed link."""
    services.confirm_email(token)
    db.session.commit()
    flash("Your email is confirmed. You can sign in now.", "success")
    return redirect(url_for("accounts.sign_in"))


@bp.route("/confirm/resend", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def resend_confirmation() -> Any:
    """Send a new confirmation link; the answer is the same whether the account exists or not."""
    form = ResendConfirmationForm()
    if form.validate_on_submit():
        services.resend_confirmation(form.email.data)
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data, resent=True)
    return render_template("accounts/resend_confirmation.html", form=form), 400 if form.errors else 200


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def sign_in() -> Any:
    """Sign in; the session is renewed so a planted session id is useless afterwards."""
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.SignInFailed as exc:
            db.session.commit()  # keep the failure count and its audit event
            form.form_errors.append(exc.message)
            resend = ResendConfirmationForm(email=form.email.data) \
                if isinstance(exc, services.EmailNotConfirmed) else None
            return render_template("accounts/sign_in.html", form=form, resend_form=resend), 401
        db.session.commit()
        session.clear()
        login_user(user)
        return redirect(safe_next(form.next.data) or url_for("accounts.dashboard"))
    return render_template("accounts/sign_in.html", form=form), 400 if form.errors else 200


@bp.post("/sign-out")
@signed_in
def sign_out() -> Any:
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("site.home"))


@bp.route("/reset-password", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def request_reset() -> Any:
    """Ask for a reset link; the answer is the same whether the account exists or not."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data, reset=True)
    return render_template("accounts/reset_request.html", form=form), 400 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def reset_password(token: str) -> Any:
    """Choose a new password from the emailed link."""
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash("Your password is changed. Sign in with the new one.", "success")
            return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form), 400 if form.errors else 200


@bp.get("/account")
@signed_in
def dashboard() -> Any:
    """Show the signed-in user's dashboard for their role."""
    claims = db.session.query(PractitionerClaim).filter_by(user_id=current_user.id).all()
    return render_template("accounts/dashboard.html", claims=claims, claim_form=ClaimForm(),
                           pending_claim=services.pending_claim(current_user), delete_form=ConfirmDeleteForm())


@bp.post("/account/claim")
@roles_required("practitioner")
def claim_profile() -> Any:
    """Ask to own an existing profile."""
    form = ClaimForm()
    if form.validate_on_submit():
        try:
            services.request_claim(current_user, form.slug.data, form.evidence.data)
            db.session.commit()
            flash("Thank you. An admin will check your claim and tell you by email.", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
    else:
        flash(" ".join(m for msgs in form.errors.values() for m in msgs), "error")
    return redirect(url_for("accounts.dashboard"))


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
        return redirect(url_for("accounts.dashboard"))
    user = current_user._get_current_object()
    logout_user()
    services.delete_account(user)
    db.session.commit()
    session.clear()
    flash("Your account is deleted.", "success")
    return redirect(url_for("site.home"))

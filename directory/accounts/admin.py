"""Admin screens for accounts: approvals, roles, profile claims, the audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from directory.accounts import doctors, services
from directory.accounts.audit_trail import audit_page
from directory.accounts.forms import (
    ApproveForm,
    AuditFilterForm,
    CheckNpiForm,
    ClaimDecisionForm,
    RefuseForm,
    RoleForm,
)
from directory.accounts.models import PractitionerClaim, User
from directory.accounts.policy import roles_required
from directory.extensions import db
from directory.vetting.models import VerificationCheck
from directory.vetting.sources.npi import NpiRegistryClient
from directory.web import run_action

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin")


@bp.get("/users")
@roles_required("admin")
def users() -> Any:
    """List accounts awaiting approval, pending profile claims, and recent accounts."""
    waiting = db.session.scalars(select(User).where(User.role.in_(("doctor", "practitioner")),
                                                    User.approved_at.is_(None)).order_by(User.created_at)).all()
    claims = db.session.scalars(select(PractitionerClaim).where(PractitionerClaim.decision == "pending")
                                .order_by(PractitionerClaim.requested_at)).all()
    recent = db.session.scalars(select(User).order_by(User.created_at.desc()).limit(50)).all()
    files = {u.id: doctors.doctor_file(u) for u in waiting if u.role == "doctor"}
    return render_template("accounts/admin_users.html", waiting=waiting, claims=claims, recent=recent, files=files,
                           approve_form=ApproveForm(), refuse_form=RefuseForm(), role_form=RoleForm(),
                           claim_form=ClaimDecisionForm(), check_form=CheckNpiForm())


def _refused(form: FlaskForm) -> Any:
    """Show the users page again saying what was wrong with the form (a bare 400 redirect is a dead end)."""
    for name, messages in form.errors.items():
        flash(f"{form[name].label.text}: {messages[0]}", "error")
    return users(), 400


def _admin_action(action: Any, success: str) -> Any:
    """Run an admin action with the one helper: back to the users page (303), or the page with the refusal."""
    return run_action(action, success=success, redirect_to=url_for("accounts_admin.users"), rerender=users)


@bp.post("/users/<int:user_id>/approve")
@roles_required("admin")
def approve(user_id: int) -> Any:
    """Approve a doctor or practitioner."""
    form = ApproveForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _admin_action(lambda: services.approve_user(current_user, user_id, form.licence_number.data or "",
                                                       form.jurisdiction.data or "", form.where_checked.data or ""),
                         "Account approved; the applicant is told by email.")


@bp.post("/users/<int:user_id>/check-npi")
@roles_required("admin")
def check_npi(user_id: int) -> Any:
    """Look a waiting doctor's NPI up in the registry now; an outage is recorded and shown, never a 500."""
    form = CheckNpiForm()
    if not form.validate_on_submit():
        return _refused(form)
    client = NpiRegistryClient.from_config()
    try:
        return run_action(lambda: doctors.check_doctor_npi(current_user, services.get_user(user_id), client),
                          success=_check_message, redirect_to=url_for("accounts_admin.users") + f"#user-{user_id}",
                          rerender=users)
    finally:
        client.close()


def _check_message(check: VerificationCheck) -> tuple[str, str]:
    """Say what the registry check found, as the flash after it."""
    if check.outcome == "pass":
        return "NPI check passed: an active individual referring clinician.", "success"
    if check.outcome == "error":
        return f"The registry could not be asked ({check.note}); the attempt is recorded. Try again later.", "error"
    return f"NPI check {check.outcome.replace('_', ' ')}: {check.note}.", "error"


@bp.post("/users/<int:user_id>/refuse")
@roles_required("admin")
def refuse(user_id: int) -> Any:
    """Refuse a doctor or practitioner, with a reason that is emailed to them."""
    form = RefuseForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _admin_action(lambda: services.refuse_user(current_user, user_id, form.reason.data or ""),
                         "Account refused; the applicant is told why by email.")


@bp.post("/users/<int:user_id>/role")
@roles_required("admin")
def change_role(user_id: int) -> Any:
    """Change a user's role."""
    form = RoleForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _admin_action(lambda: services.change_role(current_user, user_id, form.role.data), "Role changed.")


@bp.post("/claims/<int:claim_id>")
@roles_required("admin")
def decide_claim(claim_id: int) -> Any:
    """Approve or reject a profile claim."""
    form = ClaimDecisionForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _admin_action(lambda: services.decide_claim(current_user, claim_id, form.decision.data == "approve",
                                                       form.note.data or ""), "Claim decided; the claimant is told by email.")


@bp.get("/audit")
@roles_required("admin")
def audit() -> Any:
    """Show the audit trail, newest first, filtered by action, actor and subject type."""
    form = AuditFilterForm(request.args)
    filters = {"action": form.action.data or "", "actor": form.actor.data or "",
               "subject_type": form.subject_type.data or ""} if form.validate() else {}
    return render_template("accounts/admin_audit.html", form=form, rows=audit_page(**filters))

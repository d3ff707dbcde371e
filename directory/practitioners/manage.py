"""Practitioners edit their own profile (admins may edit any); search follows through the outbox."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from directory.accounts.audit import record_audit
from directory.accounts.policy import can_edit_practitioner, roles_required
from directory.accounts.services import pending_claim
from directory.extensions import db
from directory.practitioners.models import Condition, Language, Method, Practitioner
from directory.practitioners.search_service import vocabulary_choices
from directory.web import run_action

bp = Blueprint("practitioner_manage", __name__)


class ProfileForm(FlaskForm):
    """The parts of a profile its owner edits."""

    bio = TextAreaField("About your practice", validators=[Length(max=4000)])
    accepting_new_patients = BooleanField("Accepting new patients")
    telehealth = BooleanField("Offers telehealth consultations")
    methods = SelectMultipleField("Methods you practise")
    conditions = SelectMultipleField("Conditions you treat")
    languages = SelectMultipleField("Languages you consult in")

    def set_choices(self, vocabulary: dict[str, dict[str, str]]) -> None:
        """Fill the choices from the vocabulary tables (unknown slugs then fail validation)."""
        self.methods.choices = [SelectChoice(k, v) for k, v in vocabulary["method"].items()]
        self.conditions.choices = [SelectChoice(k, v) for k, v in vocabulary["condition"].items()]
        self.languages.choices = [SelectChoice(k, v) for k, v in vocabulary["language"].items()]


def _editable(slug: str) -> Practitioner:
    """Return the profile if the current user may edit it; 404 if absent, 403 (audited) if not theirs."""
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug))
    if practitioner is None:
        abort(404)
    if not can_edit_practitioner(current_user, practitioner.id):
        record_audit("forbidden", actor_id=current_user.id, subject_type="practitioner", subject_id=practitioner.id,
                     path=request.path)
        db.session.commit()
        abort(403, description=_not_yours(practitioner))
    return practitioner


def _not_yours(practitioner: Practitioner) -> str:
    """Explain why this profile cannot be edited by the current user (a pending claim, or someone else's)."""
    claim = pending_claim(current_user)
    if claim is not None and claim.practitioner_id == practitioner.id:
        return ("Your ownership claim of this profile is awaiting approval. You can edit it once an admin has "
                "approved the claim; we will email you the decision.")
    return ("Only the practitioner who owns this profile can edit it. If it is yours, claim it from your account "
            "page and we will check.")


@bp.route("/practitioners/<slug>/edit", methods=["GET", "POST"])
@roles_required("practitioner", "admin", approved=True)
def edit_profile(slug: str) -> Any:
    """Edit one's own profile."""
    practitioner = _editable(slug)
    form = ProfileForm(obj=practitioner)
    form.set_choices(vocabulary_choices())
    if request.method == "GET":
        form.methods.data = [m.slug for m in practitioner.methods]
        form.conditions.data = [c.slug for c in practitioner.conditions]
        form.languages.data = [lang.code for lang in practitioner.languages]
    page = partial(render_template, "practitioners/edit.html", form=form, practitioner=practitioner)
    if not form.validate_on_submit():
        return page(), 400 if form.errors else 200
    return run_action(lambda: _apply(practitioner, form), rerender=page,
                      success="Your profile is saved; search shows the change within seconds.",
                      redirect_to=url_for("practitioner_manage.edit_profile", slug=practitioner.slug))


def _apply(practitioner: Practitioner, form: ProfileForm) -> None:
    """Copy the form onto the profile, with its audit event; the flush writes the search outbox row."""
    practitioner.bio = form.bio.data or ""
    practitioner.accepting_new_patients = bool(form.accepting_new_patients.data)
    practitioner.telehealth = bool(form.telehealth.data)
    practitioner.methods = list(db.session.scalars(select(Method).where(Method.slug.in_(form.methods.data or []))))
    practitioner.conditions = list(db.session.scalars(
        select(Condition).where(Condition.slug.in_(form.conditions.data or []))))
    practitioner.languages = list(db.session.scalars(
        select(Language).where(Language.code.in_(form.languages.data or []))))
    record_audit("profile_edited", actor_id=current_user.id, subject_type="practitioner", subject_id=practitioner.id)

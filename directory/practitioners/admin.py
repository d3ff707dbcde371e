"""Admin listing screens: duplicates and merging, hidden listings, flagged locations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from directory.accounts.policy import roles_required
from directory.practitioners import admin_tools
from directory.web import run_action

bp = Blueprint("listings_admin", __name__, url_prefix="/admin/listings")
MAX_ID = 2**31 - 1


class MergeForm(FlaskForm):
    """Merge one listing into another (the survivor keeps its id and address)."""

    survivor_id = IntegerField("Keep", validators=[DataRequired("Say which listing to keep."),
                                                   NumberRange(1, MAX_ID, "Not a listing id.")])
    merged_id = IntegerField("Merge away", validators=[DataRequired("Say which listing to merge away."),
                                                       NumberRange(1, MAX_ID, "Not a listing id.")])
    move_locations = BooleanField("Move its locations too")


class HideForm(FlaskForm):
    """Hide a listing, saying why."""

    reason = StringField("Why", validators=[DataRequired("Say why the listing is hidden."),
                                            Length(max=admin_tools.REASON_MAX)])


class UnhideForm(FlaskForm):
    """Show a hidden listing again."""


@bp.get("/")
@roles_required("admin")
def overview() -> Any:
    """List candidate duplicates, hidden listings and flagged locations, with the actions on each."""
    return render_template("practitioners/admin_listings.html", pairs=admin_tools.find_duplicates(),
                           hidden=admin_tools.hidden_listings(), flagged=admin_tools.flagged_locations(),
                           merge_form=MergeForm(), hide_form=HideForm(), unhide_form=UnhideForm())


def _refused(form: FlaskForm) -> Any:
    """Show the overview again with what was wrong with the form."""
    for name, messages in form.errors.items():
        flash(f"{form[name].label.text}: {messages[0]}", "error")
    return overview(), 400


def _done(action: Any, success: str) -> Any:
    """Run the action with the one helper and come back to the overview."""
    return run_action(action, success=success, redirect_to=url_for("listings_admin.overview"), rerender=overview)


@bp.post("/merge")
@roles_required("admin")
def merge() -> Any:
    """Merge one listing into another, keeping reviews, referrals and history."""
    form = MergeForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _done(lambda: admin_tools.merge_listings(current_user, form.survivor_id.data or 0, form.merged_id.data or 0,
                                                    move_locations=bool(form.move_locations.data)),
                 "Listings merged; the old address now redirects to the one kept.")


@bp.post("/<int:practitioner_id>/hide")
@roles_required("admin")
def hide(practitioner_id: int) -> Any:
    """Hide a listing from the public and from search, with a reason."""
    form = HideForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _done(lambda: admin_tools.hide_listing(current_user, practitioner_id, form.reason.data or ""),
                 "Listing hidden; it leaves search at the next sync.")


@bp.post("/<int:practitioner_id>/unhide")
@roles_required("admin")
def unhide(practitioner_id: int) -> Any:
    """Show a hidden listing again."""
    form = UnhideForm()
    if not form.validate_on_submit():
        return _refused(form)
    return _done(lambda: admin_tools.unhide_listing(current_user, practitioner_id),
                 "Listing shown again; it returns to search at the next sync.")

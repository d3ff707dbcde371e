"""Practitioners' own credentials (mounted at /account/credentials): see their state, add, renew or correct one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_login import current_user

from directory.accounts.policy import roles_required
from directory.clock import today
from directory.vetting.documents import store_form_upload
from directory.vetting.forms import OwnCredentialForm
from directory.vetting.models import Credential
from directory.vetting.self_service import credentials_page, own_credential, owned_listing, submit_credential
from directory.web import run_action

bp = Blueprint("credentials", __name__, url_prefix="/account/credentials")
PENDING = "Credential submitted. It shows as pending until an admin has checked it at the primary source."


def _overview(form: OwnCredentialForm | None = None) -> str:
    """Render the owner's credentials page, with the add form (fresh, or as submitted with its errors)."""
    practitioner = owned_listing(current_user)
    return render_template("vetting/credentials.html", page=credentials_page(practitioner, today()),
                           form=form or OwnCredentialForm(formdata=None))


@bp.get("/")
@roles_required("practitioner")
def overview() -> Any:
    """Show each of the owner's credentials with its verification state, check history and what is due."""
    return _overview()


@bp.post("/")
@roles_required("practitioner")
def add() -> Any:
    """Add a credential with its document; it is pending until an admin checks it."""
    practitioner = owned_listing(current_user)
    form = OwnCredentialForm()
    if not form.validate_on_submit():
        return _overview(form), 400
    stored, document = store_form_upload(form)
    if not stored:
        return _overview(form), 400
    return run_action(lambda: submit_credential(practitioner, current_user, form.details(), document=document),
                      rerender=lambda: _overview(form), form=form, success=PENDING,
                      redirect_to=url_for("credentials.overview"))


def _renew_page(credential: Credential, form: OwnCredentialForm) -> str:
    """Render the renewal form of one credential."""
    return render_template("vetting/credential_renew.html", credential=credential, form=form)


@bp.route("/<int:credential_id>/renew", methods=["GET", "POST"])
@roles_required("practitioner")
def renew(credential_id: int) -> Any:
    """Renew or correct one of the owner's credentials: a new pending record replaces it (someone else's is a 404)."""
    practitioner = owned_listing(current_user)
    credential = own_credential(practitioner, credential_id)
    form = OwnCredentialForm(obj=credential)
    if not form.validate_on_submit():
        return _renew_page(credential, form), 400 if form.errors else 200
    stored, document = store_form_upload(form)
    if not stored:
        return _renew_page(credential, form), 400
    return run_action(lambda: submit_credential(practitioner, current_user, form.details(), replaces=credential,
                                                document=document),
                      rerender=lambda: _renew_page(credential, form), form=form, success=PENDING,
                      redirect_to=url_for("credentials.overview"))

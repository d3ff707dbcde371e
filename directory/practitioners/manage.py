"""A practitioner's own listing: claim it, create it, edit it (admins may edit any); search follows through the outbox."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from flask import Blueprint, abort, make_response, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from directory.accounts.audit import record_audit
from directory.accounts.policy import public, roles_required
from directory.accounts.services import pending_claim
from directory.extensions import db
from directory.practitioners.listing_forms import ClaimForm, CreateListingForm, ListingForm, synonyms_by_slug
from directory.practitioners.listing_service import ListingEdit, claim_listing, create_listing, edit_listing
from directory.practitioners.models import Practitioner
from directory.practitioners.photos import photo_file
from directory.practitioners.search_service import vocabulary_choices
from directory.vetting.workbench import claim_review_days
from directory.web import run_action

bp = Blueprint("practitioner_manage", __name__)


@bp.teardown_request
def _close_uploads(_error: BaseException | None) -> None:
    """Close the request's uploaded files (Werkzeug spools a large one to a temporary file)."""
    request.close()


def _listing(slug: str) -> Practitioner:
    """Return the listing with this slug, or 404."""
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug[:120]))
    if practitioner is None:
        abort(404)
    return practitioner


def owned_listing(slug: str) -> Practitioner:
    """Return the listing the current user may edit (theirs, or any for an admin); else abort with the refusal."""
    practitioner = _listing(slug)
    if not _may_edit(practitioner):
        abort(make_response(_refuse_not_yours(practitioner)))
    return practitioner


def _refuse_not_yours(practitioner: Practitioner) -> Any:
    """Answer a practitioner who does not own this listing: the waiting page for their claim, else a 404 (audited)."""
    claim = pending_claim(current_user)
    if claim is not None and claim.practitioner_id == practitioner.id:
        return _claim_pending_page(claim), 403
    if current_user.practitioner_id == practitioner.id:  # theirs, but the account is not approved (any more)
        abort(403, description="Your account and your ownership claim are awaiting approval. You can edit your "
                               "profile once an admin has approved them; we will email you the decision.")
    record_audit("forbidden", actor_id=current_user.id, subject_type="practitioner", subject_id=practitioner.id,
                 path=request.path)
    db.session.commit()
    # Someone else's listing is "not here" for them, like another's referral or credential.
    abort(404)


def _claim_pending_page(claim: Any) -> str:
    """Render what happens while a claim waits: who decides, by when, and what comes next."""
    days = claim_review_days()
    return render_template("practitioners/claim_pending.html", claim=claim, days=days,
                           decide_by=claim.requested_at + timedelta(days=days))


def _may_edit(practitioner: Practitioner) -> bool:
    """Tell whether the current user edits this listing: an admin, or its approved owner."""
    if current_user.role == "admin":
        return True
    return bool(current_user.practitioner_id == practitioner.id and current_user.approved_at is not None)


@bp.route("/practitioners/<slug>/edit", methods=["GET", "POST"])
@roles_required("practitioner", "admin")
def edit_profile(slug: str) -> Any:
    """Edit one's own listing: name, photo, contact, fees, vocabularies as checkboxes."""
    practitioner = _listing(slug)
    if not _may_edit(practitioner):
        return _refuse_not_yours(practitioner)
    form = ListingForm(obj=practitioner)
    form.set_choices(vocabulary_choices())
    if request.method == "GET":
        _fill_from(form, practitioner)
    page = partial(render_template, "practitioners/edit.html", form=form, practitioner=practitioner,
                   synonyms=synonyms_by_slug())
    if not form.validate_on_submit():
        return page(), 400 if form.errors else 200
    return run_action(lambda: edit_listing(current_user, practitioner, _edit_from(form)), rerender=page, form=form,
                      success="Your profile is saved; search shows the change within seconds.",
                      redirect_to=url_for("practitioner_manage.edit_profile", slug=practitioner.slug))


def _fill_from(form: ListingForm, practitioner: Practitioner) -> None:
    """Show the listing's current vocabularies and main contact in the form."""
    form.methods.data = [m.slug for m in practitioner.methods]
    form.conditions.data = [c.slug for c in practitioner.conditions]
    form.languages.data = [lang.code for lang in practitioner.languages]
    main = practitioner.locations[0] if practitioner.locations else None
    form.phone.data = main.phone if main else ""
    form.booking_url.data = main.booking_url if main else ""


def _edit_from(form: ListingForm) -> ListingEdit:
    """Return the validated form as the service's input."""
    upload = form.photo.data
    photo = upload.stream if isinstance(upload, FileStorage) and upload.filename else None
    return ListingEdit(
        first_name=form.first_name.data or "", last_name=form.last_name.data or "", title=form.title.data or "",
        bio=form.bio.data or "", gender=form.gender.data or "unspecified",
        accepting_new_patients=bool(form.accepting_new_patients.data), telehealth=bool(form.telehealth.data),
        phone=form.phone.data or "", booking_url=form.booking_url.data or "", fees=form.fees.data or "",
        insurance=form.insurance.data or "", methods=list(form.methods.data or []),
        conditions=list(form.conditions.data or []), languages=list(form.languages.data or []),
        photo=photo, remove_photo=bool(form.remove_photo.data))


@bp.post("/practitioners/<slug>/claim")
@roles_required("practitioner")
def claim_profile(slug: str) -> Any:
    """Ask to own this listing with one click; an admin decides."""
    practitioner = _listing(slug)
    form = ClaimForm()
    if not form.validate_on_submit():
        abort(400)
    # A refusal (already claimed, a claim already waiting) is answered by the error page in plain words.
    return run_action(lambda: claim_listing(current_user, practitioner.id, form.evidence.data or ""),
                      success="Thank you. An admin will check your claim and tell you by email.",
                      redirect_to=url_for("practitioner_manage.claim_waiting"))


@bp.get("/account/claim/waiting")
@roles_required("practitioner")
def claim_waiting() -> Any:
    """Show the claim that waits for an admin, what happens next and by when (or the account page's link)."""
    claim = pending_claim(current_user)
    if claim is None:
        return render_template("practitioners/claim_pending.html", claim=None, days=claim_review_days())
    return _claim_pending_page(claim)


@bp.route("/account/listing/new", methods=["GET", "POST"])
@roles_required("practitioner")
def new_listing() -> Any:
    """Create one's own listing when one is not listed yet; it is hidden until an admin approves it."""
    form = CreateListingForm()
    page = partial(render_template, "practitioners/new_listing.html", form=form,
                   claim=pending_claim(current_user), days=claim_review_days())
    if not form.validate_on_submit():
        return page(), 400 if form.errors else 200
    return run_action(lambda: create_listing(current_user, form.first_name.data or "", form.last_name.data or "",
                                             form.title.data or "", form.evidence.data or ""),
                      rerender=page, form=form, redirect_to=url_for("practitioner_manage.claim_waiting"),
                      success="Your listing is created. It appears in search once an admin has approved it.")


@bp.get("/practitioners/<slug>/photo")
@public
def photo(slug: str) -> Any:
    """Serve a visible listing's photo (stored resized, without metadata)."""
    practitioner = _listing(slug)
    path = photo_file(practitioner.photo_path or "") if not practitioner.hidden else None
    if path is None:
        abort(404)
    # The URL carries the content hash (?v=), so a changed photo gets a new URL and may be cached long.
    return send_file(path, mimetype="image/webp", max_age=86400)

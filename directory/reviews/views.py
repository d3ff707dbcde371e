"""Review pages: write and edit a review, its public history, reporting it, and the practitioner's response."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from directory.accounts.models import User
from directory.accounts.policy import public, roles_required, signed_in
from directory.errors import DomainError, NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.practitioners.search_service import vocabulary_choices
from directory.reviews import moderation
from directory.reviews.forms import ReportForm, ResponseForm, ReviewForm
from directory.reviews.models import Review
from directory.reviews.writing import check_may_review, edit_review, own_review, visit_referral, write_review
from directory.web import run_action

bp = Blueprint("reviews", __name__)
SUBMITTED = {"pending": "Thank you. Your review is waiting for a moderator and will appear once approved.",
             "published": "Thank you. Your review is published."}


@bp.route("/practitioners/<slug>/review", methods=["GET", "POST"])
@signed_in
def write(slug: str) -> Any:
    """A patient's review form for one practitioner; anyone else is told plainly why they cannot review."""
    practitioner = _practitioner(slug)
    form = _review_form(practitioner)
    if request.method == "GET":
        refusal = _refusal(practitioner)
        return _form_page(practitioner, form, refusal=refusal), refusal.status if refusal else 200
    return run_action(lambda: write_review(current_user, practitioner, form.review_input()), form=form,
                      rerender=lambda: _form_page(practitioner, form, refusal=_refusal(practitioner)),
                      success=lambda r: (SUBMITTED.get(r.moderation_state, SUBMITTED["pending"]), "success"),
                      redirect_to=url_for("practitioners.profile", slug=practitioner.slug))


@bp.route("/reviews/<int:review_id>/edit", methods=["GET", "POST"])
@roles_required("patient")
def edit(review_id: int) -> Any:
    """Edit one's own review: a new revision, the earlier ones kept in the public history."""
    review = own_review(current_user, review_id)
    practitioner = db.session.get(Practitioner, review.practitioner_id)
    if practitioner is None:
        raise NotFound("There is no review with this number that you can edit.")
    form = _review_form(practitioner, review if request.method == "GET" else None)
    if request.method == "GET":
        return _form_page(practitioner, form, review=review)
    return run_action(lambda: edit_review(current_user, review_id, form.review_input()), form=form,
                      rerender=lambda: _form_page(practitioner, form, review=review),
                      success="Your review is updated; its earlier version stays in its public history.",
                      redirect_to=url_for("reviews.history", review_id=review_id))


@bp.get("/reviews/<int:review_id>")
@public
def history(review_id: int) -> Any:
    """Show a review with every version, its response's versions, and (for admins) every event."""
    review = _visible(review_id)
    return _history_page(review)


@bp.post("/reviews/<int:review_id>/report")
@roles_required("patient", "practitioner")
def report(review_id: int) -> Any:
    """Report a published review to the moderators (once per user)."""
    review = _visible(review_id)
    form = ReportForm()
    if not form.validate():
        return _history_page(review, report_form=form), 400
    return run_action(lambda: moderation.report(current_user, review_id, form.reason.data or "", form.note.data or ""),
                      form=form, rerender=lambda: _history_page(_visible(review_id), report_form=form),
                      success="Thank you. Our moderators will look at this review; it stays up until they decide.",
                      redirect_to=url_for("reviews.history", review_id=review_id))


@bp.post("/reviews/<int:review_id>/response")
@roles_required("practitioner")
def respond(review_id: int) -> Any:
    """Post or edit the practitioner's public response to a review of their profile."""
    review = _visible(review_id)
    form = ResponseForm()
    if not form.validate():
        return _history_page(review, response_form=form), 400
    # Someone who may not respond sees no response form: their refusal is flashed instead.
    return run_action(lambda: moderation.respond(current_user, review_id, form.body.data or ""),
                      form=form if _owns(review) else None,
                      rerender=lambda: _history_page(_visible(review_id), response_form=form),
                      success="Your response is published under the review.",
                      redirect_to=url_for("reviews.history", review_id=review_id))


def _practitioner(slug: str) -> Practitioner:
    """Return the practitioner with ``slug``, or answer 404."""
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug[:200]))
    if practitioner is None:
        raise NotFound("There is no practitioner at this address.")
    return practitioner


def _refusal(practitioner: Practitioner) -> DomainError | None:
    """Return why this viewer cannot review this practitioner (not a patient, suspended, already reviewed)."""
    try:
        check_may_review(current_user, practitioner)
    except DomainError as error:
        return error
    return None


def _review_form(practitioner: Practitioner, review: Review | None = None) -> ReviewForm:
    """Return the review form, its choices filled (the practitioner's own first), an edit pre-filled."""
    names = vocabulary_choices()
    form = ReviewForm(formdata=None, data=_review_data(review)) if review is not None else ReviewForm()
    methods = {m.slug: m.name for m in practitioner.methods} or names["method"]
    form.offer({c.slug: c.name for c in practitioner.conditions} or names["condition"], methods)
    return form


def _review_data(review: Review) -> dict[str, Any]:
    """Return a review's latest values as form data."""
    return {"rating": str(review.rating), "title": review.title, "body": review.body,
            "communication_rating": _text(review.communication_rating), "risks_rating": _text(review.risks_rating),
            "pain_effect_rating": _text(review.pain_effect_rating),
            "condition": review.condition.slug if review.condition else "",
            "methods": [m.slug for m in review.methods], "visit_month": review.visit_date,
            "pain_before": _text(review.pain_before), "pain_after": _text(review.pain_after)}


def _text(value: int | None) -> str:
    """Return a score as the form's string ("" for none)."""
    return "" if value is None else str(value)


def _form_page(practitioner: Practitioner, form: ReviewForm, *, refusal: DomainError | None = None,
               review: Review | None = None) -> str:
    """Render the write/edit page; pain scores are offered only with a completed referral."""
    referral = None
    if current_user.role == "patient":
        referral = visit_referral(current_user, practitioner)
    own = None
    if refusal is not None and current_user.role == "patient":
        own = db.session.scalar(select(Review.id).where(Review.practitioner_id == practitioner.id,
                                                        Review.author_id == current_user.id))
    return render_template("reviews/form.html", practitioner=practitioner, form=form, refusal=refusal, review=review,
                           verified=referral is not None, outcome=referral is not None and referral.state == "completed",
                           own_review_id=own)


def _visible(review_id: int) -> Review:
    """Return a review the viewer may see: published or removed for all; pending or rejected for its author and admins."""
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound(moderation.NO_REVIEW)
    if review.moderation_state in ("published", "removed") or _is_admin():
        return review
    if current_user.is_authenticated and review.author_id == current_user.id:
        return review
    raise NotFound(moderation.NO_REVIEW)


def _is_admin() -> bool:
    """Tell whether the viewer is an admin."""
    return bool(current_user.is_authenticated and current_user.role == "admin")


def _history_page(review: Review, *, report_form: ReportForm | None = None,
                  response_form: ResponseForm | None = None) -> str:
    """Render a review's page with its versions, its response's versions and, for admins, its events."""
    practitioner = db.session.get(Practitioner, review.practitioner_id)
    if practitioner is None:
        abort(404)
    owner = _owns(review)
    return render_template(
        "reviews/history.html", review=review, practitioner=practitioner, reasons=moderation.REASONS,
        show_text=review.moderation_state != "removed" or _is_admin(), is_admin=_is_admin(), owner=owner,
        report_form=report_form or ReportForm(formdata=None),
        response_form=response_form or ResponseForm(formdata=None, data={"body": review.response_body or ""}),
        can_report=bool(current_user.is_authenticated and current_user.role in ("patient", "practitioner")
                        and review.moderation_state == "published" and review.author_id != current_user.id),
        actors=_actor_names(review) if _is_admin() else {})


def _owns(review: Review) -> bool:
    """Tell whether the viewer is the practitioner the review is about."""
    return bool(current_user.is_authenticated and current_user.role == "practitioner"
                and current_user.practitioner_id == review.practitioner_id)


def _actor_names(review: Review) -> dict[int, str]:
    """Return the names of the people in a review's events, by id, in one query (admins only)."""
    ids = {event.actor_id for event in review.events if event.actor_id is not None}
    users = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    return {user.id: f"{user.full_name or user.email} ({user.role})" for user in users}

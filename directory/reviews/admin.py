"""The admin review queue: approve or reject with a reason, confirm visits, see holds and adverse-event signals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from directory.accounts.policy import roles_required
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.reviews import moderation
from directory.reviews.forms import ApproveForm, ConfirmVisitForm, RejectForm
from directory.reviews.services import adverse_event_signals
from directory.web import run_action

bp = Blueprint("reviews_admin", __name__, url_prefix="/admin/reviews")


@bp.get("")
@roles_required("admin")
def queue() -> Any:
    """List the reviews waiting for a decision, oldest first, with their holds, reports and signals."""
    return _queue_page()


@bp.post("/<int:review_id>/approve")
@roles_required("admin")
def approve(review_id: int) -> Any:
    """Publish a queued review (or keep a reported one up)."""
    form = ApproveForm()
    if not form.validate():
        return _queue_page(), 400
    return run_action(lambda: moderation.approve(current_user, review_id), rerender=_queue_page,
                      success=f"Review #{review_id} is published.", redirect_to=url_for("reviews_admin.queue"))


@bp.post("/<int:review_id>/reject")
@roles_required("admin")
def reject(review_id: int) -> Any:
    """Reject a queued review with a reason from the fixed list (a public one leaves a placeholder)."""
    form = RejectForm()
    if not form.validate():
        return _queue_page(failed=(review_id, form)), 400
    # The form is on the queue only while the review waits there; otherwise the refusal is flashed.
    shown = moderation.in_queue(moderation.get_review(review_id))
    return run_action(lambda: moderation.reject(current_user, review_id, form.reason.data or "", form.note.data or ""),
                      rerender=lambda: _queue_page(failed=(review_id, form)), form=form if shown else None,
                      success=f"Review #{review_id} is rejected.", redirect_to=url_for("reviews_admin.queue"))


@bp.post("/<int:review_id>/confirm-visit")
@roles_required("admin")
def confirm_visit(review_id: int) -> Any:
    """Mark a review's visit verified on the admin's word, saying how it was confirmed."""
    form = ConfirmVisitForm()
    if not form.validate():
        return _queue_page(), 400
    return run_action(lambda: moderation.confirm_visit(current_user, review_id, form.note.data or ""),
                      rerender=lambda: _queue_page(confirm=(review_id, form)),
                      success=f"Review #{review_id}: the visit is marked verified.",
                      redirect_to=url_for("reviews.history", review_id=review_id))


def _queue_page(failed: tuple[int, RejectForm] | None = None,
                confirm: tuple[int, ConfirmVisitForm] | None = None) -> str:
    """Render the queue; a refused reject or confirmation shows its form with the errors."""
    reviews = moderation.queue()
    recent = adverse_event_signals(None, limit=50)
    signals = adverse_event_signals({review.practitioner_id for review in reviews})
    by_review = {s.review_id: s for found in signals.values() for s in found}
    # Named, not numbered: "Practitioner #1" told an admin nothing without opening it.
    names = {p.id: p.display_name
             for p in db.session.scalars(select(Practitioner).where(Practitioner.id.in_(list(recent))))} if recent else {}
    return render_template("reviews/admin_queue.html", reviews=reviews, signals=by_review, recent=recent,
                           practitioner_names=names,
                           reasons=moderation.REASONS, approve_form=ApproveForm(formdata=None),
                           reject_forms={r.id: failed[1] if failed and failed[0] == r.id else RejectForm(formdata=None)
                                         for r in reviews},
                           confirm_forms={r.id: confirm[1] if confirm and confirm[0] == r.id
                                          else ConfirmVisitForm(formdata=None) for r in reviews})

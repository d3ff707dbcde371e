"""Referral pages: the referral and request forms, a referral's page with its actions, inboxes, notices."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from directory.accounts.models import User
from directory.accounts.policy import can_refer, roles_required, signed_in
from directory.errors import DomainError, Forbidden, NotFound
from directory.extensions import db
from directory.practitioners.models import Condition, Method, Practitioner
from directory.practitioners.search_service import vocabulary_choices
from directory.referrals import appointments, inbox, lifecycle, notifications, services
from directory.referrals.forms import ActionForm, ReadForm, ReferralForm, RequestForm
from directory.referrals.models import Notification, Referral
from directory.referrals.services import ReferralDetails
from directory.screening.models import Screening
from directory.screening.rules import RULES_BY_KEY, VERDICT_LABELS
from directory.screening.services import SESSION_KEY, evaluate, known_flags
from directory.web import run_action

bp = Blueprint("referrals", __name__)
bp.add_app_template_global(services.appointment_time, "appointment_time")
STATUS_FILTERS = ("all", "open", "closed", *lifecycle.STATES)
ACTION_LABELS = {"accept": "Accept", "decline": "Decline", "schedule": "Schedule", "attended": "Mark attended",
                 "no_show": "Mark as missed", "complete": "Complete with the outcome", "cancel": "Cancel"}
DONE = {"accept": "Accepted. Schedule the appointment when you have agreed a time.", "decline": "Declined.",
        "schedule": "Scheduled.", "attended": "Marked attended. Write the outcome to close it.",
        "no_show": "Marked as missed.", "complete": "Completed: the sender can read the outcome.",
        "cancel": "Cancelled."}
NOTE_LABELS = {"decline": "Reason for declining", "complete": "Outcome for the sender",
               "cancel": "Reason for cancelling"}


@bp.app_context_processor
def referral_counts() -> dict[str, Any]:
    """Offer templates the unread count (one COUNT, only when a template asks) and the dashboard's waiting list."""
    return {"unread_notifications": lambda: notifications.unread_count(current_user),
            "referrals_waiting": lambda: inbox.waiting(current_user)}


@bp.route("/referrals/new/<slug>", methods=["GET", "POST"])
@roles_required("doctor", "patient")
def new(slug: str) -> Any:
    """A doctor's referral form, or a patient's appointment request form, for one practitioner."""
    practitioner = _practitioner(slug)
    form = _send_form(practitioner)
    if request.method == "GET":
        refusal = _refusal(practitioner)
        status = refusal.status if refusal is not None else 200
        return _send_page(practitioner, form, refusal=refusal), status
    if not form.validate():
        return _send_page(practitioner, form), 400
    send = services.send_referral if current_user.role == "doctor" else services.request_appointment
    # A refused send (not approved, not receiving) is the service's to say; the page then explains it in full.
    return run_action(lambda: send(current_user, practitioner, _details(form), form.idempotency_key.data or ""),
                      rerender=lambda: _send_page(practitioner, form, refusal=_refusal(practitioner)), form=form,
                      success=lambda r: (f"Sent: {notifications.label(r)} to {practitioner.display_name}".rstrip(".") + ".",
                                         "success"),
                      show=lambda r: redirect(url_for("referrals.detail", referral_id=r.id), code=303))


@bp.get("/referrals/<int:referral_id>")
@signed_in
def detail(referral_id: int) -> Any:
    """Show one referral: status, details, timeline, outcome, and the actions the viewer may take."""
    # Through run_action: an admin's read is an audit event, and it must be committed like any action.
    return run_action(lambda: services.get_for(current_user, referral_id), show=_detail_page)


@bp.post("/referrals/<int:referral_id>/<action>")
@signed_in
def act(referral_id: int, action: str) -> Any:
    """Take one lifecycle action on a referral (accept, decline, schedule, attended, no_show, complete, cancel)."""
    referral = services.get_for(current_user, referral_id)
    if action not in lifecycle.ACTIONS or action == "expire":
        abort(404)
    form = ActionForm()
    page = lambda: _detail_page(services.get_for(current_user, referral_id), failed=(action, form))  # noqa: E731
    if not form.validate():
        return page(), 400
    zone = appointments.clinic_zone(referral.practitioner)
    # The form takes the clinic's wall-clock time; converted inside the action, so a time the clocks skip is
    # refused on the form like any other bad time.
    return run_action(lambda: services.transition(
                          referral, action, current_user, note=form.note.data or None,
                          when=appointments.in_clinic_time(form.when.data, zone) if form.when.data else None),
                      rerender=page, form=form, success=DONE[action],
                      redirect_to=url_for("referrals.detail", referral_id=referral_id))


@bp.get("/referrals")
@signed_in
def inbox_page() -> str:
    """List the viewer's referrals (a doctor's sent, a practitioner's incoming, a patient's own), by status."""
    status = request.args.get("status", "all")
    return render_template("referrals/inbox.html", referrals=inbox.inbox_for(current_user, status), status=status,
                           statuses=STATUS_FILTERS)


@bp.get("/notifications")
@signed_in
def notifications_page() -> str:
    """List the viewer's notices, unread first in weight (highlighted)."""
    return render_template("referrals/notifications.html", notices=notifications.notices_for(current_user),
                           form=ReadForm())


@bp.post("/notifications/read")
@signed_in
def read() -> Any:
    """Mark a notice read and open its referral; without an id, mark them all read."""
    form = ReadForm()
    number = form.notification_id.data or ""
    if not form.validate() or (number and not (number.isdigit() and len(number) <= 10)):
        raise NotFound("There is no such notification.")
    notice_id = int(number) if number else None
    target = _notice_target(notice_id)
    return run_action(lambda: notifications.mark_read(current_user, notice_id), redirect_to=target)


def _practitioner(slug: str) -> Practitioner:
    """Return the practitioner with ``slug``, or answer 404."""
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug[:200]))
    if practitioner is None:
        raise NotFound("There is no practitioner at this address.")
    return practitioner


def _refusal(practitioner: Practitioner) -> DomainError | None:
    """Return why this viewer cannot send to this practitioner (not approved, not receiving), or None."""
    if current_user.role == "doctor" and not can_refer(current_user):
        return Forbidden("Your doctor's account is waiting for an admin to check your NPI or licence. You can "
                          "refer patients once it is approved; we will email you the decision.")
    try:
        services.check_receiving(practitioner)
    except DomainError as error:
        return error
    return None


def _send_form(practitioner: Practitioner) -> ReferralForm | RequestForm:
    """Return the doctor's or the patient's form, its lists filled, a patient's kept screening pre-ticked."""
    form: ReferralForm | RequestForm
    if current_user.role == "doctor":
        form = ReferralForm()
    else:
        form = RequestForm(data=None if request.method == "POST" else {"screening_answers": _kept_answers()})
    names = vocabulary_choices()
    form.offer({c.slug: c.name for c in practitioner.conditions} or names["condition"],
               {m.slug: m.name for m in practitioner.methods})
    return form


def _kept_answers() -> list[str]:
    """Return the answers the patient kept: this visit's (session), else the newest saved screening."""
    kept = session.get(SESSION_KEY)
    if isinstance(kept, list):
        return list(known_flags(str(key) for key in kept))
    saved = db.session.scalar(select(Screening.answers).where(Screening.user_id == current_user.id)
                              .order_by(Screening.id.desc()).limit(1))
    return list(known_flags(json.loads(saved))) if saved else []


def _details(form: ReferralForm | RequestForm) -> ReferralDetails:
    """Return the details the form carries."""
    details = ReferralDetails(reason=form.reason.data or "", condition=form.condition.data or None,
                              method=form.method.data or None,
                              screening_answers=tuple(form.screening_answers.data or ()),
                              flags_acknowledged=bool(form.flags_acknowledged.data))
    if isinstance(form, ReferralForm):
        return replace(details, patient_name=form.patient_name.data or "", urgency=form.urgency.data or "routine",
                       patient_contact=form.patient_contact.data or "")
    return replace(details, preferred_times=form.preferred_times.data or "")


def _send_page(practitioner: Practitioner, form: ReferralForm | RequestForm, refusal: DomainError | None = None) -> str:
    """Render the referral or request form, with the flags the ticked answers raise for this practitioner."""
    answers = known_flags(form.screening_answers.data or ())
    result = evaluate(answers, [m.slug for m in practitioner.methods]) if answers else None
    flags = [flag for flag in result.flags if flag.methods_by_verdict] if result else []
    return render_template("referrals/new.html", practitioner=practitioner, form=form, refusal=refusal, flags=flags,
                           is_referral=isinstance(form, ReferralForm), verdict_labels=VERDICT_LABELS,
                           method_names=vocabulary_choices()["method"])


def _detail_page(referral: Referral, failed: tuple[str, ActionForm] | None = None) -> str:
    """Render a referral's page; ``failed`` is the action form that was refused, shown with its errors."""
    role = services.relation(referral, current_user) or ""
    forms = {action: ActionForm(formdata=None) for action in lifecycle.allowed_actions(referral.state, role)}
    if failed is not None and failed[0] in forms:
        forms[failed[0]] = failed[1]
    when_label = f"Date and time ({appointments.zone_label(appointments.clinic_zone(referral.practitioner))})"
    for form in forms.values():
        form.when.label.text = when_label
    # A refused action whose form is not shown (not allowed in this state) shows its errors at the top.
    errors = _all_errors(failed[1]) if failed is not None and failed[0] not in forms else []
    names = vocabulary_choices()
    return render_template("referrals/detail.html", referral=referral, role=role, forms=forms, errors=errors,
                           moves=lifecycle.MOVES, action_labels=ACTION_LABELS, note_labels=NOTE_LABELS,
                           snapshot=_snapshot(referral), rules=RULES_BY_KEY, verdict_labels=VERDICT_LABELS,
                           method_names=names["method"], actors=_actor_names(referral),
                           condition_name=_name(Condition, referral.condition_id),
                           method_name=_name(Method, referral.method_id))


def _name(model: type[Condition] | type[Method], row_id: int | None) -> str:
    """Return the display name of a condition or method by id ("" for none)."""
    row = db.session.get(model, row_id) if row_id is not None else None
    return row.name if row is not None else ""


def _all_errors(form: ActionForm) -> list[str]:
    """Return the form's own errors and every field's."""
    return [*form.form_errors, *(error for field in form for error in field.errors)]


def _snapshot(referral: Referral) -> dict[str, Any]:
    """Return the screening answers and flags the referral was sent with ({} when none)."""
    return json.loads(referral.screening_snapshot) if referral.screening_snapshot else {}


def _actor_names(referral: Referral) -> dict[int, str]:
    """Return the names of the people in the timeline, by id, in one query."""
    ids = {event.actor_id for event in referral.events if event.actor_id is not None}
    users: list[User] = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    return {user.id: user.full_name or user.email for user in users}


def _notice_target(notice_id: int | None) -> str:
    """Return where opening a notice leads: its referral's page, or the notices page."""
    notice = db.session.get(Notification, notice_id) if notice_id is not None else None
    if notice is not None and notice.user_id == current_user.id and notice.referral_id is not None:
        return url_for("referrals.detail", referral_id=notice.referral_id)
    return url_for("referrals.notifications_page")

"""Admin screens of the verification queue (mounted at /admin/vetting); every action is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from directory.accounts.audit import record_audit
from directory.accounts.policy import roles_required
from directory.errors import NotFound, wants_json
from directory.extensions import db
from directory.vetting import batches, decisions, services
from directory.vetting.credentials import record_credential
from directory.vetting.documents import document_path, store_form_upload
from directory.vetting.forms import (
    CredentialForm,
    DecisionForm,
    ExclusionReviewForm,
    IdentityForm,
    ManualCheckForm,
    RunCheckForm,
)
from directory.vetting.labels import decision_category
from directory.vetting.models import VerificationCheck
from directory.vetting.queue import RunResult, dossier, item_label, run_check
from directory.vetting.sources import registry
from directory.vetting.workbench import QueueFilter, active_admins, matching_ids, source_label, workbench_page
from directory.vetting.workbench import assign as assign_items
from directory.vetting.workbench_forms import AssignForm, BatchForm, QueueFilterForm, StepForm
from directory.web import Success, run_action

bp = Blueprint("vetting", __name__, url_prefix="/admin/vetting")
PER_PAGE = 50
# Templates name sources through the registry, never by their codes.
bp.add_app_template_filter(item_label, "source_label")
bp.add_app_template_global(registry.automated, "automated_sources")


@bp.get("/")
@roles_required("admin")
def queue() -> Any:
    """List practitioners with open items, filtered and sorted as asked, with the counts at the top."""
    return _queue_page(request.args)


def _queue_page(args: Any) -> tuple[str, int]:
    """Render the workbench for these filter arguments (400, with each wrong value named, when one is wrong)."""
    form = QueueFilterForm(formdata=args)
    admins = active_admins()
    form.offer_admins(admins, current_user)
    valid = form.validate()
    result = workbench_page(form.queue_filter() if valid else QueueFilter(), current_user,
                            (form.page.data or 1) if valid else 1, PER_PAGE)
    assign_form = AssignForm(formdata=None)
    assign_form.offer_admins(admins)
    html = render_template("vetting/queue.html", form=form, valid=valid, result=result, args=form.query_args(),
                           page=(form.page.data or 1) if valid else 1, per_page=PER_PAGE, assign_form=assign_form,
                           batch_form=BatchForm(formdata=None), query=urlencode(form.query_args()),
                           claims_url=url_for("accounts_admin.users"))
    return html, 200 if valid else 400


def _back_args(back: str) -> MultiDict[str, str]:
    """Return the queue filter carried in a form's ``back`` field (a query string)."""
    return MultiDict(parse_qsl(back or "", keep_blank_values=False)[:20])


def _back_to_queue(back: str) -> str:
    """Return the queue URL with the carried filter, re-encoded only when it is a valid one (no open redirect)."""
    form = QueueFilterForm(formdata=_back_args(back))
    form.offer_admins(active_admins(), current_user)
    args: dict[str, Any] = form.query_args() if form.validate() else {}
    return url_for("vetting.queue", **args)


@bp.post("/practitioners/<int:practitioner_id>/assign")
@roles_required("admin")
def assign(practitioner_id: int) -> Any:
    """Assign the practitioner's open items to an admin (or to nobody)."""
    services.get_practitioner(practitioner_id)
    form = AssignForm()
    form.offer_admins(active_admins())

    def rerender() -> str:
        return _queue_page(_back_args(form.back.data or ""))[0]

    if not form.validate_on_submit():
        flash(_first_error(form) or "Choose an admin from the list.", "error")
        return rerender(), 400
    assignee = int(form.assignee.data) if form.assignee.data else None
    return run_action(lambda: assign_items(practitioner_id, assignee, current_user), rerender=rerender,
                      success="Assigned." if assignee else "Unassigned.",
                      redirect_to=_back_to_queue(form.back.data or ""))


def _first_error(form: Any) -> str:
    """Return the first message of a refused form."""
    return next((messages[0] for messages in form.errors.values() if messages), "")


@bp.post("/batches")
@roles_required("admin")
def start_batch() -> Any:
    """Start running the automated checks for everything the carried filter matches."""
    form = BatchForm()
    args = _back_args(form.back.data or "")
    filter_form = QueueFilterForm(formdata=args)
    filter_form.offer_admins(active_admins(), current_user)

    def rerender() -> str:
        return _queue_page(args)[0]

    if not form.validate_on_submit() or not filter_form.validate():
        flash(_first_error(form) or _first_error(filter_form) or "The filter could not be read.", "error")
        return rerender(), 400
    ids = matching_ids(filter_form.queue_filter(), current_user)
    return run_action(lambda: batches.start_batch(ids, urlencode(filter_form.query_args()), current_user),
                      rerender=rerender, success="Batch started.",
                      show=lambda batch: redirect(url_for("vetting.batch", batch_id=batch.id), code=303))


def _batch_page(batch_id: int, form: StepForm | None = None) -> str:
    """Render a batch's progress page."""
    batch = batches.get_batch(batch_id)
    return render_template("vetting/workbench_batch.html", batch=batch, progress=batch.as_progress(),
                           step_form=form or StepForm(formdata=None, at=batch.done), source_label=source_label,
                           back=url_for("vetting.queue") + (f"?{batch.filter_query}" if batch.filter_query else ""))


@bp.get("/batches/<int:batch_id>")
@roles_required("admin")
def batch(batch_id: int) -> Any:
    """Show a batch's progress: counts, outcomes per source, errors by name; it advances itself with scripts on."""
    return _batch_page(batch_id)


@bp.post("/batches/<int:batch_id>/step")
@roles_required("admin")
def batch_step(batch_id: int) -> Any:
    """Run the next chunk of a batch (JSON progress for the page's script, else back to the page)."""
    batches.get_batch(batch_id)
    form = StepForm()
    if not form.validate_on_submit():
        if wants_json():
            return jsonify(error="invalid_request", message=_first_error(form) or "The form expired."), 400
        return _batch_page(batch_id, form), 400
    show = (lambda result: jsonify({**result.batch.as_progress(), "ran": result.ran})) if wants_json() else None
    return run_action(lambda: batches.run_step(batch_id, form.at.data or 0, current_user), show=show,
                      success="" if show else _step_message, rerender=lambda: _batch_page(batch_id),
                      redirect_to=url_for("vetting.batch", batch_id=batch_id))


def _step_message(result: batches.StepResult) -> tuple[str, str]:
    """Return the flash after a step run without scripts."""
    if not result.ran:
        return "That part of the batch had already been run; here is where it stands.", "info"
    return "", "success"


def _forms(record: Any, **overrides: Any) -> dict[str, Any]:
    """Return the screen's forms (fresh ones unless a submitted one is passed back with its errors)."""
    manual = overrides.get("manual_form") or ManualCheckForm(formdata=None)
    manual.offer_credentials(record.credentials)
    credential = overrides.get("credential_form") or CredentialForm(formdata=None)
    credential.offer_credentials(record.credentials)
    return {"run_form": RunCheckForm(formdata=None), "manual_form": manual, "credential_form": credential,
            "decision_form": overrides.get("decision_form") or DecisionForm(formdata=None),
            "review_form": overrides.get("review_form") or ExclusionReviewForm(formdata=None),
            "identity_form": overrides.get("identity_form") or IdentityForm(
                formdata=None, date_of_birth=record.date_of_birth,
                former_names="\n".join(f"{n.first_name} {n.last_name}".strip() for n in record.former_names))}


def _page(practitioner_id: int, **forms: Any) -> str:
    """Render one practitioner's screen."""
    record = dossier(practitioner_id)
    return render_template("vetting/practitioner.html", record=record, category_label=decision_category,
                           **_forms(record, **forms))


def _render(practitioner_id: int, status: int = 200, **forms: Any) -> Any:
    """Answer with one practitioner's screen and a status (400 when a submitted form is shown with its errors)."""
    return _page(practitioner_id, **forms), status


@bp.get("/practitioners/<int:practitioner_id>")
@roles_required("admin")
def practitioner(practitioner_id: int) -> Any:
    """Show one practitioner's credentials, every check with its evidence, and the actions."""
    return _page(practitioner_id)


def _screen_action(practitioner_id: int, action: Callable[[], Any], success: Success) -> Any:
    """Run an action with the one helper: back to the practitioner's screen (303), or the screen with the refusal."""
    return run_action(action, success=success, rerender=lambda: _page(practitioner_id),
                      redirect_to=url_for("vetting.practitioner", practitioner_id=practitioner_id))


@bp.post("/practitioners/<int:practitioner_id>/run/<source>")
@roles_required("admin")
def run(practitioner_id: int, source: str) -> Any:
    """Run an automated source's check now (the registry says which sources are automated)."""
    services.get_practitioner(practitioner_id)
    registry.get_automated(source)
    if not RunCheckForm().validate_on_submit():
        return _render(practitioner_id, 400)
    return _screen_action(practitioner_id, lambda: run_check(practitioner_id, source, current_user),
                lambda result: _outcome_message(source, result))


def _outcome_message(source: str, result: RunResult) -> tuple[str, str]:
    """Return the flash for a check's outcome; an error says why, and whether it was recorded again."""
    check, name = result.check, registry.label(source)
    if check.outcome != "error":
        return f"{name} check recorded. Outcome: {check.outcome}.", "success" if check.outcome == "pass" else "info"
    message = f"Outcome: error. The {name} check could not be completed: {check.note}."
    if result.repeated:
        message += (f" This is the same failure as at {check.performed_at.strftime('%H:%M')} UTC, so no new "
                    "history row was added; try again later.")
    return message, "error"


@bp.post("/practitioners/<int:practitioner_id>/checks")
@roles_required("admin")
def manual_check(practitioner_id: int) -> Any:
    """Record a manual or document check, with an optional evidence document."""
    record = services.get_practitioner(practitioner_id)
    form = ManualCheckForm()
    form.offer_credentials(list(record.credentials))
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, manual_form=form)
    stored, document = store_form_upload(form)
    if not stored:
        return _render(practitioner_id, 400, manual_form=form)
    return _screen_action(practitioner_id, lambda: services.record_manual_check(
        record, current_user, source=form.source.data, outcome=form.outcome.data, what=form.what.data or "",
        reference=form.reference.data or "", note=form.note.data or "",
        credential=services.credential_of(record, form.credential_id.data or None), document=document),
        "Manual check recorded.")


@bp.post("/practitioners/<int:practitioner_id>/suspend")
@roles_required("admin")
def suspend(practitioner_id: int) -> Any:
    """Suspend the practitioner, with a reason."""
    record = services.get_practitioner(practitioner_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, decision_form=form)
    return _screen_action(practitioner_id, lambda: decisions.suspend(
        record, form.reason.data or "", current_user, form.category.data or ""), "Practitioner suspended.")


@bp.post("/practitioners/<int:practitioner_id>/reinstate")
@roles_required("admin")
def reinstate(practitioner_id: int) -> Any:
    """Reinstate the practitioner, with a reason."""
    record = services.get_practitioner(practitioner_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, decision_form=form)
    return _screen_action(practitioner_id, lambda: decisions.reinstate(
        record, form.reason.data or "", current_user, form.category.data or ""), "Practitioner reinstated.")


@bp.post("/practitioners/<int:practitioner_id>/credentials")
@roles_required("admin")
def credential(practitioner_id: int) -> Any:
    """Add a credential, or renew one, with its document (practitioners submit their own at /account/credentials)."""
    record = services.get_practitioner(practitioner_id)
    form = CredentialForm()
    form.offer_credentials(list(record.credentials))
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, credential_form=form)
    stored, document = store_form_upload(form)
    if not stored:
        return _render(practitioner_id, 400, credential_form=form)
    return _screen_action(practitioner_id, lambda: record_credential(
        record, current_user, form.details(), replaces=services.credential_of(record, form.replaces.data or None),
        document=document), "Credential recorded. It needs its own primary-source check before it counts.")


@bp.post("/practitioners/<int:practitioner_id>/exclusion-review")
@roles_required("admin")
def exclusion_review(practitioner_id: int) -> Any:
    """Clear or confirm an exclusion-list hit."""
    record = services.get_practitioner(practitioner_id)
    form = ExclusionReviewForm()
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, review_form=form)
    return _screen_action(practitioner_id, lambda: decisions.review_exclusion(
        record, current_user, form.decision.data or "", form.reason.data or "", form.source.data or ""),
        "Exclusion-list review recorded.")


@bp.post("/practitioners/<int:practitioner_id>/identity")
@roles_required("admin")
def identity(practitioner_id: int) -> Any:
    """Update the date of birth and former names used for exclusion matching."""
    record = services.get_practitioner(practitioner_id)
    form = IdentityForm()
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, identity_form=form)
    names = services.parse_former_names(form.former_names.data or "")
    return _screen_action(practitioner_id, lambda: services.update_identity(
        record, current_user, form.date_of_birth.data, names), "Identity details saved.")


@bp.get("/checks/<int:check_id>/document")
@roles_required("admin")
def document(check_id: int) -> Any:
    """Send the document attached to a check (admins only; the download is audited)."""
    check = db.session.get(VerificationCheck, check_id)
    stored = services.check_document(check) if check is not None else None
    if check is None or stored is None:
        raise NotFound("This check has no document.")
    path = document_path(str(stored.get("stored_as", "")))
    if path is None:
        raise NotFound("The document file is missing.")
    record_audit("vetting.document_viewed", actor_id=current_user.id, subject_type="verification_check",
                 subject_id=check.id, document=stored.get("sha256"))
    db.session.commit()
    return send_file(path, mimetype=stored.get("mime"), as_attachment=True,
                     download_name=f"check-{check.id}{path.suffix}")


@bp.get("/credentials/<int:credential_id>/document")
@roles_required("admin")
def credential_document(credential_id: int) -> Any:
    """Send the document a practitioner submitted with a credential (the download is audited)."""
    credential = services.readable_credential_document(current_user, credential_id)
    path = document_path(credential.document_path or "")
    if path is None:
        raise NotFound("The document file is missing.")
    record_audit("vetting.document_viewed", actor_id=current_user.id, subject_type="credential",
                 subject_id=credential.id, document=credential.document_sha256)
    db.session.commit()
    return send_file(path, mimetype=credential.document_mime, as_attachment=True,
                     download_name=f"credential-{credential.id}{path.suffix}")

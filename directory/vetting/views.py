"""Admin screens of the verification queue (mounted at /admin/vetting); every action is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request, send_file, url_for
from flask_login import current_user

from directory.accounts.audit import record_audit
from directory.accounts.policy import roles_required
from directory.errors import NotFound
from directory.extensions import db
from directory.vetting import decisions, services
from directory.vetting.credentials import CredentialDetails, record_credential
from directory.vetting.documents import InvalidDocument, document_path, store_document
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
from directory.vetting.queue import RunResult, dossier, item_label, run_check, verification_queue
from directory.vetting.sources import registry
from directory.web import Success, run_action

bp = Blueprint("vetting", __name__, url_prefix="/admin/vetting")
PER_PAGE = 50
MAX_PAGE = 10_000  # bounds the page number before it reaches arithmetic
# Templates name sources through the registry, never by their codes.
bp.add_app_template_filter(item_label, "source_label")
bp.add_app_template_global(registry.automated, "automated_sources")


@bp.get("/")
@roles_required("admin")
def queue() -> Any:
    """List practitioners with pending credentials or due checks, oldest first."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    entries, total = verification_queue(page, PER_PAGE)
    return render_template("vetting/queue.html", entries=entries, total=total, page=page, per_page=PER_PAGE)


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
    stored, document = _stored_upload(form)
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
    """Add a credential, or renew one, with its document (until practitioners can submit their own)."""
    record = services.get_practitioner(practitioner_id)
    form = CredentialForm()
    form.offer_credentials(list(record.credentials))
    if not form.validate_on_submit():
        return _render(practitioner_id, 400, credential_form=form)
    stored, document = _stored_upload(form)
    if not stored:
        return _render(practitioner_id, 400, credential_form=form)
    details = CredentialDetails(form.kind.data or "", form.issuer.data or "", form.number.data or "",
                                form.jurisdiction.data or "", form.valid_from.data, form.valid_until.data)
    return _screen_action(practitioner_id, lambda: record_credential(
        record, current_user, details, replaces=services.credential_of(record, form.replaces.data or None),
        document=document), "Credential recorded. It needs its own primary-source check before it counts.")


def _stored_upload(form: Any) -> tuple[bool, Any]:
    """Store the form's uploaded document (None when there is none); on a refusal say why on the field."""
    upload = form.document.data
    try:
        return True, store_document(upload.stream) if upload and upload.filename else None
    except InvalidDocument as exc:
        form.document.errors = [exc.message]
        return False, None
    finally:
        if upload:
            upload.close()  # large uploads are spooled to a temporary file


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

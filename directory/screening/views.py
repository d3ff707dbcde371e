"""The contraindication screening pages: the questionnaire and its per-method result."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from directory.accounts.policy import public
from directory.practitioners.search_service import vocabulary_choices
from directory.screening.forms import ForgetForm, ScreeningForm, known_method, safe_return_to
from directory.screening.rules import VERDICT_EXPLANATIONS, VERDICT_LABELS
from directory.screening.services import SESSION_KEY, evaluate, save_screening
from directory.web import run_action

bp = Blueprint("screening", __name__)


@bp.get("/screening")
@public
def questionnaire() -> str:
    """Show the questionnaire (a method, a profile and a search to return to may come along)."""
    form = ScreeningForm(data={
        "method": known_method(request.args.get("method")) or "",
        "practitioner": request.args.get("practitioner", "")[:120],
        "return_to": safe_return_to(request.args.get("return_to")) or "",
        "remember": SESSION_KEY in session,
    })
    return render_template("screening/questionnaire.html", form=form, **_context(form))


@bp.post("/screening")
@public
def result() -> Any:
    """Evaluate the answers; remember them for this visit or save them only when the patient asks."""
    form = ScreeningForm()
    if not form.validate():
        return render_template("screening/questionnaire.html", form=form, **_context(form)), 400
    outcome = evaluate(form.answered_yes())
    if form.remember.data:
        session[SESSION_KEY] = form.answered_yes()
    else:
        session.pop(SESSION_KEY, None)
    saved = bool(form.save.data and current_user.is_authenticated)
    page = partial(render_template, "screening/result.html", result=outcome, saved=saved,
                   remembered=form.remember.data, forget_form=ForgetForm(data={"return_to": form.return_to.data}),
                   **_context(form))
    if not saved:
        return page()
    # The post answers with the result page itself, as before: it is built from answers that are not kept.
    return run_action(lambda: save_screening(current_user.id, outcome), show=lambda _: page())


@bp.post("/screening/forget")
@public
def forget() -> Any:
    """Drop the answers kept for this visit and go back where the patient came from."""
    form = ForgetForm()
    if form.validate():
        session.pop(SESSION_KEY, None)
    return redirect(safe_return_to(form.return_to.data) or url_for("screening.questionnaire"), code=303)


def _context(form: Any) -> dict[str, Any]:
    """Return what both screening templates show besides the form."""
    methods = vocabulary_choices()["method"]
    return {"method_names": methods, "focus_method": known_method(form.method.data),
            "labels": VERDICT_LABELS, "explanations": VERDICT_EXPLANATIONS,
            "return_to": safe_return_to(form.return_to.data), "practitioner_slug": form.practitioner.data or ""}

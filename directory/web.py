"""The one way a view runs an action: commit once and answer 303, or roll back and re-render with the 4xx.

A post the database was too busy to take is answered here too, on its read-only second pass
(``errors.handle_database_busy``): the form re-rendered as sent, with a 503 saying nothing was saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, g, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from directory.accounts.services import record_forbidden
from directory.errors import (
    CHANGE_NOT_SAVED,
    CHANGE_NOT_SAVED_GO_BACK,
    RETRY_AFTER,
    DatabaseBusy,
    DomainError,
    NotFound,
)
from directory.extensions import db

T = TypeVar("T")
Success = str | Callable[[Any], tuple[str, str]]


def run_action(action: Callable[[], T], *, rerender: Callable[[], Any] | None = None, success: Success = "",
               redirect_to: str | None = None, show: Callable[[T], ResponseReturnValue] | None = None,
               form: Any = None) -> ResponseReturnValue:
    """Run a service action; commit it with its audit event and redirect (303) or ``show`` the result, or refuse.

    ``success`` is the flash after the commit (or a function of the result returning message and category).
    A refusal (a DomainError) rolls back and answers ``rerender()`` with the error's status, its message
    flashed, or set on ``form`` when given; without ``rerender`` the error handler answers it.
    """
    if redirect_to is None and show is None:
        raise TypeError("run_action needs redirect_to or show")
    if g.get("database_busy"):
        return _not_saved(rerender, form)
    try:
        result = action()
    except NotFound:
        raise  # the 404 handler answers "there is nothing here" the same everywhere
    except DomainError as error:
        return _refuse(error, rerender, form)
    db.session.commit()
    message, category = success(result) if callable(success) else (success, "success")
    if message:
        flash(message, category)
    if show is not None:
        return show(result)
    # 303 See Other: the browser GETs the next page, so reloading it never posts the form again.
    return redirect(str(redirect_to), code=303)


def _refuse(error: DomainError, rerender: Callable[[], Any] | None, form: Any) -> ResponseReturnValue:
    """Roll back a refused action, audit a forbidden attempt, and re-render with the error's status."""
    db.session.rollback()
    if error.status == 403 and current_user.is_authenticated:
        record_forbidden(current_user.id, request.path)
        db.session.commit()  # the attempt is evidence, kept although the action was not
    if rerender is None:
        raise error
    if form is not None:
        _show_on_form(form, error)
    else:
        flash(error.message, "error")
    # Never a redirect with a 4xx: browsers don't follow it and show a bare "Redirecting..." page.
    return rerender(), error.status


def _not_saved(rerender: Callable[[], Any] | None, form: Any) -> ResponseReturnValue:
    """Answer the read-only second pass of a post the busy database refused: the form as sent, and a 503."""
    if rerender is None:
        raise DatabaseBusy(CHANGE_NOT_SAVED_GO_BACK)
    error = DatabaseBusy(CHANGE_NOT_SAVED)
    if form is not None:
        _show_on_form(form, error)
    else:
        flash(error.message, "error")
    return rerender(), error.status, RETRY_AFTER


def _show_on_form(form: Any, error: DomainError) -> None:
    """Attach a refusal to the form field it concerns (or to the whole form)."""
    field = getattr(form, error.field or "", None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)

"""Domain exceptions, and the one place that maps them to HTML or JSON."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose; carries what a user needs to see."""

    status: int = 400
    code: str = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """Return the JSON error body the API answers with."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidParameter(DomainError):
    """A parameter failed validation; `field` names it."""

    code = "invalid_parameter"


class Forbidden(DomainError):
    """The signed-in user may not do this."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this user)."""

    status = 404
    code = "not_found"


class DatabaseBusy(DomainError):
    """Another connection held the database's write lock for longer than the busy timeout: nothing was saved."""

    status = 503
    code = "database_unavailable"


def wants_json() -> bool:
    """Tell whether the current request should get a JSON error (API paths, JSON clients)."""
    from flask import request

    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def refuse_nul_bytes() -> None:
    """Answer 400 to a path, query string or form carrying a NUL character.

    PostgreSQL text cannot hold NUL (0x00), so such input would otherwise end as a
    database error; no legitimate form value contains one.
    """
    from flask import abort, request

    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400, description="The request contains a NUL character, which no field accepts.")


def unauthorized() -> Any:
    """Answer an anonymous request to a signed-in-only route: 401 JSON for the API, else sign-in."""
    from flask import flash, jsonify, redirect, request, url_for

    if wants_json():
        return jsonify({"error": "unauthorized", "message": "sign in first"}), 401
    flash("Please sign in to continue.", "info")
    return redirect(url_for("accounts.sign_in", next=request.full_path if request.query_string else request.path))


# Our words for Werkzeug's stock descriptions ("You don't have the permission to access the requested resource...").
PLAIN_DESCRIPTIONS = {
    400: "The request was not understood. Go back, check what you entered and try again.",
    403: "You do not have access to this page. If you think you should, sign in with the account that has access.",
    404: "There is nothing at this address. It may have moved, or the link may be mistyped.",
    405: "This page cannot be used that way. Go back and use the page's own buttons and links.",
    413: "The file you sent is larger than this site accepts. Go back and choose a smaller one.",
}


def plain_description(error: Any) -> str:
    """Return the error's own description, or our plain words when it is Werkzeug's stock text."""
    if error.description == type(error).description and error.code in PLAIN_DESCRIPTIONS:
        return PLAIN_DESCRIPTIONS[error.code]
    return str(error.description)


UNTRUSTED_HOST = "This site does not answer to the host name in your request. Check the address you typed."


def refuse_untrusted_host() -> None:
    """Stop a request whose Host is not in TRUSTED_HOSTS before any other hook runs.

    Flask records the refusal as the routing exception; raising it first means no hook
    (CSRF, rate limits, HTTPS redirect) answers with a page that would need URLs for that host.
    """
    from flask import request
    from werkzeug.exceptions import SecurityError

    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def untrusted_host_response(error: Exception) -> Any:
    """Answer 400 to an untrusted Host with a page that builds no URL (there is no URL adapter)."""
    from flask import jsonify, render_template

    if wants_json():
        return jsonify({"error": "untrusted_host", "message": UNTRUSTED_HOST}), 400
    return render_template("untrusted_host.html", message=UNTRUSTED_HOST), 400


def error_headers(error: Any) -> dict[str, str]:
    """Return the headers an HTTP error must keep on our own page: a 405's Allow (RFC 9110 section 15.5.6)."""
    methods = getattr(error, "valid_methods", None)
    return {"Allow": ", ".join(methods)} if methods else {}


BUSY_OR_UNREACHABLE = ("locked", "busy", "timeout", "timed out", "could not connect", "connection refused",
                       "server closed the connection", "terminating connection")


def is_database_locked(error: Any) -> bool:
    """Tell whether a database error is SQLite's "database is locked": another connection holds the write lock."""
    return "database is locked" in str(getattr(error, "orig", error)).lower()


def is_busy_or_unreachable(error: Any) -> bool:
    """Tell whether a database error means 'try again' (a lock or a lost server), not a bug."""
    return any(word in str(getattr(error, "orig", error)).lower() for word in BUSY_OR_UNREACHABLE)


DATABASE_UNAVAILABLE = "The database is busy or unavailable, so nothing was saved. Please try again in a moment."
CHANGE_NOT_SAVED = ("The site is busy, so your change was not saved. Please try again in a moment: "
                    "what you entered is still in the form.")
CHANGE_NOT_SAVED_GO_BACK = ("The site is busy, so your change was not saved. Please go back and try again "
                            "in a moment.")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Seconds a client should wait before trying again (RFC 9110 section 10.2.3): a lock held past the busy timeout
# is a long write (a bulk import, a migration); a few seconds later it has usually ended.
RETRY_AFTER_S = 5
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_S)}


def register_error_handlers(app: Any) -> None:
    """Install the handlers that turn errors into pages or JSON, never a traceback."""
    from flask import jsonify, render_template, request
    from sqlalchemy.exc import OperationalError
    from werkzeug.exceptions import HTTPException, SecurityError

    def handle_domain_error(error: DomainError) -> Any:
        headers = RETRY_AFTER if error.status == 503 else {}
        if wants_json():
            return jsonify(error.to_json()), error.status, headers
        return render_template("error.html", status=error.status, message=error.message), error.status, headers

    def handle_http_error(error: HTTPException) -> Any:
        status = error.code or 500
        message = plain_description(error)
        if wants_json():
            code = (error.name or "error").lower().replace(" ", "_")
            return jsonify({"error": code, "message": message}), status, error_headers(error)
        return render_template("error.html", status=status, message=message), status, error_headers(error)

    def handle_database_busy(error: OperationalError) -> Any:
        # The database was busy or unreachable: nothing was saved. Anything else (a missing table
        # after a skipped migration) is a bug and stays a logged 500.
        from directory.extensions import db

        if not (error.connection_invalidated or is_busy_or_unreachable(error)):
            raise error
        if is_database_locked(error):  # another writer held the lock past the busy timeout: expected, no traceback
            app.logger.warning("database locked: %s %s answered 503", request.method, request.path)
        else:
            app.logger.exception("database unavailable")
        db.session.rollback()
        page = _form_as_sent(app, handle_domain_error, handle_http_error)
        if page is not None:
            return page
        if wants_json():
            return jsonify({"error": "database_unavailable", "message": DATABASE_UNAVAILABLE}), 503, RETRY_AFTER
        message = DATABASE_UNAVAILABLE if request.method in READ_METHODS else CHANGE_NOT_SAVED_GO_BACK
        return render_template("error.html", status=503, message=message), 503, RETRY_AFTER

    app.register_error_handler(OperationalError, handle_database_busy)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(SecurityError, untrusted_host_response)


def _form_as_sent(app: Any, handle_domain_error: Any, handle_http_error: Any) -> Any:
    """Answer a post the busy database refused on a read-only second pass: its form as sent, and a 503; else None.

    The request runs once more, read-only (see ``extensions._sqlite_begin``): every before-request check again,
    then the view, whose ``run_action`` re-renders the form with CHANGE_NOT_SAVED (or raises DatabaseBusy)
    instead of acting. A view that needs no write (signing out) simply succeeds; one that would write outside
    ``run_action`` fails read-only, and then the plain 503 page answers.
    """
    from flask import g, request
    from sqlalchemy.exc import OperationalError
    from werkzeug.exceptions import HTTPException

    from directory.extensions import db

    if request.method in READ_METHODS or wants_json() or g.get("database_busy") or db.engine.dialect.name != "sqlite":
        return None  # only SQLite has the read-only second pass (PostgreSQL's busy errors are lost connections)
    g.database_busy = True
    try:
        answer = app.preprocess_request()
        if answer is None:
            answer = app.dispatch_request()
    except OperationalError as error:
        if not (is_database_locked(error) or "readonly database" in str(error)):
            raise
        answer = None  # the view writes outside run_action (refused read-only), or even reading is locked out
    except DomainError as error:
        answer = handle_domain_error(error)
    except HTTPException as error:
        answer = handle_http_error(error)
    finally:
        db.session.rollback()
    return answer

"""Site-wide pages: the home page with the search form, the icon browsers ask for, and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from directory.accounts.policy import public
from directory.extensions import db, search
from directory.practitioners.models import Condition, Method

bp = Blueprint("site", __name__)


@bp.get("/")
@public
def home() -> str:
    """Render the home page with the search form."""
    methods = db.session.scalars(select(Method).order_by(Method.sort_order)).all()
    conditions = db.session.scalars(select(Condition).order_by(Condition.sort_order)).all()
    return render_template("site/home.html", methods=methods, conditions=conditions)


@bp.get("/favicon.ico")
@public
def favicon() -> Any:
    """Send a browser asking for /favicon.ico (it does on pages without our <link rel="icon">, a JSON document
    for one) to the site's icon instead of a 404."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/healthz")
@public
def healthz() -> Any:
    """Report database and search health as JSON; 503 when the database is unreachable."""
    body: dict[str, Any] = {"database": "ok"}
    status = 200
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        body["database"] = "unavailable"
        body["database_error"] = str(getattr(exc, "orig", exc)).splitlines()[0]
        status = 503
    try:
        body["search"] = search.backend().health()
    except Exception as exc:  # noqa: BLE001  (a health check reports every failure instead of raising)
        body["search"] = {"status": "unavailable", "error": str(exc)}
    body["status"] = "ok" if status == 200 and body["search"].get("status") == "ok" else "degraded"
    return jsonify(body), status

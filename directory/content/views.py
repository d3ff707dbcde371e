"""Information pages for patients: how acupuncture is used, the methods, what vetting means."""

from __future__ import annotations

from flask import Blueprint, render_template

from directory.accounts.policy import public

bp = Blueprint("content", __name__)


@bp.get("/about-acupuncture")
@public
def about() -> str:
    """Render the patient information page."""
    return render_template("content/about.html")

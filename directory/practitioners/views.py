"""Patient-facing pages: search results, autocomplete, and practitioner profiles."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from directory.accounts.policy import public
from directory.clock import utcnow
from directory.errors import DomainError, NotFound
from directory.extensions import db
from directory.geo import PlaceAmbiguous
from directory.practitioners.admin_tools import merged_target
from directory.practitioners.forms import SearchForm
from directory.practitioners.listing_forms import ClaimForm
from directory.practitioners.listing_service import claim_offer
from directory.practitioners.models import Practitioner
from directory.practitioners.profile_service import CREDENTIAL_KINDS, load_profile
from directory.practitioners.search_page import (
    RADII_KM,
    active_filter_count,
    card_extras,
    given_args,
    query_args,
    relaxations,
    search_path,
)
from directory.practitioners.search_service import SearchResults, build_query, search_practitioners, vocabulary_choices
from directory.practitioners.suggest_service import suggest
from directory.reviews.moderation import REASONS
from directory.screening.services import remembered_result
from directory.vetting.notices import alert_chain_break

bp = Blueprint("practitioners", __name__)

# The facets the search page shows counts for (the API also counts vetting_status).
PAGE_FACETS = ("methods", "conditions", "languages")
# OpenStreetMap's standard tiles; production sets MAP_TILE_URL to its own tile server or provider.
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"


@bp.get("/search")
@public
def search_page() -> Any:
    """Show the search form, results, facets and paging; errors appear beside the form."""
    vocabulary = vocabulary_choices()
    form = SearchForm(request.args, vocabulary=vocabulary)
    context: dict[str, Any] = {"form": form, "vocabulary": vocabulary, "results": None, "error": None,
                               "candidates": [], "radii": RADII_KM, "map": map_settings(),
                               "active_filters": active_filter_count(request.args.to_dict(flat=False))}
    status = 200
    if request.args and form.validate():
        try:
            query, origin = build_query(form.filters(PAGE_FACETS), form.place.data, form.lat.data, form.lon.data)
            context.update(_results_context(search_practitioners(query, origin), vocabulary))
        except PlaceAmbiguous as exc:
            context["error"], context["candidates"] = exc.message, exc.candidates
        except DomainError as exc:
            context["error"], status = exc.message, exc.status
    elif request.args:
        context["error"], status = form.first_error()[1], 400
    return render_template("practitioners/search.html", **context), status


def _results_context(results: SearchResults, vocabulary: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Return what the page shows around a page of results."""
    args = given_args(request.args.to_dict(flat=False))
    back = "/search?" + urlencode(args, doseq=True)
    methods = list(results.query.methods)
    screening = remembered_result(session)
    return {
        "results": results,
        "extras": card_extras(results.rows, utcnow(), screening, methods),
        "relaxations": [] if results.rows else relaxations(args, results.query, vocabulary),
        "screening": screening,
        "screening_url": url_for("screening.questionnaire", method=methods[0],
                                 return_to=request.full_path.rstrip("?")) if methods else None,
        "page_args": {page: query_args(args, page=page) for page in _nearby_pages(results)},
        "back": back,
    }


def _nearby_pages(results: SearchResults) -> list[int]:
    """Return the page numbers the pager links to: first, last, and two either side of the current one."""
    current, last = results.query.page, results.pages
    return sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})


@bp.get("/search/suggest")
@public
def suggest_json() -> Any:
    """Return autocomplete suggestions for the search box as JSON (places, methods, conditions)."""
    return jsonify({"suggestions": [s.to_json() for s in suggest(request.args.get("q", ""))]})


@bp.get("/practitioners/<slug>")
@public
def profile(slug: str) -> Any:
    """Show a practitioner's public profile (a suspended one says so); a friendly 404 when there is none."""
    try:
        shown = load_profile(slug, utcnow())
    except NotFound:
        target = merged_target(slug)
        if target is None:
            raise
        # 308 Permanent Redirect: a merged listing's address now belongs to the survivor, for links and crawlers.
        return redirect(url_for("practitioners.profile", slug=target), code=308)
    receives = _receives_referrals(shown.practitioner)
    # The page tells the public our admins know about a broken chain: make it true (once per chain head).
    if alert_chain_break(shown.practitioner, shown.chain_breaks, shown.chain_head):
        db.session.commit()
    return render_template("practitioners/profile.html", profile=shown, map=map_settings(),
                           referral_url=None if shown.suspension or not receives else _referral_url(shown.practitioner.slug),
                           receives_referrals=receives,
                           kinds=CREDENTIAL_KINDS, reasons=REASONS,
                           claim_offer=claim_offer(current_user, shown.practitioner), claim_form=ClaimForm(),
                           back=search_path(request.args.get("back")) or url_for("practitioners.search_page"))


def map_settings() -> dict[str, str]:
    """Return the map's tile URL template and attribution (configurable: MAP_TILE_URL, MAP_TILE_ATTRIBUTION)."""
    return {"tile_url": current_app.config.get("MAP_TILE_URL", DEFAULT_TILE_URL),
            "attribution": current_app.config.get("MAP_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION)}


def _receives_referrals(practitioner: Practitioner) -> bool:
    """Tell whether referrals and requests can be sent to this practitioner through Meridian."""
    # Imported here: referrals builds on practitioners, and only this page composes the two.
    from directory.referrals.services import receiving_problem

    return "referrals.new" in current_app.view_functions and receiving_problem(practitioner) is None


def _referral_url(slug: str) -> str | None:
    """Return the form this viewer sends from: a doctor's referral, a patient's request (sign-in first if anonymous).

    Asked only for a practitioner who receives them: a link that ends in a refusal is a dead end.
    """
    if not current_user.is_authenticated:
        return url_for("accounts.sign_in", next=url_for("referrals.new", slug=slug))
    return url_for("referrals.new", slug=slug) if current_user.role in ("doctor", "patient") else None

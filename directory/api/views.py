"""API v1 endpoints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from directory.accounts.policy import public
from directory.api.openapi import openapi_document
from directory.errors import InvalidParameter
from directory.extensions import limiter
from directory.practitioners.forms import SearchForm
from directory.practitioners.search_service import (
    ResultRow,
    SearchResults,
    build_query,
    search_practitioners,
    vocabulary_choices,
)

api = Blueprint("api", __name__, url_prefix="/api/v1")


@api.get("/practitioners/search")
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_SEARCH_API"])
def practitioners_search() -> Any:
    """Search practitioners; 400 with the field at fault on bad input, 503 when the engine is down."""
    form = SearchForm(request.args, vocabulary=vocabulary_choices())
    if not form.validate():
        name, message = form.first_error()
        raise InvalidParameter(message, field=name)
    query, origin = build_query(form.filters(), form.place.data, form.lat.data, form.lon.data)
    return jsonify(results_json(search_practitioners(query, origin, with_evidence=False)))


@api.get("/openapi.json")
@public
def openapi_json() -> Any:
    """Serve the OpenAPI 3.1 document of /api/v1, built from the routes and their forms."""
    return jsonify(openapi_document(current_app))


def results_json(results: SearchResults) -> dict[str, Any]:
    """Return the documented JSON body of a search page."""
    origin = results.origin
    return {
        "total": results.total,
        "page": results.query.page,
        "per_page": results.query.per_page,
        "took_ms": round(results.took_ms, 2),
        "origin": {"lat": origin.lat, "lon": origin.lon, "label": origin.label} if origin else None,
        "hits": [_hit_json(row) for row in results.rows],
        # null when not counted: facets=false, or a page past the first without facets=true.
        "facets": {
            "method": results.facets.get("methods", {}),
            "condition": results.facets.get("conditions", {}),
            "language": results.facets.get("languages", {}),
            "vetting_status": results.facets.get("vetting_status", {}),
        } if results.query.facets else None,
    }


def _hit_json(row: ResultRow) -> dict[str, Any]:
    """Return one hit as the API documents it."""
    p, loc = row.practitioner, row.nearest
    return {
        "id": p.id,
        "slug": p.slug,
        "name": p.display_name,
        "distance_km": round(row.distance_km, 3) if row.distance_km is not None else None,
        "location": {"city": loc.city, "region": loc.region, "country": loc.country, "lat": loc.latitude,
                     "lon": loc.longitude},
        "methods": [m.slug for m in p.methods],
        "conditions": [c.slug for c in p.conditions],
        "languages": [lang.code for lang in p.languages],
        "vetting_status": p.vetting_status,
        "rating": {"average": round(row.rating_average, 2) if row.rating_average is not None else None,
                   "count": row.rating_count, "bayesian": row.rating_bayes},
    }

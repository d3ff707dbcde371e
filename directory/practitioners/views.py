"""Patient-facing pages: search results and practitioner profiles."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from directory.accounts.policy import public
from directory.errors import DomainError
from directory.geo import PlaceAmbiguous
from directory.practitioners.forms import SearchForm
from directory.practitioners.search_service import build_query, search_practitioners, vocabulary_choices

bp = Blueprint("practitioners", __name__)


@bp.get("/search")
@public
def search_page() -> Any:
    """Show the search form, results, facets and paging; errors appear beside the form."""
    vocabulary = vocabulary_choices()
    form = SearchForm(request.args, vocabulary=vocabulary)
    context: dict[str, Any] = {"form": form, "vocabulary": vocabulary, "results": None, "error": None,
                               "candidates": []}
    status = 200
    if request.args and form.validate():
        try:
            query, origin = build_query(form.filters(), form.place.data, form.lat.data, form.lon.data)
            context["results"] = search_practitioners(query, origin)
        except PlaceAmbiguous as exc:
            context["error"], context["candidates"] = exc.message, exc.candidates
        except DomainError as exc:
            context["error"], status = exc.message, exc.status
    elif request.args:
        context["error"], status = form.first_error()[1], 400
    return render_template("practitioners/search.html", **context), status

"""sort=rating through the API and the page: Bayesian order, plain average on the card, changes via the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from directory.extensions import db, search
from directory.indexing.services import reindex_all, sync_outbox
from directory.reviews.models import Review
from tests import factories

CAMBRIDGE = {"lat": "42.3736", "lon": "-71.1097", "sort": "rating"}
API = "/api/v1/practitioners/search"


def _reviews(practitioner: Any, *ratings: int, state: str = "published") -> None:
    """Add reviews of ``practitioner`` with these ratings, in ``state``."""
    for rating in ratings:
        db.session.add(Review(practitioner_id=practitioner.id, rating=rating, body="Visited.", moderation_state=state))


@pytest.fixture
def rated(app: Flask, session: Any) -> dict[str, Any]:
    """One 5-star review, six averaging 4.67, forty averaging 4.5, and nobody's reviews yet; all indexed."""
    one = factories.practitioner(first_name="Una", last_name="Five")
    six = factories.practitioner(first_name="Sia", last_name="Six")
    forty = factories.practitioner(first_name="Flo", last_name="Forty")
    none = factories.practitioner(first_name="Nia", last_name="None")
    _reviews(one, 5)
    _reviews(six, 5, 5, 5, 5, 4, 4)
    _reviews(forty, *([5] * 20 + [4] * 20))
    _reviews(none, 5, 5, state="pending")  # not published: counts for nothing
    db.session.commit()
    reindex_all(search.backend())
    return {"one": one, "six": six, "forty": forty, "none": none}


def _ids(client: Any, **params: Any) -> list[int]:
    return [h["id"] for h in client.get(API, query_string={**CAMBRIDGE, **params}).get_json()["hits"]]


def test_api_orders_by_the_bayesian_average(client: Any, rated: dict[str, Any]) -> None:
    assert _ids(client) == [rated["forty"].id, rated["six"].id, rated["one"].id, rated["none"].id]


def test_api_hits_carry_average_count_and_bayesian_score(client: Any, rated: dict[str, Any]) -> None:
    hits = {h["id"]: h["rating"] for h in client.get(API, query_string=CAMBRIDGE).get_json()["hits"]}
    assert hits[rated["one"].id] == {"average": 5.0, "count": 1, "bayesian": 4.1667}
    assert hits[rated["six"].id] == {"average": 4.67, "count": 6, "bayesian": 4.3636}
    assert hits[rated["forty"].id] == {"average": 4.5, "count": 40, "bayesian": 4.4444}
    assert hits[rated["none"].id] == {"average": None, "count": 0, "bayesian": None}


def test_the_card_shows_the_plain_average_and_count(client: Any, rated: dict[str, Any]) -> None:
    html = client.get("/search", query_string=CAMBRIDGE).get_data(as_text=True)
    assert "5.0<span aria-hidden=\"true\"> ★</span><span class=\"visually-hidden\"> out of 5 stars</span> (1 review)" in html
    assert "(6 reviews)" in html and "(40 reviews)" in html
    assert "4.17" not in html and "4.44" not in html


def test_a_published_review_reaches_the_order_through_the_outbox(client: Any, rated: dict[str, Any]) -> None:
    _reviews(rated["one"], *([5] * 9))
    db.session.commit()
    assert _ids(client)[0] == rated["forty"].id, "nothing synced yet: the index still holds the old score"
    report = sync_outbox(search.backend())
    assert report.applied == 1 and report.failed == 0
    assert _ids(client)[0] == rated["one"].id  # ten 5-star reviews: (20 + 50) / 15 = 4.67


def test_a_review_taken_down_lowers_the_score_after_sync(client: Any, rated: dict[str, Any]) -> None:
    fives = select(Review).where(Review.practitioner_id == rated["forty"].id, Review.rating == 5)
    for review in db.session.scalars(fives):
        review.moderation_state = "removed"  # twenty 4-star reviews remain: (20 + 80) / 25 = 4.0
    db.session.commit()
    sync_outbox(search.backend())
    assert _ids(client) == [rated["six"].id, rated["one"].id, rated["forty"].id, rated["none"].id]

"""A page of search results costs a fixed, small number of SQL statements, however many cards it shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event

from directory.extensions import db, search
from directory.indexing.services import reindex_all
from directory.practitioners import search_service
from directory.practitioners.cards import rebuild_cards
from tests import factories

CAMBRIDGE = {"lat": "42.3736", "lon": "-71.1097", "radius_km": "50"}


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Record the SQL statements run on the test connection."""
    statements: list[str] = []
    connection = db.session.connection()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)


def _index(count: int, cards: bool = True) -> None:
    """Add ``count`` verified practitioners around Cambridge with several terms each, index them (and their cards)."""
    for n in range(count):
        factories.practitioner(methods=("moxibustion", "filiform-needling", "cupping"),
                               conditions=("sciatica", "low-back-pain"), languages=("en", "zh", "es"),
                               locations=[{"latitude": 42.36 + n / 1000}, {"city": "Boston", "latitude": 42.35}])
    db.session.commit()
    reindex_all(search.backend())
    if cards:
        rebuild_cards()


def _statements(client: Any, path: str, params: dict[str, str]) -> list[str]:
    """Return the statements one GET of ``path`` ran (after one untimed request warmed the caches)."""
    assert client.get(path, query_string=params).status_code == 200
    with counted_statements() as statements:
        assert client.get(path, query_string=params).status_code == 200
    return statements


def test_an_api_page_of_twenty_cards_costs_what_a_page_of_two_costs(client: Any) -> None:
    _index(2)
    few = _statements(client, "/api/v1/practitioners/search", CAMBRIDGE)
    _index(18)
    many = _statements(client, "/api/v1/practitioners/search", CAMBRIDGE)
    assert client.get("/api/v1/practitioners/search", query_string=CAMBRIDGE).get_json()["total"] == 20
    # One row per card (the API shows no evidence lines or registry badges).
    assert len(many) == len(few) == 1, "\n".join(many)


def test_cards_without_current_rows_cost_a_fixed_number_of_statements_too(client: Any) -> None:
    _index(2, cards=False)
    few = _statements(client, "/api/v1/practitioners/search", CAMBRIDGE)
    _index(18, cards=False)
    many = _statements(client, "/api/v1/practitioners/search", CAMBRIDGE)
    # The card rows (none current), then the practitioners with their ratings, vocabulary links, locations.
    assert len(many) == len(few) == 4, "\n".join(many)


def test_a_results_page_of_twenty_cards_costs_what_a_page_of_two_costs(client: Any) -> None:
    _index(2)
    few = _statements(client, "/search", CAMBRIDGE)
    _index(18)
    many = _statements(client, "/search", CAMBRIDGE)
    # The card rows, then credentials, folded checks, the exclusion lists in use, registry listings, opening hours
    # and the coming week's dated exceptions to them.
    assert len(many) == len(few) <= 7, "\n".join(many)


def test_open_now_adds_one_statement(client: Any, monkeypatch: Any) -> None:
    # A Wednesday at 10:00 in Cambridge, MA, inside the factories' weekday hours: at other times nobody is open,
    # no card is read, and the count compared nothing.
    monkeypatch.setattr(search_service, "utcnow", lambda: datetime(2026, 4, 15, 14, 0))  # naive UTC, as utcnow()
    _index(3)
    plain = _statements(client, "/api/v1/practitioners/search", CAMBRIDGE)
    open_now = _statements(client, "/api/v1/practitioners/search", {**CAMBRIDGE, "open_now": "true"})
    assert client.get("/api/v1/practitioners/search", query_string={**CAMBRIDGE, "open_now": "true"}).get_json()["total"] == 3
    assert len(open_now) == len(plain) + 1

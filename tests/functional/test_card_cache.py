"""The card table: pages read each card as one row while it is current, and never a card older than the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from directory.clock import utcnow
from directory.extensions import db, search
from directory.indexing.models import CardCache
from directory.indexing.services import sync_outbox
from directory.practitioners import cards
from directory.practitioners.cards import load_cards, rebuild_cards, refresh_cards
from tests import factories
from tests.support import profiles


def _fresh(ids: list[int], verified_only: bool, with_evidence: bool = True) -> dict[int, Any]:
    """Cards read from the practitioner tables only (the card table emptied inside a savepoint)."""
    with db.session.begin_nested() as savepoint:
        db.session.execute(CardCache.__table__.delete())
        found = load_cards(ids, verified_only, with_evidence=with_evidence)
        savepoint.rollback()
    return found


def _rows() -> dict[int, int]:
    return dict(db.session.execute(select(CardCache.practitioner_id, CardCache.version)).all())


def _mixed_practitioners() -> list[Any]:
    """Practitioners of every kind a card can hold: rated, several and unplaced locations, hidden, suspended."""
    rated = factories.practitioner(first_name="Ada", last_name="Moxley", methods=("moxibustion", "cupping"),
                                   conditions=("sciatica", "neck-pain"), languages=("en", "zh", "fr"),
                                   photo_path="photos/ada.jpg",
                                   locations=[{"name": "Moxley Acupuncture", "phone": "(617) 555-0142",
                                               "booking_url": "https://example.org/book"},
                                              {"name": "Not placed yet", "latitude": None, "longitude": None, "unplaced_since": utcnow()},
                                              {"name": "Second room", "city": "Somerville", "latitude": 42.39,
                                               "longitude": -71.1, "wheelchair_accessible": True}])
    profiles.add_reviews(rated, [5, 4, 2])
    profiles.add_reviews(rated, [1], state="pending")  # does not count
    licence = profiles.credential(rated)
    profiles.add_checks(rated, [(licence, "state_board", 30, "MA-LIC", "pass")])
    pending = factories.practitioner(vetting_status="pending", title="")
    hidden = factories.practitioner(hidden=True)
    suspended = factories.practitioner(vetting_status="suspended")
    unplaced = factories.practitioner(locations=[{"latitude": None, "longitude": None, "unplaced_since": utcnow()}])
    db.session.commit()
    return [rated, pending, hidden, suspended, unplaced]


def test_cards_from_rows_equal_cards_read_fresh(session: Any) -> None:
    people = _mixed_practitioners()
    ids = [p.id for p in people]
    assert rebuild_cards(batch_size=2) >= len(ids)
    assert set(ids) <= set(_rows()), "every practitioner has a row, hidden and suspended ones too"
    for verified_only in (False, True):
        for with_evidence in (False, True):
            cached = load_cards(ids, verified_only, with_evidence=with_evidence)
            assert cached == _fresh(ids, verified_only, with_evidence), (verified_only, with_evidence)
    shown = load_cards(ids, verified_only=False)
    rated, pending, hidden, suspended, unplaced = people
    assert set(shown) == {rated.id, pending.id, unplaced.id}, "hidden and suspended stay out of the cached path too"
    assert set(load_cards(ids, verified_only=True)) == {rated.id, unplaced.id}
    card = shown[rated.id]
    assert (card.rating_average, card.rating_count) == (11 / 3, 3)
    assert [m.slug for m in card.methods] and {m.slug for m in card.methods} == {"moxibustion", "cupping"}
    assert [loc.name for loc in card.locations] == ["Moxley Acupuncture", "Second room"]
    assert card.locations[0].tel_url == "tel:6175550142" and card.photo_path == "photos/ada.jpg"
    assert shown[unplaced.id].locations == [], "an unplaced address is no card location"


def test_the_cached_path_reads_one_table(session: Any, monkeypatch: Any) -> None:
    people = _mixed_practitioners()
    rebuild_cards()
    read_fresh: list[Any] = []
    real_read = cards._read
    monkeypatch.setattr(cards, "_read", lambda *args: read_fresh.append(args[2]) or real_read(*args))
    load_cards([p.id for p in people], verified_only=False)
    assert read_fresh == [], "every card came from its row"


def test_a_change_is_shown_before_the_worker_rewrites_the_row(session: Any) -> None:
    p = factories.practitioner(first_name="Old")
    db.session.commit()
    rebuild_cards()
    assert load_cards([p.id], verified_only=True)[p.id].first_name == "Old"
    written = _rows()[p.id]
    p.first_name = "New"
    db.session.commit()
    assert _rows()[p.id] == written, "the row still holds the old card, labelled with the old version"
    assert load_cards([p.id], verified_only=True)[p.id].first_name == "New", "an outdated row is not trusted"
    sync_outbox(search.backend())
    assert _rows()[p.id] == written + 1, "the worker rewrote the row with the version it synced"
    assert load_cards([p.id], verified_only=True)[p.id].first_name == "New"
    assert load_cards([p.id], verified_only=True) == _fresh([p.id], verified_only=True)


def test_suspension_and_hiding_take_effect_at_once(session: Any) -> None:
    first, second = factories.practitioner(), factories.practitioner()
    db.session.commit()
    rebuild_cards()
    first.vetting_status = "suspended"
    second.hidden = True
    db.session.commit()
    assert load_cards([first.id, second.id], verified_only=False) == {}, "no sync needed to take a listing down"


def test_a_new_review_changes_the_rating_at_once(session: Any) -> None:
    p = factories.practitioner()
    db.session.commit()
    rebuild_cards()
    assert load_cards([p.id], verified_only=True)[p.id].rating_count == 0
    profiles.add_reviews(p, [4])
    db.session.commit()
    assert load_cards([p.id], verified_only=True)[p.id].rating_count == 1


def test_a_deleted_practitioner_loses_its_card_and_its_row(session: Any) -> None:
    p = factories.practitioner()
    db.session.commit()
    rebuild_cards()
    pid = p.id
    db.session.delete(p)
    db.session.commit()
    assert load_cards([pid], verified_only=False) == {}
    sync_outbox(search.backend())
    assert pid not in _rows(), "the worker dropped the row of the delete it synced"


def test_a_rebuild_drops_rows_of_practitioners_gone_since(session: Any) -> None:
    kept, gone = factories.practitioner(), factories.practitioner()
    db.session.commit()
    rebuild_cards()
    gone_id = gone.id
    db.session.delete(gone)
    db.session.commit()
    rebuild_cards()
    assert kept.id in _rows() and gone_id not in _rows()


def test_a_renamed_term_shows_its_new_name_from_a_row(session: Any) -> None:
    from directory.models import Method
    from directory.practitioners.vocabulary import forget_cached_vocabulary

    p = factories.practitioner(methods=("cupping",))
    db.session.commit()
    rebuild_cards()
    method = db.session.scalar(select(Method).where(Method.slug == "cupping"))
    method.name = "Fire cupping"
    db.session.commit()
    forget_cached_vocabulary()
    try:
        assert [m.name for m in load_cards([p.id], verified_only=True)[p.id].methods] == ["Fire cupping"]
    finally:
        method.name = "Cupping"
        db.session.commit()
        forget_cached_vocabulary()


def test_refresh_writes_only_the_named_rows(session: Any) -> None:
    first, second = factories.practitioner(), factories.practitioner()
    db.session.commit()
    refresh_cards([first.id])
    db.session.commit()
    assert set(_rows()) & {first.id, second.id} == {first.id}
    assert db.session.scalar(select(func.count()).select_from(CardCache)) == len(_rows())


def test_the_driver_and_core_read_the_same_current_rows(session: Any) -> None:
    """SQLite hands the card rows' SELECT to the driver as written (cards._cached_rows); Core's statement must agree."""
    people = _mixed_practitioners()
    rebuild_cards()
    stale = people[1]
    stale.first_name = "Changed"
    db.session.commit()  # its row now holds an older version than the practitioner's
    ids = [p.id for p in people] + [10**9]
    connection = db.session.connection()
    driver = sorted(cards._cached_rows(connection, ids))
    core = sorted((int(pid), data) for pid, data in connection.execute(cards._CACHED, {"ids": ids}).all())
    assert driver == core
    assert {pid for pid, _ in driver} == {p.id for p in people} - {stale.id}


def test_ordered_terms_keep_display_order_and_hand_out_copies(session: Any) -> None:
    from directory.practitioners.vocabulary import cached_vocabulary

    vocabulary = cached_vocabulary()
    ranked = vocabulary.ranked["method"]
    keys = sorted(ranked, key=lambda key: -ranked[key][0])[:3]  # the reverse of display order
    expected = [term for _, term in sorted(ranked[key] for key in keys)]
    first = vocabulary.ordered_terms("method", [*keys, "no-such-key"])
    assert first == expected, "display order, an unknown key left out"
    first.append(expected[0])
    assert vocabulary.ordered_terms("method", [*keys, "no-such-key"]) == expected, "a caller's change stays its own"

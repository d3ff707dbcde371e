"""Result cards: the few fields a result shows, loaded with plain SQL rather than whole ORM objects.

A page of 20 results used to load 20 practitioners and then four collections through
the ORM (about 19 ms at 100k practitioners); these queries return tuples instead. The
three statements are built once at import (the ids are an expanding parameter), so a
search spends its time in SQLite, not in building and caching SQL constructs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, literal, select, union_all

from directory.extensions import db
from directory.practitioners.models import (
    Location,
    Practitioner,
    practitioner_condition,
    practitioner_language,
    practitioner_method,
)
from directory.practitioners.vocabulary import Term, cached_vocabulary
from directory.reviews.services import published_rating_columns

VERIFIED = ("verified", "expiring")


@dataclass(frozen=True)
class LocationCard:
    """A practice location as a result shows it."""

    id: int
    name: str
    city: str
    region: str
    postal_code: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    wheelchair_accessible: bool


@dataclass
class PractitionerCard:
    """A practitioner as a result shows it (attribute names match the Practitioner model)."""

    id: int
    slug: str
    first_name: str
    last_name: str
    title: str
    vetting_status: str
    vetting_status_since: datetime
    accepting_new_patients: bool
    telehealth: bool
    rating_average: float | None = None
    rating_count: int = 0
    locations: list[LocationCard] = field(default_factory=list)
    methods: list[Term] = field(default_factory=list)
    conditions: list[Term] = field(default_factory=list)
    languages: list[Term] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        """Return the name as shown on cards: "Mei Chen, L.Ac."."""
        name = f"{self.first_name} {self.last_name}"
        return f"{name}, {self.title}" if self.title else name


_IDS: Any = bindparam("ids", expanding=True)
_CARDS = select(Practitioner.id, Practitioner.slug, Practitioner.first_name, Practitioner.last_name,
                Practitioner.title, Practitioner.vetting_status, Practitioner.vetting_status_since,
                Practitioner.accepting_new_patients, Practitioner.telehealth,
                *published_rating_columns(Practitioner.id)).where(
    Practitioner.id.in_(_IDS), Practitioner.hidden.is_(False), Practitioner.vetting_status != "suspended")
_VERIFIED_CARDS = _CARDS.where(Practitioner.vetting_status.in_(VERIFIED))
_LOCATIONS = select(Location.practitioner_id, Location.id, Location.name, Location.city, Location.region,
                    Location.postal_code, Location.country, Location.latitude, Location.longitude, Location.timezone,
                    Location.wheelchair_accessible).where(Location.practitioner_id.in_(_IDS)).order_by(Location.id)
_TERMS = union_all(
    select(literal("m"), practitioner_method.c.practitioner_id, cast(practitioner_method.c.method_id, String))
    .where(practitioner_method.c.practitioner_id.in_(_IDS)),
    select(literal("c"), practitioner_condition.c.practitioner_id, cast(practitioner_condition.c.condition_id, String))
    .where(practitioner_condition.c.practitioner_id.in_(_IDS)),
    select(literal("l"), practitioner_language.c.practitioner_id, practitioner_language.c.language_code)
    .where(practitioner_language.c.practitioner_id.in_(_IDS)),
)


def load_cards(ids: Sequence[int], verified_only: bool) -> dict[int, PractitionerCard]:
    """Return cards for the visible practitioners among ``ids`` (not hidden, not suspended, verified if asked)."""
    if not ids:
        return {}
    cards = {}
    rows: Any = db.session.execute(_VERIFIED_CARDS if verified_only else _CARDS, {"ids": list(ids)})
    for row in rows:
        pid, slug, first, last, title, status, since, accepting, telehealth, average, count = row
        cards[pid] = PractitionerCard(pid, slug, first, last, title, status, since, accepting, telehealth,
                                      float(average) if average is not None else None, int(count or 0))
    if cards:
        _add_locations(cards)
        _add_terms(cards)
    return cards


def _add_locations(cards: dict[int, PractitionerCard]) -> None:
    """Attach each card's locations, in id order."""
    for row in db.session.execute(_LOCATIONS, {"ids": list(cards)}):
        cards[row[0]].locations.append(LocationCard(*row[1:]))


def _add_terms(cards: dict[int, PractitionerCard]) -> None:
    """Attach methods, conditions and languages from the link tables in one query."""
    vocab = cached_vocabulary()
    found: dict[tuple[str, int], list[str]] = defaultdict(list)
    for row in db.session.execute(_TERMS, {"ids": list(cards)}):
        found[(str(row[0]), int(row[1]))].append(str(row[2]))
    order = {"m": list(vocab.methods), "c": list(vocab.conditions)}
    for pid, card in cards.items():
        card.methods = [vocab.methods[i] for i in order["m"] if str(i) in found[("m", pid)]]
        card.conditions = [vocab.conditions[i] for i in order["c"] if str(i) in found[("c", pid)]]
        card.languages = sorted((vocab.languages[c] for c in found[("l", pid)] if c in vocab.languages),
                                key=lambda t: t.code)

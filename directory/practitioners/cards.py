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
from datetime import date
from typing import Any

from sqlalchemy import String, bindparam, cast, func, literal, select, union_all

from directory.clock import today
from directory.extensions import db
from directory.imports.listings import unclaimed_registry_listings
from directory.practitioners.models import (
    Location,
    Practitioner,
    practitioner_condition,
    practitioner_language,
    practitioner_method,
)
from directory.practitioners.vocabulary import Term, cached_vocabulary
from directory.reviews.models import Review
from directory.reviews.services import counted
from directory.vetting.evidence import EvidenceAge, evidence_of
from directory.vetting.facts import load_evidence_facts

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
    phone: str = ""
    booking_url: str = ""

    @property
    def tel_url(self) -> str:
        """Return the phone number as a ``tel:`` link (digits and a leading +), or "" without a number."""
        digits = "".join(c for c in self.phone if c.isdigit() or c == "+")
        return f"tel:{digits}" if any(c.isdigit() for c in digits) else ""

    @property
    def web_booking_url(self) -> str:
        """Return the booking link only when it is a web address (never ``javascript:`` or the like)."""
        url = self.booking_url.strip()
        return url if url.lower().startswith(("https://", "http://")) else ""


@dataclass
class PractitionerCard:
    """A practitioner as a result shows it (attribute names match the Practitioner model)."""

    id: int
    slug: str
    first_name: str
    last_name: str
    title: str
    vetting_status: str
    verified_since: date | None
    accepting_new_patients: bool
    telehealth: bool
    rating_average: float | None = None
    rating_count: int = 0
    locations: list[LocationCard] = field(default_factory=list)
    methods: list[Term] = field(default_factory=list)
    conditions: list[Term] = field(default_factory=list)
    languages: list[Term] = field(default_factory=list)
    evidence: EvidenceAge = field(default_factory=EvidenceAge)
    registry_unclaimed: bool = False  # listed from the NPI registry, nobody has claimed it yet
    photo_path: str | None = None

    @property
    def display_name(self) -> str:
        """Return the name as shown on cards: "Mei Chen, L.Ac."."""
        name = f"{self.first_name} {self.last_name}"
        return f"{name}, {self.title}" if self.title else name


_IDS: Any = bindparam("ids", expanding=True)
_RATED = (select(Review.practitioner_id, func.avg(Review.rating).label("average"), func.count().label("count"))
          .where(Review.practitioner_id.in_(_IDS), counted()).group_by(Review.practitioner_id).subquery())
# A page's cards in a fixed number of set-based statements, whatever the number of cards: the practitioners with
# their published ratings (one grouped join, not two subqueries per row), their vocabulary links, their locations.
_CARDS = (select(Practitioner.id, Practitioner.slug, Practitioner.first_name, Practitioner.last_name,
                 Practitioner.title, Practitioner.vetting_status, Practitioner.verified_since,
                 Practitioner.accepting_new_patients, Practitioner.telehealth, Practitioner.photo_path,
                 _RATED.c.average, _RATED.c.count)
          .outerjoin(_RATED, _RATED.c.practitioner_id == Practitioner.id)
          .where(Practitioner.id.in_(_IDS), Practitioner.hidden.is_(False), Practitioner.vetting_status != "suspended"))
_VERIFIED_CARDS = _CARDS.where(Practitioner.vetting_status.in_(VERIFIED))
_LINKS = union_all(*(
    select(link.c.practitioner_id, literal(kind), cast(link.c[column], String)).where(link.c.practitioner_id.in_(_IDS))
    for link, kind, column in ((practitioner_method, "method", "method_id"),
                               (practitioner_condition, "condition", "condition_id"),
                               (practitioner_language, "language", "language_code"))))
# Every location, placed or not: the placed ones are the card's, all of them say where the practitioner practises
# (the credentials the evidence lines are about).
_LOCATIONS = select(Location.practitioner_id, Location.id, Location.name, Location.city, Location.region,
                    Location.postal_code, Location.country, Location.latitude, Location.longitude, Location.timezone,
                    Location.wheelchair_accessible, Location.phone, Location.booking_url).where(
    Location.practitioner_id.in_(_IDS)).order_by(Location.id)


def load_cards(ids: Sequence[int], verified_only: bool, *, with_evidence: bool = True) -> dict[int, PractitionerCard]:
    """Return cards for the visible practitioners among ``ids`` (not hidden, not suspended, verified if asked).

    Core statements on the session's connection: the ORM layer of ``session.execute`` cost 0.2 ms a statement.
    ``with_evidence=False`` leaves out the "checked on" lines and the registry badge, which only pages show: they
    were two thirds of a page's cost at 100k practitioners (about 20 checks folded per card).
    """
    if not ids:
        return {}
    connection = db.session.connection()
    cards = {}
    # .all(): one driver fetchall per statement instead of a fetchone per row (a page's links are ~160 rows).
    rows: Any = connection.execute(_VERIFIED_CARDS if verified_only else _CARDS, {"ids": list(ids)}).all()
    for pid, slug, first, last, title, status, since, accepting, telehealth, photo, average, count in rows:
        cards[pid] = PractitionerCard(pid, slug, first, last, title, status, since, accepting, telehealth,
                                      float(average) if average is not None else None, int(count or 0),
                                      photo_path=photo)
    if not cards:
        return cards
    found = list(cards)
    _add_terms(cards, connection.execute(_LINKS, {"ids": found}).all())
    places = _add_locations(cards, connection.execute(_LOCATIONS, {"ids": found}).all())
    if with_evidence:
        _add_evidence(cards, places)
        for pid in unclaimed_registry_listings(found):
            cards[pid].registry_unclaimed = True
    return cards


def _add_terms(cards: dict[int, PractitionerCard], links: Any) -> None:
    """Give each card its methods, conditions and languages, in the order pages show them."""
    ranked = cached_vocabulary().ranked
    terms: dict[tuple[int, str], list[tuple[int, Term]]] = defaultdict(list)
    for pid, kind, key in links:
        if (entry := ranked[kind].get(key)) is not None:
            terms[pid, kind].append(entry)
    for (pid, kind), entries in terms.items():
        setattr(cards[pid], f"{kind}s", [term for _, term in sorted(entries)])


def _add_locations(cards: dict[int, PractitionerCard], rows: Any) -> dict[int, list[tuple[str, str]]]:
    """Give each card its placed locations; return every location's (country, region) per practitioner."""
    places: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pid, *loc in rows:
        places[pid].append((loc[5], loc[3]))
        if loc[6] is not None:
            cards[pid].locations.append(LocationCard(*loc))
    return places


def _add_evidence(cards: dict[int, PractitionerCard], places: dict[int, list[tuple[str, str]]]) -> None:
    """Attach to each card when its credentials were last checked (the status rules' facts, for the page's ids)."""
    day = today()
    for pid, facts in load_evidence_facts(list(cards), places).items():
        cards[pid].evidence = evidence_of(facts, day)

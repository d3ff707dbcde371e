"""Result cards: the few fields a result shows, loaded with plain SQL rather than whole ORM objects.

A page of 20 results used to load 20 practitioners and then four collections through
the ORM (about 19 ms at 100k practitioners); these queries return tuples instead. The
three statements are built once at import (the ids are an expanding parameter), so a
search spends its time in SQLite, not in building and caching SQL constructs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, bindparam, cast, func, select

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
from directory.reviews.services import published_rating_columns
from directory.vetting.evidence import EvidenceAge, evidence_of
from directory.vetting.facts import load_facts

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


def _linked(link: Any, column: str) -> Any:
    """Return a practitioner's linked values (ids or codes) as one comma-separated string (a scalar subquery)."""
    return (select(func.aggregate_strings(cast(link.c[column], String), ","))
            .where(link.c.practitioner_id == Practitioner.id).scalar_subquery())


_IDS: Any = bindparam("ids", expanding=True)
# Two statements a page: the cards (with their ratings and vocabulary links aggregated per row), then locations.
_CARDS = select(Practitioner.id, Practitioner.slug, Practitioner.first_name, Practitioner.last_name,
                Practitioner.title, Practitioner.vetting_status, Practitioner.verified_since,
                Practitioner.accepting_new_patients, Practitioner.telehealth, Practitioner.photo_path,
                *published_rating_columns(Practitioner.id),
                _linked(practitioner_method, "method_id"), _linked(practitioner_condition, "condition_id"),
                _linked(practitioner_language, "language_code")).where(
    Practitioner.id.in_(_IDS), Practitioner.hidden.is_(False), Practitioner.vetting_status != "suspended")
_VERIFIED_CARDS = _CARDS.where(Practitioner.vetting_status.in_(VERIFIED))
_LOCATIONS = select(Location.practitioner_id, Location.id, Location.name, Location.city, Location.region,
                    Location.postal_code, Location.country, Location.latitude, Location.longitude, Location.timezone,
                    Location.wheelchair_accessible, Location.phone, Location.booking_url).where(
    Location.practitioner_id.in_(_IDS), Location.latitude.is_not(None)).order_by(Location.id)


def load_cards(ids: Sequence[int], verified_only: bool) -> dict[int, PractitionerCard]:
    """Return cards for the visible practitioners among ``ids`` (not hidden, not suspended, verified if asked).

    Core statements on the session's connection: the ORM layer of ``session.execute`` cost 0.2 ms a statement.
    """
    if not ids:
        return {}
    vocab = cached_vocabulary()
    cards = {}
    rows: Any = db.session.connection().execute(_VERIFIED_CARDS if verified_only else _CARDS, {"ids": list(ids)})
    for row in rows:
        pid, slug, first, last, title, status, since, accepting, telehealth, photo, average, count, *links = row
        card = PractitionerCard(pid, slug, first, last, title, status, since, accepting, telehealth,
                                float(average) if average is not None else None, int(count or 0), photo_path=photo)
        methods, conditions, languages = (set(link.split(",")) if link else set() for link in links)
        card.methods = [term for key, term in vocab.methods.items() if str(key) in methods]
        card.conditions = [term for key, term in vocab.conditions.items() if str(key) in conditions]
        card.languages = sorted((vocab.languages[c] for c in languages if c in vocab.languages), key=lambda t: t.code)
        cards[pid] = card
    if cards:
        for loc in db.session.connection().execute(_LOCATIONS, {"ids": list(cards)}):
            cards[loc[0]].locations.append(LocationCard(*loc[1:]))  # type: ignore[arg-type]  # placed only (WHERE)
        _add_evidence(cards)
        for pid in unclaimed_registry_listings(list(cards)):
            cards[pid].registry_unclaimed = True
    return cards


def _add_evidence(cards: dict[int, PractitionerCard]) -> None:
    """Attach to each card when its credentials were last checked (the status rules' facts, for the page's ids)."""
    day = today()
    for pid, facts in load_facts(list(cards)).items():
        cards[pid].evidence = evidence_of(facts, day)

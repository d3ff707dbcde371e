"""What the search page shows around the results: card extras, and ways out of an empty result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select

from directory.extensions import db
from directory.practitioners.hours import NextOpening, next_opening
from directory.practitioners.models import HoursException, OpeningHours
from directory.practitioners.search_service import ResultRow
from directory.screening.rules import VERDICT_LABELS
from directory.screening.services import ScreeningResult
from search import SearchQuery

RADII_KM = (5, 10, 25, 50, 100, 250, 500)
TOGGLES = {"accepting_new_patients": "accepting new patients", "telehealth": "telehealth",
           "wheelchair_accessible": "wheelchair access", "gender": "practitioner gender", "open_now": "open now"}


@dataclass(frozen=True)
class MethodVerdict:
    """A method a card lists, with the patient's screening verdict for it."""

    name: str
    verdict: str
    label: str


@dataclass(frozen=True)
class CardExtras:
    """What a result card adds to the row: next opening and screening verdicts."""

    next_opening: NextOpening | None
    verdicts: list[MethodVerdict]


@dataclass(frozen=True)
class Relaxation:
    """One way to widen an empty search: what it does, and the query string that does it."""

    label: str
    params: dict[str, list[str]]


def card_extras(rows: Sequence[ResultRow], now: datetime, screening: ScreeningResult | None,
                methods: Sequence[str]) -> dict[int, CardExtras]:
    """Return, per practitioner id, when the nearest location next opens and the verdicts for ``methods``.

    The next opening honours the dated exceptions of the coming week (closed on a holiday), as the profile does:
    a card said "Open now" on a day its profile said closed. Rows, not ORM objects: a page reads ~100 of them.
    """
    location_ids = [row.nearest.id for row in rows]
    if not location_ids:
        return {}
    hours: dict[int, list[Any]] = {lid: [] for lid in location_ids}
    exceptions: dict[int, list[Any]] = {lid: [] for lid in location_ids}
    connection = db.session.connection()
    for h in connection.execute(_HOURS, {"ids": location_ids}):
        hours[h.location_id].append(h)
    # Every time zone's "today" lies within a day of UTC's; next_opening looks 7 days ahead.
    day = now.date()
    for e in connection.execute(_EXCEPTIONS, {"ids": location_ids, "first": day - timedelta(days=1),
                                              "last": day + timedelta(days=8)}):
        exceptions[e.location_id].append(e)
    return {
        row.practitioner.id: CardExtras(
            next_opening(hours[row.nearest.id], row.nearest.timezone, now, exceptions[row.nearest.id]),
            _verdicts(row, screening, methods),
        )
        for row in rows
    }


_HOURS = (select(OpeningHours.location_id, OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes)
          .where(OpeningHours.location_id.in_(bindparam("ids", expanding=True))))
_EXCEPTIONS = (select(HoursException.location_id, HoursException.on_date, HoursException.opens,
                      HoursException.closes)
               .where(HoursException.location_id.in_(bindparam("ids", expanding=True)),
                      HoursException.on_date.between(bindparam("first"), bindparam("last"))))


def _verdicts(row: ResultRow, screening: ScreeningResult | None, methods: Sequence[str]) -> list[MethodVerdict]:
    """Return the verdicts for the filtered methods this practitioner offers (none without a screening)."""
    if screening is None:
        return []
    offered = [m for m in row.practitioner.methods if m.slug in methods]
    return [MethodVerdict(m.name, screening.verdict_for(m.slug), VERDICT_LABELS[screening.verdict_for(m.slug)])
            for m in offered]


def relaxations(args: Mapping[str, list[str]], query: SearchQuery,
                vocabulary: Mapping[str, Mapping[str, str]]) -> list[Relaxation]:
    """Return the ways to widen a search that found nothing: a wider radius, then each filter dropped."""
    base = {key: values for key, values in given_args(args).items() if key != "page"}
    found: list[Relaxation] = []
    wider = next((r for r in RADII_KM if r > query.radius_km), None)
    if query.has_origin and wider:
        found.append(Relaxation(f"Search within {wider} km", {**base, "radius_km": [str(wider)]}))
    for kind, label in (("method", "method"), ("condition", "condition"), ("language", "language")):
        for value in base.get(kind, []):
            rest = [v for v in base[kind] if v != value]
            name = vocabulary[kind].get(value, value)
            found.append(Relaxation(f"Remove the {label} “{name}”", {**base, kind: rest}))
    for key, label in TOGGLES.items():
        if any(base.get(key, [])):
            found.append(Relaxation(f"Remove the filter on {label}", {**base, key: []}))
    if query.text:
        found.append(Relaxation(f"Remove the keywords “{query.text}”", {**base, "q": []}))
    if query.verified_only:
        found.append(Relaxation("Include practitioners whose checks are still in progress",
                                {**base, "verified_only": ["false"]}))
    return found


def given_args(args: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Return the parameters that were given a value: a form's "Any method" option sends ``method=`` (no filter)."""
    given = {key: [value for value in values if value.strip()] for key, values in args.items()}
    return {key: values for key, values in given.items() if values}


def active_filter_count(args: Mapping[str, Sequence[str]]) -> int:
    """Return how many filters the search applies (each chosen term, each yes/no, gender, checks in progress)."""
    given = given_args(args)
    terms = sum(len(given.get(kind, [])) for kind in ("method", "condition", "language"))
    toggles = sum(1 for key in TOGGLES if given.get(key) and given[key][0] != "false")
    return terms + toggles + (given.get("verified_only") == ["false"])


def search_path(target: str | None) -> str | None:
    """Return ``target`` only if it is this site's search page with its query string (the profile's way back)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path != "/search" or "\\" in target or any(c < " " for c in target):
        return None
    return f"/search?{parts.query}" if parts.query else "/search"


def query_args(args: Mapping[str, list[str]], **changes: Any) -> dict[str, list[str]]:
    """Return ``args`` with ``changes`` applied (None removes a key), for building links."""
    merged = {key: list(values) for key, values in args.items()}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = [str(value)]
    return merged

"""Autocomplete for the search box: places from the gazetteer, then methods and conditions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.extensions import db
from directory.geo import suggest_places
from directory.practitioners.models import Condition, Method
from search.text import fold

MAX_PREFIX = 100
SuggestionKind = Literal["place", "method", "condition"]


@dataclass(frozen=True)
class Suggestion:
    """One line of the autocomplete list: what it is, what it reads, what it sets."""

    kind: SuggestionKind
    label: str
    value: str

    def to_json(self) -> dict[str, Any]:
        """Return the suggestion as the JSON the script reads."""
        return asdict(self)


def suggest(prefix: str, places: int = 6, terms: int = 4) -> list[Suggestion]:
    """Return places starting with ``prefix``, then methods and conditions a word of which starts with it."""
    text = " ".join((prefix or "").split())[:MAX_PREFIX]
    if len(text) < 2:
        return []
    found = [Suggestion("place", p.label, p.label) for p in suggest_places(text, limit=places)]
    return found + _vocabulary_matches(fold(text), terms)


def _vocabulary_matches(folded: str, limit: int) -> list[Suggestion]:
    """Return methods, then conditions, whose name or a synonym has a word starting with ``folded``."""
    methods = db.session.scalars(select(Method).options(selectinload(Method.synonyms)).order_by(Method.sort_order))
    conditions = db.session.scalars(
        select(Condition).options(selectinload(Condition.synonyms)).order_by(Condition.sort_order))
    matches = [Suggestion("method", m.name, m.slug) for m in methods
               if _matches(folded, m.name, *(s.term for s in m.synonyms))]
    matches += [Suggestion("condition", c.name, c.slug) for c in conditions
                if _matches(folded, c.name, *(s.term for s in c.synonyms))]
    return matches[:limit]


def _matches(folded: str, *names: str) -> bool:
    """Tell whether ``folded`` starts one of ``names`` or one of their words."""
    for name in names:
        words = fold(name)
        if words.startswith(folded) or any(word.startswith(folded) for word in words.split()):
            return True
    return False

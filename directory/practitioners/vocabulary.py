"""Load the method, condition and language vocabularies from data into the database."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import select

from directory.extensions import db
from directory.practitioners.models import Condition, ConditionSynonym, Language, Method, MethodSynonym

VOCABULARY_FILE = Path(__file__).parent / "data" / "vocabulary.json"


@cache
def vocabulary_data() -> dict[str, Any]:
    """Return the vocabulary file's content (methods, conditions, languages)."""
    data: dict[str, Any] = json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))
    return data


def load_vocabularies() -> dict[str, int]:
    """Insert or update every vocabulary entry; idempotent. Return how many were added."""
    data = vocabulary_data()
    added = {
        "methods": _sync_terms(Method, MethodSynonym, "method", data["methods"]),
        "conditions": _sync_terms(Condition, ConditionSynonym, "condition", data["conditions"]),
        "languages": 0,
    }
    existing = {lang.code: lang for lang in db.session.scalars(select(Language))}
    for code, name in data["languages"]:
        if code not in existing:
            db.session.add(Language(code=code, name=name))
            added["languages"] += 1
        else:
            existing[code].name = name
    db.session.flush()
    forget_cached_vocabulary()
    return added


def _sync_terms(model: Any, synonym_model: Any, parent: str, entries: list[dict[str, Any]]) -> int:
    """Upsert one vocabulary (methods or conditions) with its synonyms; return how many were new."""
    rows: list[Any] = list(db.session.scalars(select(model)))
    existing = {row.slug: row for row in rows}
    added = 0
    for order, entry in enumerate(entries):
        row = existing.get(entry["slug"])
        if row is None:
            row = model(slug=entry["slug"])
            db.session.add(row)
            added += 1
        row.name = entry["name"]
        row.description = entry.get("description", "")
        row.sort_order = order
        wanted = [s.lower() for s in entry.get("synonyms", [])]
        row.synonyms = [s for s in row.synonyms if s.term in wanted]
        have = {s.term for s in row.synonyms}
        row.synonyms.extend(synonym_model(term=term) for term in wanted if term not in have)
    return added


@dataclass(frozen=True)
class Term:
    """A vocabulary entry as pages show it (a method, a condition or a language)."""

    slug: str
    name: str

    @property
    def code(self) -> str:
        """Return the slug under the name languages use (ISO 639-1 code)."""
        return self.slug


# Distinct key lists remembered per vocabulary load (ordered_terms): a few MB at most.
ORDERED_TERMS_MAX = 50_000


@dataclass(frozen=True)
class VocabularyCache:
    """The vocabularies of one database, by id (methods, conditions) and code (languages)."""

    methods: dict[int, Term]
    conditions: dict[int, Term]
    languages: dict[str, Term]
    loaded_at: float

    @cached_property
    def choices(self) -> dict[str, dict[str, str]]:
        """Return slug -> display name per kind ("method", "condition", "language"), built once per load."""
        return {
            "method": {t.slug: t.name for t in self.methods.values()},
            "condition": {t.slug: t.name for t in self.conditions.values()},
            "language": {t.code: t.name for t in self.languages.values()},
        }

    @cached_property
    def ranked(self) -> dict[str, dict[str, tuple[int, Term]]]:
        """Return, per kind, a link's stored key (id or code, as text) -> (display rank, term).

        Cards sort a practitioner's few terms by rank instead of walking the whole vocabulary per card:
        methods and conditions in their sort order, languages by code.
        """
        return {
            "method": {str(key): (rank, term) for rank, (key, term) in enumerate(self.methods.items())},
            "condition": {str(key): (rank, term) for rank, (key, term) in enumerate(self.conditions.items())},
            "language": {code: (rank, self.languages[code]) for rank, code in enumerate(sorted(self.languages))},
        }

    @cached_property
    def _ordered(self) -> dict[tuple[str, tuple[str, ...]], tuple[Term, ...]]:
        return {}

    def ordered_terms(self, kind: str, keys: Sequence[str]) -> list[Term]:
        """Return the terms of these stored keys (of ``kind``) that still exist, in display order.

        Memoized per key list: a page's cards repeat a few method and condition combinations, and sorting each
        card's terms again was a quarter of reading a card. The memo lives as long as this load of the
        vocabularies and holds at most ORDERED_TERMS_MAX lists (then it starts again).
        """
        memo = self._ordered
        key = (kind, tuple(keys))
        terms = memo.get(key)
        if terms is None:
            ranked = self.ranked[kind]
            terms = tuple(term for _, term in sorted(ranked[k] for k in keys if k in ranked))
            if len(memo) >= ORDERED_TERMS_MAX:
                memo.clear()
            memo[key] = terms
        return list(terms)


# Vocabularies change only through load_vocabularies (which clears this); the TTL bounds
# how long another process may show an old name after a deploy changed the data file.
_CACHE_TTL_S = 60.0
_cache: dict[str, VocabularyCache] = {}


def cached_vocabulary() -> VocabularyCache:
    """Return this database's vocabularies, loaded at most once a minute per process."""
    key = db.engine.url.render_as_string(hide_password=True)
    entry = _cache.get(key)
    if entry is None or time.monotonic() - entry.loaded_at > _CACHE_TTL_S:
        entry = VocabularyCache(
            methods={i: Term(s, n) for i, s, n in db.session.execute(
                select(Method.id, Method.slug, Method.name).order_by(Method.sort_order))},
            conditions={i: Term(s, n) for i, s, n in db.session.execute(
                select(Condition.id, Condition.slug, Condition.name).order_by(Condition.sort_order))},
            languages={c: Term(c, n) for c, n in db.session.execute(
                select(Language.code, Language.name).order_by(Language.name))},
            loaded_at=time.monotonic(),
        )
        _cache[key] = entry
    return entry


def forget_cached_vocabulary() -> None:
    """Drop every cached vocabulary (after the tables changed)."""
    _cache.clear()

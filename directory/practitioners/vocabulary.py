"""Load the method, condition and language vocabularies from data into the database."""

from __future__ import annotations

import json
from functools import cache
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

"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory.extensions import db


def test_migrated_schema_matches_the_models(session: Any) -> None:
    context = MigrationContext.configure(session.connection(), opts={"compare_type": True})
    assert compare_metadata(context, db.metadata) == []


def test_vocabularies_are_loaded_from_data(session: Any) -> None:
    from directory.models import Condition, ConditionSynonym, Method, MethodSynonym

    methods = {m.slug for m in session.query(Method)}
    assert {"filiform-needling", "electroacupuncture", "moxibustion", "tui-na", "cupping", "auricular",
            "acupressure", "laser-acupuncture"} <= methods
    conditions = {c.slug for c in session.query(Condition)}
    assert {"low-back-pain", "sciatica", "neck-pain", "torticollis", "knee-osteoarthritis", "hip-osteoarthritis",
            "shoulder-osteoarthritis", "spondylosis", "early-disc-herniation", "headache-migraine",
            "fibromyalgia"} <= conditions
    assert session.query(MethodSynonym).filter_by(term="moxa").one().method.slug == "moxibustion"
    assert session.query(ConditionSynonym).filter_by(term="lumbago").one().condition.slug == "low-back-pain"
    assert session.query(ConditionSynonym).filter_by(term="wry neck").one().condition.slug == "torticollis"


def test_loading_vocabularies_twice_changes_nothing(session: Any) -> None:
    from directory.practitioners.vocabulary import load_vocabularies

    assert load_vocabularies() == {"methods": 0, "conditions": 0, "languages": 0}

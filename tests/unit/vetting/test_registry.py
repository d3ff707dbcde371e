"""The source registry: every code the database allows is a registered, labelled source, and vice versa."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from directory.errors import InvalidParameter
from directory.extensions import db
from directory.vetting.forms import SOURCE_CHOICES
from directory.vetting.models import CHECK_SOURCES, CREDENTIAL_KINDS
from directory.vetting.sources import registry
from directory.vetting.sources.base import Finding, NotRunnable, RunContext
from directory.vetting.sources.manual import STATE_BOARD
from tests.unit.vetting.builders import us_practitioner

# The table the status rules used before the registry (vetting.status.PRIMARY_SOURCES): kept
# here to prove that moving it onto the sources changed nothing.
PRIMARY_SOURCES_BEFORE = {
    "state_licence": {"state_board", "document", "manual"},
    "national_licence": {"state_board", "document", "manual"},
    "foreign_registration": {"state_board", "document", "manual"},
    "medical_degree": {"state_board", "certification_body", "document", "manual"},
    "certification": {"certification_body", "document", "manual"},
    "npi": {"npi_registry", "manual"},
    "insurance": {"document", "manual"},
}
# And the source each credential kind's due check was queued for (vetting.due before the registry).
DUE_SOURCE_BEFORE = {"npi": "npi_registry", "state_licence": "state_board", "national_licence": "state_board",
                     "certification": "certification_body", "foreign_registration": "document",
                     "medical_degree": "document", "insurance": "document"}


def _constraint_codes() -> set[str]:
    """Read the codes the migrated database's ``source_known`` CHECK constraint allows."""
    if db.session.get_bind().dialect.name == "postgresql":
        definition = db.session.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname LIKE '%source_known%' "
            "AND conrelid = 'verification_check'::regclass")).scalar_one()
    else:
        table = db.session.execute(text(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'verification_check'")).scalar_one()
        definition = next(part for part in table.split("CONSTRAINT") if "source_known" in part)
    return set(re.findall(r"'([a-z_]+)'", definition))


def test_every_code_in_the_check_constraint_is_a_registered_source_and_back(session: Any) -> None:
    allowed = _constraint_codes()
    assert "npi_registry" in allowed and "exclusion_list" in allowed, "the constraint was read"
    assert set(registry.codes()) == allowed == set(CHECK_SOURCES)


def test_every_source_has_its_labels_and_window() -> None:
    for source in registry.SOURCES:
        assert source.label and source.public_label and source.history_label, source.code
        assert registry.label(source.code) == source.label
        assert source.window_days == (30 if source.automated else 365), source.code
        assert set(source.credential_kinds) <= set(CREDENTIAL_KINDS), source.code


def test_codes_are_unique() -> None:
    assert len(registry.codes()) == len(registry.SOURCES)


def test_the_primary_sources_of_each_credential_kind_are_unchanged() -> None:
    assert {kind: set(registry.primary_source_codes(kind)) for kind in CREDENTIAL_KINDS} == PRIMARY_SOURCES_BEFORE


def test_each_credential_kind_is_queued_for_the_same_source_as_before() -> None:
    assert {kind: registry.due_source(kind).code for kind in CREDENTIAL_KINDS} == DUE_SOURCE_BEFORE


def test_automated_and_manual_split_the_registry() -> None:
    assert [s.code for s in registry.automated()] == ["npi_registry", "exclusion_list", "sam_exclusions"]
    assert [s.code for s in registry.manual()] == ["state_board", "certification_body", "document", "manual",
                                                 "review_signal"]
    assert [s.code for s in registry.exclusion_screens()] == ["exclusion_list", "sam_exclusions"]
    assert [s.code for s in registry.for_credential_kind("certification")] == ["certification_body", "document",
                                                                                "manual"]


def test_the_manual_check_form_offers_the_manual_sources_with_their_labels() -> None:
    assert [(c.value, c.label) for c in SOURCE_CHOICES] == [(s.code, s.label) for s in registry.manual()]


def test_an_unknown_code_is_a_clear_not_found() -> None:
    with pytest.raises(registry.UnknownSource, match="no check source with that name") as raised:
        registry.get("astrology")
    assert raised.value.status == 404
    with pytest.raises(registry.UnknownSource, match="recorded by an admin"):
        registry.get_automated("state_board")
    with pytest.raises(InvalidParameter, match="Choose where the check was made"):
        registry.get_manual("npi_registry")
    assert registry.history_label("retired_code") == "retired_code", "an old row still shows"


def test_a_manual_source_does_not_run(session: Any) -> None:
    with pytest.raises(NotRunnable, match="checked by an admin"):
        STATE_BOARD.run(us_practitioner(), RunContext(today=date(2026, 1, 1)))


def test_a_finding_refuses_an_unknown_outcome() -> None:
    with pytest.raises(InvalidParameter, match="unknown outcome"):
        Finding("npi_registry", "maybe", "")

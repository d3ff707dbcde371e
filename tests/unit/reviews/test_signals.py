"""Adverse-event detection in review text: terms, inflections, negation within a short window, folding."""

from __future__ import annotations

import pytest

from directory.reviews.signals import adverse_event_terms


@pytest.mark.parametrize(("text", "expected"), [
    ("I fainted after the second needle.", ["fainting"]),
    ("There was some bleeding at the neck point.", ["bleeding"]),
    ("The moxa burned my skin.", ["burn"]),
    ("I bled a little, and later the spot got infected.", ["bleeding", "infection"]),
    ("A needle broke in my back; the broken needle was removed at the ER.", ["broken needle"]),
    ("Doctors found a pneumothorax the next day.", ["pneumothorax"]),
    ("Months of nerve damage in my leg.", ["nerve injury"]),
    ("BLEEDING that would not stop", ["bleeding"]),
    ("Got an ínfection after the cupping", ["infection"]),
])
def test_mentions_of_adverse_events_are_found(text: str, expected: list[str]) -> None:
    assert adverse_event_terms(text) == expected


@pytest.mark.parametrize("text", [
    "There was no bleeding at all.",
    "Without any bleeding or bruising.",
    "I didn't faint, although I was nervous.",
    "I didn’t faint (curly apostrophe).",
    "Never had a burn from the moxa.",
    "No infection, no pneumothorax, nothing.",
    "Gentle, calm and helpful.",
])
def test_negated_or_absent_mentions_are_not_signals(text: str) -> None:
    assert adverse_event_terms(text) == []


def test_a_negation_ends_at_the_clause() -> None:
    assert adverse_event_terms("No pain during it, but I bled afterwards.") == ["bleeding"]
    assert adverse_event_terms("No bruising. Bleeding for an hour though.") == ["bleeding"]


def test_a_negation_far_before_the_term_does_not_cancel_it() -> None:
    assert adverse_event_terms("No complaints about the room or the staff or the parking, fainting aside") == \
        ["fainting"]


def test_configured_terms_replace_the_list() -> None:
    assert adverse_event_terms("Some bruising and bleeding", ["bruising"]) == ["bruising"]

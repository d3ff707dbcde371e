"""Adverse-event mentions in review text, negation aware: a pure function and the record that flags them.

The terms are those patient-safety reviews of acupuncture report (bleeding, infection, fainting,
burns from moxibustion, pneumothorax, nerve injury, a broken needle); ``REVIEW_ADVERSE_EVENT_TERMS``
replaces them. A term is not a signal when a negation ("no", "without", "didn't", ...) comes within
a few words before it: "no bleeding at all", "without any bruising or bleeding", "I didn't faint".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from search.text import fold

DEFAULT_TERMS = ("bleeding", "infection", "fainting", "burn", "pneumothorax", "nerve injury", "broken needle")
# Simple inflections patients write: "bled", "fainted", "burned", "infected" count as the term.
INFLECTIONS: Mapping[str, tuple[str, ...]] = {
    "bleeding": ("bleed", "bleeds", "bled", "bleeding"),
    "infection": ("infection", "infections", "infected"),
    "fainting": ("faint", "fainted", "fainting", "passed out"),
    "burn": ("burn", "burns", "burned", "burnt", "burning"),
    "pneumothorax": ("pneumothorax", "collapsed lung", "punctured lung"),
    "nerve injury": ("nerve injury", "nerve damage", "damaged nerve"),
    "broken needle": ("broken needle", "needle broke", "needle broken", "needle snapped"),
}
NEGATIONS = frozenset({"no", "not", "never", "without", "nor", "none", "neither", "didnt", "didn't", "wasnt",
                       "wasn't", "dont", "don't", "doesnt", "doesn't", "havent", "haven't", "hadnt", "hadn't",
                       "zero"})
WINDOW = 4  # words before the term in which a negation cancels it
_WORD = re.compile(r"[a-z0-9']+")
_CLAUSE_BREAK = re.compile(r"[.;!?]|\bbut\b|\bhowever\b|\bthough\b")


def adverse_event_terms(text: str, terms: Iterable[str] = DEFAULT_TERMS) -> list[str]:
    """Return the configured terms ``text`` mentions as having happened (negated mentions do not count)."""
    clauses = _CLAUSE_BREAK.split(fold(text).replace("\u2019", "'"))
    found = [term for term in terms if any(_mentions(clause, term) for clause in clauses)]
    return list(dict.fromkeys(found))


def _mentions(clause: str, term: str) -> bool:
    """Tell whether one clause mentions ``term`` (or an inflection) without a negation shortly before."""
    words = _WORD.findall(clause)
    for form in INFLECTIONS.get(fold(term), (fold(term),)):
        phrase = _WORD.findall(form)
        for start in range(len(words) - len(phrase) + 1):
            if words[start:start + len(phrase)] == phrase and not _negated(words[max(0, start - WINDOW):start]):
                return True
    return False


def _negated(before: list[str]) -> bool:
    """Tell whether the words before a term negate it."""
    return any(word in NEGATIONS for word in before)

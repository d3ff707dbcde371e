"""How old the evidence is: when each required credential was last checked at its primary source. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from directory.vetting.sources import registry
from directory.vetting.status import VettingFacts, required_pairs

EXCLUSION_LISTS = "Exclusion lists"


@dataclass(frozen=True)
class Evidence:
    """One required credential (or the exclusion lists) and the day of its latest primary-source check."""

    what: str
    checked_on: date | None
    source: str = ""

    @cached_property  # a page asks each line's words twice (the tooltip and the screen-reader text)
    def where(self) -> str:
        """Return where the check was made, in public words ("" for the exclusion lists, which name themselves)."""
        if self.what == EXCLUSION_LISTS or self.source not in registry.codes():
            return ""
        return registry.get(self.source).checked_where

    @cached_property
    def date_label(self) -> str:
        """Return the check's day as "3 Nov 2026" ("" when never checked)."""
        return format_day(self.checked_on) if self.checked_on else ""

    @property
    def sentence(self) -> str:
        """Return the evidence line: "Licence (NY) checked at the state board on 12 Mar 2026"."""
        if self.checked_on is None:
            return f"{self.what}: not confirmed yet"
        where = f" {self.where}" if self.where else ""
        return f"{self.what} checked{where} on {self.date_label}"


def format_day(day: date) -> str:
    """Return ``day`` as "3 Nov 2026" (no leading zero, on every platform)."""
    return f"{day.day} {day:%b %Y}"


@dataclass(frozen=True)
class EvidenceAge:
    """One practitioner's evidence lines, and the short form a card shows: the oldest of their days."""

    lines: tuple[Evidence, ...] = ()

    @cached_property  # a card reads it three times (the test, the datetime, the label); the lines never change
    def oldest(self) -> date | None:
        """Return the oldest latest check: everything was confirmed on or after it (None if one never was)."""
        return oldest_check(self.lines)

    @property
    def oldest_label(self) -> str:
        """Return the oldest latest check as "3 Nov 2026" ("" without one)."""
        return format_day(self.oldest) if self.oldest else ""

    @cached_property
    def summary(self) -> str:
        """Return every evidence line in one sentence list, for a tooltip or a screen reader."""
        return "; ".join(line.sentence for line in self.lines)


def evidence_of(facts: VettingFacts, today: date) -> EvidenceAge:
    """Return when each required credential was last confirmed at its primary source, then the exclusion lists."""
    lines = [Evidence(group.label[:1].upper() + group.label[1:], c.last_pass_on if c else None,
                      c.last_pass_source if c else "")
             for group, c in required_pairs(facts, today) if c is not None]
    if facts.credentials:
        lines.append(Evidence(EXCLUSION_LISTS, facts.last_exclusion_check_on, "exclusion_list"))
    return EvidenceAge(tuple(lines))


def oldest_check(evidence: Sequence[Evidence]) -> date | None:
    """Return the day of the oldest latest check: everything was confirmed on or after it (None if one never was)."""
    days = [e.checked_on for e in evidence]
    if not days or None in days:
        return None
    return min(d for d in days if d is not None)

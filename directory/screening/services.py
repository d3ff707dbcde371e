"""Turn screening answers into one verdict per method, and keep them only when asked to."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from directory.extensions import db
from directory.screening.models import Screening
from directory.screening.rules import METHODS, RULES, RULES_BY_KEY, VERDICTS, Rule, Verdict

# Where answers the patient chose to use during this visit live: the signed session cookie,
# never the database (that only happens through save_screening, at the patient's request).
SESSION_KEY = "screening_flags"


@dataclass(frozen=True)
class Flag:
    """One "yes" answer: its rule and the methods it touches, grouped by verdict (most restrictive first)."""

    rule: Rule
    methods_by_verdict: tuple[tuple[Verdict, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ScreeningResult:
    """Verdicts per method for a set of answers, and the flags behind them."""

    flags: tuple[Flag, ...]
    verdicts: Mapping[str, Verdict]

    @property
    def needs_clearance(self) -> bool:
        """Tell whether some method needs a doctor's agreement first."""
        return "clearance" in self.verdicts.values()

    @property
    def not_today(self) -> bool:
        """Tell whether some answer rules out treatment today."""
        return "not_today" in self.verdicts.values()

    def verdict_for(self, method: str) -> Verdict:
        """Return the verdict for ``method`` ("ok" for a method the table does not know)."""
        return self.verdicts.get(method, "ok")


def known_flags(keys: Iterable[str]) -> tuple[str, ...]:
    """Return the keys that are questions of the table, in table order (unknown ones dropped)."""
    wanted = set(keys)
    return tuple(rule.key for rule in RULES if rule.key in wanted)


def most_restrictive(verdicts: Iterable[Verdict]) -> Verdict:
    """Return the most restrictive of ``verdicts`` ("ok" when there are none)."""
    return max(verdicts, key=VERDICTS.index, default="ok")


def evaluate(keys: Iterable[str], methods: Iterable[str] = METHODS) -> ScreeningResult:
    """Return one verdict per method for the questions answered yes (``keys``)."""
    rules = [RULES_BY_KEY[key] for key in known_flags(keys)]
    methods = tuple(methods)
    verdicts = {method: most_restrictive(rule.verdict_for(method) for rule in rules) for method in methods}
    return ScreeningResult(tuple(_flag(rule, methods) for rule in rules), verdicts)


def _flag(rule: Rule, methods: tuple[str, ...]) -> Flag:
    """Group ``methods`` by the verdict ``rule`` gives them, most restrictive first, skipping "ok"."""
    groups = []
    for verdict in reversed(VERDICTS):
        touched = tuple(m for m in methods if rule.verdict_for(m) == verdict)
        if touched and verdict != "ok":
            groups.append((verdict, touched))
    return Flag(rule, tuple(groups))


def remembered_result(session: Mapping[str, object]) -> ScreeningResult | None:
    """Return the result of the answers kept in ``session`` for this visit, if any."""
    keys = session.get(SESSION_KEY)
    if not isinstance(keys, list):
        return None
    return evaluate(str(key) for key in keys)


def save_screening(user_id: int, result: ScreeningResult) -> Screening:
    """Store the answers and verdicts for ``user_id`` (only ever at the patient's request)."""
    screening = Screening(
        user_id=user_id,
        answers=json.dumps([flag.rule.key for flag in result.flags]),
        verdicts=json.dumps(dict(result.verdicts), sort_keys=True),
    )
    db.session.add(screening)
    db.session.flush()
    return screening

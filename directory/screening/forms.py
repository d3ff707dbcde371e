"""The screening questionnaire as a WTForms form, one yes/no box per row of the rule table."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField

from directory.screening.rules import METHODS, RULES

# Only a search page of this site may be returned to: a path, never a scheme or another host.
_RETURN_TO = re.compile(r"/search(\?[^\s\\]*)?")


def safe_return_to(value: str | None) -> str | None:
    """Return ``value`` when it is a link back to /search on this site, else None."""
    if value and len(value) <= 2000 and _RETURN_TO.fullmatch(value):
        return value
    return None


def known_method(value: str | None) -> str | None:
    """Return ``value`` when it is a method the rule table covers, else None."""
    return value if value in METHODS else None


class _ScreeningFormBase(FlaskForm):
    """Context fields carried through the questionnaire; the question boxes are added below."""

    method = HiddenField()
    practitioner = HiddenField()
    return_to = HiddenField()
    remember = BooleanField("Show my results beside search results during this visit "
                            "(kept in this browser only, until you close it or choose “Forget my answers”)")
    save = BooleanField("Also save my answers to my account, so they can be attached to a referral")

    def answered_yes(self) -> list[str]:
        """Return the keys of the questions ticked, in table order."""
        return [rule.key for rule in RULES if self[rule.key].data]

    def questions(self) -> list[Any]:
        """Return the question fields in table order."""
        return [self[rule.key] for rule in RULES]


# The questions are fields generated from the rule table, so a new row is a new question.
ScreeningForm: type[_ScreeningFormBase] = type(
    "ScreeningForm", (_ScreeningFormBase,), {rule.key: BooleanField(rule.question) for rule in RULES}
)


class ForgetForm(FlaskForm):
    """The "forget my answers" button (CSRF-protected like every POST)."""

    return_to = HiddenField()

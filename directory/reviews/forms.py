"""The review pages' forms: writing or editing a review, reporting one, responding, moderating.

The services check every value (ranges, vocabulary, lengths, the visit month) and their messages
land on the fields (run_action ``form=``); these forms only carry the values.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import MonthField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from directory.reviews.moderation import REASONS
from directory.reviews.writing import ReviewInput

STARS = [SelectChoice(str(n), f"{n} star{'' if n == 1 else 's'}") for n in range(5, 0, -1)]
OPTIONAL_STARS = [SelectChoice("", "No answer"), *STARS]
PAIN = [SelectChoice("", "No answer"), *(SelectChoice(str(n), str(n)) for n in range(11))]
REASON_CHOICES = [SelectChoice(key, label) for key, label in REASONS.items()]


def small_number(value: Any) -> int | None:
    """Coerce a submitted score: None when blank, the number when it is a short whole number, else -1 (refused)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) <= 2 else -1


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReviewForm(FlaskForm):
    """A patient's review: overall and sub-ratings, text, condition, methods, visit month, pain before/after."""

    rating = RadioField("Overall rating", choices=STARS, coerce=small_number, validate_choice=False)
    communication_rating = RadioField("Communication", choices=OPTIONAL_STARS, coerce=small_number,
                                      validate_choice=False, default="")
    risks_rating = RadioField("Explanation of risks", choices=OPTIONAL_STARS, coerce=small_number,
                              validate_choice=False, default="")
    pain_effect_rating = RadioField("Effect on pain", choices=OPTIONAL_STARS, coerce=small_number,
                                    validate_choice=False, default="")
    title = StringField("Title (optional)")
    body = TextAreaField("Your review", description="What happened at your visit, in your own words (up to 5,000 "
                                                    "characters). Leave out phone numbers, emails and links.")
    condition = RadioField("Condition treated", choices=[], validate_choice=False, default="")
    methods = CheckboxesField("Methods you received", choices=[], validate_choice=False)
    visit_month = MonthField("Month of your visit", validators=[Optional()])
    pain_before = RadioField("Pain before the treatment (0 = none, 10 = worst imaginable)", choices=PAIN,
                             coerce=small_number, validate_choice=False, default="")
    pain_after = RadioField("Pain after the course of treatment", choices=PAIN, coerce=small_number,
                            validate_choice=False, default="")

    def offer(self, conditions: dict[str, str], methods: dict[str, str]) -> None:
        """Fill the condition and method choices from the vocabulary."""
        self.condition.choices = [SelectChoice("", "Not specified"), *(SelectChoice(*c) for c in conditions.items())]
        self.methods.choices = [SelectChoice(*m) for m in methods.items()]

    def review_input(self) -> ReviewInput:
        """Return what the form carries as the service's input."""
        return ReviewInput(
            rating=self.rating.data, body=self.body.data or "", title=self.title.data or "",
            communication_rating=self.communication_rating.data, risks_rating=self.risks_rating.data,
            pain_effect_rating=self.pain_effect_rating.data, condition=self.condition.data or None,
            methods=tuple(str(m) for m in self.methods.data or ()), visit_month=self.visit_month.data,
            pain_before=self.pain_before.data, pain_after=self.pain_after.data)


class ReportForm(FlaskForm):
    """Report a published review: a reason from the fixed list and an optional note."""

    reason = RadioField("Why are you reporting it?", choices=REASON_CHOICES, validate_choice=False)
    note = TextAreaField("Anything our moderators should know (optional)")


class ResponseForm(FlaskForm):
    """The practitioner's public response to a review."""

    body = TextAreaField("Your public response", description="Shown under the review. Never mention health "
                                                             "details the patient did not write themselves.")


class RejectForm(FlaskForm):
    """An admin rejects (or removes) a review with a reason from the fixed list."""

    reason = RadioField("Reason", choices=REASON_CHOICES, validate_choice=False)
    note = TextAreaField("Note for the history (admins only)")


class ConfirmVisitForm(FlaskForm):
    """An admin confirms that the visit happened, saying how."""

    note = StringField("How was the visit confirmed?")


class ApproveForm(FlaskForm):
    """An admin approves a review (the CSRF token only)."""

"""The referral pages' forms: a doctor's referral, a patient's request, and one form per lifecycle action.

The services check every value against the vocabulary, the practitioner and the length limits, and
their messages land on the fields (run_action ``form=``); these forms only carry the values.
"""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from directory.screening.rules import RULES

URGENCY_CHOICES = [SelectChoice("routine", "Routine"), SelectChoice("soon", "Soon (within two weeks)")]
SCREENING_CHOICES = [SelectChoice(rule.key, rule.question) for rule in RULES]


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _SendForm(FlaskForm):
    """What a referral and a request share: the one-time key, condition, method, screening answers."""

    # One key per page load: a double submit of the same page sends one referral (services.send_referral).
    idempotency_key = HiddenField(default=lambda: uuid.uuid4().hex)
    condition = SelectField("Condition", choices=[], validate_choice=False)
    method = SelectField("Preferred method", choices=[], validate_choice=False)
    screening_answers = CheckboxesField("Screening answers", choices=SCREENING_CHOICES, validate_choice=False)
    flags_acknowledged = BooleanField("I have read these flags and taken them into account")

    def offer(self, conditions: dict[str, str], methods: dict[str, str]) -> None:
        """Fill the condition and method lists (blank first: both are optional)."""
        self.condition.choices = [SelectChoice("", "Not specified"), *(SelectChoice(*c) for c in conditions.items())]
        self.method.choices = [SelectChoice("", "No preference"), *(SelectChoice(*m) for m in methods.items())]


class ReferralForm(_SendForm):
    """A doctor refers a patient: the minimum about the patient, why, how soon."""

    patient_name = StringField("Patient's name")
    patient_contact = StringField("Patient's email or phone", description="So the practitioner can arrange the visit.")
    reason = TextAreaField("Reason for the referral")
    urgency = RadioField("Urgency", choices=URGENCY_CHOICES, default="routine", validate_choice=False)


class RequestForm(_SendForm):
    """A signed-in patient asks for an appointment."""

    preferred_times = TextAreaField("When suits you", description="For example: weekday mornings, not Fridays.")
    reason = TextAreaField("Your message", description="What you would like help with.")


class ActionForm(FlaskForm):
    """One lifecycle button: an optional or required note, and the time when scheduling."""

    note = TextAreaField("Note")
    # Labelled per referral with the clinic's zone (views._detail_page): the time is the clinic's wall clock.
    when = DateTimeLocalField("Date and time", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                              validators=[Optional()])


class ReadForm(FlaskForm):
    """Mark one notice (or, without an id, all of them) read."""

    notification_id = HiddenField()

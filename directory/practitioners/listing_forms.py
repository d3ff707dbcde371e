"""Forms of a practitioner's own listing: claim it, create it, edit it (checkbox groups, photo, booking link)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from directory.extensions import db
from directory.practitioners.models import GENDERS, Condition, Method

GENDER_LABELS = {"female": "Female", "male": "Male", "nonbinary": "Non-binary", "unspecified": "Prefer not to say"}
MAX_BIO = 4000


class CheckboxGroupField(SelectMultipleField):
    """Several choices as a list of checkboxes (never a Ctrl-click multi-select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def booking_link(form: Any, field: Any) -> None:
    """Accept only an http(s) address with a host (never javascript:, data: or a bare word)."""
    value = (field.data or "").strip()
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError("Enter the booking page's web address, starting with https:// or http://.")


class ClaimForm(FlaskForm):
    """Ask to own this profile (one button; the note is optional)."""

    evidence = TextAreaField("How we can check it is you (optional: licence number, clinic website...)",
                             validators=[Optional(), Length(max=2000)])


class NameFields(FlaskForm):
    """The name a listing is shown under."""

    first_name = StringField("First name", validators=[DataRequired("Enter your first name."), Length(max=80)])
    last_name = StringField("Last name", validators=[DataRequired("Enter your last name."), Length(max=80)])
    title = StringField("Title or credentials (e.g. L.Ac.)", validators=[Optional(), Length(max=40)])


class CreateListingForm(NameFields):
    """Create one's own listing; it is hidden until an admin approves it like a claim."""

    evidence = TextAreaField("How we can check it is you (licence number, clinic website...)",
                             validators=[DataRequired("Tell us how to check it is you."), Length(max=2000)])


class ListingForm(NameFields):
    """Everything a practitioner edits on their own listing."""

    bio = TextAreaField("About your practice", validators=[Optional(), Length(max=MAX_BIO)], render_kw={"rows": 8})
    photo = FileField("Photo (JPEG, PNG or WebP)")
    remove_photo = BooleanField("Remove the current photo")
    gender = SelectField("Gender", choices=[SelectChoice(g, GENDER_LABELS[g]) for g in GENDERS], default="unspecified")
    accepting_new_patients = BooleanField("Accepting new patients")
    telehealth = BooleanField("Offers telehealth consultations")
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    booking_url = StringField("Online booking page", validators=[Optional(), Length(max=500), booking_link])
    fees = TextAreaField("Fees", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    insurance = TextAreaField("Insurance accepted", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    methods = CheckboxGroupField("Methods you practise")
    conditions = CheckboxGroupField("Conditions you treat")
    languages = CheckboxGroupField("Languages you consult in")

    def set_choices(self, vocabulary: dict[str, dict[str, str]]) -> None:
        """Fill the choices from the vocabulary tables (unknown slugs then fail validation)."""
        self.methods.choices = [SelectChoice(k, v) for k, v in vocabulary["method"].items()]
        self.conditions.choices = [SelectChoice(k, v) for k, v in vocabulary["condition"].items()]
        self.languages.choices = [SelectChoice(k, v) for k, v in vocabulary["language"].items()]


def synonyms_by_slug() -> dict[str, dict[str, list[str]]]:
    """Return the other names patients use for each method and condition, to show beside its checkbox."""
    found: dict[str, dict[str, list[str]]] = {"method": {}, "condition": {}}
    for method in db.session.scalars(select(Method).options(selectinload(Method.synonyms))):
        found["method"][method.slug] = [s.term for s in method.synonyms]
    for condition in db.session.scalars(select(Condition).options(selectinload(Condition.synonyms))):
        found["condition"][condition.slug] = [s.term for s in condition.synonyms]
    return found

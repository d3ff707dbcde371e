"""Forms of a listing's locations: the address (and an optional typed pin), the week's hours, a dated exception."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, FloatField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from directory.practitioners.hours import WEEKDAYS
from directory.practitioners.listing_forms import booking_link


class LocationForm(FlaskForm):
    """A practice address; the pin comes from the gazetteer unless both coordinates are typed."""

    name = StringField("Practice name (optional)", validators=[Optional(), Length(max=160)])
    address_line1 = StringField("Street address", validators=[DataRequired(), Length(max=200)])
    address_line2 = StringField("Address line 2 (optional)", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[DataRequired(), Length(max=120)])
    region = StringField("State or region", validators=[Optional(), Length(max=80)])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    country = StringField("Country (two letters)", default="US", validators=[
        DataRequired(), Regexp(r"^[A-Za-z]{2}$", message="Enter the two-letter country code, e.g. US.")])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    booking_url = StringField("Booking page", validators=[Optional(), Length(max=500), booking_link])
    latitude = FloatField("Latitude", validators=[Optional(), NumberRange(
        -90, 90, message="Latitude must be between -90 and 90.")])
    longitude = FloatField("Longitude", validators=[Optional(), NumberRange(
        -180, 180, message="Longitude must be between -180 and 180.")])

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate the fields, then ask for both coordinates or neither (Optional() skips a field's own checks)."""
        valid = bool(super().validate(extra_validators))
        if valid and (self.latitude.data is None) != (self.longitude.data is None):
            self.longitude.errors = ["Type both latitude and longitude to move the pin, or leave both empty."]
            return False
        return valid


class WeekForm(FlaskForm):
    """The week's hours, one text box a day: "09:00-12:00, 13:00-17:00"; empty means closed."""


for _day, _name in enumerate(WEEKDAYS):
    setattr(WeekForm, f"day_{_day}", StringField(_name, validators=[Optional(), Length(max=200)]))


class ExceptionForm(FlaskForm):
    """One date's change: closed all day, or open only at the hours given."""

    # InputRequired, not DataRequired: the latter would hide "Not a valid date value" behind "enter the date".
    on_date = DateField("Date", validators=[InputRequired(message="Enter the date, e.g. 2026-12-24.")])
    closed = BooleanField("Closed all day")
    hours = StringField("Or open only (e.g. 10:00-14:00)", validators=[Optional(), Length(max=200)])
    note = StringField("Note (optional)", validators=[Optional(), Length(max=200)])

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate the fields, then ask for exactly one of "closed" and special hours."""
        valid = bool(super().validate(extra_validators))
        if valid and bool(self.closed.data) == bool((self.hours.data or "").strip()):
            self.hours.errors = ["Either tick \u201cClosed all day\u201d or give the special hours: one of the two."]
            return False
        return valid


class RemoveExceptionForm(FlaskForm):
    """Which date's exception to remove."""

    on_date = DateField("Date", validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token (remove a location)."""

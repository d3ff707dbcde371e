"""The search form: every query-string parameter of /search and the search API, validated."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, NumberRange, Optional, ValidationError

from directory.practitioners.models import GENDERS


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """Return WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _drop_blank(values: list[str] | None) -> list[str]:
    """Drop empty values, so a form's "Any method" option (value "") means no filter."""
    return [v for v in values or [] if v]


TRI_STATE = [("", "Any"), ("true", "Yes"), ("false", "No")]


def _yes_no(label: str, name: str, pairs: list[tuple[str, str]] = TRI_STATE, default: str = "") -> SelectField:
    """Return a true/false select whose error names the parameter and its values (not "Not a valid choice")."""
    return SelectField(label, choices=_choices(pairs), default=default, validate_choice=False,
                       validators=[AnyOf([value for value, _ in pairs], message=f"{name} must be true or false")])


def _tri_state(value: str | None) -> bool | None:
    """Return True, False or None (no filter) from "true"/"false"/""."""
    return {"true": True, "false": False}.get(value or "")


class SearchForm(FlaskForm):
    """Search parameters; method/condition/language choices come from the vocabulary tables."""

    class Meta:
        csrf = False  # a GET search changes nothing

    place = StringField("Place", validators=[Optional(), Length(max=200, message="place must be at most 200 characters")])
    lat = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90, "lat must be between -90 and 90")])
    lon = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180, "lon must be between -180 and 180")])
    radius_km = FloatField("Within (km)", default=25, validators=[Optional(), NumberRange(
        0.1, 500, "radius_km must be more than 0 and at most 500")])
    method = SelectMultipleField("Method", choices=[], validate_choice=False, filters=[_drop_blank])
    condition = SelectMultipleField("Condition", choices=[], validate_choice=False, filters=[_drop_blank])
    language = SelectMultipleField("Language", choices=[], validate_choice=False, filters=[_drop_blank])
    gender = SelectField("Practitioner gender", choices=_choices([("", "Any"), *[(g, g.title()) for g in GENDERS]]),
                         default="")
    accepting_new_patients = _yes_no("Accepting new patients", "accepting_new_patients")
    telehealth = _yes_no("Offers telehealth", "telehealth")
    wheelchair_accessible = _yes_no("Wheelchair-accessible location", "wheelchair_accessible")
    # "true" keeps practitioners with a location open at this minute; "false" or "" (the default) filters nothing.
    open_now = _yes_no("Open now", "open_now")
    q = StringField("Keywords", validators=[Optional(), Length(max=200, message="q must be at most 200 characters")])
    verified_only = _yes_no("Verified only", "verified_only", [("true", "Yes"), ("false", "No")], default="true")
    sort = SelectField("Sort by", choices=_choices([("distance", "Distance"), ("relevance", "Relevance"), ("rating", "Rating")]),
                       default="distance", validators=[AnyOf(["distance", "relevance", "rating"])])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, message="page must be 1 or more")])
    per_page = IntegerField("Per page", default=20, validators=[Optional(), NumberRange(
        1, 100, "per_page must be between 1 and 100")])

    def __init__(self, *args: Any, vocabulary: dict[str, dict[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocabulary = vocabulary
        self.method.choices = _choices(list(vocabulary["method"].items()))
        self.condition.choices = _choices(list(vocabulary["condition"].items()))
        self.language.choices = _choices(list(vocabulary["language"].items()))

    def _known(self, field: Any, kind: str) -> None:
        """Refuse values that are not in the ``kind`` vocabulary, naming them."""
        unknown = [v for v in field.data or [] if v not in self.vocabulary[kind]]
        if unknown:
            shown = ", ".join(repr(v[:40]) for v in unknown[:3])
            raise ValidationError(f"unknown {kind} {shown}; use one of the {kind} slugs")

    def validate_method(self, field: Any) -> None:
        """Only known method slugs."""
        self._known(field, "method")

    def validate_condition(self, field: Any) -> None:
        """Only known condition slugs."""
        self._known(field, "condition")

    def validate_language(self, field: Any) -> None:
        """Only known ISO 639-1 codes."""
        self._known(field, "language")

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate every field, then the rules that span fields (coordinates come in pairs)."""
        valid = super().validate(extra_validators)
        if valid and (self.lat.data is None) != (self.lon.data is None):
            missing = self.lon if self.lon.data is None else self.lat
            missing.errors = [*missing.errors, "give both lat and lon, or neither"]
            return False
        return valid

    def first_error(self) -> tuple[str, str]:
        """Return (field name, message) of the first invalid field."""
        name, messages = next(iter(self.errors.items()))
        return name, str(messages[0])

    def filters(self) -> dict[str, Any]:
        """Return the validated filters as SearchQuery keyword arguments (origin excluded)."""
        return {
            "radius_km": self.radius_km.data or 25.0,
            "methods": tuple(self.method.data or ()),
            "conditions": tuple(self.condition.data or ()),
            "languages": tuple(self.language.data or ()),
            "gender": self.gender.data or None,
            "accepting_new_patients": _tri_state(self.accepting_new_patients.data),
            "telehealth": _tri_state(self.telehealth.data),
            "wheelchair_accessible": _tri_state(self.wheelchair_accessible.data),
            "text": (self.q.data or "").strip(),
            "open_now": self.open_now.data == "true",
            "verified_only": self.verified_only.data != "false",
            "sort": self.sort.data or "distance",
            "page": self.page.data or 1,
            "per_page": self.per_page.data or 20,
        }

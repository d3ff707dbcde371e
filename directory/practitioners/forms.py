"""The search form: every query-string parameter of /search and the search API, validated."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, NumberRange, Optional, ValidationError

from directory.practitioners.models import GENDERS
from search.types import FACET_FIELDS, MAX_RESULT_WINDOW


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """Return WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _drop_blank(values: list[str] | None) -> list[str]:
    """Drop empty values, so a form's "Any method" option (value "") means no filter."""
    return [v for v in values or [] if v]


TRI_STATE = [("", "Any"), ("true", "Yes"), ("false", "No")]
# The select options of the last vocabulary seen: vocabulary_choices() hands out one dict per vocabulary load, so
# its options are built once per load rather than on every search (read-only: WTForms only iterates them).
_OPTIONS: dict[int, tuple[dict[str, dict[str, str]], dict[str, list[SelectChoice]]]] = {}


def _vocabulary_choices(vocabulary: dict[str, dict[str, str]]) -> dict[str, list[SelectChoice]]:
    """Return the method, condition and language options of ``vocabulary``, built once per vocabulary object."""
    cached = _OPTIONS.get(id(vocabulary))
    if cached is not None and cached[0] is vocabulary:
        return cached[1]
    options = {kind: _choices(list(vocabulary[kind].items())) for kind in ("method", "condition", "language")}
    _OPTIONS.clear()
    _OPTIONS[id(vocabulary)] = (vocabulary, options)
    return options


class WholeNumberField(IntegerField):
    """An integer parameter refused, in one message, unless it is plain digits within its bounds.

    The digits are counted before Python converts them, so 80 digits, a sign, "1e308", "NaN" or
    "inf" never become a number that reaches arithmetic or SQL.
    """

    def __init__(self, label: str, parameter: str, low: int, high: int, **kwargs: Any) -> None:
        self.message = f"{parameter} must be a whole number from {low} to {high}"
        self.high = high
        super().__init__(label, validators=[Optional(), NumberRange(low, high, self.message)], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the first value as a bounded integer (absent keeps the default, blank means not given)."""
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        if not text:
            self.data = None
            return
        if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(self.high)):
            self.data = None
            raise ValueError(self.message)
        self.data = int(text)


class NumberParameterField(FloatField):
    """A decimal parameter whose unreadable values get the same message as out-of-range ones."""

    def __init__(self, label: str, low: float, high: float, message: str, **kwargs: Any) -> None:
        self.message = message
        super().__init__(label, validators=[Optional(), NumberRange(low, high, message)], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the first value as a float, or fail with the range message."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.message) from None


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
    lat = NumberParameterField("Latitude", -90, 90, "lat must be a number between -90 and 90")
    lon = NumberParameterField("Longitude", -180, 180, "lon must be a number between -180 and 180")
    radius_km = NumberParameterField("Within (km)", 0.1, 500, "radius_km must be a number from 0.1 to 500",
                                     default=25)
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
    page = WholeNumberField("Page", "page", 1, MAX_RESULT_WINDOW, default=1)
    per_page = WholeNumberField("Per page", "per_page", 1, 100, default=20)
    # Counting facets reads every match; pages past the first show none, so by default only page 1 counts them.
    facets = _yes_no("Facet counts (by default on page 1 only)", "facets")

    def __init__(self, *args: Any, vocabulary: dict[str, dict[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocabulary = vocabulary
        choices = _vocabulary_choices(vocabulary)
        self.method.choices = choices["method"]
        self.condition.choices = choices["condition"]
        self.language.choices = choices["language"]

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
        """Validate every field, then the rules that span fields (coordinates come in pairs, one value each)."""
        valid = super().validate(extra_validators)
        for field in self:
            # Two pages (?page=1&page=2) is a client's bug; picking one silently would hide it.
            if not isinstance(field, SelectMultipleField) and len(field.raw_data or ()) > 1:
                field.errors = [f"{field.name} was given {len(field.raw_data)} times; give it once"]
                valid = False
        if valid and (self.lat.data is None) != (self.lon.data is None):
            missing = self.lon if self.lon.data is None else self.lat
            missing.errors = [*missing.errors, "give both lat and lon, or neither"]
            return False
        return valid

    def first_error(self) -> tuple[str, str]:
        """Return (field name, message) of the first invalid field."""
        name, messages = next(iter(self.errors.items()))
        return name, str(messages[0])

    def filters(self, facets: tuple[str, ...] = FACET_FIELDS) -> dict[str, Any]:
        """Return the validated filters as SearchQuery keyword arguments (origin excluded).

        ``facets`` are the fields counted when counts are asked for (facets=true), or by default on page 1.
        """
        page = self.page.data or 1
        wanted = _tri_state(self.facets.data)
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
            "page": page,
            "per_page": self.per_page.data or 20,
            "facets": facets if (page == 1 if wanted is None else wanted) else (),
        }

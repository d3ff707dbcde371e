"""Forms of the verification workbench: the queue filter (GET), assignment and batch runs (POST)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice as Choice
from wtforms.validators import NumberRange, Optional, Regexp

from directory.accounts.models import User
from directory.vetting.status import STATUSES
from directory.vetting.workbench import ITEM_KINDS, QueueFilter, is_known_source, known_sources, source_label

MAX_PAGE = 10_000  # bounds the page number before it reaches arithmetic
DUE_CHOICES = [Choice("", "Any time"), Choice("overdue", "Overdue"), Choice("within", "Due within N days"),
               Choice("before", "Due before a date")]
SORT_CHOICES = [Choice("due", "Due date"), Choice("name", "Name")]
FILTER_FIELDS = ("status", "kind", "source", "jurisdiction", "due", "within_days", "before", "assigned", "sort")


class QueueFilterForm(FlaskForm):
    """Filter and sort the queue; every value is checked, and a wrong one is named, never ignored."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField("Vetting status", choices=[Choice("", "Any"), *(Choice(s, s.capitalize()) for s in STATUSES)],
                         validators=[Optional()])
    kind = SelectField("Item", choices=[Choice("", "Any"), *(Choice(k, v) for k, v in ITEM_KINDS.items())], validators=[Optional()])
    source = SelectField("Source", validate_choice=False,
                         choices=[Choice("", "Any"), *(Choice(s, source_label(s)) for s in known_sources())])
    jurisdiction = StringField("State or country", validators=[
        Optional(), Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,3})?$",
                           message="Give a state or country code, such as MA, US-MA or GB.")])
    due = SelectField("Due", choices=DUE_CHOICES, validators=[Optional()])
    within_days = IntegerField("Within (days)", validators=[
        Optional(), NumberRange(1, 366, "Give a number of days from 1 to 366.")])
    before = DateField("Before", validators=[Optional()])
    assigned = SelectField("Assigned to", validate_choice=False, choices=[Choice("", "Anyone")])
    sort = SelectField("Sort by", choices=SORT_CHOICES, validators=[Optional()])
    page = IntegerField("Page", validators=[Optional(), NumberRange(1, MAX_PAGE, "No such page.")])

    def offer_admins(self, admins: list[User], me: User) -> None:
        """Offer "mine", "unassigned" and each active admin as the assignee filter."""
        self.admin_ids = {str(a.id) for a in admins}
        self.assigned.choices = [Choice("", "Anyone"), Choice("mine", "Me"), Choice("unassigned", "Nobody"),
                                 *(Choice(str(a.id), a.full_name or a.email) for a in admins if a.id != me.id)]

    def validate_source(self, field: Any) -> None:
        """Refuse a source code that names no source."""
        if field.data and not is_known_source(field.data):
            raise ValidationError(f"There is no source with the code {field.data[:40]!r}; choose one from the list.")

    def validate_assigned(self, field: Any) -> None:
        """Accept mine, unassigned, or the id of an active admin."""
        if field.data and field.data not in ("mine", "unassigned") and field.data not in getattr(self, "admin_ids", ()):
            raise ValidationError("Choose an admin from the list, yourself, or nobody.")

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field, then require the days or the date the chosen due filter needs."""
        valid = super().validate(extra_validators)
        if self.due.data == "within" and self.within_days.data is None and not self.within_days.errors:
            self.within_days.errors = ["Say within how many days."]
            valid = False
        if self.due.data == "before" and self.before.data is None and not self.before.errors:
            self.before.errors = ["Give the date."]
            valid = False
        return valid

    def queue_filter(self) -> QueueFilter:
        """Return the validated filter."""
        return QueueFilter(status=self.status.data or "", kind=self.kind.data or "", source=self.source.data or "",
                           jurisdiction=(self.jurisdiction.data or "").strip(), due=self.due.data or "",
                           within_days=self.within_days.data, before=self.before.data,
                           assigned=self.assigned.data or "", sort=self.sort.data or "due")

    def query_args(self) -> dict[str, str]:
        """Return the filter as query-string arguments (only what was set), for links that keep it."""
        args = {}
        for name in FILTER_FIELDS:
            value = self[name].data
            if value not in (None, "") and not (name == "sort" and value == "due"):
                args[name] = value.isoformat() if name == "before" else str(value)
        return args


class AssignForm(FlaskForm):
    """Assign a practitioner's open items to an admin, or to nobody; ``back`` is the queue filter to return to."""

    assignee = SelectField("Assign to", choices=[Choice("", "Nobody")])
    back = HiddenField()

    def offer_admins(self, admins: list[User]) -> None:
        """Offer the active admins (and nobody) as assignees."""
        self.assignee.choices = [Choice("", "Nobody"), *(Choice(str(a.id), a.full_name or a.email) for a in admins)]


class BatchForm(FlaskForm):
    """Start a batch of automated checks over the filter carried in ``back`` (a query string)."""

    back = HiddenField()


class StepForm(FlaskForm):
    """Run the next chunk of a batch; ``at`` is the position the admin saw, so a repeated post does nothing."""

    at = IntegerField(validators=[NumberRange(0, 1_000_000, "Reload the batch page and continue from there.")])

"""Forms of the verification queue and of practitioners' own credentials; limits match the database columns."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from directory.vetting.credentials import CredentialDetails
from directory.vetting.labels import ADMIN_CATEGORIES, DECISION_CATEGORIES
from directory.vetting.models import CREDENTIAL_KINDS, Credential
from directory.vetting.sources import registry

SOURCE_CHOICES = [SelectChoice(source.code, source.label) for source in registry.manual()]
OUTCOME_CHOICES = [SelectChoice("pass", "Pass: the source confirms it"),
                   SelectChoice("fail", "Fail: the source contradicts it"),
                   SelectChoice("needs_review", "Needs review: unclear, another admin should look")]
NO_CREDENTIAL = SelectChoice(0, "None (the practitioner as a whole)")
REASON = [DataRequired("Give the reason; it is kept with the decision."), Length(max=2000)]


class RunCheckForm(FlaskForm):
    """Run an automated source now (the form carries only the CSRF token)."""


class ManualCheckForm(FlaskForm):
    """Record a check made by hand: what, where, the outcome, a note and an optional document."""

    credential_id = SelectField("Credential checked", coerce=int, choices=[NO_CREDENTIAL])
    source = SelectField("Where it was checked", choices=SOURCE_CHOICES)
    what = StringField("What was checked", validators=[DataRequired("Say what was checked."), Length(max=200)])
    reference = StringField("URL or reference", validators=[Optional(), Length(max=500)])
    outcome = SelectField("Outcome", choices=OUTCOME_CHOICES)
    # The note is hashed into the chain verbatim, so it is published with it (see the README).
    note = TextAreaField("Note (public: published with the verification history)",
                         validators=[Optional(), Length(max=2000)])
    document = FileField("Document (PDF, PNG or JPEG)")

    def offer_credentials(self, credentials: list[Credential]) -> None:
        """Offer the practitioner's credentials as choices."""
        self.credential_id.choices = [NO_CREDENTIAL] + [
            SelectChoice(c.id, f"{c.kind.replace('_', ' ')} {c.number} {c.jurisdiction}".strip()) for c in credentials
        ]


class DecisionForm(FlaskForm):
    """Suspend or reinstate: the private reason is required, the public category is chosen from a list."""

    category = SelectField("Shown publicly as", default="administrative_review",
                           choices=[SelectChoice(c, DECISION_CATEGORIES[c]) for c in ADMIN_CATEGORIES])
    reason = TextAreaField("Reason (kept private, for admins)", validators=REASON)


KIND_CHOICES = [SelectChoice(k, k.replace("_", " ").capitalize()) for k in CREDENTIAL_KINDS]
NEW_CREDENTIAL = SelectChoice(0, "Nothing: add a new credential")


class CredentialFields(FlaskForm):
    """A credential's fields and its document; limits match the columns (credentials._validate has the rest)."""

    kind = SelectField("Kind", choices=KIND_CHOICES)
    issuer = StringField("Issued by", validators=[Optional(), Length(max=200)])
    number = StringField("Number", validators=[DataRequired("Give the credential's number."), Length(max=60)])
    jurisdiction = StringField("Jurisdiction (e.g. MA)", validators=[Length(max=60)])
    valid_from = DateField("Valid from", validators=[Optional()])
    valid_until = DateField("Valid until", validators=[Optional()])
    document = FileField("Document (PDF, PNG or JPEG)")

    def validate_valid_until(self, field: DateField) -> None:
        """Refuse an expiry before the start (the database refuses it too)."""
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError("The credential cannot expire before it starts.")

    def validate_jurisdiction(self, field: StringField) -> None:
        """Require the state of a state licence: each state needs its own."""
        if self.kind.data == "state_licence" and not (field.data or "").strip():
            raise ValidationError("Give the state that issued the licence.")

    def details(self) -> CredentialDetails:
        """Return what was typed, for record_credential."""
        return CredentialDetails(self.kind.data or "", self.issuer.data or "", self.number.data or "",
                                 self.jurisdiction.data or "", self.valid_from.data, self.valid_until.data)


class CredentialForm(CredentialFields):
    """Add a credential, or renew one (the old one is withdrawn), with its document: the admin's form."""

    replaces = SelectField("Renews", coerce=int, choices=[NEW_CREDENTIAL])

    def offer_credentials(self, credentials: list[Credential]) -> None:
        """Offer the practitioner's current credentials as the one being renewed."""
        self.replaces.choices = [NEW_CREDENTIAL] + [
            SelectChoice(c.id, f"{c.kind.replace('_', ' ')} {c.number} {c.jurisdiction}".strip())
            for c in credentials if c.withdrawn_at is None]


class OwnCredentialForm(CredentialFields):
    """A practitioner adds, renews or corrects one of their own credentials (the kind must be chosen)."""

    kind = SelectField("Kind", choices=[SelectChoice("", "Choose the kind of credential"), *KIND_CHOICES],
                       validators=[DataRequired("Choose the kind of credential.")])


class ExclusionReviewForm(FlaskForm):
    """Decide on an exclusion-list hit."""

    decision = RadioField("Decision", choices=[SelectChoice("clear", "Not this person: clear the match"),
                                               SelectChoice("confirm", "Same person: confirm (the practitioner is suspended)")],
                          validators=[DataRequired("Choose a decision.")])
    reason = TextAreaField("Reason (public: published with the verification history)", validators=REASON)
    # Which list's match is decided (the page shows one at a time); the service refuses an unknown code plainly.
    source = HiddenField("List")


class IdentityForm(FlaskForm):
    """Date of birth and former names, used only to match the exclusion list."""

    date_of_birth = DateField("Date of birth", validators=[Optional()])
    former_names = TextAreaField("Former names (one per line, first name then last name)",
                                 validators=[Optional(), Length(max=2000)])

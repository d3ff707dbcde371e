"""Account forms; rules match the services and the database (lower-case email, role list)."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from directory.accounts import doctors
from directory.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from directory.accounts.services import EMAIL_MAX_LENGTH, email_problem


def usable_email(form: Any, field: Any) -> None:
    """Refuse an address the services refuse too (one rule for the forms and `flask users create-admin`)."""
    problem = email_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def usable_next(target: str | None) -> str:
    """Drop a ``next`` too long to be one of our paths: it is ignored, never a reason to refuse a sign-in."""
    return target if target and len(target) <= 500 else ""


ROLE_CHOICES = [SelectChoice("patient", "Patient"), SelectChoice("doctor", "Doctor (referring physician)"),
                SelectChoice("practitioner", "Acupuncture practitioner")]
EMAIL = [DataRequired("Enter your email address."), Length(max=EMAIL_MAX_LENGTH), usable_email]
NEW_PASSWORD = [DataRequired("Choose a password."), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                                                            message=f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.")]


def _stripped(value: str | None) -> str:
    """Return the text without surrounding spaces."""
    return (value or "").strip()


def _code(value: str | None) -> str:
    """Return a code without spaces, upper-case ("us-ny " -> "US-NY")."""
    return re.sub(r"\s+", "", value or "").upper()


class SignUpForm(FlaskForm):
    """Create an account; a doctor also gives an NPI or a licence (the same rule as the service)."""

    full_name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=160)])
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password (12 characters or more)", validators=NEW_PASSWORD)
    role = SelectField("I am a", choices=ROLE_CHOICES, default="patient")
    npi = StringField("NPI (10 digits)", filters=[_code], render_kw={"inputmode": "numeric"},
                      validators=[Length(max=10, message="An NPI has 10 digits.")])
    licence_number = StringField("Licence number", filters=[_stripped],
                                 validators=[Length(max=doctors.LICENCE_MAX_LENGTH)])
    jurisdiction = StringField("Where it was issued (US-NY for a state, GB for a country)", filters=[_code],
                               validators=[Length(max=doctors.JURISDICTION_MAX_LENGTH,
                                                  message="Write it as a code: US-NY, GB, CA-ON.")])

    def validate(self, extra_validators: Any = None) -> bool:
        """Check the fields, then a doctor's credentials (ignored for other roles)."""
        if not super().validate(extra_validators):
            return False
        if self.role.data != "doctor":
            return True
        problem = doctors.credentials_problem(self._given())
        if problem:
            self[problem[0]].errors = [*self[problem[0]].errors, problem[1]]
            return False
        return True

    def doctor_credentials(self) -> doctors.DoctorCredentials | None:
        """Return the credentials a doctor gave (None for the other roles: what they typed is dropped)."""
        return self._given() if self.role.data == "doctor" else None

    def _given(self) -> doctors.DoctorCredentials:
        """Return what was typed into the doctor's fields."""
        return doctors.DoctorCredentials(self.npi.data or "", self.licence_number.data or "",
                                         self.jurisdiction.data or "")


class SignInForm(FlaskForm):
    """Sign in; ``next`` is checked by the view (same-site paths only)."""

    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)])
    next = HiddenField(filters=[usable_next])


class ResetRequestForm(FlaskForm):
    """Ask for a password-reset link."""

    email = EmailField("Email", validators=EMAIL)


class NewPasswordForm(FlaskForm):
    """Choose a new password."""

    password = PasswordField("New password (12 characters or more)", validators=NEW_PASSWORD)
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("password", "The passwords differ.")])


class ConfirmDeleteForm(FlaskForm):
    """Delete one's account: type DELETE to confirm."""

    confirm = StringField("Type DELETE to confirm", validators=[DataRequired(), Length(max=10)])


class ClaimForm(FlaskForm):
    """Ask to own an existing practitioner profile."""

    slug = StringField("Profile address (the part after /practitioners/)",
                       validators=[DataRequired("Enter the profile address."), Length(max=120)])
    evidence = TextAreaField("How we can check it is you (licence number, clinic website...)",
                             validators=[DataRequired("Tell us how to check."), Length(max=2000)])


class ApproveForm(FlaskForm):
    """Approve a doctor or practitioner; the licence an admin looked up is recorded (needed without a passing NPI)."""

    licence_number = StringField("Licence number", validators=[Optional(), Length(max=doctors.LICENCE_MAX_LENGTH)])
    jurisdiction = StringField("Jurisdiction code (US-NY, GB)", filters=[_code],
                               validators=[Optional(), Length(max=doctors.JURISDICTION_MAX_LENGTH)])
    where_checked = StringField("Where you checked it (the board's register)",
                                validators=[Optional(), Length(max=doctors.WHERE_CHECKED_MAX_LENGTH)])


class CheckNpiForm(FlaskForm):
    """Ask the registry about a waiting doctor's NPI (the button carries only the CSRF token)."""


class RefuseForm(FlaskForm):
    """Refuse a waiting doctor or practitioner; the reason is emailed to them."""

    reason = TextAreaField("Reason (sent to the applicant)",
                           validators=[DataRequired("Give the reason: it is sent to the applicant."), Length(max=2000)])


class ResendConfirmationForm(FlaskForm):
    """Ask for a new email-confirmation link."""

    email = EmailField("Email", validators=EMAIL)


class RoleForm(FlaskForm):
    """Change a user's role."""

    role = SelectField("Role", choices=[*ROLE_CHOICES, SelectChoice("admin", "Admin")])


class ClaimDecisionForm(FlaskForm):
    """Approve or reject a profile claim."""

    decision = SelectField("Decision", choices=[SelectChoice("approve", "Approve"), SelectChoice("reject", "Reject")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])


class AuditFilterForm(FlaskForm):
    """Filter the audit trail."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    action = StringField("Action", validators=[Optional(), Length(max=60)])
    actor = StringField("Actor email", validators=[Optional(), Length(max=254)])
    subject_type = StringField("Subject type", validators=[Optional(), Length(max=40)])

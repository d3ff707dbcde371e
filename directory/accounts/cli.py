"""Account commands: `flask users create-admin`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from directory.accounts import passwords
from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.accounts.services import email_problem, normalise_email
from directory.clock import utcnow
from directory.extensions import db


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create-admin")
@click.option("--email", prompt=True, help="The admin's email address.")
@click.option("--name", "full_name", default="Administrator", show_default=True, help="The admin's name.")
@click.password_option("--password", help="At least 12 characters, not a common password.")
@with_appcontext
def create_admin(email: str, full_name: str, password: str) -> None:
    """Create an admin account (confirmed and approved), or promote an existing user to admin."""
    problem = passwords.password_problem(password, context=(email, full_name))
    if problem:
        raise click.BadParameter(problem, param_hint="--password")
    email = normalise_email(email)
    if problem := email_problem(email):
        raise click.BadParameter(problem, param_hint="--email")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=full_name, password_hash=passwords.hash_password(password))
        db.session.add(user)
    user.role, user.practitioner_id, user.state = "admin", None, "active"
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    user.approved_at = user.approved_at or utcnow()
    db.session.flush()
    record_audit("role_changed", actor_id=None, subject_type="user", subject_id=user.id, new="admin", via="cli")
    db.session.commit()
    click.echo(f"{email} is an admin")


@click.group("mail")
def mail_group() -> None:
    """Deliver queued email."""


@mail_group.command("send")
@with_appcontext
def send_mail() -> None:
    """Send queued messages through MAIL_SERVER (host:port); without it, they stay queued."""
    from flask import current_app

    from directory.accounts.mail import send_pending

    if not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException("MAIL_SERVER is not set (host:port of an SMTP server); messages stay queued")
    sent, failed = send_pending()
    click.echo(f"sent {sent}, failed {failed}")

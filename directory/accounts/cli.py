"""Account commands: `flask users create-admin`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from directory.accounts.services import make_admin
from directory.errors import InvalidParameter
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
    try:
        user = make_admin(email, full_name, password, via="cli")
    except InvalidParameter as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.field}") from None
    db.session.commit()
    click.echo(f"{user.email} is an admin")


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

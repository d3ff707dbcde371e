"""`flask vetting sign-heads`: sign and publish today's statement of every chain head."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from directory.extensions import db
from directory.vetting.heads import issue_statement


def sign_heads_and_report() -> None:
    """Issue the day's statement (unless it is already current), commit, and say which one is in force."""
    try:
        issued = issue_statement()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        # The unique statement number refused a second signer racing this one: its statement stands.
        raise click.ClickException("another statement was issued at the same moment; run sign-heads again") from None
    statement = issued.statement
    verb = "signed" if issued.new else "unchanged: already signed"
    click.echo(f"{verb} chain-head statement #{statement.number} ({statement.heads_count} chains, "
               f"sha256 {statement.sha256[:12]}, key {statement.key_id[:12]})")


@click.command("sign-heads")
@with_appcontext
def sign_heads_command() -> None:
    """Sign every practitioner chain's head (once a day, again only when a head changed)."""
    sign_heads_and_report()

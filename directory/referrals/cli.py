"""Referral commands: `flask referrals expire` (cron) and `flask referrals rotate-keys`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from directory.extensions import db
from directory.referrals.models import Referral
from directory.referrals.privacy import rotate_all
from directory.referrals.services import expire_overdue


@click.group("referrals")
def referrals_group() -> None:
    """Expire unanswered referrals and rotate the key that seals patient data."""


@referrals_group.command("expire")
@with_appcontext
def referrals_expire() -> None:
    """Expire sent referrals past their respond-by time and tell both parties (safe to run from cron)."""
    expired = expire_overdue()
    db.session.commit()
    click.echo(f"expired {expired} referral{'s' if expired != 1 else ''}")


@referrals_group.command("rotate-keys")
@with_appcontext
def referrals_rotate_keys() -> None:
    """Re-seal every referral's patient data with the newest REFERRAL_KEYS key (safe to run again)."""
    total = db.session.scalar(select(func.count(Referral.id))) or 0
    with click.progressbar(length=total, label="Re-sealing referrals") as bar:
        changed = rotate_all(bar.update, commit=db.session.commit)
    db.session.commit()
    click.echo(f"re-sealed {changed} of {total} referrals with the newest key")

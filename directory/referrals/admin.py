"""Admin screen of referral numbers: per practitioner, how often they accept, how fast they answer, how often they finish."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from directory.accounts.policy import roles_required
from directory.referrals.numbers import SORTS, duration_label, numbers_table, sort_key

bp = Blueprint("referrals_admin", __name__, url_prefix="/admin/referrals")


@bp.get("")
@roles_required("admin")
def numbers() -> Any:
    """Show every practitioner who received referrals with their numbers, sorted by the ``sort`` column."""
    sort = sort_key(request.args.get("sort"))
    return render_template("referrals/admin_numbers.html", rows=numbers_table(sort), sort=sort, sorts=SORTS,
                           duration_label=duration_label)

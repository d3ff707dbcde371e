"""The vetting policy in force: NCQA defaults overridden by the VETTING_* settings."""

from __future__ import annotations

from typing import Any

from flask import current_app

from directory.vetting.status import DEFAULT_POLICY, VettingPolicy, monitoring_windows

CONFIG_KEYS = {
    "VETTING_PRIMARY_SOURCE_DAYS": "primary_source_days",
    "VETTING_EXCLUSION_DAYS": "exclusion_days",
    "VETTING_REVERIFY_MONTHS": "reverify_months",
    "VETTING_EXPIRING_DAYS": "expiring_within_days",
    "VETTING_NAME_MATCH_REVIEW_DAYS": "name_match_review_days",
}
# Monitoring windows by kind of source: automated sources monthly, manual checks yearly by default.
MONITORING_KEYS = {"VETTING_AUTOMATED_MONITORING_DAYS": "automated_days", "VETTING_MANUAL_MONITORING_DAYS": "manual_days"}


def current_policy() -> VettingPolicy:
    """Return the vetting policy, NCQA defaults overridden by VETTING_* settings."""
    config = current_app.config
    values: dict[str, Any] = {attr: int(config[key]) for key, attr in CONFIG_KEYS.items() if key in config}
    if "VETTING_ALERT_DAYS" in config:
        days = config["VETTING_ALERT_DAYS"]
        # From the environment it is text ("90,60,30,14,7,0"); from a test it may be a tuple.
        values["alert_days"] = tuple(int(d) for d in (days.split(",") if isinstance(days, str) else days))
    values["monitoring"] = monitoring_windows(**{arg: int(config[key]) for key, arg in MONITORING_KEYS.items()
                                                 if key in config})
    return VettingPolicy(**{**DEFAULT_POLICY.__dict__, **values})

"""The public words for vetting decisions: one table, so every page and email says the same thing."""

from __future__ import annotations

# Neutral reason categories shown to the public with a decision; the admin's own reason stays private.
DECISION_CATEGORIES = {
    "exclusion_list": "Exclusion list match",
    "exclusion_ruled_out": "Exclusion list match ruled out",
    "credential_lapsed": "Credential lapsed",
    "credential_problem": "Credential could not be confirmed",
    "administrative_review": "Administrative review",
}
DECISION_ACTIONS = {"suspend": "Listing suspended", "reinstate": "Listing reinstated"}
# Where a check was made, as the public evidence line says it: "Licence (NY) checked at the state board on ...".
PUBLIC_SOURCE_LABELS = {
    "state_board": "at the state board",
    "certification_body": "with the certification body",
    "npi_registry": "at the NPI registry",
    "document": "against the original document",
    "manual": "by a Meridian admin",
    "exclusion_list": "against the federal exclusion lists",
}
# What an admin may choose for a decision (the rest are set by the services themselves).
ADMIN_CATEGORIES = ("administrative_review", "credential_lapsed", "credential_problem", "exclusion_list")


def decision_category(code: str) -> str:
    """Return the public label of a decision's reason category."""
    return DECISION_CATEGORIES.get(code, DECISION_CATEGORIES["administrative_review"])


def public_source(code: str) -> str:
    """Return where a check at source ``code`` was made, in public words ("" when unknown)."""
    return PUBLIC_SOURCE_LABELS.get(code, "")


def decision_action(action: str) -> str:
    """Return the public label of a decision's action."""
    return DECISION_ACTIONS.get(action, action)

# What a practitioner is told when their listing's status changes: (subject, what it means for them).
STATUS_NOTICES = {
    "verified": ("Your Meridian listing is verified",
                 "Every required credential was confirmed with the body that issued it. Your listing shows as "
                 "verified in search."),
    "expiring": ("A credential or check on your Meridian listing runs out soon",
                 "Your listing is still verified, but a credential or check runs out within 30 days. Renew it so "
                 "your listing stays verified."),
    "pending": ("Your Meridian listing's checks are under way",
                "Some of your credentials have not been confirmed yet. Your listing does not show as verified "
                "until they are."),
    "unverified": ("Your Meridian listing is unverified",
                   "There are no credentials on file for your listing, so it does not show as verified."),
    "lapsed": ("Your Meridian listing is no longer verified",
               "A credential has expired or a check is out of date, so your listing no longer shows as verified. "
               "Submit the renewed credential to be verified again."),
    "suspended": ("Your Meridian listing is suspended",
                  "Your listing is suspended and does not appear in search. A Meridian admin reviews every "
                  "suspension and will contact you; reply to this message if you think it is a mistake."),
}


def status_notice(status: str) -> tuple[str, str]:
    """Return the subject and explanation sent to a practitioner whose listing now has ``status``."""
    return STATUS_NOTICES.get(status, (f"Your Meridian listing is now {status}", ""))

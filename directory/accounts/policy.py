"""Who may use what: every view declares an access rule, and one hook enforces it.

A view without a declared rule is refused (and the authorisation matrix test fails),
so a new route cannot be reachable by accident. Object-level rules (whose profile,
whose referral) are the ``can_*`` functions below, called by services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])
ROLES = ("patient", "doctor", "practitioner", "admin")


@dataclass(frozen=True)
class AccessRule:
    """Who may call a view: anyone, or signed-in users with one of ``roles`` (empty = any role)."""

    anonymous: bool
    roles: tuple[str, ...] = ()
    approved: bool = False

    def allows(self, user: Any) -> bool:
        """Tell whether ``user`` (Flask-Login's current_user) may call the view."""
        if self.anonymous:
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        if self.roles and user.role not in self.roles:
            return False
        return not self.approved or user.approved_at is not None


def _declare(rule: AccessRule) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: F) -> F:
    """Let anyone, signed in or not, use this view."""
    return _declare(AccessRule(anonymous=True))(view)


def signed_in(view: F) -> F:
    """Let any signed-in user use this view."""
    return _declare(AccessRule(anonymous=False))(view)


def roles_required(*roles: str, approved: bool = False) -> Callable[[F], F]:
    """Let only signed-in users with one of ``roles`` (and, if asked, admin-approved) use this view."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return _declare(AccessRule(anonymous=False, roles=roles, approved=approved))


def rule_for(endpoint: str | None) -> AccessRule | None:
    """Return the declared rule of ``endpoint`` (static files are public)."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return AccessRule(anonymous=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def enforce_access_rules() -> None:
    """Before every request: 401/redirect for anonymous users, 403 for the wrong role, 403 if undeclared."""
    if request.endpoint is None:  # 404/405: let Flask answer
        return
    rule = rule_for(request.endpoint)
    if rule is None:
        current_app.logger.error("route %s declares no access rule; refused", request.endpoint)
        abort(403)
    if rule.allows(current_user):
        return
    if not current_user.is_authenticated:
        login_manager = current_app.login_manager  # type: ignore[attr-defined]
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    _audit_refusal()
    abort(403, description=refusal_reason(rule, current_user))


def refusal_reason(rule: AccessRule, user: Any) -> str:
    """Say in plain words why a signed-in user may not open a page (waiting for approval, or the wrong role)."""
    if rule.roles and user.role not in rule.roles:
        who = " and ".join(f"{role}s" for role in rule.roles)
        article = "an" if user.role[:1] in "aeiou" else "a"
        return f"This page is for {who} only, and you are signed in as {article} {user.role}."
    if user.role == "practitioner":
        return ("Your account and your ownership claim are awaiting approval. You can edit your profile once an "
                "admin has approved them; we will email you the decision.")
    return ("Your account is waiting for an admin to check your details. You can use this page once it is "
            "approved; we will email you as soon as it is.")


def _audit_refusal() -> None:
    """Record a signed-in user's refused request in the audit trail."""
    from directory.accounts.audit import record_audit
    from directory.extensions import db

    record_audit("forbidden", actor_id=current_user.id, path=request.path, method=request.method)
    db.session.commit()


def can_edit_practitioner(user: Any, practitioner_id: int) -> bool:
    """A practitioner edits only the profile they own; admins edit any."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.role == "admin" or (user.role == "practitioner" and user.practitioner_id == practitioner_id))


def can_read_referral(user: Any, referral: Any) -> bool:
    """Only the referring doctor, the receiving practitioner and admins read a referral."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    if user.role == "doctor":
        return bool(referral.doctor_id == user.id)
    return bool(user.role == "practitioner" and user.practitioner_id == referral.practitioner_id)


def can_refer(user: Any) -> bool:
    """Only a doctor whose account an admin approved (on a checked NPI or licence) refers patients."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.role == "doctor" and user.state == "active" and user.approved_at is not None)

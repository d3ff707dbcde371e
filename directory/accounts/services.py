"""Account services: sign-up, confirmation, sign-in with lock-out, resets, approvals, privacy."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from directory.accounts import doctors, passwords, tokens
from directory.accounts.audit import record_audit
from directory.accounts.mail import public_url, queue_email
from directory.accounts.models import AuditEvent, PractitionerClaim, User
from directory.clock import utcnow
from directory.errors import DomainError, Forbidden, InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.referrals.privacy import erase_patient
from directory.reviews.models import Review
from directory.screening.models import Screening
from directory.vetting.models import VerificationCheck

SELF_SERVICE_ROLES = ("patient", "doctor", "practitioner")
EMAIL_MAX_LENGTH = 254
LOCKOUT_AFTER = 5
LOCKOUT_MAX = timedelta(hours=24)
SIGN_IN_FAILED = "Email or password is incorrect, or sign-in is paused after repeated attempts. Try again later or reset your password."


class SignInFailed(DomainError):
    """Wrong email or password, unconfirmed or locked: one message, so accounts cannot be enumerated."""

    status = 401
    code = "sign_in_failed"


class EmailNotConfirmed(SignInFailed):
    """The right password for an account whose address is not confirmed yet (the sign-in page offers a new link)."""

    code = "email_not_confirmed"


def load_user(user_id: str) -> User | None:
    """Return the active user with this id, for Flask-Login's session loading."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.state == "active" else None


def normalise_email(email: str) -> str:
    """Return the stored form of an email address."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Return why ``email`` cannot be an account's address, or None: the one rule of the forms and the CLI.

    Reserved names (.local, .test, .invalid, localhost) are refused: mail never reaches them.
    """
    if len(email) > EMAIL_MAX_LENGTH:
        return f"Use at most {EMAIL_MAX_LENGTH} characters for the email address."
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"Enter a valid email address. {exc}"
    return None


def sign_up(email: str, password: str, full_name: str, role: str,
            doctor: doctors.DoctorCredentials | None = None) -> User:
    """Create an account and queue its confirmation email; doctors and practitioners await approval.

    A doctor's NPI or licence is stored with the account; it is checked later, when an admin asks.
    """
    if role not in SELF_SERVICE_ROLES:
        raise InvalidParameter("choose patient, doctor or practitioner", field="role")
    if role == "doctor":
        wrong = doctors.credentials_problem(doctor or doctors.DoctorCredentials())
        if wrong:
            raise InvalidParameter(wrong[1], field=wrong[0])
    problem = passwords.password_problem(password, context=(email, full_name))
    if problem:
        raise InvalidParameter(problem, field="password")
    email = normalise_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        # Tell the owner, not the requester: the page looks the same either way.
        queue_email(email, "Someone tried to sign up with your email", _text("already_registered"), "already_registered")
        return existing
    user = User(email=email, password_hash=passwords.hash_password(password), full_name=full_name.strip(), role=role)
    db.session.add(user)
    db.session.flush()
    if role == "doctor":
        doctors.add_doctor_credentials(user, doctor or doctors.DoctorCredentials())
    send_confirmation(user)
    record_audit("sign_up", actor_id=user.id, subject_type="user", subject_id=user.id, role=role)
    return user


def send_confirmation(user: User) -> None:
    """Queue the email-confirmation link."""
    link = public_url("accounts.confirm_email",
                      token=tokens.make_token("confirm", {"uid": user.id, "email": user.email}))
    queue_email(user.email, "Confirm your Meridian account", _text("confirm", link=link), "confirm")


def resend_confirmation(email: str) -> None:
    """Queue a fresh confirmation link if an unconfirmed account has this address; the answer never says."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or user.state != "active" or user.email_confirmed_at is not None:
        return
    send_confirmation(user)
    record_audit("confirmation_resent", actor_id=None, subject_type="user", subject_id=user.id)


def confirm_email(token: str) -> User:
    """Mark the email confirmed for a valid token."""
    payload = tokens.read_token("confirm", token, tokens.CONFIRM_MAX_AGE_S)
    user = db.session.get(User, payload["uid"]) if payload else None
    if user is None or payload is None or user.email != payload.get("email"):
        raise InvalidParameter("This confirmation link is invalid or has expired.", field="token")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        record_audit("email_confirmed", actor_id=user.id, subject_type="user", subject_id=user.id)
    return user


def authenticate(email: str, password: str) -> User:
    """Return the user for correct, confirmed, unlocked credentials; count and lock out failures."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        passwords.dummy_verify()
        record_audit("sign_in_failed", actor_id=None, reason="unknown_email")
        raise SignInFailed(SIGN_IN_FAILED)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        record_audit("sign_in_failed", actor_id=user.id, subject_type="user", subject_id=user.id, reason="locked")
        raise SignInFailed(SIGN_IN_FAILED)
    if not passwords.verify_password(user.password_hash, password) or user.state != "active":
        _count_failure(user, now)
        raise SignInFailed(SIGN_IN_FAILED)
    if user.email_confirmed_at is None:
        raise EmailNotConfirmed("Please confirm your email first: we sent you a link when you signed up.")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_sign_ins, user.locked_until = 0, None
    record_audit("sign_in", actor_id=user.id, subject_type="user", subject_id=user.id)
    return user


def _count_failure(user: User, now: Any) -> None:
    """Count a failed sign-in; from the fifth on, lock for a doubling period (1 min ... 24 h)."""
    user.failed_sign_ins += 1
    if user.failed_sign_ins >= LOCKOUT_AFTER:
        delay = min(LOCKOUT_MAX, timedelta(minutes=2 ** (user.failed_sign_ins - LOCKOUT_AFTER)))
        user.locked_until = now + delay
    record_audit("sign_in_failed", actor_id=user.id, subject_type="user", subject_id=user.id,
                 failures=user.failed_sign_ins)


def request_password_reset(email: str) -> None:
    """Queue a reset link if the account exists; the answer never says whether it does."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or user.state != "active":
        return
    # The hash fragment makes the link single-use: it stops matching once the password changes.
    token = tokens.make_token("reset", {"uid": user.id, "h": user.password_hash[-16:]})
    link = public_url("accounts.reset_password", token=token)
    queue_email(user.email, "Reset your Meridian password", _text("reset", link=link), "reset")
    record_audit("password_reset_requested", actor_id=user.id, subject_type="user", subject_id=user.id)


def reset_password(token: str, new_password: str) -> User:
    """Set a new password for a valid, unused reset token."""
    payload = tokens.read_token("reset", token, tokens.RESET_MAX_AGE_S)
    user = db.session.get(User, payload["uid"]) if payload else None
    if user is None or payload is None or user.password_hash[-16:] != payload.get("h"):
        raise InvalidParameter("This reset link is invalid, used or expired. Ask for a new one.", field="token")
    problem = passwords.password_problem(new_password, context=(user.email, user.full_name))
    if problem:
        raise InvalidParameter(problem, field="password")
    user.password_hash = passwords.hash_password(new_password)
    user.failed_sign_ins, user.locked_until = 0, None
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # the link proved the address
    record_audit("password_reset", actor_id=user.id, subject_type="user", subject_id=user.id)
    return user


def approve_user(admin: User, user_id: int, licence_number: str = "", jurisdiction: str = "",
                 where_checked: str = "") -> User:
    """Approve a doctor or practitioner; a doctor needs a passing NPI check or a licence the admin looked up."""
    user = get_user(user_id)
    if user.id == admin.id:
        record_audit("self_approval_refused", actor_id=admin.id, subject_type="user", subject_id=user.id)
        raise Forbidden("You cannot approve your own account.")
    if user.role not in ("doctor", "practitioner"):
        raise InvalidParameter("only doctors and practitioners need approval", field="user")
    if user.approved_at is not None:  # a replayed form must not add checks, audit events and emails again
        raise InvalidParameter("This account is already approved.", field="user")
    basis = ""
    if user.role == "doctor":
        basis = doctors.approve_doctor_evidence(admin, user, licence_number, jurisdiction, where_checked)
    user.approved_at, user.approved_by_id = utcnow(), admin.id
    record_audit("user_approved", actor_id=admin.id, subject_type="user", subject_id=user.id, role=user.role,
                 basis=basis)
    queue_email(user.email, "Your Meridian account is approved",
                _text(f"{user.role}_approved", link=public_url("accounts.sign_in")), "account_approved")
    return user


def refuse_user(admin: User, user_id: int, reason: str) -> User:
    """Refuse a waiting doctor or practitioner: the account stays open as a patient's, and its owner hears why."""
    user = get_user(user_id)
    if user.id == admin.id:
        record_audit("self_approval_refused", actor_id=admin.id, subject_type="user", subject_id=user.id)
        raise Forbidden("You cannot decide on your own account.")
    if user.role not in ("doctor", "practitioner") or user.approved_at is not None:
        raise InvalidParameter("Only doctors and practitioners waiting for approval can be refused.", field="user")
    if not reason.strip():
        raise InvalidParameter("Tell the applicant why: the reason is sent to them.", field="reason")
    requested = user.role
    user.role, user.practitioner_id, user.approved_at, user.approved_by_id = "patient", None, utcnow(), admin.id
    record_audit("user_refused", actor_id=admin.id, subject_type="user", subject_id=user.id, role=requested,
                 reason=reason.strip())
    _close_pending_claims(user, admin, "The account was not approved as a practitioner's.")
    queue_email(user.email, f"We could not approve your account as a {requested}",
                _text("account_refused", role=requested, reason=reason.strip(), link=public_url("accounts.sign_in")),
                "account_refused")
    return user


def _close_pending_claims(user: User, admin: User, note: str) -> None:
    """Reject the user's pending profile claims (a refused account cannot own a profile)."""
    pending = select(PractitionerClaim).where(PractitionerClaim.user_id == user.id,
                                              PractitionerClaim.decision == "pending")
    for claim in db.session.scalars(pending):
        claim.decision, claim.decided_at, claim.decided_by_id, claim.note = "rejected", utcnow(), admin.id, note


def make_admin(email: str, full_name: str, password: str, *, via: str) -> User:
    """Create a confirmed admin account, or promote the account with this email (``via``: cli, demo...)."""
    problem = passwords.password_problem(password, context=(email, full_name))
    if problem:
        raise InvalidParameter(problem, field="password")
    email = normalise_email(email)
    if problem := email_problem(email):
        raise InvalidParameter(problem, field="email")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=full_name, password_hash=passwords.hash_password(password))
        db.session.add(user)
    user.role, user.practitioner_id, user.state = "admin", None, "active"
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    user.approved_at = user.approved_at or utcnow()
    db.session.flush()
    record_audit("role_changed", actor_id=None, subject_type="user", subject_id=user.id, new="admin", via=via)
    return user


def change_role(admin: User, user_id: int, role: str) -> User:
    """Change a user's role (admins only; never one's own)."""
    user = get_user(user_id)
    if user.id == admin.id:
        raise Forbidden("You cannot change your own role.")
    if role not in ("patient", "doctor", "practitioner", "admin"):
        raise InvalidParameter("unknown role", field="role")
    old = user.role
    if role != "practitioner":
        user.practitioner_id = None
    user.role = role
    user.approved_at = utcnow() if role in ("admin", "patient") else None
    record_audit("role_changed", actor_id=admin.id, subject_type="user", subject_id=user.id, old=old, new=role)
    return user


def request_claim(user: User, slug: str, evidence: str) -> PractitionerClaim:
    """Ask to own an existing profile; an admin decides."""
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug.strip().lower()))
    if practitioner is None:
        raise InvalidParameter("No profile has that address; copy it from the profile page.", field="slug")
    if pending_claim(user) is not None:
        raise InvalidParameter("You already have a claim awaiting review; we will email you the decision.",
                               field="slug")
    owner = db.session.scalar(select(User).where(User.practitioner_id == practitioner.id))
    if owner is not None:
        raise InvalidParameter("That profile already has an owner; contact us if it is yours.", field="slug")
    claim = PractitionerClaim(user_id=user.id, practitioner_id=practitioner.id, evidence=evidence.strip())
    db.session.add(claim)
    record_audit("claim_requested", actor_id=user.id, subject_type="practitioner", subject_id=practitioner.id)
    return claim


def pending_claim(user: User) -> PractitionerClaim | None:
    """Return the user's claim that awaits an admin's decision, if any."""
    return db.session.scalars(select(PractitionerClaim).where(PractitionerClaim.user_id == user.id,
                                                              PractitionerClaim.decision == "pending")).first()


def decide_claim(admin: User, claim_id: int, approve: bool, note: str) -> PractitionerClaim:
    """Approve (the user now owns the profile) or reject a pending claim."""
    claim = db.session.get(PractitionerClaim, claim_id)
    if claim is None or claim.decision != "pending":
        raise NotFound("No pending claim with that id.")
    if claim.user_id == admin.id:
        raise Forbidden("You cannot decide your own claim.")
    if approve and claim.user.role != "practitioner":
        raise InvalidParameter("The claimant's account is no longer a practitioner's; reject the claim.",
                               field="decision")
    claim.decision = "approved" if approve else "rejected"
    claim.decided_at, claim.decided_by_id, claim.note = utcnow(), admin.id, note.strip()
    if approve:
        claim.user.practitioner_id = claim.practitioner_id
        claim.user.approved_at = claim.user.approved_at or utcnow()
        if claim.creates_listing:
            claim.practitioner.hidden = False  # a listing its claimant created shows once checked
    record_audit(f"claim_{claim.decision}", actor_id=admin.id, subject_type="practitioner",
                 subject_id=claim.practitioner_id, user_id=claim.user_id)
    _email_claim_decision(claim)
    return claim


def _email_claim_decision(claim: PractitionerClaim) -> None:
    """Queue the message telling the claimant the decision (and the admin's note, if any)."""
    name = " ".join(claim.practitioner.display_name.split())[:120]  # one line, within the subject's 200 characters
    note = f"\nThe reviewer's note: {claim.note}\n" if claim.note else ""
    if claim.decision == "approved":
        link = public_url("practitioner_manage.edit_profile", slug=claim.practitioner.slug)
        subject = f"Your claim of {name} is approved"
        text = _text("claim_approved", name=name, note=note, link=link)
    else:
        subject = f"Your claim of {name} was not approved"
        text = _text("claim_rejected", name=name, note=note, link=public_url("accounts.dashboard"))
    queue_email(claim.user.email, subject, text, f"claim_{claim.decision}")


def export_user_data(user: User) -> dict[str, Any]:
    """Return everything Meridian holds about a user, as JSON-ready data."""
    reviews = db.session.scalars(select(Review).where(Review.author_id == user.id)).all()
    screenings = db.session.scalars(select(Screening).where(Screening.user_id == user.id)).all()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id)).all()
    record_audit("data_export", actor_id=user.id, subject_type="user", subject_id=user.id)
    return {
        "account": {"email": user.email, "full_name": user.full_name, "role": user.role,
                    "created_at": user.created_at.isoformat(), "email_confirmed": user.email_confirmed_at is not None},
        "reviews": [{"practitioner_id": r.practitioner_id, "rating": r.rating, "title": r.title, "body": r.body,
                     "created_at": r.created_at.isoformat()} for r in reviews],
        "screenings": [{"answers": json.loads(s.answers), "verdicts": json.loads(s.verdicts),
                        "created_at": s.created_at.isoformat()} for s in screenings],
        "activity": [{"action": e.action, "at": e.occurred_at.isoformat()} for e in events],
    }


def delete_account(user: User) -> None:
    """Delete the account: reviews stay anonymised, referrals lose the patient's contact data."""
    for review in db.session.scalars(select(Review).where(Review.author_id == user.id)):
        review.author_id, review.author_display_name = None, "Former patient"
    erase_patient(user)
    record_audit("account_deleted", actor_id=None, subject_type="user", subject_id=user.id)
    if db.session.scalar(select(VerificationCheck.id).where(VerificationCheck.user_id == user.id).limit(1)):
        _erase_but_keep_checks(user)
    else:
        db.session.delete(user)


def _erase_but_keep_checks(user: User) -> None:
    """Erase a refused doctor's personal data but keep the row their append-only credential checks point to."""
    user.email, user.full_name = f"deleted-{user.id}@deleted.invalid", ""
    user.password_hash, user.state = "!", "deleted"  # "!" is no argon2 hash: nothing verifies against it


def get_user(user_id: int) -> User:
    """Return a user or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


MESSAGES = {
    "confirm": "Welcome to Meridian.\n\nConfirm your email address by opening this link (valid 3 days):\n{link}\n",
    "reset": "Someone asked to reset your Meridian password.\n\nOpen this link within an hour to choose a new one:\n"
             "{link}\n\nIf it was not you, ignore this message; your password stays the same.\n",
    "already_registered": "Someone tried to create a Meridian account with this address, which already has one.\n"
                          "If it was you, sign in or reset your password. If not, you can ignore this message.\n",
    "doctor_approved": "Your Meridian doctor's account is approved: you can now refer patients to vetted "
                       "practitioners and follow each referral.\n\nSign in here:\n{link}\n",
    "practitioner_approved": "Your Meridian practitioner's account is approved. Once you own your profile you can "
                             "edit it and answer referrals.\n\nSign in here:\n{link}\n",
    "account_refused": "We could not approve your Meridian account as a {role}.\n\nThe reason: {reason}\n\n"
                       "Your account stays open as a patient's account. If you can send us the missing evidence, "
                       "reply to this message and we will look again.\n\nSign in here:\n{link}\n",
    "claim_approved": "Your claim of the profile {name} is approved: the profile is yours to keep up to date.\n{note}\n"
                      "Edit it here:\n{link}\n",
    "claim_rejected": "We could not approve your claim of the profile {name}.\n{note}\n"
                      "If the profile is yours, send a new claim with evidence we can check (a licence number, "
                      "your clinic's website) from your account:\n{link}\n",
}


def _text(message: str, **values: str) -> str:
    """Return the text of a standard message."""
    return MESSAGES[message].format(**values)


def record_forbidden(actor_id: int, path: str) -> None:
    """Audit a refused attempt (self-approval, editing someone else's profile...)."""
    record_audit("forbidden", actor_id=actor_id, path=path)

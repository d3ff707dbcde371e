"""A practitioner's own listing: claim it with one click, create it (hidden until approved), edit it, audited.

Every change is to model rows, so the flush listener writes the search outbox row in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, select

from directory.accounts import services as accounts
from directory.accounts.audit import record_audit
from directory.accounts.models import PractitionerClaim, User
from directory.errors import InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Condition, Language, Method, Practitioner
from directory.practitioners.photos import store_photo
from directory.practitioners.slugs import slugify


@dataclass(frozen=True)
class ListingEdit:
    """What the editor sends, already validated by its form."""

    first_name: str
    last_name: str
    title: str
    bio: str
    gender: str
    accepting_new_patients: bool
    telehealth: bool
    phone: str
    booking_url: str
    fees: str
    insurance: str
    methods: list[str]
    conditions: list[str]
    languages: list[str]
    photo: IO[bytes] | None = None
    remove_photo: bool = False


def claim_offer(user: Any, practitioner: Practitioner) -> str | None:
    """Say what the profile offers this viewer about owning it: "own", "waiting", "claim", "sign_in" or nothing."""
    signed_in = getattr(user, "is_authenticated", False)
    if signed_in and user.role == "practitioner" and user.practitioner_id == practitioner.id:
        return "own"
    if owner_of(practitioner.id) is not None:
        return None
    if not signed_in:
        return "sign_in"
    if user.role != "practitioner" or user.practitioner_id:
        return None
    claim = accounts.pending_claim(user)
    if claim is None:
        return "claim"
    return "waiting" if claim.practitioner_id == practitioner.id else None


def owner_of(practitioner_id: int) -> User | None:
    """Return the account that owns the listing, if any."""
    return db.session.scalar(select(User).where(User.practitioner_id == practitioner_id))


def claim_listing(user: User, practitioner_id: int, evidence: str) -> PractitionerClaim:
    """Ask to own a visible listing; it joins the admins' claim queue."""
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None or practitioner.hidden:
        raise NotFound("There is no such listing.")
    if user.practitioner_id is not None:
        raise InvalidParameter("You already manage a listing; one account manages one listing.", field="evidence")
    return accounts.request_claim(user, practitioner.slug, evidence)


def create_listing(user: User, first_name: str, last_name: str, title: str, evidence: str) -> PractitionerClaim:
    """Create the user's own listing, hidden, with a claim an admin approves like any other."""
    if user.practitioner_id is not None:
        raise InvalidParameter("You already manage a listing; edit it instead.", field="first_name")
    if accounts.pending_claim(user) is not None:
        raise InvalidParameter("You already have a claim awaiting review; we will email you the decision.",
                               field="first_name")
    # Hidden until approved: nobody can be listed under a name they typed until an admin has checked it.
    practitioner = Practitioner(slug=_free_slug(f"{first_name} {last_name}"), first_name=first_name.strip(),
                                last_name=last_name.strip(), title=title.strip(), hidden=True,
                                vetting_status="unverified")
    db.session.add(practitioner)
    db.session.flush()
    claim = PractitionerClaim(user_id=user.id, practitioner_id=practitioner.id, evidence=evidence.strip(),
                              creates_listing=True)
    db.session.add(claim)
    record_audit("listing_created", actor_id=user.id, subject_type="practitioner", subject_id=practitioner.id)
    return claim


def _free_slug(name: str) -> str:
    """Return a profile slug for ``name`` that no listing uses yet."""
    base = slugify(name)[:100]
    taken = set(db.session.scalars(select(Practitioner.slug).where(
        func.substr(Practitioner.slug, 1, len(base)) == base)))
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


def edit_listing(actor: User, practitioner: Practitioner, edit: ListingEdit) -> Practitioner:
    """Apply the editor's changes to the listing (photo checked first), with one audit event naming the fields."""
    before = _snapshot(practitioner)
    if edit.photo is not None:
        practitioner.photo_path = store_photo(edit.photo)
    elif edit.remove_photo:
        practitioner.photo_path = None
    practitioner.first_name, practitioner.last_name = edit.first_name.strip(), edit.last_name.strip()
    practitioner.title, practitioner.bio, practitioner.gender = edit.title.strip(), edit.bio.strip(), edit.gender
    practitioner.accepting_new_patients, practitioner.telehealth = edit.accepting_new_patients, edit.telehealth
    practitioner.fees, practitioner.insurance = edit.fees.strip(), edit.insurance.strip()
    _set_contact(practitioner, edit.phone.strip(), edit.booking_url.strip())
    practitioner.methods = list(db.session.scalars(select(Method).where(Method.slug.in_(edit.methods))))
    practitioner.conditions = list(db.session.scalars(select(Condition).where(Condition.slug.in_(edit.conditions))))
    practitioner.languages = list(db.session.scalars(select(Language).where(Language.code.in_(edit.languages))))
    changed = sorted(k for k, v in _snapshot(practitioner).items() if before[k] != v)
    record_audit("profile_edited", actor_id=actor.id, subject_type="practitioner", subject_id=practitioner.id,
                 fields=",".join(changed))
    return practitioner


def _set_contact(practitioner: Practitioner, phone: str, booking_url: str) -> None:
    """Set phone and booking page on the main (first) location, where the profile and cards read them."""
    if not practitioner.locations:
        return
    main = practitioner.locations[0]
    main.phone, main.booking_url = phone, booking_url


def _snapshot(p: Practitioner) -> dict[str, Any]:
    """Return the edited fields' values, to name what changed in the audit event."""
    main = p.locations[0] if p.locations else None
    return {"name": (p.first_name, p.last_name, p.title), "bio": p.bio, "gender": p.gender, "photo": p.photo_path,
            "accepting_new_patients": p.accepting_new_patients, "telehealth": p.telehealth, "fees": p.fees,
            "insurance": p.insurance, "phone": main.phone if main else "",
            "booking_url": main.booking_url if main else "", "methods": [m.slug for m in p.methods],
            "conditions": [c.slug for c in p.conditions], "languages": [lang.code for lang in p.languages]}

"""Test data builders: one function per model, sensible defaults, everything overridable."""

from __future__ import annotations

import itertools
from datetime import time
from typing import Any

from sqlalchemy import select

from directory.extensions import db
from directory.models import Condition, Language, Location, Method, OpeningHours, Practitioner, Referral, User

_counter = itertools.count(1)


def practitioner(*, methods: tuple[str, ...] = ("filiform-needling",), conditions: tuple[str, ...] = ("low-back-pain",),
                 languages: tuple[str, ...] = ("en",), locations: list[dict[str, Any]] | None = None,
                 **fields: Any) -> Practitioner:
    """Add a practitioner (verified, in Cambridge MA unless told otherwise) and flush it."""
    n = next(_counter)
    values: dict[str, Any] = {"slug": f"test-practitioner-{n}", "first_name": "Mei", "last_name": f"Chen{n}",
                              "title": "L.Ac.", "bio": "Treats back pain with needling.", "vetting_status": "verified"}
    values.update(fields)
    p = Practitioner(**values)
    p.methods = list(db.session.scalars(select(Method).where(Method.slug.in_(methods))))
    p.conditions = list(db.session.scalars(select(Condition).where(Condition.slug.in_(conditions))))
    p.languages = list(db.session.scalars(select(Language).where(Language.code.in_(languages))))
    for loc in locations if locations is not None else [{}]:
        p.locations.append(location(**loc))
    db.session.add(p)
    db.session.flush()
    return p


def location(**fields: Any) -> Location:
    """Return an unsaved practice location (Cambridge, MA by default) open weekdays 9-17."""
    values: dict[str, Any] = {"address_line1": "1 Main St", "city": "Cambridge", "region": "MA", "postal_code": "02139",
                              "country": "US", "latitude": 42.3647, "longitude": -71.1042, "timezone": "America/New_York"}
    values.update(fields)
    loc = Location(**values)
    loc.hours = [OpeningHours(weekday=d, opens=time(9), closes=time(17)) for d in range(5)]
    return loc


def user(role: str = "patient", **fields: Any) -> User:
    """Add a user with the given role and flush it."""
    n = next(_counter)
    values: dict[str, Any] = {"email": f"user{n}@example.org", "password_hash": "not-a-real-hash", "role": role}
    values.update(fields)
    u = User(**values)
    db.session.add(u)
    db.session.flush()
    return u


def doctor(*, approved: bool = True, **fields: Any) -> User:
    """Add a doctor (admin-approved unless told otherwise, email confirmed) and flush it."""
    from directory.clock import utcnow

    return user("doctor", approved_at=utcnow() if approved else None, email_confirmed_at=utcnow(), **fields)


def practitioner_account(p: Practitioner | None = None, **fields: Any) -> User:
    """Add a practitioner's account owning profile ``p`` (a new verified practitioner by default)."""
    from directory.clock import utcnow

    owned = p or practitioner()
    return user("practitioner", practitioner_id=owned.id, approved_at=utcnow(), email_confirmed_at=utcnow(), **fields)


def referral(sender: User, p: Practitioner, **fields: Any) -> Referral:
    """Add a sent referral from ``sender`` to ``p`` straight into the table (services are tested on their own)."""
    from datetime import timedelta

    from directory.clock import utcnow

    values: dict[str, Any] = {"kind": "referral" if sender.role == "doctor" else "request", "sender_id": sender.id,
                              "practitioner_id": p.id, "reason": "Low back pain for six weeks",
                              "patient_name": "Ada Patient", "patient_contact": "ada@example.org",
                              "idempotency_key": f"key-{next(_counter)}", "respond_by": utcnow() + timedelta(days=7)}
    values.update(fields)
    r = Referral(**values)
    db.session.add(r)
    db.session.flush()
    return r


def patient(**fields: Any) -> User:
    """Add a patient whose account is a month old (past the new-account review hold) and flush it."""
    from datetime import timedelta

    from directory.clock import utcnow

    values: dict[str, Any] = {"full_name": "Lena Patient", "email_confirmed_at": utcnow(),
                              "created_at": utcnow() - timedelta(days=30)}
    values.update(fields)
    return user("patient", **values)


def visited_referral(patient_user: User, p: Practitioner, state: str = "completed") -> Referral:
    """Add the patient's own appointment request with ``p``, already attended or completed."""
    from datetime import timedelta

    from directory.clock import utcnow

    return referral(patient_user, p, patient_id=patient_user.id, state=state,
                    scheduled_for=utcnow() - timedelta(days=10),
                    outcome="Six sessions; pain much better." if state == "completed" else None)

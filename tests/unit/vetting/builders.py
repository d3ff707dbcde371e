"""Vetting test data: credentials, a US practitioner ready for checks, an admin, LEIE files."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from directory.clock import today
from directory.extensions import db
from directory.models import Credential, Practitioner, User
from tests import factories

DATA = Path(__file__).resolve().parents[2] / "data"
NPI = "1234567893"  # a valid NPI (check digit), as listed in tests/data/leie_sample.csv


def credential(practitioner: Practitioner, kind: str = "state_licence", **fields: Any) -> Credential:
    """Add a credential (a Massachusetts licence by default) and flush it."""
    values: dict[str, Any] = {"practitioner_id": practitioner.id, "kind": kind, "issuer": "MA Board of Acupuncture",
                              "number": "AC12345", "jurisdiction": "MA",
                              "valid_from": today() - timedelta(days=365), "valid_until": today() + timedelta(days=700)}
    if kind == "npi":
        values.update(issuer="CMS NPPES", number=practitioner.npi or NPI, jurisdiction="US", valid_from=None,
                      valid_until=None)
    values.update(fields)
    cred = Credential(**values)
    db.session.add(cred)
    db.session.flush()
    return cred


def us_practitioner(npi: str | None = NPI, *, licence: bool = True, **fields: Any) -> Practitioner:
    """Add an unverified Massachusetts practitioner with an NPI and a licence credential, never checked."""
    values: dict[str, Any] = {"first_name": "Mei", "last_name": "Chen", "npi": npi, "vetting_status": "unverified",
                              "gender": "female"}
    values.update(fields)
    p = factories.practitioner(**values)
    if licence:
        credential(p)
    if npi:
        credential(p, "npi")
    return p


def admin() -> User:
    """Add an admin user."""
    return factories.user("admin", email_confirmed_at=None)


def days_ago(n: int) -> date:
    """Return the date ``n`` days before today."""
    return today() - timedelta(days=n)

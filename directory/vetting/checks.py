"""Run one check of one practitioner against a source, and record it in the chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.documents import StoredDocument
from directory.vetting.models import Credential, FormerName, VerificationCheck
from directory.vetting.services import record_check
from directory.vetting.sources.npi import Expected, NpiRegistryClient, NpiRegistryError, compare_record, npi_is_valid

MANUAL_SOURCES = ("state_board", "certification_body", "document", "manual")
# A retry of the same failing source within this window does not add another identical error row.
REPEATED_ERROR_WINDOW = timedelta(minutes=10)
LICENCE_KINDS_FOR_NPI = ("state_licence",)


def npi_credential(practitioner: Practitioner) -> Credential | None:
    """Return the practitioner's current NPI credential, if any."""
    return db.session.scalar(select(Credential).where(
        Credential.practitioner_id == practitioner.id, Credential.kind == "npi", Credential.withdrawn_at.is_(None))
        .order_by(Credential.id.desc()).limit(1))


def expected_for(practitioner: Practitioner) -> Expected:
    """Return what Meridian holds about the practitioner, for comparison with the NPI record."""
    licences = db.session.execute(select(Credential.jurisdiction, Credential.number).where(
        Credential.practitioner_id == practitioner.id, Credential.kind.in_(LICENCE_KINDS_FOR_NPI),
        Credential.withdrawn_at.is_(None))).all()
    former = db.session.scalars(select(FormerName.last_name).where(FormerName.practitioner_id == practitioner.id))
    return Expected(
        first_name=practitioner.first_name, last_name=practitioner.last_name, former_last_names=tuple(former),
        gender=practitioner.gender, licences=tuple((j, n) for j, n in licences if j and n),
        locations=tuple((loc.region, loc.postal_code[:5], loc.city) for loc in practitioner.locations
                        if loc.country == "US"),
    )


def check_npi(practitioner: Practitioner, client: NpiRegistryClient, *, performed_by: User | None = None,
              recompute: bool = True) -> VerificationCheck:
    """Look the practitioner's NPI up in the registry, compare the record and record the outcome."""
    credential = npi_credential(practitioner)
    number = (credential.number if credential else practitioner.npi or "").strip()
    if not number:
        raise InvalidParameter("There is no NPI on file for this practitioner.", field="npi")
    reference = client.request_url(number)

    def record(outcome: str, note: str, evidence: dict[str, Any]) -> VerificationCheck:
        return record_check(practitioner, source="npi_registry", outcome=outcome, credential=credential,
                            performed_by=performed_by, reference=reference, note=note,
                            evidence={"number": number, "request": reference, **evidence}, recompute=recompute)

    if not npi_is_valid(number):
        return record("fail", "not a valid NPI (check digit)", {"reason": "invalid check digit"})
    try:
        response = client.lookup(number)
    except NpiRegistryError as exc:
        repeated = recent_error(practitioner, "npi_registry", credential, exc.reason)
        return repeated or record("error", exc.reason, {"error": exc.reason, "status_code": exc.status_code,
                                                  "body": exc.body})
    if not response.results:
        return record("fail", "the registry has no record of this NPI", {"response": response.body})
    comparison = compare_record(response.results[0], expected_for(practitioner))
    problems = [f"{f.field}: {f.note or f.result}" for f in comparison.findings if f.result != "ok"]
    return record(comparison.outcome, "; ".join(problems) or "the registry record matches",
                  {"response": response.body, "findings": comparison.as_evidence()})


def recent_error(practitioner: Practitioner, source: str, credential: Credential | None,
                 note: str) -> VerificationCheck | None:
    """Return the latest check of this source and credential when it is the same error, made moments ago."""
    latest = db.session.scalar(select(VerificationCheck).where(
        VerificationCheck.practitioner_id == practitioner.id, VerificationCheck.source == source,
        VerificationCheck.credential_id == (credential.id if credential else None))
        .order_by(VerificationCheck.sequence.desc()).limit(1))
    if latest is None or latest.outcome != "error" or latest.note != note:
        return None
    return latest if utcnow() - latest.performed_at <= REPEATED_ERROR_WINDOW else None


def record_manual_check(practitioner: Practitioner, admin: User, *, source: str, outcome: str, what: str,
                        reference: str, note: str, credential: Credential | None,
                        document: StoredDocument | None) -> VerificationCheck:
    """Record a check an admin made by hand (state board look-up, certificate, document)."""
    if source not in MANUAL_SOURCES:
        raise InvalidParameter("Choose where the check was made.", field="source")
    if not what.strip():
        raise InvalidParameter("Say what was checked.", field="what")
    evidence: dict[str, Any] = {"what_was_checked": what.strip(), "reference": reference.strip()}
    if document is not None:
        evidence["document"] = document.as_evidence()
    check = record_check(practitioner, source=source, outcome=outcome, credential=credential, performed_by=admin,
                         reference=reference.strip(), note=note.strip(), evidence=evidence)
    record_audit("vetting.manual_check", actor_id=admin.id, subject_type="practitioner", subject_id=practitioner.id,
                 source=source, outcome=outcome, check_id=check.id, credential_id=credential.id if credential else None,
                 document=document.sha256 if document else None)
    return check

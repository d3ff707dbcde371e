"""The NPI registry as a source: look the practitioner's NPI up in NPPES and compare the record.

NPPES data is self-reported, so a matching record confirms the NPI credential only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.models import Credential, FormerName
from directory.vetting.sources.base import AUTOMATED_WINDOW_DAYS, Finding, RunContext, SourceInfo
from directory.vetting.sources.npi import Expected, NpiRegistryError, compare_record, npi_is_valid

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


@dataclass(frozen=True)
class NpiRegistrySource(SourceInfo):
    """The public NPPES API, called with the client the run context carries."""

    def run(self, subject: Practitioner, context: RunContext) -> Finding:
        """Look the practitioner's NPI up and return the comparison with what Meridian holds."""
        credential = npi_credential(subject)
        number = (credential.number if credential else subject.npi or "").strip()
        if not number:
            raise InvalidParameter("There is no NPI on file for this practitioner.", field="npi")
        if context.npi_client is None:
            raise InvalidParameter("No NPI registry client is configured for this run.", field="source")
        reference = context.npi_client.request_url(number)

        def finding(outcome: str, note: str, evidence: dict[str, Any]) -> Finding:
            return Finding(self.code, outcome, note, reference, {"number": number, "request": reference, **evidence},
                           credential.id if credential else None)

        if not npi_is_valid(number):
            return finding("fail", "not a valid NPI (check digit)", {"reason": "invalid check digit"})
        try:
            response = context.npi_client.lookup(number)
        except NpiRegistryError as exc:
            return finding("error", exc.reason, {"error": exc.reason, "status_code": exc.status_code, "body": exc.body})
        return self.compare_answer(subject, response.body, reference)

    def compare_answer(self, subject: Practitioner, body: dict[str, Any], reference: str) -> Finding:
        """Return the finding for a registry answer already in hand (an import's search page holds the record)."""
        credential = npi_credential(subject)
        number = (credential.number if credential else subject.npi or "").strip()
        evidence = {"number": number, "request": reference, "response": body}
        results = body.get("results") or []
        if not results:
            return Finding(self.code, "fail", "the registry has no record of this NPI", reference, evidence,
                           credential.id if credential else None)
        comparison = compare_record(results[0], expected_for(subject))
        problems = [f"{f.field}: {f.note or f.result}" for f in comparison.findings if f.result != "ok"]
        return Finding(self.code, comparison.outcome, "; ".join(problems) or "the registry record matches", reference,
                       {**evidence, "findings": comparison.as_evidence()}, credential.id if credential else None)


NPI_REGISTRY = NpiRegistrySource(
    code="npi_registry", label="NPI registry", public_label="the NPI registry", history_label="NPI registry (NPPES)",
    credential_kinds=("npi",), due_for_kinds=("npi",), automated=True, window_days=AUTOMATED_WINDOW_DAYS)

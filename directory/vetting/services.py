"""Vetting services the screens and commands call: record or run a check and refresh the status,
documents attached to checks and credentials, and the identity used for exclusion matching.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import delete

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.accounts.policy import can_edit_practitioner
from directory.clock import today as clock_today
from directory.errors import InvalidParameter, NotFound
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.checks import append_check, record_finding
from directory.vetting.decisions import recompute_status
from directory.vetting.documents import StoredDocument
from directory.vetting.models import Credential, ExclusionImport, FormerName, VerificationCheck, VettingIdentity
from directory.vetting.sources import registry
from directory.vetting.sources.base import Finding, RunContext, Source
from directory.vetting.sources.exclusions import EXCLUSION_LIST, current_list
from directory.vetting.sources.npi import NpiRegistryClient
from directory.vetting.sources.npi_registry import NPI_REGISTRY


def get_practitioner(practitioner_id: int) -> Practitioner:
    """Return the practitioner or raise NotFound."""
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound("No practitioner with that id.")
    return practitioner


def record_check(practitioner: Practitioner, *, source: str, outcome: str, evidence: Mapping[str, Any] | None = None,
                 credential: Credential | None = None, performed_by: User | None = None, reference: str = "",
                 note: str = "", recompute: bool = True) -> VerificationCheck:
    """Append a check to the practitioner's chain, then recompute their status (unless told not to)."""
    check = append_check(practitioner, source=source, outcome=outcome, evidence=evidence, credential=credential,
                         performed_by=performed_by, reference=reference, note=note)
    if recompute:
        recompute_status(practitioner)
    return check


def record_registry_answer(practitioner: Practitioner, body: dict[str, Any], reference: str) -> VerificationCheck:
    """Record an NPI-registry check from an answer already fetched (an import), then recompute the status."""
    check = record_finding(practitioner, NPI_REGISTRY.compare_answer(practitioner, body, reference), None)
    recompute_status(practitioner)
    return check


def run_context(client: NpiRegistryClient | None = None, listing: ExclusionImport | None = None) -> RunContext:
    """Return what an automated run reads: today, the registry client, each exclusion list in force."""
    lists = {s.list_code: found for s in registry.exclusion_screens() if (found := current_list(s.list_code))}
    return RunContext(clock_today(), client, listing or lists.get("leie"), lists)


def runnable_sources() -> tuple[Source, ...]:
    """Return the automated sources a run can call now: a list a source may go without counts once imported."""
    return tuple(s for s in registry.automated() if not s.list_optional or current_list(s.list_code) is not None)


def run_source(practitioner: Practitioner, code: str, context: RunContext, *, performed_by: User | None = None,
               recompute: bool = True) -> VerificationCheck:
    """Run the automated source ``code`` for the practitioner, record its finding, then recompute the status."""
    source = registry.get_automated(code)
    if source.list_optional and context.list_for(source.list_code) is None:
        # Not an error of this practitioner's: nothing was checked, so nothing is recorded.
        raise InvalidParameter(f"No {source.label} list has been imported yet (flask exclusions import --source "
                               f"{source.list_code} FILE); nothing was checked.", field="source")
    finding = source.run(practitioner, context)
    check = record_finding(practitioner, finding, performed_by)
    if recompute:
        recompute_status(practitioner)
    return check


def check_npi(practitioner: Practitioner, client: NpiRegistryClient, *, performed_by: User | None = None,
              recompute: bool = True) -> VerificationCheck:
    """Look the practitioner's NPI up in the registry, compare the record and record the outcome."""
    return run_source(practitioner, NPI_REGISTRY.code, run_context(client), performed_by=performed_by,
                      recompute=recompute)


def check_exclusions(practitioner: Practitioner, *, performed_by: User | None = None, recompute: bool = True,
                     listing: ExclusionImport | None = None) -> VerificationCheck:
    """Match the practitioner against the current exclusion list and record the run, hit or not."""
    return run_source(practitioner, EXCLUSION_LIST.code, run_context(listing=listing), performed_by=performed_by,
                      recompute=recompute)


def record_manual_check(practitioner: Practitioner, admin: User, *, source: str, outcome: str, what: str,
                        reference: str, note: str, credential: Credential | None,
                        document: StoredDocument | None) -> VerificationCheck:
    """Record a check an admin made by hand (state board look-up, certificate, document)."""
    manual = registry.get_manual(source)
    if not what.strip():
        raise InvalidParameter("Say what was checked.", field="what")
    evidence: dict[str, Any] = {"what_was_checked": what.strip(), "reference": reference.strip()}
    if document is not None:
        evidence["document"] = document.as_evidence()
    finding = Finding(manual.code, outcome, note.strip(), reference.strip(), evidence,
                      credential.id if credential else None)
    check = record_finding(practitioner, finding, admin)
    recompute_status(practitioner)
    return check


def check_document(check: VerificationCheck) -> dict[str, Any] | None:
    """Return the description of the document attached to a check, if any."""
    try:
        evidence = json.loads(check.evidence)
    except ValueError:
        return None
    document = evidence.get("document") if isinstance(evidence, dict) else None
    return document if isinstance(document, dict) and document.get("stored_as") else None


def attach_credential_document(credential: Credential, document: StoredDocument) -> None:
    """Attach a stored document (the licence or certificate itself) to a credential."""
    credential.document_path, credential.document_sha256 = document.name, document.sha256
    credential.document_mime = document.mime
    db.session.flush()


def readable_credential_document(user: Any, credential_id: int) -> Credential:
    """Return a credential whose document ``user`` may read (admins, and the practitioner who owns it)."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or not credential.document_path or credential.practitioner_id is None:
        raise NotFound("This credential has no document.")
    if not can_edit_practitioner(user, credential.practitioner_id):
        raise NotFound("This credential has no document.")  # not 403: do not confirm it exists
    return credential


def credential_of(practitioner: Practitioner, credential_id: int | None) -> Credential | None:
    """Return the practitioner's credential with that id (None for none), refusing someone else's."""
    if credential_id is None:
        return None
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.practitioner_id != practitioner.id:
        raise InvalidParameter("Choose one of this practitioner's credentials.", field="credential_id")
    return credential


def parse_former_names(text: str) -> list[tuple[str, str]]:
    """Return (first, last) pairs from lines of "First Last" (a single word is a last name)."""
    names = []
    for line in text.splitlines():
        words = line.split()
        if words:
            names.append((" ".join(words[:-1])[:80], words[-1][:80]))
    return names


def update_identity(practitioner: Practitioner, admin: User, date_of_birth: date | None,
                    former_names: list[tuple[str, str]]) -> None:
    """Replace the date of birth and former names used for exclusion-list matching."""
    identity = db.session.get(VettingIdentity, practitioner.id) or VettingIdentity(practitioner_id=practitioner.id)
    identity.date_of_birth = date_of_birth
    db.session.add(identity)
    db.session.execute(delete(FormerName).where(FormerName.practitioner_id == practitioner.id))
    for first, last in dict.fromkeys(former_names):
        db.session.add(FormerName(practitioner_id=practitioner.id, first_name=first, last_name=last))
    db.session.flush()
    # The audit trail records that identity details changed, not the details (a date of birth is personal data).
    record_audit("vetting.identity_updated", actor_id=admin.id, subject_type="practitioner",
                 subject_id=practitioner.id, date_of_birth_known=date_of_birth is not None,
                 former_names=len(former_names))

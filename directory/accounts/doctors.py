"""Doctors are real doctors: the NPI or licence given at sign-up, the registry check, and the approval rule.

The NPI is checked when an admin asks (never inside the sign-up request: the registry may be down),
and every check is a row of the doctor's own tamper-evident chain of verification checks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.vetting.checks import record_user_check
from directory.vetting.models import Credential, VerificationCheck
from directory.vetting.names import last_name_keys
from directory.vetting.sources.manual import STATE_BOARD
from directory.vetting.sources.npi import ACUPUNCTURIST_TAXONOMY, NpiRegistryClient, NpiRegistryError, npi_is_valid
from directory.vetting.sources.npi_registry import NPI_REGISTRY

# Who may refer, by NUCC Health Care Provider Taxonomy code (https://taxonomy.nucc.org, the code set
# NPPES uses): a code starting with one of these prefixes is a referring clinician's. Acupuncturists
# (171100000X) are the practitioners referred to, never the referrers.
REFERRING_CLINICIAN_TAXONOMIES = {
    "20": "Allopathic & Osteopathic Physicians (MD, DO)",
    "363L": "Nurse Practitioner",
    "363A": "Physician Assistant",
    "111N": "Chiropractor",
    "2251": "Physical Therapist",
}
# A licence jurisdiction as an ISO 3166 code: a country ("GB") or a subdivision ("US-NY", "CA-ON").
JURISDICTION_PATTERN = r"[A-Z]{2}(-[A-Z0-9]{1,3})?"
JURISDICTION_MAX_LENGTH = 6
LICENCE_MAX_LENGTH = 60  # credential.number
WHERE_CHECKED_MAX_LENGTH = 500  # verification_check.reference


@dataclass(frozen=True)
class DoctorCredentials:
    """What a doctor gives at sign-up: an NPI, or a licence number and its jurisdiction (or both)."""

    npi: str = ""
    licence_number: str = ""
    jurisdiction: str = ""


def credentials_problem(given: DoctorCredentials) -> tuple[str, str] | None:
    """Return (field, message) saying what is wrong with a doctor's credentials, or None (the form's rule too)."""
    if given.npi and not npi_is_valid(given.npi):
        return "npi", "This is not a valid NPI: it has 10 digits and the last one is a check digit."
    if bool(given.licence_number) != bool(given.jurisdiction):
        field = "jurisdiction" if given.licence_number else "licence_number"
        return field, "Give the licence number and where it was issued together."
    if given.jurisdiction and not re.fullmatch(JURISDICTION_PATTERN, given.jurisdiction):
        return "jurisdiction", "Write the jurisdiction as a code: US-NY for a US state, GB for a country."
    if not given.npi and not given.licence_number:
        return "npi", "Doctors give their NPI, or (outside the US) a licence number and where it was issued."
    return None


def add_doctor_credentials(user: User, given: DoctorCredentials) -> list[Credential]:
    """Store a new doctor's NPI and/or licence as credentials of their account (same transaction as the account)."""
    problem = credentials_problem(given)
    if problem:
        raise InvalidParameter(problem[1], field=problem[0])
    credentials = []
    if given.npi:
        credentials.append(Credential(user_id=user.id, kind="npi", number=given.npi, jurisdiction="US",
                                      issuer="NPPES"))
    if given.licence_number:
        credentials.append(Credential(user_id=user.id, kind="state_licence", number=given.licence_number,
                                      jurisdiction=given.jurisdiction))
    db.session.add_all(credentials)
    return credentials


@dataclass(frozen=True)
class Judgement:
    """The registry record read as a referrer's: the outcome, the reasons, and what the admin is shown."""

    outcome: str
    reasons: tuple[str, ...]
    record: dict[str, str]


def judge_npi_record(record: dict[str, Any], full_name: str) -> Judgement:
    """Judge one NPPES record: an active individual with a referring clinician's taxonomy, named like the account."""
    if not isinstance(record, dict) or not isinstance(record.get("basic") or {}, dict):
        return Judgement("error", ("the registry answered with a malformed record",), {})
    basic = record.get("basic") or {}
    taxonomies = [t for t in record.get("taxonomies") or [] if isinstance(t, dict)]
    primary = next((t for t in taxonomies if t.get("primary") is True), taxonomies[0] if taxonomies else {})
    summary = {"name": " ".join(str(basic.get(k) or "") for k in ("first_name", "last_name")).strip(),
               "status": str(basic.get("status", "")), "enumeration_type": str(record.get("enumeration_type", "")),
               "taxonomy_code": str(primary.get("code", "")), "taxonomy_desc": str(primary.get("desc", ""))}
    failures = []
    if summary["enumeration_type"] != "NPI-1":
        failures.append(f"the NPI belongs to an organisation ({summary['enumeration_type'] or 'no type'}), not a person")
    if summary["status"] != "A":
        failures.append(f"the NPI is not active (status {summary['status'] or 'missing'})")
    if not any(referring_taxonomy(str(t.get("code", ""))) for t in taxonomies):
        failures.append(_taxonomy_reason(taxonomies))
    if failures:
        return Judgement("fail", tuple(failures), summary)
    if not last_name_keys(str(basic.get("last_name", ""))) & _name_keys(full_name):
        return Judgement("needs_review", (f"the registry's name ({summary['name']}) is not the account's "
                                          f"({full_name})",), summary)
    return Judgement("pass", (), summary)


def referring_taxonomy(code: str) -> str | None:
    """Return the referring-clinician group of a NUCC taxonomy code, or None (acupuncturists never refer)."""
    if code == ACUPUNCTURIST_TAXONOMY:
        return None
    return next((label for prefix, label in REFERRING_CLINICIAN_TAXONOMIES.items() if code.startswith(prefix)), None)


def _taxonomy_reason(taxonomies: list[dict[str, Any]]) -> str:
    """Say why no listed taxonomy is a referring clinician's."""
    codes = ", ".join(f"{t.get('code', '')} {t.get('desc', '')}".strip() for t in taxonomies) or "none listed"
    if any(t.get("code") == ACUPUNCTURIST_TAXONOMY for t in taxonomies):
        return f"the registry lists an acupuncturist, not a referring clinician ({codes})"
    return f"not a referring clinician ({codes})"


def _name_keys(full_name: str) -> set[str]:
    """Return the keys of every word of a full name (the account holds one name field, not first and last)."""
    return {key for word in full_name.split() for key in last_name_keys(word)}


def doctor_credential(user: User, kind: str) -> Credential | None:
    """Return the doctor's current credential of one kind (the newest), if any."""
    return db.session.scalar(select(Credential).where(
        Credential.user_id == user.id, Credential.kind == kind, Credential.withdrawn_at.is_(None))
        .order_by(Credential.id.desc()).limit(1))


def check_doctor_npi(admin: User, user: User, client: NpiRegistryClient) -> VerificationCheck:
    """Look the doctor's NPI up in the registry, judge the record and record the outcome (an outage too)."""
    credential = doctor_credential(user, "npi") if user.role == "doctor" else None
    if credential is None:
        raise InvalidParameter("This account has no NPI to check.", field="user")
    reference = client.request_url(credential.number)

    def record(outcome: str, note: str, evidence: dict[str, Any]) -> VerificationCheck:
        check = record_user_check(user, source=NPI_REGISTRY.code, outcome=outcome, credential=credential,
                                  performed_by=admin, reference=reference, note=note,
                                  evidence={"number": credential.number, "request": reference, **evidence})
        record_audit("doctor.npi_checked", actor_id=admin.id, subject_type="user", subject_id=user.id,
                     outcome=outcome, check_id=check.id)
        return check

    try:
        response = client.lookup(credential.number)
    except NpiRegistryError as exc:
        return record("error", exc.reason, {"error": exc.reason, "status_code": exc.status_code, "body": exc.body})
    if not response.results:
        return record("fail", "the registry has no record of this NPI", {"response": response.body})
    judgement = judge_npi_record(response.results[0], user.full_name)
    return record(judgement.outcome, "; ".join(judgement.reasons) or "an active individual referring clinician",
                  {"record": judgement.record, "reasons": list(judgement.reasons), "response": response.body})


@dataclass(frozen=True)
class NpiEvidence:
    """The latest registry check of a doctor's NPI, as the approval screen shows it."""

    outcome: str
    checked_at: datetime
    note: str
    record: dict[str, str]


@dataclass(frozen=True)
class DoctorFile:
    """What an admin needs to decide on a doctor: what they gave and what was checked."""

    npi: Credential | None
    licences: list[Credential]
    npi_check: NpiEvidence | None
    licence_checks: list[VerificationCheck]

    @property
    def npi_passed(self) -> bool:
        """Tell whether the latest registry check of the current NPI passed."""
        return self.npi_check is not None and self.npi_check.outcome == "pass"


def doctor_file(user: User) -> DoctorFile:
    """Gather a doctor's credentials and the latest checks of them."""
    npi = doctor_credential(user, "npi")
    licences = list(db.session.scalars(select(Credential).where(
        Credential.user_id == user.id, Credential.kind == "state_licence", Credential.withdrawn_at.is_(None))
        .order_by(Credential.id)))
    checks = list(db.session.scalars(select(VerificationCheck).where(VerificationCheck.user_id == user.id)
                                     .order_by(VerificationCheck.sequence.desc())))
    latest = next((c for c in checks if npi is not None and c.credential_id == npi.id and c.source == NPI_REGISTRY.code),
                  None)
    return DoctorFile(npi, licences, _npi_evidence(latest) if latest else None,
                      [c for c in checks if c.source == STATE_BOARD.code])


def _npi_evidence(check: VerificationCheck) -> NpiEvidence:
    """Read a recorded registry check back for the screen."""
    evidence = json.loads(check.evidence or "{}")
    return NpiEvidence(check.outcome, check.performed_at, check.note, evidence.get("record") or {})


def approve_doctor_evidence(admin: User, user: User, licence_number: str, jurisdiction: str,
                            where_checked: str) -> str:
    """Enforce the approval rule and record the manual licence look-up; return the basis of the approval.

    A doctor is approved on a passing registry check of their NPI, or on a licence the admin looked up
    at its primary source (the board's register) and says where: NPPES data is self-reported, so a
    failed or missing NPI check is overcome only by that stronger evidence, never by a click.
    """
    licence_number, jurisdiction, where_checked = licence_number.strip(), jurisdiction.strip().upper(), where_checked.strip()
    passed = doctor_file(user).npi_passed
    if not licence_number and not jurisdiction and not where_checked:
        if passed:
            return "npi_registry"
        raise InvalidParameter("This doctor has no passing NPI check. Look the licence up at the board's register "
                               "and record its number, jurisdiction and where you checked it.", field="licence_number")
    if not licence_number or not re.fullmatch(JURISDICTION_PATTERN, jurisdiction) or not where_checked:
        raise InvalidParameter("Record the licence you looked up in full: its number, its jurisdiction as a code "
                               "(US-NY, GB) and where you checked it.", field="licence_number")
    record_user_check(user, source=STATE_BOARD.code, outcome="pass", performed_by=admin, reference=where_checked,
                      credential=_licence_credential(user, licence_number, jurisdiction),
                      note=f"licence {licence_number} ({jurisdiction}) looked up by the admin",
                      evidence={"licence_number": licence_number, "jurisdiction": jurisdiction,
                                "where_checked": where_checked})
    return "npi_registry and state_board" if passed else "state_board"


def _licence_credential(user: User, number: str, jurisdiction: str) -> Credential:
    """Return the doctor's licence credential with this number and jurisdiction, adding it if they did not give it."""
    existing = db.session.scalar(select(Credential).where(
        Credential.user_id == user.id, Credential.kind == "state_licence", Credential.number == number,
        Credential.jurisdiction == jurisdiction, Credential.withdrawn_at.is_(None)))
    if existing is not None:
        return existing
    credential = Credential(user_id=user.id, kind="state_licence", number=number, jurisdiction=jurisdiction,
                            issuer="Licensing board")
    db.session.add(credential)
    db.session.flush()
    return credential

"""Credentials recorded by an admin or submitted by their owner: add one, or renew one; the one set of rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from directory.accounts.audit import record_audit
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.vetting.decisions import recompute_status
from directory.vetting.documents import StoredDocument
from directory.vetting.models import CREDENTIAL_KINDS, Credential
from directory.vetting.services import attach_credential_document
from directory.vetting.sources.npi import npi_is_valid

# What a credential is, as a check confirms it: changing one of these makes it a different credential.
IDENTITY_FIELDS = ("kind", "number", "jurisdiction")


@dataclass(frozen=True)
class CredentialDetails:
    """What an admin or the owner typed about a credential, as the form validated it."""

    kind: str
    issuer: str
    number: str
    jurisdiction: str
    valid_from: date | None
    valid_until: date | None


def record_credential(practitioner: Practitioner, actor: User, details: CredentialDetails, *,
                      replaces: Credential | None = None, document: StoredDocument | None = None) -> Credential:
    """Add a credential, or renew one: the old one is withdrawn, its checks stay with it; audited.

    A renewal is a new record rather than an edit, so no earlier check ever appears to vouch for
    dates or a number it never saw: the renewed credential needs its own primary-source check.
    """
    _validate(details, replaces, practitioner)
    credential = Credential(practitioner_id=practitioner.id, kind=details.kind, issuer=details.issuer.strip(),
                            number=details.number.strip(), jurisdiction=details.jurisdiction.strip().upper(),
                            valid_from=details.valid_from, valid_until=details.valid_until)
    db.session.add(credential)
    if replaces is not None:
        replaces.withdrawn_at = utcnow()
    db.session.flush()
    if document is not None:
        attach_credential_document(credential, document)
    record_audit("vetting.credential_recorded", actor_id=actor.id, subject_type="practitioner",
                 subject_id=practitioner.id, credential_id=credential.id, kind=credential.kind,
                 replaces=replaces.id if replaces else None, document=document.sha256 if document else None)
    if replaces is not None and (changed := identity_changes(replaces, credential)):
        record_audit("vetting.credential_identity_changed", actor_id=actor.id, subject_type="practitioner",
                     subject_id=practitioner.id, credential_id=credential.id, replaces=replaces.id,
                     fields=changed)
    recompute_status(practitioner)
    return credential


def identity_changes(old: Credential, new: Credential) -> list[str]:
    """Return the identity fields (kind, number, jurisdiction) in which ``new`` differs from ``old``."""
    return [name for name in IDENTITY_FIELDS if getattr(old, name) != getattr(new, name)]


def _validate(details: CredentialDetails, replaces: Credential | None, practitioner: Practitioner) -> None:
    """Refuse what the schema would refuse, with a message an admin can act on."""
    if details.kind not in CREDENTIAL_KINDS:
        raise InvalidParameter("Choose the kind of credential.", field="kind")
    if not details.number.strip():
        raise InvalidParameter("Give the credential's number.", field="number")
    if details.kind == "npi" and not npi_is_valid(details.number.strip()):
        raise InvalidParameter("That is not a valid NPI: its check digit (the last one) does not match. "
                               "Copy the 10 digits from your NPPES record.", field="number")
    if details.valid_from and details.valid_until and details.valid_until < details.valid_from:
        raise InvalidParameter("The credential cannot expire before it starts.", field="valid_until")
    if replaces is not None and (replaces.practitioner_id != practitioner.id or replaces.withdrawn_at is not None):
        raise InvalidParameter("Choose one of this practitioner's current credentials to renew.", field="replaces")

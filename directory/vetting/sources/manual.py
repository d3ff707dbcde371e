"""Sources an admin consults by hand: a licensing board, a certification body, a document, anything else.

They have no ``run``: the admin records what was checked, where, and the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.practitioners.models import Practitioner
from directory.vetting.sources.base import Finding, NotRunnable, RunContext, SourceInfo

LICENCES = ("state_licence", "national_licence", "foreign_registration", "medical_degree")


@dataclass(frozen=True)
class ManualSource(SourceInfo):
    """A source only a person can consult."""

    def run(self, subject: Practitioner, context: RunContext) -> Finding:
        """Refuse: an admin records a manual finding through the manual-check form."""
        raise NotRunnable(f"The {self.label.lower()} is checked by an admin, not run automatically.", field="source")


STATE_BOARD = ManualSource(
    code="state_board", label="State board / licensing authority look-up", public_label="the state board",
    history_label="State licensing board", credential_kinds=LICENCES,
    due_for_kinds=("state_licence", "national_licence"))
CERTIFICATION_BODY = ManualSource(
    code="certification_body", label="Certification body (e.g. NCCAOM)", public_label="the certification body",
    history_label="Certification body", credential_kinds=("medical_degree", "certification"),
    checked_phrase="with the certification body",
    due_for_kinds=("certification",))
DOCUMENT = ManualSource(
    code="document", label="Document examined", public_label="a document examined by a Meridian admin",
    history_label="Document check by a Meridian admin", credential_kinds=(*LICENCES, "certification", "insurance"),
    checked_phrase="against the original document",
    due_for_kinds=("foreign_registration", "medical_degree", "insurance"))
OTHER = ManualSource(
    code="manual", label="Other manual check", public_label="a look-up by a Meridian admin",
    history_label="Look-up by a Meridian admin", checked_phrase="by a Meridian admin",
    credential_kinds=(*LICENCES, "certification", "npi", "insurance"))

"""What every source of checks is: a ``Source``, the ``Finding`` it returns, the ``RunContext`` it reads.

Sources never write: an automated source looks something up and returns a ``Finding``;
``vetting.checks`` turns it into a row of the chain. A manual source only describes
where an admin looked; the admin records the finding through a form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from directory.errors import InvalidParameter
from directory.practitioners.models import Practitioner
from directory.vetting.models import ExclusionImport
from directory.vetting.sources.npi import NpiRegistryClient

FINDING_OUTCOMES = ("pass", "fail", "error", "needs_review")
AUTOMATED_WINDOW_DAYS = 30  # automated sources are re-checked monthly (issue #14 item 3)
MANUAL_WINDOW_DAYS = 365  # a licence looked up by hand is re-checked yearly


@dataclass(frozen=True)
class Finding:
    """What a source found about one subject: the outcome and the evidence behind it."""

    source: str
    outcome: str
    note: str
    reference: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    credential_id: int | None = None

    def __post_init__(self) -> None:
        if self.outcome not in FINDING_OUTCOMES:
            raise InvalidParameter(f"unknown outcome {self.outcome!r}", field="outcome")


@dataclass(frozen=True)
class RunContext:
    """What an automated run may read: today, the registry client, each exclusion list in force.

    ``exclusion_lists`` maps a list code ('leie', 'sam') to its import in force, loaded once per
    run; ``exclusion_list`` is the LEIE's, as callers passed it before there were two lists.
    """

    today: date
    npi_client: NpiRegistryClient | None = None
    exclusion_list: ExclusionImport | None = None
    exclusion_lists: Mapping[str, ExclusionImport] = field(default_factory=dict)

    def list_for(self, list_code: str) -> ExclusionImport | None:
        """Return the import in force of the list ``list_code``, if one was loaded."""
        if list_code == "leie" and self.exclusion_list is not None:
            return self.exclusion_list
        return self.exclusion_lists.get(list_code)


class NotRunnable(InvalidParameter):
    """A manual source was asked to run by itself."""


class Source(Protocol):
    """One place checks come from; the registry lists them all."""

    @property
    def code(self) -> str:
        """Return the code stored in ``verification_check.source``."""

    @property
    def label(self) -> str:
        """Return what admins read (form choices, queue, flashes)."""

    @property
    def public_label(self) -> str:
        """Return how a sentence names the primary source ("the state board")."""

    @property
    def history_label(self) -> str:
        """Return how the public verification history names the source."""

    @property
    def automated(self) -> bool:
        """Tell whether a run may call the source without a person."""

    @property
    def credential_kinds(self) -> tuple[str, ...]:
        """Return the credential kinds a passing check of this source confirms."""

    @property
    def due_for_kinds(self) -> tuple[str, ...]:
        """Return the credential kinds whose due checks are queued for this source."""

    @property
    def exclusion_screen(self) -> bool:
        """Tell whether the source screens the person against a list of excluded individuals."""

    @property
    def person_check_label(self) -> str:
        """Return what the public reads a check of the person (no credential) confirmed."""

    @property
    def outcome_labels(self) -> Mapping[str, str]:
        """Return public words for outcomes that mean something special for this source."""

    @property
    def checked_where(self) -> str:
        """Return where a check was made, as the public evidence line says it ("at the state board")."""

    @property
    def list_code(self) -> str:
        """Return the imported list an exclusion screen reads ('leie', 'sam'), or ''."""

    @property
    def list_optional(self) -> bool:
        """Tell whether the source is left out (not run, not required) while its list was never imported."""

    @property
    def window_days(self) -> int:
        """Return the default monitoring window in days."""

    def run(self, subject: Practitioner, context: RunContext) -> Finding:
        """Look the subject up and return what was found (manual sources refuse)."""


@dataclass(frozen=True)
class SourceInfo:
    """The descriptive half of a source, shared by every kind; subclasses add ``run``."""

    code: str
    label: str
    public_label: str
    history_label: str
    credential_kinds: tuple[str, ...]
    due_for_kinds: tuple[str, ...] = ()
    automated: bool = False
    exclusion_screen: bool = False
    person_check_label: str = ""
    outcome_labels: Mapping[str, str] = field(default_factory=dict)
    window_days: int = MANUAL_WINDOW_DAYS
    checked_phrase: str = ""  # "checked <phrase> on ...": defaults to "at <public label>"
    list_code: str = ""
    list_optional: bool = False

    @property
    def checked_where(self) -> str:
        """Return where a check was made, as the public evidence line says it ("at the state board")."""
        return self.checked_phrase or f"at {self.public_label}"
